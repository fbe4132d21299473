"""auth: {jwt: NAME} with local key sets: real keys, tokens minted by PyJWT, and the abuse
cases; each refusal is a 401 with the RFC 6750 challenge and a precise reason in the log."""
import base64
import json
import os
import socket
import time

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from conftest import upstream_lines
from testenv import read_response
from testenv.tokens import b64, ec_jwk, ed_jwk, rsa_jwk, sign, token_claims

ISS = "https://idp.test"
AUD = "orders-api"


@pytest.fixture(scope="module")
def keys():
    return {"ec": ec.generate_private_key(ec.SECP256R1()), "rsa": rsa.generate_private_key(65537, 2048),
            "ed": ed25519.Ed25519PrivateKey.generate(), "other": ec.generate_private_key(ec.SECP256R1())}


def claims(**over):
    return token_claims(ISS, AUD, **over)


def mint(key, kid="ec1", alg="ES256", headers=None, **over):
    return sign(key, kid, alg, claims(**over), headers)


@pytest.fixture
def gw(gateway_for, upstream, keys, tmp_path):
    jwks = {"keys": [ec_jwk(keys["ec"], "ec1"), rsa_jwk(keys["rsa"], "rsa1"), ed_jwk(keys["ed"], "ed1")]}
    (tmp_path / "corp.jwks.json").write_text(json.dumps(jwks))
    return gateway_for("""
identity:
  jwt:
    corp:
      issuer: %s
      audiences: [%s]
      algorithms: [ES256, RS256, EdDSA]
      jwks_file: %s
      max_lifetime: 1h
      required_claims: [sub]
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]}
routes:
  - name: orders
    match: {prefix: /orders}
    auth: {jwt: corp}
    forward: {claims: {sub: X-User-Id, azp: X-Client-Id}}
    upstream: app
  - name: public
    match: {prefix: /public}
    auth: none
    upstream: app
""" % (ISS, AUD, tmp_path / "corp.jwks.json", upstream.port))


CLIENT = [("User-Agent", requests.utils.default_user_agent()), ("Accept-Encoding", "gzip, deflate"),
          ("Accept", "*/*")]


def seen(upstream):
    return upstream.requests[-1][2] if upstream.requests else None


def test_valid_tokens_of_each_key_type_pass_and_claims_are_forwarded(gw, upstream, keys):
    for key, kid, alg in ((keys["ec"], "ec1", "ES256"), (keys["rsa"], "rsa1", "RS256"), (keys["ed"], "ed1", "EdDSA")):
        tok = mint(key, kid, alg)
        r = requests.get(gw.url + "/orders/1", headers={"Authorization": "Bearer " + tok,
                                                        "X-User-Id": "mallory", "x-client-id": "spoof"})
        assert r.status_code == 200, (alg, r.text)
        host = "127.0.0.1:%d" % gw.port
        assert upstream_lines(upstream) == [("Host", host)] + CLIENT + [
            ("Authorization", "Bearer " + tok), ("X-Forwarded-For", "127.0.0.1"),
            ("X-Forwarded-Proto", "http"), ("X-Forwarded-Host", host), ("X-Request-Id", "*"), ("traceparent", "*"),
            ("X-User-Id", "alice"), ("X-Client-Id", "web")]
    line = gw.access_lines(3)[-1]
    assert (line["auth"], line["sub"], line["client_id"], line["iss"], line["kid"]) == ("ok", "alice", "web", ISS, "ed1")
    assert gw.metric('gatehouse_auth_success_total{provider="corp"}') == 3


def test_spoofed_identity_headers_never_reach_the_upstream(gw, upstream):
    r = requests.get(gw.url + "/orders/1", headers={"X-User-Id": "admin"})
    assert r.status_code == 401 and upstream.requests == []
    requests.get(gw.url + "/public", headers={"X-User-Id": "admin", "X-Other": "kept", "X_User_Id": "admin",
                                              "x-user-id": "root"})
    # A header some route fills from a verified claim is the gateway's on every route.
    host = "127.0.0.1:%d" % gw.port
    assert upstream_lines(upstream) == [("Host", host)] + CLIENT + [
        ("X-Other", "kept"), ("X-Forwarded-For", "127.0.0.1"), ("X-Forwarded-Proto", "http"),
        ("X-Forwarded-Host", host), ("X-Request-Id", "*"), ("traceparent", "*")]


def test_missing_token_gets_the_bare_challenge(gw):
    r = requests.get(gw.url + "/orders")
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == 'Bearer realm="corp"'
    assert r.json()["type"] == "urn:gatehouse:problem:missing-token"
    line = gw.access_lines(1)[-1]
    assert (line["auth"], line["auth_reason"], line["reason"]) == ("failed", "missing", "missing-token")


def unsigned(header, payload):
    return b64(json.dumps(header).encode()) + "." + b64(json.dumps(payload).encode()) + "."


def abuse_cases(keys):
    now = int(time.time())
    good = mint(keys["ec"])
    h, p, s = good.split(".")
    pub_pem = keys["rsa"].public_key().public_bytes(serialization.Encoding.PEM,
                                                    serialization.PublicFormat.SubjectPublicKeyInfo)
    hs_confusion = jwt.api_jws.PyJWS(algorithms=["HS256"])
    hs_confusion._algorithms["HS256"].prepare_key = lambda k: k  # sign with the public key bytes
    return [
        ("alg none", unsigned({"alg": "none", "kid": "ec1"}, claims()) + "x", "alg_not_allowed"),
        ("alg None", unsigned({"alg": "None"}, claims()) + "x", "alg_not_allowed"),
        ("alg NONE", unsigned({"alg": "NONE"}, claims()) + "x", "alg_not_allowed"),
        ("HS256 with the RSA public key", hs_confusion.encode(json.dumps(claims()).encode(), pub_pem, algorithm="HS256",
                                                               headers={"kid": "rsa1"}), "alg_not_allowed"),
        ("tampered header", b64(b'{"alg":"ES256","kid":"ec1","x":1}') + "." + p + "." + s, "signature"),
        ("tampered payload", h + "." + b64(json.dumps(claims(sub="root")).encode()) + "." + s, "signature"),
        ("tampered signature", h + "." + p + "." + ("A" if s[0] != "A" else "B") + s[1:], "signature"),
        ("r = s = 0", h + "." + p + "." + b64(bytes(64)), "signature"),
        ("missing exp", mint(keys["ec"], exp=None), "missing_exp"),
        ("expired", mint(keys["ec"], iat=now - 700, exp=now - 600), "expired"),
        ("future nbf", mint(keys["ec"], nbf=now + 600), "not_yet_valid"),
        ("future iat", mint(keys["ec"], iat=now + 600), "issued_in_future"),
        ("lifetime too long", mint(keys["ec"], exp=now + 7200), "lifetime_too_long"),
        ("wrong iss", mint(keys["ec"], iss="https://evil.test"), "iss_mismatch"),
        ("wrong aud", mint(keys["ec"], aud="other-api"), "aud_mismatch"),
        ("missing sub", mint(keys["ec"], sub=None), "missing_claim"),
        ("unknown kid", mint(keys["ec"], "nope"), "unknown_kid"),
        ("another key, same kid", mint(keys["other"], "ec1"), "signature"),
        ("a valid token of another provider", sign(keys["other"], "other-idp-1", "ES256",
                                                   token_claims("https://other-idp.test", "other-api")), "unknown_kid"),
        ("jku", mint(keys["ec"], headers={"jku": "https://evil.test/jwks"}), "forbidden_header"),
        ("x5u", mint(keys["ec"], headers={"x5u": "https://evil.test/x"}), "forbidden_header"),
        ("jwk", mint(keys["ec"], headers={"jwk": ec_jwk(keys["other"], "ec1")}), "forbidden_header"),
        ("crit", mint(keys["ec"], headers={"crit": ["exp"]}), "forbidden_header"),
        ("five segments (JWE)", good + ".a.b", "not_compact_jws"),
        ("bad base64url", h + "." + p + "." + s[:-2] + "+/", "malformed"),
        ("empty segment", h + ".." + s, "malformed"),
        ("oversized", mint(keys["ec"], pad="x" * 9000), "too_large"),
        ("not a token", "hello", "malformed"),
    ]


def test_abuse_cases_are_refused_with_the_challenge_and_a_precise_reason(gw, upstream, keys):
    cases = abuse_cases(keys)
    for i, (name, token, reason) in enumerate(cases):
        r = requests.get(gw.url + "/orders/%d" % i, headers={"Authorization": "Bearer " + token})
        assert r.status_code == 401, name
        assert r.headers["WWW-Authenticate"] == ('Bearer realm="corp", error="invalid_token", '
                                                 'error_description="The access token is invalid"'), name
        assert r.json()["type"] == "urn:gatehouse:problem:invalid-token", name
        assert reason not in r.text  # the precise reason is for operators, not for the client
        line = gw.access_lines(i + 1)[i]
        assert (line["auth"], line["auth_reason"]) == ("failed", reason), name
    assert upstream.requests == []
    assert gw.metric('gatehouse_auth_failures_total{provider="corp",reason="expired"}') == 1
    assert gw.metric('gatehouse_auth_failures_total{provider="corp",reason="signature"}') == 5


def test_other_schemes_and_duplicate_headers_are_refused(gw, upstream, keys):
    tok = mint(keys["ec"])
    r = requests.get(gw.url + "/orders", headers={"Authorization": "Basic " + tok})
    assert r.status_code == 401 and "invalid_token" in r.headers["WWW-Authenticate"]
    r = requests.get(gw.url + "/orders?access_token=" + tok)
    assert r.status_code == 401 and r.json()["type"].endswith("missing-token")
    # Two Authorization lines, both valid tokens of different users: the gateway and the upstream
    # could each pick a different one, so the request is refused before anything is forwarded.
    other = mint(keys["ec"], sub="mallory")
    for first, second in ((tok, other), (tok, "junk"), ("junk", tok)):
        with socket.create_connection(("127.0.0.1", gw.port), timeout=10) as s:
            s.sendall(("GET /orders/dup HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n"
                       "Authorization: Bearer %s\r\n\r\n" % (first, second)).encode())
            status, head, body = read_response(s)
        assert status is not None and 400 <= status < 500, head
        assert b"application/problem+json" in head and json.loads(body)["type"].startswith("urn:gatehouse:problem:")
    assert upstream.requests == [] and upstream.connections == 0
    lines = gw.access_lines(5)[2:]
    assert [l["status"] >= 400 and bool(l["reason"]) for l in lines] == [True] * 3, lines


def test_hmac_provider_with_a_secret_reference_and_a_cookie(gateway_for, upstream):
    secret = "s" * 40
    os.environ["GH_TEST_HS_SECRET"] = secret
    g = gateway_for("""
identity:
  jwt:
    hs:
      issuer: %s
      audiences: [%s]
      algorithms: [HS256]
      secret: ${env:GH_TEST_HS_SECRET}
      token: {cookie: session}
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]}
routes:
  - {name: r, match: {prefix: /}, auth: {jwt: hs}, forward: {authorization: drop}, upstream: app}
""" % (ISS, AUD, upstream.port))
    tok = jwt.encode(claims(), secret, algorithm="HS256")
    r = requests.get(g.url + "/x", cookies={"theme": "dark", "session": tok}, headers={"Authorization": "Bearer junk"})
    assert r.status_code == 200
    assert "authorization" not in seen(upstream)
    bad = jwt.encode(claims(), "t" * 40, algorithm="HS256")
    assert requests.get(g.url + "/x", cookies={"session": bad}).status_code == 401


def test_configuration_rules(tmp_path):
    import subprocess
    from testenv import BIN
    base = "listeners: [{address: 127.0.0.1:1}]\nroutes: [{name: r, match: {prefix: /}, auth: {jwt: p}, respond: {}}]\n"
    cases = [
        ("identity: {jwt: {p: {issuer: i, audiences: [a], algorithms: [HS256], secret: plain-text-secret}}}\n",
         "secrets are references"),
        ("identity: {jwt: {p: {issuer: i, audiences: [a], algorithms: [HS256], jwks: '{\"keys\":[]}'}}}\n",
         "HS256/384/512 need secret"),
        ("identity: {jwt: {p: {issuer: i, algorithms: [ES256], jwks: '{\"keys\":[]}'}}}\n",
         "p.audiences: required"),
        ("identity: {jwt: {p: {issuer: i, audiences: [a], algorithms: [none], jwks: '{\"keys\":[]}'}}}\n",
         "'none' is not an algorithm"),
        ("identity: {jwt: {p: {issuer: i, audiences: [a], algorithms: [ES256], jwks_file: missing.json}}}\n",
         "cannot read"),
        ("identity: {jwt: {q: {issuer: i, audiences: [a], algorithms: [ES256], jwks: '{\"keys\":[]}'}}}\n",
         "no provider identity.jwt.p"),
    ]
    for text, want in cases:
        f = tmp_path / "c.yaml"
        f.write_text(base + text)
        p = subprocess.run([BIN, "check", "-c", str(f)], capture_output=True, text=True)
        assert p.returncode == 1 and want in p.stderr, (want, p.stderr)


def test_token_tool_keys_and_tokens_are_accepted_by_the_gateway(gateway_for, upstream, tmp_path):
    import subprocess
    from testenv import BIN
    entries = []
    for alg, kid in (("ES256", "e1"), ("ES384", "e2"), ("EdDSA", "d1"), ("RS256", "r1")):
        pem = tmp_path / (kid + ".pem")
        pem.write_bytes(subprocess.run([BIN, "token", "keygen", "--alg", alg], capture_output=True, check=True).stdout)
        out = subprocess.run([BIN, "token", "jwks", "--key", str(pem), "--kid", kid], capture_output=True, check=True)
        entries.append((pem, kid, json.loads(out.stdout)["keys"][0]))
    algs = ["ES256", "ES384", "EdDSA", "RS256", "PS256"]
    (tmp_path / "set.json").write_text(json.dumps({"keys": [e[2] for e in entries]}))
    g = gateway_for("""
identity:
  jwt:
    dev: {issuer: %s, audiences: [%s], algorithms: [%s], jwks_file: %s}
routes:
  - {name: me, match: {path: /me}, auth: {jwt: dev}, respond: {status: 200, body: ok}}
""" % (ISS, AUD, ", ".join(algs), tmp_path / "set.json"))
    minted = [(pem, kid, None) for pem, kid, _ in entries] + [(entries[3][0], "r1", "PS256")]
    for pem, kid, alg in minted:
        cmd = [BIN, "token", "mint", "--key", str(pem), "--kid", kid, "--iss", ISS, "--aud", AUD,
               "--sub", "bob", "--ttl", "2m", "--claim", "tenant=acme"]
        if alg:
            cmd += ["--alg", alg]
        tok = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
        r = requests.get(g.url + "/me", headers={"Authorization": "Bearer " + tok})
        assert r.status_code == 200, (kid, alg, r.text)
        body = json.loads(base64.urlsafe_b64decode(tok.split(".")[1] + "=="))
        assert body["tenant"] == "acme" and body["exp"] - body["iat"] == 120
    p = subprocess.run([BIN, "token", "mint", "--key", str(entries[0][0]), "--alg", "RS256"],
                       capture_output=True, text=True)
    assert p.returncode == 1 and "does not fit" in p.stderr


def test_the_demo_protected_route(gateway_for):
    import subprocess
    from testenv import BIN, ROOT
    example = open(os.path.join(ROOT, "examples", "gatehouse.yaml")).read()
    example = example.replace(" keys/", " " + os.path.join(ROOT, "examples", "keys") + "/")
    body = example.split("access_log: stdout", 1)[1]  # the harness supplies listeners and admin
    g = gateway_for(body)
    assert requests.get(g.url + "/me").status_code == 401
    tok = subprocess.run([BIN, "token", "mint", "--key", os.path.join(ROOT, "examples", "keys", "dev-es256.pem"),
                          "--kid", "dev-2026", "--iss", "https://demo.gatehouse.local", "--aud", "demo-api",
                          "--sub", "alice"], capture_output=True, text=True, check=True).stdout.strip()
    r = requests.get(g.url + "/me", headers={"Authorization": "Bearer " + tok})
    assert r.status_code == 200 and "verified" in r.text
    assert g.access_lines(2)[-1]["sub"] == "alice"
    assert requests.get(g.url + "/partners/ping").status_code == 401
    r = requests.get(g.url + "/partners/ping", headers={"X-API-Key": "demo-partner-key-7f3b9c1e"})
    assert r.status_code == 200 and g.access_lines(4)[-1]["client_id"] == "demo-partner"


def test_verified_tokens_are_cached_until_they_expire(gateway_for, upstream, keys, tmp_path):
    (tmp_path / "k.json").write_text(json.dumps({"keys": [ec_jwk(keys["ec"], "ec1")]}))
    g = gateway_for("""
identity:
  jwt:
    corp: {issuer: %s, audiences: [%s], algorithms: [ES256], jwks_file: %s, clock_skew: 0s}
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]}
routes:
  - {name: r, match: {prefix: /}, auth: {jwt: corp}, forward: {claims: {sub: X-User-Id}}, upstream: app}
""" % (ISS, AUD, tmp_path / "k.json", upstream.port), workers=2)
    # Eight seconds to live: six requests fit well inside that even in the sanitized build.
    now = int(time.time())
    tok = mint(keys["ec"], iat=now, exp=now + 8)
    for i in range(6):
        r = requests.get(g.url + "/c%d" % i, headers={"Authorization": "Bearer " + tok})
        assert r.status_code == 200 and seen(upstream)["x-user-id"] == "alice"
    assert time.time() < now + 8, "the token expired before the cached requests were sent"
    hits = g.metric('gatehouse_token_cache_total{provider="corp",result="hit"}')
    misses = g.metric('gatehouse_token_cache_total{provider="corp",result="miss"}')
    assert hits + misses == 6 and misses <= 2  # at most one verification per worker
    # A cached token is refused once it expires: wait for its expiry (clock_skew is 0 s; exp is
    # whole seconds, so one more second covers the rounding).
    time.sleep(max(0.0, now + 9.1 - time.time()))
    r = requests.get(g.url + "/late", headers={"Authorization": "Bearer " + tok})
    assert r.status_code == 401 and g.access_lines(7)[-1]["auth_reason"] == "expired"
