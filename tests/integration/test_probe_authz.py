"""gatehouse probe, authorization group (AUTHZ-*), live against a running gateway: tenant A's
token on tenant B's objects through every claim rule, scopes missing or nearly right, methods,
HEAD, overrides, administrative paths. A sound configuration passes every case (or skips one for
a stated reason); planted weaknesses fail the case that finds them."""

import pytest
from cryptography.hazmat.primitives import serialization

from testenv import free_port
from testenv.probe import run_probe
from test_probe_paths import NaiveProxy
from testenv.tokens import sign, token_claims

ISS, AUD = "https://issuer.probe.test", "probe-api"

SOUND_ROUTES = """
  - name: tenant-orders
    match: {path: "/tenants/{tenant}/orders", methods: [GET]}
    auth: {jwt: corp, scopes: [orders:read], claims: {tenant: "{path.tenant}"}}
    upstream: app
  - name: tenant-order
    match: {path: "/tenants/{tenant}/orders/{id}", methods: [GET, PUT]}
    auth:
      jwt: corp
      scopes: [orders:write, orders:read]
      scopes_any: [staff, customer]
      claims: {tenant: "{path.tenant}"}
    upstream: app
  - name: org-reports
    match: {prefix: /reports, methods: [GET]}
    auth: {jwt: corp, claims: {org: "{header.X-Org}"}}
    upstream: app
  - name: echo
    match: {prefix: /echo, methods: [GET]}
    auth: {jwt: corp}
    upstream: app
  - name: ops
    match: {prefix: /ops}
    listeners: [internal]
    auth: none
    upstream: app
  - name: health
    match: {path: /healthz, methods: [GET]}
    auth: none
    respond: {status: 200, body: "ok\\n"}
"""

# A tenant parameter that no claim rule binds: any valid token reads every account.
UNBOUND_TENANT = """
  - name: account-profile
    match: {path: "/accounts/{account_id}/profile", methods: [GET]}
    auth: {jwt: corp}
    upstream: app
"""

# A public catch-all in front of everything else: /admin, /actuator, /.env reach the upstream.
PUBLIC_CATCH_ALL = """
  - name: everything
    match: {prefix: /}
    auth: none
    upstream: app
"""


@pytest.fixture
def signing(probe_key):
    return probe_key.pem, probe_key.jwks

def start(gateway_for, upstream, signing, routes, extra=""):
    # An internal listener beside the public one: the ops route exists only there.
    return gateway_for(extra + """
identity:
  jwt:
    corp: {issuer: %s, audiences: [%s], algorithms: [ES256], jwks_file: %s}
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]}
routes:%s""" % (ISS, AUD, signing[1], upstream.port, routes),
                       more_listeners=["{name: internal, address: 127.0.0.1:%d}" % free_port()])


def probe(g, signing, only="authorization"):
    """Runs the probe live against g with g's own configuration: {case id: (verdict, why)} and
    the whole report."""
    verdicts, report, _ = run_probe("--target", g.url, "-c", g.config, "--profile", "full",
                                    "--signing-key", str(signing[0]), "--kid", "k1", "--only", only)
    return verdicts, report


def test_sound_configuration_holds(gateway_for, upstream, signing):
    g = start(gateway_for, upstream, signing, SOUND_ROUTES)
    cases, text = probe(g, signing)
    assert len(cases) >= 12, text
    expected_skips = {
        # No tenant parameter goes unbound here.
        "AUTHZ-002": "bound by a claim rule",
    }
    for case, (verdict, why) in cases.items():
        if case in expected_skips:
            assert verdict == "skip" and expected_skips[case] in why, (case, verdict, why)
        else:
            assert verdict == "pass", (case, verdict, why, text)
    # What the cases claim happened did happen on the wire: the gateway refused them.
    assert "refused with 403" in cases["AUTHZ-001"][1]
    # Seen through the route whose upstream echoes what it received.
    assert cases["AUTHZ-010"][1].startswith("override headers never reached the upstream; POST with _method was "
                                            "refused with 405"), cases["AUTHZ-010"]
    assert "1 route bound to other listeners was not served here" in cases["AUTHZ-011"][1]


def test_tenant_route_without_claim_rule_is_broken_object_level_authorization(gateway_for, upstream, signing):
    g = start(gateway_for, upstream, signing, SOUND_ROUTES + UNBOUND_TENANT)
    cases, text = probe(g, signing, "AUTHZ-001,AUTHZ-002")
    assert cases["AUTHZ-001"][0] == "pass", text
    verdict, why = cases["AUTHZ-002"]
    assert verdict == "fail", text
    assert "broken object-level authorization" in why and "/accounts/probe-b/profile" in why, why
    assert "{account_id}" in why


def test_public_catch_all_exposes_administrative_paths(gateway_for, upstream, signing):
    g = start(gateway_for, upstream, signing, SOUND_ROUTES + PUBLIC_CATCH_ALL)
    cases, text = probe(g, signing, "AUTHZ-011")
    verdict, why = cases["AUTHZ-011"]
    assert verdict == "fail", text
    assert why.startswith("GET /admin ") and "without credentials" in why, why
    assert any(r[1] == "/admin" for r in upstream.requests)  # it did reach the upstream


def test_live_tokens_of_two_tenants(gateway_for, upstream, signing):
    """Without the provider's key: --token (tenant probe-a) and --token-other-tenant (probe-b), as
    an operator gives them. The other tenant's token on probe-a's objects is refused; the cases
    that must sign their own tokens skip and say so."""
    g = start(gateway_for, upstream, signing, SOUND_ROUTES + UNBOUND_TENANT)
    key = serialization.load_pem_private_key(signing[0].read_bytes(), None)
    scopes = {"scope": "orders:read orders:write staff", "org": "probe-a"}
    mine = sign(key, "k1", "ES256", token_claims(ISS, AUD, sub="probe-a", tenant="probe-a", **scopes))
    other = sign(key, "k1", "ES256", token_claims(ISS, AUD, sub="probe-b", tenant="probe-b", **scopes))
    cases, text, doc = run_probe("--target", g.url, "-c", g.config, "--token", mine, "--token-other-tenant", other,
                                 "--only", "authorization")
    assert cases["AUTHZ-001"][0] == "pass", text
    # The attempt it made: the other tenant's token on probe-a's objects.
    assert "the other tenant's token (--token-other-tenant)" in cases["AUTHZ-001"][1], text
    assert cases["AUTHZ-002"][0] == "fail", text  # the unbound account route, with --token
    assert cases["AUTHZ-005"] == ("skip", "needs tokens signed with the provider's key: self-test, or --signing-key")
    assert cases["AUTHZ-008"][0] == "skip" and "--profile full" in cases["AUTHZ-008"][1]


def test_head_answered_by_a_public_route_where_get_is_protected(gateway_for, upstream, signing):
    head_first = """
  - name: head-probe
    match: {path: "/tenants/{tenant}/orders", methods: [HEAD]}
    auth: none
    upstream: app
""" + SOUND_ROUTES
    g = start(gateway_for, upstream, signing, head_first)
    cases, text = probe(g, signing, "AUTHZ-009")
    verdict, why = cases["AUTHZ-009"]
    assert verdict == "fail", text
    assert why.startswith("HEAD /tenants/probe-a/orders without credentials was answered 200"), why
    assert "where GET is refused with 401" in why


def test_override_headers_from_a_trusted_peer_reach_the_upstream(gateway_for, upstream, signing):
    """The probe connects from loopback: a gateway that trusts loopback as a proxy passes the
    method override headers on to the upstream, which reads DELETE on a GET-only route."""
    g = start(gateway_for, upstream, signing, SOUND_ROUTES, extra="trusted_proxies: [127.0.0.1]\n")
    cases, text = probe(g, signing, "AUTHZ-010")
    verdict, why = cases["AUTHZ-010"]
    assert verdict == "fail", text
    assert why == "the upstream received X-HTTP-Method-Override: DELETE on a route that allows GET only", why


def test_self_test_sees_what_the_upstream_received(tmp_path, signing):
    """Self-test: the probe starts the gateway itself, stands in for its upstream and identity
    provider, and judges by what its upstream received. The sound routes hold; the unbound
    account route fails AUTHZ-002 there too."""
    conf = tmp_path / "gatehouse.yaml"
    conf.write_text("""listeners: [{address: 127.0.0.1:8080}]
identity:
  jwt:
    corp: {issuer: %s, audiences: [%s], algorithms: [ES256], jwks_file: %s}
upstreams:
  app: {endpoints: [http://127.0.0.1:9]}
routes:%s""" % (ISS, AUD, signing[1], SOUND_ROUTES.replace("    listeners: [internal]\n", "") + UNBOUND_TENANT))
    cases, text, _ = run_probe("-c", str(conf), "--only", "authorization")
    for case, (verdict, why) in cases.items():
        assert verdict == ("fail" if case == "AUTHZ-002" else "pass"), (case, verdict, why, text)
    assert "nothing forwarded" in cases["AUTHZ-001"][1]
    assert cases["AUTHZ-010"][1].startswith("override headers never reached the upstream")


def test_a_proxy_that_authenticates_but_never_authorizes_fails(upstream, signing, tmp_path):
    """Another gateway, live: one that refuses requests without a bearer token and forwards the
    rest as they came. The configuration says what the routes should enforce; the probe finds
    each tenant crossed, each scope not required, and the overrides passed on."""
    def bearer_only(target, head):
        if b"\r\nauthorization: bearer " in head.lower():
            return None
        return b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    naive = NaiveProxy(upstream.port, guard=bearer_only)
    try:
        cfg = tmp_path / "naive.yaml"
        cfg.write_text("listeners: [{address: 127.0.0.1:%d}]\n" % naive.port + """
identity:
  jwt:
    corp: {issuer: %s, audiences: [%s], algorithms: [ES256], jwks_file: %s}
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]}
routes:%s""" % (ISS, AUD, signing[1], upstream.port, SOUND_ROUTES.replace("    listeners: [internal]\n", "")))

        class Target:
            url = "http://127.0.0.1:%d" % naive.port
            config = str(cfg)
        cases, text = probe(Target, signing)
    finally:
        naive.close()
    for case in ("AUTHZ-001", "AUTHZ-003", "AUTHZ-004", "AUTHZ-005", "AUTHZ-006", "AUTHZ-007",
                 "AUTHZ-008", "AUTHZ-010"):
        assert cases[case][0] == "fail", (case, cases[case], text)
    assert "was answered 200, not 403" in cases["AUTHZ-001"][1], cases["AUTHZ-001"]
    assert cases["AUTHZ-010"][1].startswith("the upstream received X-HTTP-Method-Override: DELETE")
    # It refuses HEAD without a token as it does GET; HEAD across tenants it lets through.
    assert cases["AUTHZ-009"] == ("fail", "HEAD /tenants/probe-b/orders with tenant probe-a's token was "
                                          "answered 200, not 403"), cases["AUTHZ-009"]
