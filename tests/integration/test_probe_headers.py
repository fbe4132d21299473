"""gatehouse probe --only headers, live against a real gateway whose upstream echoes the request
it got (the probe reads the upstream's view from the echo): against a sound configuration every
case passes (or skips for the reason asserted); a naive proxy that passes the client's headers
on untouched fails the forged-identity cases."""
import pytest

from test_probe_paths import ISSUER, AUDIENCE, NaiveProxy, probe
from testenv import accept_forever, listening_socket, serve_each

HDR_CASES = ["HDR-%03d" % i for i in range(1, 11)]


def config(jwks, keys, upstream_port, extra=""):
    return """
identity:
  jwt:
    corp: {issuer: %s, audiences: [%s], algorithms: [ES256], jwks_file: %s}
  api_keys:
    partners: {keys_file: %s}
rate_limits:
  per-client: {key: client_ip, rate: 1000/s}
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]}
%sroutes:
  - name: me
    match: {path: /users/me, methods: [GET]}
    auth: {jwt: corp}
    forward: {claims: {sub: X-User-Id, azp: X-Client-Id}}
    rate_limit: per-client
    upstream: app
  - name: partners
    match: {prefix: /partners, methods: [GET]}
    auth: {api_key: partners}
    forward: {api_key_client: X-Partner-Id}
    upstream: app
  - name: orders
    match: {path: /orders, methods: [POST]}
    auth: {jwt: corp}
    upstream: app
  - name: public
    match: {prefix: /public, methods: [GET]}
    auth: none
    upstream: app
""" % (ISSUER, AUDIENCE, jwks, keys, upstream_port, extra)


@pytest.fixture
def signing(probe_key):
    return probe_key.jwks, probe_key.pem


@pytest.fixture
def keys_file(tmp_path):
    f = tmp_path / "partners.keys"
    f.write_text("sha256:%s acme\n" % ("0" * 64))
    return f


def test_sound_configuration_holds(gateway_for, upstream, signing, keys_file):  # noqa: F811
    jwks, pem = signing
    g = gateway_for(config(jwks, keys_file, upstream.port))
    verdicts, report = probe(g, pem, "headers")
    assert sorted(verdicts) == HDR_CASES, report
    for case, (verdict, why) in verdicts.items():
        assert verdict == "pass", "%s %s: %s\n%s" % (case, verdict, why, report)
    assert "route me" in verdicts["HDR-001"][1]
    # Whatever the probe forged, the upstream got only the gateway's identity values.
    for i, (_, path, headers, _) in enumerate(upstream.requests):
        assert "probe-forged" not in repr(upstream.header_lines[i]), upstream.header_lines[i]
        if path == "/users/me":
            assert headers["x-user-id"] == "probe-a"


def test_a_trusted_probe_skips_the_forwarding_cases(gateway_for, upstream, signing, keys_file):  # noqa: F811
    jwks, pem = signing
    g = gateway_for(config(jwks, keys_file, upstream.port, "trusted_proxies: [127.0.0.1]\n"))
    verdicts, report = probe(g, pem, "HDR-008,HDR-009")
    for case in ("HDR-008", "HDR-009"):
        verdict, why = verdicts[case]
        assert verdict == "skip" and "trusted_proxies" in why, report


def test_without_the_upstreams_view_the_cases_skip(gateway_for, signing, keys_file):  # noqa: F811
    """An upstream that echoes nothing: the probe cannot see what it received, and says so."""
    srv, port = listening_socket()

    def serve(c):
        with c:
            try:
                while c.recv(65536).find(b"\r\n\r\n") < 0:
                    pass
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            except OSError:
                pass
    accept_forever(srv, serve_each(serve))
    jwks, pem = signing
    g = gateway_for(config(jwks, keys_file, port))
    verdicts, report = probe(g, pem, "HDR-001,HDR-004,HDR-005,HDR-008")
    srv.close()
    for case, (verdict, why) in verdicts.items():
        assert verdict == "skip" and "the upstream's view is needed" in why, report


def test_a_proxy_that_passes_identity_headers_fails(upstream, signing, keys_file, tmp_path):  # noqa: F811
    jwks, pem = signing
    naive = NaiveProxy(upstream.port)
    try:
        cfg = tmp_path / "naive.yaml"
        cfg.write_text("listeners: [{address: 127.0.0.1:%d}]\n" % naive.port
                       + config(jwks, keys_file, upstream.port))

        class Target:
            url = "http://127.0.0.1:%d" % naive.port
            config = str(cfg)
        verdicts, report = probe(Target, pem, "headers")
    finally:
        naive.close()
    for case in ("HDR-001", "HDR-002", "HDR-004"):
        verdict, why = verdicts[case]
        assert verdict == "fail", report
        assert "the upstream received the client's" in why and "probe-forged-" in why, why
    assert verdicts["HDR-008"][0] == "fail" and "X-Forwarded-For: 203.0.113.71" in verdicts["HDR-008"][1]
    # A proxy that checks nothing lets a duplicated Authorization and a folded line through too.
    assert verdicts["HDR-006"][0] == "fail"
    assert verdicts["HDR-010"][0] == "fail" and "obs-fold" in verdicts["HDR-010"][1]
