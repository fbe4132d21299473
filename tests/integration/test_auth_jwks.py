"""Keys fetched from an identity provider: a real HTTPS JWKS server started by the tests rotates
keys, goes down, and answers slowly, with garbage, with an error or with 10 MB. The gateway picks
rotations up through the unknown-kid refetch (rate-limited), answers 503 while it has no keys,
keeps stale keys while the provider is down, and never fails to start because of it."""
import subprocess
import time
import uuid

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec

from testenv import BIN, Gateway, free_port
from testenv.idp import IdP
from testenv.resolver import Hosts, SilentNameServer
from testenv.tokens import ec_jwk, sign, token_claims

AUD = "orders-api"


@pytest.fixture(scope="module")
def keys():
    return {name: ec.generate_private_key(ec.SECP256R1()) for name in ("k1", "k2", "k3")}


@pytest.fixture
def idp(keys):
    with IdP(free_port()) as p:
        p.keys = [ec_jwk(keys["k1"], "k1")]
        yield p


def provider_yaml(idp, issuer=None, **over):
    opts = {"jwks_uri": idp.jwks_uri, "ca_file": idp.ca_file, "min_refresh_interval": "1s",
            "refresh_interval": "10m", "fetch_timeout": "1s"}
    opts.update(over)
    lines = "".join("      %s: %s\n" % (k, v) for k, v in opts.items() if v is not None)
    return """
identity:
  jwt:
    corp:
      issuer: %s
      audiences: [%s]
      algorithms: [ES256]
%sroutes:
  - name: orders
    match: {prefix: /orders}
    auth: {jwt: corp}
    respond: {status: 200, body: "ok\\n"}
""" % (issuer or idp.issuer, AUD, lines)


def token(idp, keys, kid):
    return sign(keys[kid], kid, "ES256", token_claims(idp.issuer, AUD))


def get(gw, tok):
    return requests.get(gw.url + "/orders", headers={"Authorization": "Bearer " + tok}, timeout=10)


def wait_until(check, timeout=8.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def ready(gw):
    return gw.admin("/readyz")[0] == 200


def test_rotation_is_picked_up_through_the_unknown_kid_refetch(gateway_for, idp, keys):
    idp.start()
    gw = gateway_for(provider_yaml(idp))
    assert wait_until(lambda: ready(gw))
    assert get(gw, token(idp, keys, "k1")).status_code == 200
    idp.keys = [ec_jwk(keys["k1"], "k1"), ec_jwk(keys["k2"], "k2")]
    time.sleep(1.1)  # past min_refresh_interval since the first fetch
    r = get(gw, token(idp, keys, "k2"))  # waits for the refetch, then passes
    assert r.status_code == 200, r.text
    assert idp.hit_count() == 2
    assert any('"jwks_updated"' in e and '"generation":2' in e for e in gw.event_lines())
    line = gw.access_lines(2)[-1]
    assert (line["auth"], line["kid"]) == ("ok", "k2")
    assert gw.metric('gatehouse_jwks_keys{provider="corp"}') == 2


def test_unknown_kid_refetches_are_rate_limited(gateway_for, idp, keys):
    idp.start()
    gw = gateway_for(provider_yaml(idp, min_refresh_interval="2s"))
    assert wait_until(lambda: ready(gw))
    forged = [sign(keys["k3"], "k-" + uuid.uuid4().hex, "ES256", token_claims(idp.issuer, AUD)) for _ in range(40)]
    for tok in forged[:20]:  # within the cool-down of the first fetch: no refetch at all
        r = get(gw, tok)
        assert r.status_code == 401 and 'error="invalid_token"' in r.headers["WWW-Authenticate"]
    assert idp.hit_count() == 1
    time.sleep(2.1)
    for tok in forged[20:]:  # one refetch for the first, then the cool-down again
        assert get(gw, tok).status_code == 401
    assert idp.hit_count() == 2
    reasons = {l["auth_reason"] for l in gw.access_lines(40)}
    assert reasons == {"unknown_kid"}
    assert gw.metric('gatehouse_auth_failures_total{provider="corp",reason="unknown_kid"}') == 40
    assert gw.metric('gatehouse_jwks_fetches_total{provider="corp",result="ok"}') == 2


def test_provider_down_at_start_gives_503_then_recovers(gateway_for, idp, keys):
    gw = gateway_for(provider_yaml(idp))  # the provider is not listening yet: the start succeeds
    status, text = gw.admin("/readyz")
    assert status == 503 and "identity provider corp has no keys" in text
    r = get(gw, token(idp, keys, "k1"))
    assert r.status_code == 503
    assert r.headers["Content-Type"] == "application/problem+json"
    assert r.json()["type"] == "urn:gatehouse:problem:identity-provider-unavailable"
    assert gw.access_lines(1)[-1]["auth_reason"] == "keys_unavailable"
    idp.start()
    assert wait_until(lambda: get(gw, token(idp, keys, "k1")).status_code == 200)
    assert ready(gw)
    assert any('"jwks_fetch_failed"' in e and '"level":"error"' in e for e in gw.event_lines())


def test_stale_keys_keep_working_while_the_provider_is_down_until_max_stale(gateway_for, idp, keys):
    idp.start()
    gw = gateway_for(provider_yaml(idp, refresh_interval="1s", max_stale="4s"))
    assert wait_until(lambda: ready(gw))
    k1 = token(idp, keys, "k1")
    assert get(gw, k1).status_code == 200
    idp.stop()
    fresh = token(idp, keys, "k1")  # a token never seen: verified with the stale keys
    assert wait_until(lambda: gw.metric('gatehouse_jwks_fetches_total{provider="corp",result="failed"}') >= 1)
    assert get(gw, fresh).status_code == 200
    assert any('"jwks_fetch_failed"' in e and '"level":"warn"' in e for e in gw.event_lines())
    # Past max_stale the keys go: 503 rather than trusting a set nobody can confirm.
    assert wait_until(lambda: get(gw, token(idp, keys, "k1")).status_code == 503, timeout=10)
    assert get(gw, k1).status_code == 503  # the cached token died with its keys
    assert gw.admin("/readyz")[0] == 503


def test_a_cached_token_dies_when_its_key_leaves_the_set(gateway_for, idp, keys):
    idp.start()
    gw = gateway_for(provider_yaml(idp, refresh_interval="1s"))
    assert wait_until(lambda: ready(gw))
    k1 = token(idp, keys, "k1")
    assert get(gw, k1).status_code == 200
    assert get(gw, k1).status_code == 200
    assert gw.metric('gatehouse_token_cache_total{provider="corp",result="hit"}') == 1
    idp.keys = [ec_jwk(keys["k2"], "k2")]
    assert wait_until(lambda: get(gw, k1).status_code == 401)
    assert wait_until(lambda: [l for l in gw.access_lines() if l["status"] == 401])
    assert [l["auth_reason"] for l in gw.access_lines() if l["status"] == 401] == ["unknown_kid"]
    assert get(gw, token(idp, keys, "k2")).status_code == 200


@pytest.mark.parametrize("mode,error", [
    ("garbage", "not a JSON object"),
    ("huge", "larger than 1 MiB"),
    ("status500", "HTTP status 500"),
    ("slow", "timed out"),
    ("hmac", "HMAC secret"),
])
def test_bad_key_set_documents_are_refused_and_the_provider_recovers(gateway_for, idp, keys, mode, error):
    idp.mode = mode
    idp.slow_seconds = 2.5
    idp.start()
    gw = gateway_for(provider_yaml(idp))
    r = get(gw, token(idp, keys, "k1"))  # waits for the attempt in flight, then 503
    assert r.status_code == 503, r.text
    assert wait_until(lambda: error in gw.admin("/readyz")[1]), gw.admin("/readyz")
    assert any('"jwks_fetch_failed"' in e and error in e for e in gw.event_lines())
    idp.mode = "ok"
    assert wait_until(lambda: get(gw, token(idp, keys, "k1")).status_code == 200)
    assert gw.rss_kib() < 64 * 1024  # a 10 MB answer was not kept


def test_keys_are_found_through_discovery(gateway_for, idp, keys):
    idp.start()
    gw = gateway_for(provider_yaml(idp, jwks_uri=None, discovery="true"))
    assert wait_until(lambda: ready(gw))
    assert get(gw, token(idp, keys, "k1")).status_code == 200
    assert idp.hit_count("/.well-known/openid-configuration") == 1


def test_a_discovery_document_for_another_issuer_is_refused(gateway_for, idp, keys):
    idp.start()
    idp.issuer = "https://evil.test"  # what its document claims
    gw = gateway_for(provider_yaml(idp, issuer=idp.url, jwks_uri=None, discovery="true"))
    assert wait_until(lambda: "names another issuer" in gw.admin("/readyz")[1])
    assert idp.hit_count() == 0  # its jwks_uri is never fetched
    assert get(gw, sign(keys["k1"], "k1", "ES256", token_claims(idp.url, AUD))).status_code == 503


def test_the_provider_certificate_is_verified(gateway_for, idp, keys):
    idp.start()
    gw = gateway_for(provider_yaml(idp, ca_file=None))  # the system CAs do not know the test CA
    assert wait_until(lambda: "certificate" in gw.admin("/readyz")[1].lower()), gw.admin("/readyz")
    assert get(gw, token(idp, keys, "k1")).status_code == 503
    assert idp.hit_count() == 0


def test_remote_key_configuration_rules(tmp_path):
    base = "listeners: [{address: 127.0.0.1:1}]\nroutes: [{name: r, match: {prefix: /}, auth: {jwt: p}, respond: {}}]\n"
    p = "identity: {jwt: {p: {issuer: https://idp.test, audiences: [a], algorithms: [ES256], %s}}}\n"
    cases = [
        ("jwks_uri: http://idp.test/jwks", "c.yaml:3:95: identity.jwt.p.jwks_uri: keys are fetched over https"),
        ("jwks_uri: 'https://user@idp.test/jwks'", "keys are fetched over https"),
        ("jwks_uri: https://idp.test/jwks, discovery: true", "jwks_uri and discovery both given"),
        ("jwks_uri: https://idp.test/jwks, jwks_file: k.json", "jwks_file and remote keys"),
        ("jwks: '{\"keys\":[]}', refresh_interval: 1m", "refresh_interval applies to keys fetched"),
        ("jwks_uri: https://idp.test/jwks, ca_file: nowhere.pem", "cannot read"),
        ("jwks_uri: https://idp.test/jwks, min_refresh_interval: 20m, refresh_interval: 10m",
         "min_refresh_interval is longer than refresh_interval"),
        ("jwks_uri: https://idp.test/jwks, fetch_timeout: 5m", "fetch_timeout"),
        ("discovery: maybe", "discovery"),
    ]
    for opts, want in cases:
        f = tmp_path / "c.yaml"
        f.write_text(base + p % opts)
        r = subprocess.run([BIN, "check", "-c", str(f)], capture_output=True, text=True)
        assert r.returncode == 1 and want in r.stderr, (want, r.stderr)
    f.write_text(base + p.replace("https://idp.test", "http://127.0.0.1:9") % "discovery: true")
    r = subprocess.run([BIN, "check", "-c", str(f)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr  # plain http to a loopback provider is allowed
    f.write_text(base + p.replace("https://idp.test", "http://idp.test") % "discovery: true")
    r = subprocess.run([BIN, "check", "-c", str(f)], capture_output=True, text=True)
    assert r.returncode == 1 and "discovery needs an https issuer" in r.stderr, r.stderr


def test_a_reload_keeps_the_keys_of_an_unchanged_provider(gateway_for, idp, keys):
    idp.start()
    text = provider_yaml(idp)
    gw = gateway_for(text)
    assert wait_until(lambda: ready(gw))
    gw.write_config(text + "  - {name: extra, match: {prefix: /extra}, auth: none, respond: {status: 204}}\n")
    status, report = gw.admin("/reload", "POST")
    assert status == 200, report
    assert get(gw, token(idp, keys, "k1")).status_code == 200  # no wait, no 503
    assert requests.get(gw.url + "/extra").status_code == 204
    assert idp.hit_count() == 1


def test_a_silent_name_server_never_holds_the_control_thread(tmp_path):
    """A key set fetch whose name the name server never answers ends at fetch_timeout; ending
    it must not wait for the resolver's own timeout (8 s here) on the control thread, which
    serves the admin API, runs health checks and reloads, and hears SIGTERM."""
    hosts = Hosts(tmp_path, name="idp.test")
    silent = SilentNameServer(tmp_path, timeout_s=8)
    idp = type("NoIdP", (), {"jwks_uri": "https://idp.test/keys", "ca_file": None})
    gw = Gateway(provider_yaml(idp, issuer="https://idp.test"),
                 wrap=hosts.wrap_with_resolver(silent.path))
    try:
        silent.wait_query()
        time.sleep(2)  # the fetch has timed out (1 s); the lookup has 7 s to go
        started = time.time()
        gw.metrics()
        assert time.time() - started < 1, "the admin API waited for the resolver"
        assert gw.seconds_to_exit() < 3, "the exit waited for the resolver"
    finally:
        gw.__exit__(None, None, None)
        silent.close()
