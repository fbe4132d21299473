"""gatehouse probe --only paths, live against a real gateway: against a sound configuration every
case passes (or skips for the reason asserted); a protected route shadowed by a broader public
one written before it fails PATH-001, and an encoded slash passed on fails PATH-003."""
import socket

import pytest

from testenv.probe import run_probe
from testenv import accept_forever, listening_socket, serve_each

ISSUER = "https://issuer.probe.test"
AUDIENCE = "probe-api"


def probe(g, key_file, only):
    """Runs the probe live against g with g's own configuration; {case id: (verdict, why)} and
    the whole report."""
    verdicts, report, _ = run_probe("--target", g.url, "-c", g.config, "--profile", "full",
                                    "--signing-key", str(key_file), "--kid", "k1", "--only", only)
    return verdicts, report


@pytest.fixture
def signing(probe_key):
    return probe_key.jwks, probe_key.pem

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


class NaiveProxy:
    """A reverse proxy that forwards each request to the upstream as it came, headers and all
    (one request per connection): the gateway that trusts its clients. guard(target, head): the
    bytes of a refusal, or None to forward; it sees the request target as sent."""

    def __init__(self, upstream_port, guard=lambda target, head: None):
        self.upstream_port = upstream_port
        self.guard = guard
        self.sock, self.port = listening_socket()
        accept_forever(self.sock, serve_each(self._serve))

    def _serve(self, c):
        with c:
            try:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = c.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head, _, body = data.partition(b"\r\n\r\n")
                refusal = self.guard(head.split(b" ")[1], head)
                if refusal:
                    c.sendall(refusal)
                    return
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(body) < length:
                    body += c.recv(65536)
                lines = [l for l in head.split(b"\r\n") if not l.lower().startswith(b"connection:")]
                with socket.create_connection(("127.0.0.1", self.upstream_port)) as up:
                    up.sendall(b"\r\n".join(lines + [b"Connection: close", b"", b""]) + body)
                    while True:
                        chunk = up.recv(65536)
                        if not chunk:
                            break
                        c.sendall(chunk)
            except OSError:
                pass

    def close(self):
        self.sock.close()


def test_a_gateway_that_routes_on_the_raw_target_fails(upstream, signing, tmp_path):
    """A proxy that guards /admin and /reports by comparing the target as sent, and forwards
    anything else as it came: the spellings a backend resolves to the protected paths get by."""
    def guard(target, head):
        if (target.startswith(b"/admin") or target.startswith(b"/reports")) and b"\r\nauthorization:" not in head.lower():
            return b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        return None
    jwks, pem = signing
    naive = NaiveProxy(upstream.port, guard)
    try:
        cfg = tmp_path / "naive.yaml"
        cfg.write_text("listeners: [{address: 127.0.0.1:%d}]\n" % naive.port
                       + config(jwks, upstream.port, SOUND_ROUTES))

        class Target:
            url = "http://127.0.0.1:%d" % naive.port
            config = str(cfg)
        verdicts, report = probe(Target, pem, "paths")
    finally:
        naive.close()
    assert verdicts["PATH-001"][0] == "pass", report
    for case in ("PATH-002", "PATH-003", "PATH-007", "PATH-009", "PATH-012", "PATH-013"):
        assert verdicts[case][0] == "fail", "%s %s\n%s" % (case, verdicts[case], report)
    assert "answered 200" in verdicts["PATH-002"][1] and "/../" in verdicts["PATH-002"][1]
    assert "X-Original-URL" in verdicts["PATH-013"][1]


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
