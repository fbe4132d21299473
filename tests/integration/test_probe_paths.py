"""gatehouse probe --only paths, live against a real gateway: against a sound configuration every
case passes (or skips for the reason asserted); a protected route shadowed by a broader public
one written before it fails PATH-001, and an encoded slash passed on fails PATH-003."""
import json
import re
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from testenv import BIN
from testenv.tokens import ec_jwk

ISSUER = "https://issuer.probe.test"
AUDIENCE = "probe-api"


def probe(g, key_file, only):
    """Runs the probe live against g with g's own configuration; {case id: (verdict, why)} and
    the whole report."""
    out = subprocess.run([BIN, "probe", "--target", g.url, "-c", g.config, "--profile", "full",
                          "--signing-key", str(key_file), "--kid", "k1", "--only", only,
                          "--format", "text", "--fail-on", "none"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr + out.stdout
    verdicts = {}
    for line in out.stdout.splitlines():
        m = re.match(r"^([A-Z]+-\d{3}) (pass|fail|skip|error) (.*)$", line)
        if m:
            verdicts[m.group(1)] = (m.group(2), m.group(3))
    return verdicts, out.stdout


@pytest.fixture
def signing(tmp_path):
    """An EC key: the JWK set the gateway trusts (kid k1) and the PEM the probe signs with."""
    key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "k.json").write_text(json.dumps({"keys": [ec_jwk(key, "k1")]}))
    pem = tmp_path / "k.pem"
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    return tmp_path / "k.json", pem


def config(jwks, upstream_port, routes, extra=""):
    return """
identity:
  jwt:
    corp: {issuer: %s, audiences: [%s], algorithms: [ES256], jwks_file: %s}
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]}
%sroutes:
%s""" % (ISSUER, AUDIENCE, jwks, upstream_port, extra, routes)


SOUND_ROUTES = """
  - name: admin
    match: {path: /admin, methods: [GET]}
    auth: {jwt: corp}
    upstream: app
  - name: reports
    match: {prefix: /reports, methods: [GET]}
    auth: {jwt: corp, scopes: [reports:read]}
    upstream: app
  - name: public
    match: {prefix: /public, methods: [GET]}
    auth: none
    upstream: app
  - name: health
    match: {path: /healthz, methods: [GET]}
    auth: none
    respond: {status: 200}
"""

PATH_CASES = ["PATH-%03d" % i for i in range(1, 14)]


def test_sound_configuration_holds(gateway_for, upstream, signing):
    jwks, pem = signing
    g = gateway_for(config(jwks, upstream.port, SOUND_ROUTES))
    verdicts, report = probe(g, pem, "paths")
    assert sorted(verdicts) == PATH_CASES, report
    for case, (verdict, why) in verdicts.items():
        assert verdict == "pass", "%s %s: %s\n%s" % (case, verdict, why, report)
    # The attack reached nothing protected: the upstream saw only the public route's requests.
    paths = [r[1] for r in upstream.requests]
    assert paths and all(p.startswith("/public") for p in paths), paths
    assert "each of 2 protected routes refused" in verdicts["PATH-001"][1]


def test_shadowed_protected_route_fails_path_001(gateway_for, upstream, signing):
    jwks, pem = signing
    routes = """
  - name: everything
    match: {prefix: /}
    auth: none
    upstream: app
  - name: admin
    match: {path: /admin, methods: [GET]}
    auth: {jwt: corp}
    upstream: app
"""
    g = gateway_for(config(jwks, upstream.port, routes))
    verdicts, report = probe(g, pem, "PATH-001")
    verdict, why = verdicts["PATH-001"]
    assert verdict == "fail", report
    assert "GET /admin" in why and "answered 200" in why, why
    assert "route everything (routes[0])" in why and "shadows admin" in why, why


def test_encoded_slash_passed_on_fails_path_003(gateway_for, upstream, signing):
    jwks, pem = signing
    g = gateway_for(config(jwks, upstream.port, SOUND_ROUTES, "paths: {encoded_slash: keep}\n"))
    verdicts, report = probe(g, pem, "PATH-003")
    verdict, why = verdicts["PATH-003"]
    assert verdict == "fail", report
    assert "%2F" in why and "answered 200" in why, why


def test_no_protected_route_skips(gateway_for, upstream, signing):
    jwks, pem = signing
    routes = """
  - name: public
    match: {prefix: /public, methods: [GET]}
    auth: none
    upstream: app
"""
    g = gateway_for(config(jwks, upstream.port, routes))
    verdicts, report = probe(g, pem, "paths")
    for case, (verdict, why) in verdicts.items():
        assert verdict == "skip" and "no route authenticates or requires scopes" in why, report
