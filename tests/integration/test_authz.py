"""Authorization in a route's auth: scopes (all), scopes_any (one of), claims compared with
values, path parameters and headers (tenant isolation), and shadow mode that logs and counts
what would be refused. Refusals are 403 with the RFC 6750 insufficient_scope challenge."""
import json
import subprocess

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec

from conftest import jwt_identity
from testenv import BIN
from testenv.tokens import ec_jwk, sign, token_claims

ISS, AUD = "https://idp.test", "orders-api"


@pytest.fixture(scope="module")
def key():
    return ec.generate_private_key(ec.SECP256R1())


def tok(key, **claims):
    return sign(key, "k1", "ES256", token_claims(ISS, AUD, **claims))


@pytest.fixture
def gw(gateway_for, upstream, key, tmp_path):
    (tmp_path / "k.json").write_text(json.dumps({"keys": [ec_jwk(key, "k1")]}))
    return gateway_for("""
identity:
  jwt:
    corp: {issuer: %s, audiences: [%s], algorithms: [ES256], jwks_file: %s}
    azure: {issuer: %s, audiences: [%s], algorithms: [ES256], jwks_file: %s, scope_claim: scp}
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]}
routes:
  - name: tenant-orders
    match: {path: "/tenants/{tenant}/orders", methods: [GET, POST]}
    auth:
      jwt: corp
      scopes: [orders:read]
      scopes_any: [staff, customer]
      claims: {tenant: "{path.tenant}", region: [eu, us]}
    upstream: app
  - name: org
    match: {prefix: /org}
    auth: {jwt: azure, scopes: [org.read], claims: {org: "{header.X-Org}"}}
    upstream: app
  - name: trial
    match: {prefix: /trial}
    auth: {jwt: corp, scopes: [beta], mode: shadow}
    upstream: app
""" % (ISS, AUD, tmp_path / "k.json", ISS, AUD, tmp_path / "k.json", upstream.port))


def get(gw, path, token, **headers):
    headers["Authorization"] = "Bearer " + token
    return requests.get(gw.url + path, headers=headers)


def test_a_token_with_the_scopes_and_the_tenant_passes(gw, key, upstream):
    t = tok(key, scope="orders:read customer", tenant="acme", region="eu")
    assert get(gw, "/tenants/acme/orders", t).status_code == 200
    line = gw.access_lines(1)[-1]
    assert (line["authz"], line["authz_reason"]) == ("allow", None)
    assert gw.metric('gatehouse_authz_decisions_total{route="tenant-orders",result="allow"}') == 1


def test_missing_scopes_get_403_with_the_challenge(gw, key, upstream):
    r = get(gw, "/tenants/acme/orders", tok(key, scope="customer", tenant="acme", region="eu"))
    assert r.status_code == 403
    assert r.headers["WWW-Authenticate"] == (
        'Bearer realm="corp", error="insufficient_scope", error_description="The access token lacks '
        'a required scope", scope="orders:read staff customer"')
    assert r.json()["type"] == "urn:gatehouse:problem:insufficient-scope"
    r = get(gw, "/tenants/acme/orders", tok(key, scope="orders:read", tenant="acme", region="eu"))
    assert r.status_code == 403  # none of scopes_any
    r = get(gw, "/tenants/acme/orders", tok(key, scope="orders:readx customer", tenant="acme", region="eu"))
    assert r.status_code == 403  # scopes are whole words
    assert upstream.requests == []
    reasons = [l["authz_reason"] for l in gw.access_lines(3)]
    assert reasons == ["missing scope orders:read", "none of scopes_any", "missing scope orders:read"]
    assert gw.metric('gatehouse_authz_decisions_total{route="tenant-orders",result="deny"}') == 3


def test_a_token_for_another_tenant_is_refused(gw, key, upstream):
    t = tok(key, scope="orders:read staff", tenant="acme", region="us")
    assert get(gw, "/tenants/acme/orders", t).status_code == 200
    r = get(gw, "/tenants/globex/orders", t)
    assert r.status_code == 403
    assert r.json()["type"] == "urn:gatehouse:problem:claim-mismatch"
    assert "WWW-Authenticate" not in r.headers
    assert get(gw, "/tenants/acme/orders", tok(key, scope="orders:read staff", tenant="acme",
                                               region="apac")).status_code == 403
    assert get(gw, "/tenants/acme/orders", tok(key, scope="orders:read staff", region="eu")).status_code == 403
    assert [l["authz_reason"] for l in gw.access_lines(4)][1:] == ["claim tenant", "claim region", "claim tenant"]
    assert len(upstream.requests) == 1


def test_array_scopes_and_claims_from_a_header(gw, key, upstream):
    t = tok(key, scp=["org.read", "org.write"], org="o-17", groups=["a", "b"])
    assert get(gw, "/org/x", t, **{"X-Org": "o-17"}).status_code == 200
    assert get(gw, "/org/x", t, **{"X-Org": "o-18"}).status_code == 403
    assert get(gw, "/org/x", t).status_code == 403  # no header: nothing to compare with
    assert get(gw, "/org/x", tok(key, scp=["org.write"], org="o-17"), **{"X-Org": "o-17"}).status_code == 403


def test_shadow_mode_lets_requests_through_and_says_what_it_would_refuse(gw, key, upstream):
    r = get(gw, "/trial/x", tok(key, scope="orders:read"))
    assert r.status_code == 200 and len(upstream.requests) == 1
    line = gw.access_lines(1)[-1]
    assert (line["authz"], line["authz_reason"]) == ("shadow_deny", "missing scope beta")
    assert gw.metric('gatehouse_authz_decisions_total{route="trial",result="shadow_deny"}') == 1


def test_array_claims_are_forwarded_as_one_list(gateway_for, upstream, key, tmp_path):
    g = gateway_for(jwt_identity(tmp_path, key, ISS, AUD, upstream.port) + """
routes:
  - {name: r, match: {prefix: /}, auth: {jwt: corp, claims: {groups: admins}}, forward: {claims: {groups: X-Groups}}, upstream: app}
""")
    r = requests.get(g.url + "/", headers={"Authorization": "Bearer " + tok(key, groups=["dev", "admins"])})
    assert r.status_code == 200
    assert upstream.requests[-1][2]["x-groups"] == "dev, admins"


def test_authorization_configuration_rules(tmp_path):
    base = ("listeners: [{address: 127.0.0.1:1}]\n"
            "identity:\n  jwt:\n    j: {issuer: i, audiences: [a], algorithms: [ES256], jwks: '{\"keys\":[]}'}\n"
            "  api_keys:\n    k: {keys_file: k.keys}\n"
            "routes: [{name: r, match: {path: '/t/{id}'}, auth: %s, respond: {}}]\n")
    (tmp_path / "k.keys").write_text("sha256:%s c\n" % ("ab" * 32))
    cases = [
        ("{jwt: j, claims: {tenant: '{path.tenant}'}}", "the route's path has no parameter {tenant}"),
        ("{jwt: j, claims: {tenant: '{query.t}'}}", "use {path.PARAM} or {header.Name}"),
        ("{jwt: j, scopes: ['a b']}", "is not a scope"),
        ("{jwt: j, scopes: []}", "at least one scope"),
        ("{api_key: k, scopes: [x]}", "scopes and claims come from a token"),
        ("{jwt: j, mode: shadow}", "mode applies to scopes"),
        ("{jwt: j, scopes: [x], mode: audit}", "mode"),
        ("{jwt: j, claims: {tenant: []}}", "at least one value"),
    ]
    for auth, want in cases:
        (tmp_path / "c.yaml").write_text(base % auth)
        r = subprocess.run([BIN, "check", "-c", str(tmp_path / "c.yaml")], capture_output=True, text=True)
        assert r.returncode == 1 and want in r.stderr, (want, r.stderr)
