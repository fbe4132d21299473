"""Identity and forwarding headers in every spelling: underscore variants of the names the
gateway owns never reach the upstream (HTTP/1.1 and HTTP/2), listeners[].headers_with_underscores
decides the rest; a trusted proxy's X-Forwarded-For lines are one list, walked from the right;
client_ip limits count IPv6 clients by prefix. Assertions read the exact header lines the
upstream received, in order."""
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from conftest import jwt_identity, upstream_lines
from testenv import raw_request
from testenv.h2client import h2_request
from testenv.tokens import sign, token_claims

ISS, AUD = "https://idp.test", "api"

SPOOFED = [("X_User_Id", "admin"), ("X-User_Id", "admin"), ("X_Role", "superadmin"),
           ("X_Forwarded_For", "6.6.6.6"), ("X_Real_IP", "6.6.6.6"), ("X_Original_URL", "/admin"),
           ("X_HTTP_Method_Override", "DELETE"), ("Client_Cert", ":AAAA:"), ("X_Request_Id", "spoofed"),
           ("X_Forwarded_Host", "evil.test"), ("X_API_Client", "acme")]


@pytest.fixture(scope="module")
def key():
    return ec.generate_private_key(ec.SECP256R1())


def start(gateway_for, upstream, key, tmp_path, listener_extra=", h2c: true", extra=""):
    g = gateway_for(jwt_identity(tmp_path, key, ISS, AUD, upstream.port) + """
routes:
  - name: me
    match: {prefix: /}
    auth: {jwt: corp}
    forward: {claims: {sub: X-User-Id, role: X-Role, azp: X-API-Client}}
    upstream: app
%s""" % extra, listener_extra=listener_extra)
    g.token = sign(key, "k1", "ES256", token_claims(ISS, AUD, azp=None))  # no role, no azp
    return g


def send(gw, fields):
    head = "GET /x HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n" % gw.token
    head += "".join("%s: %s\r\n" % f for f in fields) + "Connection: close\r\n\r\n"
    raw = raw_request(gw.port, head.encode())
    return int(raw.split(b" ")[1])


def exact_lines(upstream):
    return upstream_lines(upstream, masked=("authorization", "x-request-id", "traceparent"))


def test_underscore_spellings_of_owned_names_never_reach_the_upstream(gateway_for, upstream, key, tmp_path):
    gw = start(gateway_for, upstream, key, tmp_path)
    assert send(gw, SPOOFED + [("X-Other", "kept")]) == 200
    assert exact_lines(upstream) == [("Host", "t"), ("Authorization", "*"), ("X-Other", "kept"),
                                     ("X-Forwarded-For", "127.0.0.1"), ("X-Forwarded-Proto", "http"),
                                     ("X-Forwarded-Host", "t"), ("X-Request-Id", "*"), ("traceparent", "*"), ("X-User-Id", "alice")]
    # The same over HTTP/2.
    status, _, _ = h2_request(gw.port, [(":method", "GET"), (":scheme", "http"), (":path", "/x"),
                                        (":authority", "t"), ("authorization", "Bearer " + gw.token)]
                              + [(k.lower(), v) for k, v in SPOOFED])
    assert status == 200
    assert exact_lines(upstream) == [("Host", "t"), ("authorization", "*"), ("X-Forwarded-For", "127.0.0.1"),
                                     ("X-Forwarded-Proto", "http"), ("X-Forwarded-Host", "t"),
                                     ("X-Request-Id", "*"), ("traceparent", "*"), ("X-User-Id", "alice")]


def test_allow_passes_other_underscore_names_but_never_owned_ones(gateway_for, upstream, key, tmp_path):
    gw = start(gateway_for, upstream, key, tmp_path,
               listener_extra=", h2c: true, headers_with_underscores: allow",
               extra="trusted_proxies: [127.0.0.1/32]\nheaders: {request: {remove: [X-Debug]}}\n")
    # Even from a trusted proxy, an owned name spelled with '_' is not the proxy's; nor is a
    # second spelling of a name the request already has, or of one the operator removes.
    assert send(gw, SPOOFED + [("X_Custom", "v"), ("X-Forwarded-Proto", "https"), ("X-Tenant", "a"),
                               ("X_Tenant", "b"), ("X_Debug", "1")]) == 200
    assert exact_lines(upstream) == [("Host", "t"), ("Authorization", "*"), ("X_Custom", "v"),
                                     ("X-Forwarded-Proto", "https"), ("X-Tenant", "a"), ("X-Forwarded-For", "127.0.0.1"),
                                     ("X-Forwarded-Host", "t"), ("X-Request-Id", "*"), ("traceparent", "*"), ("X-User-Id", "alice")]


def test_refuse_answers_400_and_forwards_nothing(gateway_for, upstream, key, tmp_path):
    gw = start(gateway_for, upstream, key, tmp_path,
               listener_extra=", h2c: true, headers_with_underscores: refuse")
    raw = raw_request(gw.port, b"GET /x HTTP/1.1\r\nHost: t\r\nX_Custom: v\r\nConnection: close\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 400 ")
    doc = json.loads(raw.partition(b"\r\n\r\n")[2])
    assert doc["type"] == "urn:gatehouse:problem:underscore-in-header-name"
    status, _, body = h2_request(gw.port, [(":method", "GET"), (":scheme", "http"), (":path", "/x"),
                                           (":authority", "t"), ("x_custom", "v")])
    assert status == 400 and json.loads(body)["type"] == "urn:gatehouse:problem:underscore-in-header-name"
    assert upstream.connections == 0 and upstream.bytes_received == 0
    assert gw.access_lines(2)[-1]["reason"] == "underscore-in-header-name"


def limited(gateway_for, upstream, limit):
    return gateway_for("""
trusted_proxies: [127.0.0.1/32]
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]}
rate_limits:
  per-ip: {key: client_ip, rate: 3/m, burst: 3%s}
routes:
  - {name: r, match: {prefix: /}, auth: none, rate_limit: per-ip, upstream: app}
""" % (upstream.port, limit))


def xff(gw, *values):
    head = "GET / HTTP/1.1\r\nHost: t\r\n" + "".join("X-Forwarded-For: %s\r\n" % v for v in values)
    raw = raw_request(gw.port, (head + "Connection: close\r\n\r\n").encode())
    return int(raw.split(b" ")[1])


def test_a_trusted_proxy_s_appended_line_names_the_client(gateway_for, upstream):
    gw = limited(gateway_for, upstream, "")
    # HAProxy's option forwardfor adds its own line after the client's forged one.
    got = [xff(gw, "6.6.6.%d" % n, "5.5.5.6") for n in range(6)]
    assert got == [200, 200, 200, 429, 429, 429]
    assert upstream.lines_named("X-Forwarded-For", 0) == ["6.6.6.0, 5.5.5.6, 127.0.0.1"]
    assert len(upstream.requests) == 3
    # Hops that are trusted proxies are skipped from the right.
    assert xff(gw, "5.5.5.7", "127.0.0.1") == 200
    assert xff(gw, "5.5.5.7, 127.0.0.1") == 200
    assert xff(gw, "5.5.5.7") == 200
    assert xff(gw, "5.5.5.7") == 429


def test_ipv6_clients_count_by_prefix(gateway_for, upstream):
    gw = limited(gateway_for, upstream, "")
    assert [xff(gw, "2001:db8:0:1::%x" % n) for n in range(1, 5)] == [200, 200, 200, 429]
    assert xff(gw, "2001:db8:0:2::1") == 200  # another /64
    assert [xff(gw, "::ffff:198.51.100.%d" % (n % 2 + 1)) for n in range(3)] == [200, 200, 200]
    assert xff(gw, "198.51.100.1") == 200 and xff(gw, "198.51.100.1") == 429  # mapped = IPv4
    gw2 = limited(gateway_for, upstream, ", ipv6_prefix: 128, ipv4_prefix: 24")
    assert [xff(gw2, "2001:db8:0:1::%x" % n) for n in range(1, 5)] == [200, 200, 200, 200]
    assert [xff(gw2, "192.0.2.%d" % n) for n in range(1, 5)] == [200, 200, 200, 429]


def test_prefix_keys_are_checked(tmp_path):
    from testenv import check_config
    base = ("listeners: [{address: 127.0.0.1:1}]\nrate_limits:\n  l: {key: %s, rate: 1/s, %s}\n"
            "routes:\n  - {name: r, match: {prefix: /}, auth: none, rate_limit: l, respond: {}}\n")
    assert check_config(tmp_path, base % ("client_ip", "ipv6_prefix: 56")).returncode == 0
    for key, extra, msg in (("client_ip", "ipv6_prefix: 129", "ipv6_prefix"),
                            ("client_ip", "ipv4_prefix: 4", "ipv4_prefix"),
                            ("route", "ipv6_prefix: 64", "only a limit with key: client_ip")):
        p = check_config(tmp_path, base % (key, extra))
        assert p.returncode == 1 and "c.yaml:3:" in p.stderr and msg in p.stderr, p.stderr
    bad = "listeners: [{address: 127.0.0.1:1, headers_with_underscores: keep}]\nroutes: []\n"
    p = check_config(tmp_path, bad)
    assert p.returncode == 1 and "c.yaml:1:" in p.stderr and "drop, refuse, allow" in p.stderr, p.stderr
