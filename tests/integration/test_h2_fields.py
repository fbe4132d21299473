"""An HTTP/2 stream's request is its fields: what reaches the upstream is those fields, line by
line and in order (:authority as Host, cookies as one field, no Expect), and a head is judged by
the same rules as an HTTP/1.1 head, with the same refusal for the same fault."""
import pytest

from conftest import upstream_lines
from testenv import raw_request
from testenv.h2client import h2_request

CONFIG = """
limits: {max_headers: 20, max_target_bytes: 200}
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]}
routes:
  - {name: app, match: {prefix: /}, auth: none, upstream: app}
"""

BASE = [(":method", "POST"), (":scheme", "http"), (":path", "/echo?q=1"), (":authority", "api.test")]


@pytest.fixture
def gw(gateway_for, upstream):
    return gateway_for(CONFIG % upstream.port, listener_extra=", h2c: true")


def test_the_upstream_receives_the_stream_s_fields_in_order(gw, upstream):
    fields = BASE + [("x-first", "1"), ("cookie", "a=1"), ("host", "other.test"),
                     ("expect", "100-continue"), ("x-second", "2"), ("cookie", "b=2")]
    status, _, _ = h2_request(gw.port, fields, body=b"hello")
    assert status == 200
    assert upstream_lines(upstream) == [
        ("Host", "api.test"), ("x-first", "1"), ("x-second", "2"), ("Cookie", "a=1; b=2"),
        ("X-Forwarded-For", "127.0.0.1"), ("X-Forwarded-Proto", "http"),
        ("X-Forwarded-Host", "api.test"), ("X-Request-Id", "*"), ("traceparent", "*"), ("Transfer-Encoding", "chunked")]
    method, path, _, body = upstream.requests[-1]
    assert (method, path, body) == ("POST", "/echo?q=1", b"hello")
    # With a length, the body goes with it; without :authority a host field is the Host.
    fields = [f for f in BASE if f[0] != ":authority"] + [("host", "h.test"), ("content-length", "5")]
    assert h2_request(gw.port, fields, body=b"world")[0] == 200
    lines = upstream_lines(upstream)
    assert lines[0] == ("Host", "h.test") and lines[-1] == ("Content-Length", "5")
    assert upstream.requests[-1][3] == b"world"
    line = gw.access_lines(2)[-1]
    assert (line["status"], line["bytes_in"], line["path"]) == (200, 5, "/echo")


def h1_equivalent(fields, body):
    pseudo = dict(f for f in fields if f[0].startswith(":"))
    head = "%s %s HTTP/1.1\r\n" % (pseudo[":method"], pseudo[":path"])
    if ":authority" in pseudo:
        head += "Host: %s\r\n" % pseudo[":authority"]
    head += "".join("%s: %s\r\n" % f for f in fields if not f[0].startswith(":"))
    if body:
        head += "Transfer-Encoding: chunked\r\n"
    return (head + "Connection: close\r\n\r\n").encode() + (b"5\r\nhello\r\n0\r\n\r\n" if body else b"")


GET = [(":method", "GET"), (":scheme", "http"), (":path", "/echo"), (":authority", "t")]
FAULTS = {
    "body-on-bodiless-method": (GET, b"hello"),
    "too-many-headers": (GET + [("x-%d" % i, "v") for i in range(25)], b""),
    "target-too-long": ([(k, "/" + "a" * 300 if k == ":path" else v) for k, v in GET], b""),
    "bad-target": ([(k, "/a#b" if k == ":path" else v) for k, v in GET], b""),
    "duplicate-singleton-field": (GET + [("content-type", "a/b"), ("content-type", "c/d")], b""),
    "lookalike-framing-header": (GET + [("content_length", "5")], b""),
    # A name or value HTTP/2 does not allow, that nghttp2 would drop unsaid: refused as in
    # HTTP/1.1, not passed over.
    "bad-header-name": (GET + [("x-user@id", "admin")], b""),
    "bad-header-value": (GET + [("x-a", "one\x01two")], b""),
}
# Whitespace around a value: an HTTP/1.1 head may have it (it is not part of the value), an
# HTTP/2 field may not (RFC 9113 8.2.1).
SPACED = {
    "leading space": GET + [("x-a", " admin")],
    "trailing tab": GET + [("x-a", "admin\t")],
    "around a length": [(":method", "POST")] + GET[1:] + [("content-length", " 5 ")],
}


@pytest.mark.parametrize("reason", sorted(FAULTS))
def test_a_stream_is_refused_as_its_http11_twin(gw, upstream, reason):
    fields, body = FAULTS[reason]
    raw = raw_request(gw.port, h1_equivalent(fields, body))
    h1 = gw.access_lines(1)[-1]
    status, headers, _ = h2_request(gw.port, fields, body=body)
    h2 = gw.access_lines(2)[-1]
    assert (h1["reason"], h2["reason"]) == (reason, reason), (raw[:200], h1, h2)
    assert status == h1["status"] == int(raw.split(b" ")[1])
    assert headers["content-type"] == "application/problem+json"
    assert upstream.requests == []  # nothing forwarded


@pytest.mark.parametrize("case", sorted(SPACED))
def test_whitespace_around_a_stream_s_field_value_is_refused(gw, upstream, case):
    status, headers, _ = h2_request(gw.port, SPACED[case], body=b"hello" if "length" in case else b"")
    line = gw.access_lines(1)[-1]
    assert (status, line["reason"]) == (400, "bad-header-value")
    assert headers["content-type"] == "application/problem+json"
    assert upstream.requests == []


# What HTTP/2 itself calls malformed (RFC 9113 8.1.1, 8.2.1, 8.3.1) is a stream error: the
# stream is reset before any request exists, and nothing is forwarded.
MALFORMED = {
    "no :authority and no host": [f for f in GET if f[0] != ":authority"],
    "two host fields": [f for f in GET if f[0] != ":authority"] + [("host", "a"), ("host", "b")],
    "an upper-case name": GET + [("X-Upper", "v")],
    "a connection-specific field": GET + [("connection", "close")],
}


@pytest.mark.parametrize("fault", sorted(MALFORMED))
def test_a_malformed_stream_is_reset(gw, upstream, fault):
    status, _, _ = h2_request(gw.port, MALFORMED[fault])
    assert status is None
    assert h2_request(gw.port, GET)[0] == 200  # and the next request is served
    assert len(upstream.requests) == 1



@pytest.mark.parametrize("pad, status", [(984, 200), (985, 431)])
def test_a_stream_s_head_is_as_large_as_its_http11_twin(gateway_for, upstream, pad, status):
    """limits.max_head_bytes counts a stream's head as HTTP/1.1 would: "GET /echo HTTP/1.1",
    Host from :authority, each field, CRLFs. At 1024 bytes both pass; one more, both get 431."""
    gw = gateway_for(CONFIG.replace("limits: {", "limits: {max_head_bytes: 1k, ") % upstream.port
                     + "http2: {max_header_list_size: 64k}\n", listener_extra=", h2c: true")
    fields = GET + [("x-pad", "p" * pad)]
    raw = raw_request(gw.port, h1_equivalent(fields, b"").replace(b"Connection: close\r\n", b""),
                      read_until_close=False)
    assert int(raw.split(b" ")[1]) == status
    assert h2_request(gw.port, fields)[0] == status
