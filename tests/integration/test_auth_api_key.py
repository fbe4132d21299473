"""auth: {api_key: NAME}: keys known only by their SHA-256 in a keys file, sent in a header,
never forwarded or logged; alone or together with a JWT; reloaded with the configuration."""
import hashlib
import json
import signal
import subprocess
import time

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec

from conftest import upstream_lines
from testenv import BIN, raw_request
from testenv.tokens import ec_jwk, sign, token_claims

ACME_KEY = "ak_live_7f3b9c1e5d2a4f6b8c0d1e2f3a4b5c6d"
GLOBEX_KEY = "ak_live_0a1b2c3d4e5f60718293a4b5c6d7e8f9"
ISS, AUD = "https://idp.test", "partners-api"


def keys_file(path, entries):
    lines = ["# partner keys, by digest", ""]
    lines += ["sha256:%s %s" % (hashlib.sha256(k.encode()).hexdigest(), cid) for k, cid in entries]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def signing_key():
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def gw(gateway_for, upstream, tmp_path, signing_key):
    keys_file(tmp_path / "partners.keys", [(ACME_KEY, "acme"), (GLOBEX_KEY, "globex")])
    (tmp_path / "idp.jwks").write_text(json.dumps({"keys": [ec_jwk(signing_key, "k1")]}))
    return gateway_for("""
identity:
  api_keys:
    partners: {keys_file: %s}
  jwt:
    corp: {issuer: %s, audiences: [%s], algorithms: [ES256], jwks_file: %s}
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]}
routes:
  - name: partners
    match: {prefix: /partners}
    auth: {api_key: partners}
    forward: {api_key_client: X-Partner}
    upstream: app
  - name: both
    match: {prefix: /both}
    auth: {jwt: corp, api_key: partners}
    forward: {claims: {sub: X-User}}
    upstream: app
""" % (tmp_path / "partners.keys", ISS, AUD, tmp_path / "idp.jwks", upstream.port))


def seen(upstream):
    return upstream.requests[-1][2] if upstream.requests else None


def test_a_valid_key_passes_and_only_its_client_id_goes_upstream(gw, upstream):
    r = requests.get(gw.url + "/partners/orders", headers={"X-API-Key": ACME_KEY, "X-Partner": "evil-corp",
                                                           "X_Partner": "evil-corp", "X_API_Key": ACME_KEY})
    assert r.status_code == 200, r.text
    host = "127.0.0.1:%d" % gw.port
    assert upstream_lines(upstream) == [
        ("Host", host), ("User-Agent", requests.utils.default_user_agent()), ("Accept-Encoding", "gzip, deflate"),
        ("Accept", "*/*"), ("X-Forwarded-For", "127.0.0.1"), ("X-Forwarded-Proto", "http"),
        ("X-Forwarded-Host", host), ("X-Request-Id", "*"), ("traceparent", "*"), ("X-Partner", "acme")]
    line = gw.access_lines(1)[-1]
    assert (line["auth"], line["client_id"]) == ("ok", "acme")
    assert gw.metric('gatehouse_auth_success_total{provider="partners"}') == 1


def test_missing_and_wrong_keys_are_refused_and_never_logged(gw, upstream):
    r = requests.get(gw.url + "/partners/orders")
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == 'ApiKey realm="partners", header="X-API-Key"'
    assert r.json()["type"] == "urn:gatehouse:problem:missing-api-key"
    wrong = ACME_KEY[:-1] + "0"
    r = requests.get(gw.url + "/partners/orders", headers={"X-API-Key": wrong})
    assert r.status_code == 401 and r.json()["type"] == "urn:gatehouse:problem:invalid-api-key"
    twice = raw_request(gw.port, ("GET /partners/orders HTTP/1.1\r\nHost: t\r\nX-API-Key: %s\r\n"
                                  "X-API-Key: %s\r\nConnection: close\r\n\r\n" % (ACME_KEY, GLOBEX_KEY)).encode())
    assert twice.startswith(b"HTTP/1.1 401")
    assert upstream.requests == []
    reasons = [l["auth_reason"] for l in gw.access_lines(3)]
    assert reasons == ["missing", "unknown_api_key", "malformed"]
    assert gw.metric('gatehouse_auth_failures_total{provider="partners",reason="unknown_api_key"}') == 1
    gw.stop()
    for path in (gw.access, gw.events):
        text = open(path).read()
        assert ACME_KEY not in text and wrong not in text and GLOBEX_KEY not in text


def test_a_route_requiring_both_needs_both(gw, upstream, signing_key):
    tok = sign(signing_key, "k1", "ES256", token_claims(ISS, AUD))
    r = requests.get(gw.url + "/both", headers={"Authorization": "Bearer " + tok})
    assert r.status_code == 401 and r.json()["type"] == "urn:gatehouse:problem:missing-api-key"
    r = requests.get(gw.url + "/both", headers={"X-API-Key": GLOBEX_KEY})
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == 'Bearer realm="corp"'
    r = requests.get(gw.url + "/both", headers={"X-API-Key": GLOBEX_KEY, "Authorization": "Bearer " + tok})
    assert r.status_code == 200
    assert seen(upstream)["x-user"] == "alice" and "x-api-key" not in seen(upstream)
    lines = gw.access_lines(3)
    assert [l["auth"] for l in lines] == ["failed", "failed", "ok"]
    assert (lines[-1]["sub"], lines[-1]["client_id"]) == ("alice", "web")


def test_keys_are_reloaded_with_the_configuration(gw, tmp_path):
    assert requests.get(gw.url + "/partners", headers={"X-API-Key": ACME_KEY}).status_code == 200
    keys_file(tmp_path / "partners.keys", [(GLOBEX_KEY, "globex")])  # acme's key revoked
    gw.signal(signal.SIGHUP)
    deadline = time.time() + 5
    while time.time() < deadline and requests.get(gw.url + "/partners", headers={"X-API-Key": ACME_KEY}).status_code == 200:
        time.sleep(0.05)
    assert requests.get(gw.url + "/partners", headers={"X-API-Key": ACME_KEY}).status_code == 401
    assert requests.get(gw.url + "/partners", headers={"X-API-Key": GLOBEX_KEY}).status_code == 200


def test_api_key_configuration_rules(tmp_path):
    good = "sha256:%s acme\n" % hashlib.sha256(b"k").hexdigest()
    cases = [
        ("sha256:abc acme\n", {}, "k.keys line 1: expected sha256:<64 hex digits> <client_id>"),
        ("# c\n" + good.replace("acme", "bad id!{"), {}, "k.keys line 2: a client_id is a token"),
        (good + good.replace("acme", "other"), {}, "the key of other is listed twice"),
        ("sha256:%s acme\n" % ("z" * 64), {}, "not 64 hex digits"),
        ("\n# nothing\n", {}, "holds no keys"),
        (good, {"header": "Authorization"}, "a header name other than Authorization and Cookie"),
        (good, {"route_auth": "{api_key: nope}"}, "no provider identity.api_keys.nope"),
        (good, {"route_auth": "none", "forward": "{api_key_client: X-C}"}, "only on a route with auth: {api_key"),
    ]
    for content, opt, want in cases:
        (tmp_path / "k.keys").write_text(content)
        header = ", header: %s" % opt["header"] if "header" in opt else ""
        text = ("listeners: [{address: 127.0.0.1:1}]\n"
                "identity: {api_keys: {p: {keys_file: k.keys%s}}}\n"
                "routes: [{name: r, match: {prefix: /}, auth: %s%s, respond: {}}]\n"
                % (header, opt.get("route_auth", "{api_key: p}"),
                   ", forward: %s" % opt["forward"] if "forward" in opt else ""))
        (tmp_path / "c.yaml").write_text(text)
        r = subprocess.run([BIN, "check", "-c", str(tmp_path / "c.yaml")], capture_output=True, text=True)
        assert r.returncode == 1 and want in r.stderr, (want, r.stderr)
