"""Hosts are parsed once: a host route is not skipped by a trailing dot, upper case or an extra
port, over HTTP/1.1 and HTTP/2; a malformed Host is refused with its own problem type and never
forwarded; the upstream gets the canonical host. Singleton fields sent twice are refused."""
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from conftest import jwt_identity
from testenv import raw_request
from testenv.h2client import h2_request
from testenv.tokens import sign, token_claims

ISS, AUD = "https://idp.test", "admin-api"


@pytest.fixture(scope="module")
def key():
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def gw(gateway_for, upstream, key, tmp_path):
    g = gateway_for(jwt_identity(tmp_path, key, ISS, AUD, upstream.port) + """
routes:
  - {name: admin, match: {host: admin.test, prefix: /}, auth: {jwt: corp}, upstream: app}
  - name: form
    match: {path: /form, methods: [POST]}
    auth: none
    body: {content_types: [application/json], schema: %s}
    upstream: app
  - {name: public, match: {prefix: /}, auth: none, upstream: app}
""" % schema(tmp_path), listener_extra=", h2c: true")
    g.token = sign(key, "k1", "ES256", token_claims(ISS, AUD))
    return g


def schema(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"type": "object", "properties": {"a": {"type": "string"}}}))
    return path


def get(gw, host, extra=""):
    """Status and problem document (or body) of GET / with this Host over HTTP/1.1."""
    raw = raw_request(gw.port, ("GET / HTTP/1.1\r\nHost: %s\r\n%sConnection: close\r\n\r\n"
                                % (host, extra)).encode())
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


ADMIN_SPELLINGS = ["admin.test", "admin.test.", "ADMIN.TEST.", "Admin.Test", "admin.test.:80",
                   "admin.test:80", "admin.test:08080"]
MALFORMED = ["admin.test:80:80", "admin.test..", "admin.test:", "admin.test:99999", "admin%2etest",
             "127.1", "[::1", "admin.test:8o"]


def test_every_spelling_of_a_host_route_reaches_that_route(gw, upstream):
    for host in ADMIN_SPELLINGS:
        status, body = get(gw, host)
        assert status == 401, (host, status, body)
    assert upstream.requests == [] and upstream.connections == 0
    for host in ADMIN_SPELLINGS:
        status, _ = h2_request(gw.port, [(":method", "GET"), (":scheme", "http"), (":path", "/"),
                                         (":authority", host)])[:2]
        assert status == 401, host
    assert upstream.requests == [] and upstream.bytes_received == 0


def test_malformed_hosts_are_refused_and_never_forwarded(gw, upstream):
    for host in MALFORMED:
        status, body = get(gw, host)
        assert status == 400, host
        assert json.loads(body)["type"] == "urn:gatehouse:problem:bad-host", (host, body)
    for host in MALFORMED:
        status, _, body = h2_request(gw.port, [(":method", "GET"), (":scheme", "http"), (":path", "/"),
                                               (":authority", host)])
        assert status in (400, None), host  # nghttp2 resets a stream whose :authority it cannot read
        if status == 400:
            assert json.loads(body)["type"] == "urn:gatehouse:problem:bad-host", host
    assert upstream.connections == 0 and upstream.bytes_received == 0
    reasons = [l.get("reason") for l in gw.access_lines(len(MALFORMED))]
    assert reasons.count("bad-host") >= len(MALFORMED)


def test_the_upstream_gets_the_canonical_host(gw, upstream):
    status, _ = get(gw, "ADMIN.TEST.:08443", "Authorization: Bearer %s\r\n" % gw.token)
    assert status == 200
    assert upstream.lines_named("Host") == ["admin.test:8443"]
    assert upstream.lines_named("X-Forwarded-Host") == ["admin.test:8443"]
    status, _ = get(gw, "Admin.Test.:80", "Authorization: Bearer %s\r\n" % gw.token)  # http's own port
    assert status == 200 and upstream.lines_named("Host") == ["admin.test"]
    status, _, _ = h2_request(gw.port, [(":method", "GET"), (":scheme", "http"), (":path", "/"),
                                        (":authority", "Admin.Test."), ("authorization", "Bearer " + gw.token)])
    assert status == 200
    assert upstream.lines_named("Host") == ["admin.test"]


def post_form(gw, extra):
    body = b'{"a": "x"}'
    raw = raw_request(gw.port, b"POST /form HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                      + extra + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
    head, _, doc = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    return status, json.loads(doc) if status >= 400 else doc


def test_singleton_fields_sent_twice_are_refused(gw, upstream):
    status, doc = post_form(gw, b"Content-Type: application/x-www-form-urlencoded\r\n")
    assert status == 400 and doc["type"] == "urn:gatehouse:problem:duplicate-singleton-field"
    status, doc = post_form(gw, b"Authorization: Bearer a\r\nAuthorization: Bearer b\r\n")
    assert status == 400 and doc["type"] == "urn:gatehouse:problem:duplicate-singleton-field"
    for dup in (("content-type", "application/x-www-form-urlencoded"), ("authorization", "Bearer b"),
                ("host", "other.test")):
        status, _, body = h2_request(gw.port, [(":method", "POST"), (":scheme", "http"), (":path", "/form"),
                                               ("content-type", "application/json"), ("authorization", "Bearer a"),
                                               ("host", "t"), dup], body=b'{"a": "x"}')
        if dup[0] == "host":
            assert status is None  # nghttp2 resets a stream with two host fields itself
            continue
        assert status == 400, dup
        assert json.loads(body)["type"] == "urn:gatehouse:problem:duplicate-singleton-field", dup
    assert upstream.connections == 0 and upstream.bytes_received == 0
    # One of each still passes.
    status, _ = post_form(gw, b"")
    assert status == 200 and upstream.lines_named("Content-Type") == ["application/json"]


def test_limits_keyed_on_the_host_see_one_spelling(gateway_for, upstream):
    gw = gateway_for("""
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]}
rate_limits:
  per-host: {key: header.Host, rate: 1/m, burst: 1}
routes:
  - {name: r, match: {prefix: /}, auth: none, rate_limit: per-host, upstream: app}
""" % upstream.port)
    assert get(gw, "admin.test")[0] == 200
    for spelling in ("ADMIN.TEST.", "admin.test.:80", "Admin.Test:80"):
        assert get(gw, spelling)[0] == 429, spelling
    assert get(gw, "other.test")[0] == 200


def test_an_ipv6_host_route_is_not_skipped_by_another_spelling(gateway_for, upstream, key, tmp_path):
    gw = gateway_for(jwt_identity(tmp_path, key, ISS, AUD, upstream.port) + """
routes:
  - {name: admin, match: {host: "[::1]", prefix: /}, auth: {jwt: corp}, upstream: app}
  - {name: public, match: {prefix: /}, auth: none, upstream: app}
""", listener_extra=", h2c: true")
    spellings = ["[::1]", "[0::1]", "[::0001]", "[0:0:0:0:0:0:0:1]", "[0:0::1]:80", "[::0:1]:8080"]
    for host in spellings:
        status, body = get(gw, host)
        assert status == 401, (host, status, body)
        status, _ = h2_request(gw.port, [(":method", "GET"), (":scheme", "http"), (":path", "/"),
                                         (":authority", host)])[:2]
        assert status == 401, host
    assert upstream.requests == [] and upstream.bytes_received == 0
    token = sign(key, "k1", "ES256", token_claims(ISS, AUD))
    status, _ = get(gw, "[0:0::0001]:0080", "Authorization: Bearer %s\r\n" % token)
    assert status == 200 and upstream.lines_named("Host") == ["[::1]"]
