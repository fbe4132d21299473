"""Malformed and oversized requests: the right status, a problem+json body, a log line with the
reason, the connection closed, and nothing forwarded."""
import json
import socket
import time

import pytest

from conftest import proxy_yaml
from testenv import raw_request


def problem(out):
    head, _, body = out.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    assert b"Content-Type: application/problem+json" in head
    assert b"Cache-Control: no-store" in head
    return status, head, json.loads(body.split(b"\n")[0])


SMUGGLING = [
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
     "transfer-encoding-with-content-length"),
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\nabcd", "multiple-content-length"),
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", "bad-transfer-encoding"),
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n", "whitespace-before-colon"),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", "obs-fold"),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n", "bad-header-value"),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n", "bare-cr"),
    (b"GET http://evil/ HTTP/1.1\r\nHost: x\r\n\r\n", "absolute-form-target"),
    (b"CONNECT evil:443 HTTP/1.1\r\nHost: evil\r\n\r\n", "connect-refused"),
    (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", "body-on-bodiless-method"),
    (b"GET /../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", "path-above-root"),
    (b"GET /a%2f..%2fadmin HTTP/1.1\r\nHost: x\r\n\r\n", "encoded-slash-in-path"),
]
PATH_REASONS = ("path-above-root", "encoded-slash-in-path")
NEXT = b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.mark.parametrize("raw,reason", SMUGGLING)
def test_malformed_requests_are_refused_and_not_forwarded(gateway_for, recording, raw, reason):
    g = gateway_for(proxy_yaml(recording.port))
    # A well-formed request pipelined after the refused one: it must not be read or answered,
    # because the refusal closes the connection (a refused path too: the gateway cannot tell
    # what else the client meant by the bytes that follow).
    out = raw_request(g.port, raw + NEXT)
    status, head, body = problem(out)
    assert status == 400
    assert body["type"] == "urn:gatehouse:problem:" + reason
    assert b"Connection: close" in head and out.closed
    assert out.count(b"HTTP/1.1") == 1  # nothing after a refusal is read as a request
    line = g.access_lines(1)[-1]
    assert line["status"] == 400 and line["reason"] == reason and line["detail"]
    assert line["client_ip"] == "127.0.0.1"
    if reason in PATH_REASONS:
        assert line["path"] is None and line["target"] == raw.split(b" ")[1].decode()
    assert len(g.access_lines()) == 1
    assert recording.received == []  # no upstream connection was even opened


def test_bad_chunk_after_the_head_was_forwarded_cuts_the_upstream_stream(gateway_for, recording):
    g = gateway_for(proxy_yaml(recording.port))
    out = raw_request(g.port, b"POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                              b"5\r\nhello\r\nzz\r\n" + NEXT)
    status, head, body = problem(out)
    assert status == 400 and body["type"] == "urn:gatehouse:problem:bad-chunk"
    assert b"Connection: close" in head and out.closed and out.count(b"HTTP/1.1") == 1
    # The upstream got the head and the good chunk, then its connection was closed (discarded,
    # never returned to the pool) without the last chunk: it never saw a complete request, so
    # nothing the client sent after the bad chunk can be read there as another request.
    # (the 400 may reach the client before the upstream's accept thread has run)
    upstream_head, upstream_body = recording.ended_request(0)
    assert len(recording.received) == 1
    assert upstream_head.startswith(b"POST /up HTTP/1.1\r\n")
    assert b"\r\nTransfer-Encoding: chunked" in upstream_head
    assert upstream_body == b"5\r\nhello\r\n"
    line = g.access_lines(1)[-1]
    assert (line["status"], line["reason"], line["route"]) == (400, "bad-chunk", "app")
    assert line["detail"] and line["upstream_status"] is None


# Chunk lines a lenient parser could read another way than the upstream does (RFC 9112 7.1):
# junk after the size, and a quote left open across the line's end.
CHUNK_LINES = [b"2 junk\r\nhi\r\n0\r\n\r\n", b"2;a=\"q\r\nhi\r\n0\r\n\r\n\"\r\n"]


@pytest.mark.parametrize("chunks", CHUNK_LINES)
def test_malformed_chunk_lines_are_refused_before_anything_is_forwarded(gateway_for, recording, chunks):
    # The body is read before an upstream connection is made (body_buffer_before_upstream), so
    # the refusal comes before any contact.
    g = gateway_for(proxy_yaml(recording.port, "limits: {body_buffer_before_upstream: 64k}\n"))
    out = raw_request(g.port, b"POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                              + chunks + NEXT)
    status, head, body = problem(out)
    assert status == 400 and body["type"] == "urn:gatehouse:problem:bad-chunk"
    assert b"Connection: close" in head and out.closed and out.count(b"HTTP/1.1") == 1
    line = g.access_lines(1)[-1]
    assert (line["status"], line["reason"], line["route"]) == (400, "bad-chunk", "app")
    assert recording.received == []  # no upstream connection was even opened


def test_http2_preface_gets_a_clear_refusal(gateway_for):
    g = gateway_for(proxy_yaml(1))
    out = raw_request(g.port, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
    status, head, body = problem(out)
    assert status == 400 and "HTTP/1.1" in body["detail"] and "HTTP/2" in body["detail"]
    assert b"Connection: close" in head and out.closed


def test_431_head_too_large_and_too_many_headers(gateway_for, upstream):
    g = gateway_for(proxy_yaml(upstream.port))
    big = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 17000 + b"\r\n\r\n"
    out = raw_request(g.port, big)
    assert problem(out)[0] == 431 and out.closed
    many = b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(101)) + b"\r\n"
    out = raw_request(g.port, many)
    status, head, body = problem(out)
    assert status == 431 and body["type"].endswith("too-many-headers")
    assert b"Connection: close" in head and out.closed
    assert upstream.connections == 0


def test_414_target_too_long(gateway_for, upstream):
    g = gateway_for(proxy_yaml(upstream.port))
    out = raw_request(g.port, b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    status, head, _ = problem(out)
    assert status == 414 and b"Connection: close" in head and out.closed
    assert upstream.connections == 0


def test_413_from_content_length_and_from_a_streamed_body(gateway_for, upstream):
    g = gateway_for(proxy_yaml(upstream.port, "limits: {max_body_bytes: 1k}\n"))
    out = raw_request(g.port, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n" + b"a" * 2000)
    status, head, _ = problem(out)
    assert status == 413 and b"Connection: close" in head and out.closed
    assert upstream.connections == 0
    chunks = b"".join(b"100\r\n" + b"b" * 256 + b"\r\n" for _ in range(8)) + b"0\r\n\r\n"
    out = raw_request(g.port, b"POST /s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks)
    status, head, _ = problem(out)
    assert status == 413 and b"Connection: close" in head and out.closed
    assert g.access_lines(2)[-1]["reason"] == "body-too-large"


def test_408_slowloris_is_cut_at_the_head_timeout(gateway_for, upstream):
    g = gateway_for(proxy_yaml(upstream.port, "limits: {head_timeout: 1s}\n"))
    with socket.create_connection(("127.0.0.1", g.port), timeout=10) as s:
        started = time.time()
        s.sendall(b"GET / HTTP/1.1\r\n")
        out = b""
        try:
            for i in range(20):
                s.sendall(b"X-%d: v\r\n" % i)  # a header every 250 ms never completes the head
                time.sleep(0.25)
        except (BrokenPipeError, ConnectionResetError):
            pass
        while True:
            b = s.recv(4096)
            if not b:
                break
            out += b
        took = time.time() - started
    assert out.startswith(b"HTTP/1.1 408")
    assert 0.9 < took < 3.5
    assert g.access_lines(1)[-1]["reason"] == "head-timeout"
    assert upstream.requests == []


def test_silent_connection_closed_at_head_timeout(gateway_for, upstream):
    g = gateway_for(proxy_yaml(upstream.port, "limits: {head_timeout: 500ms}\n"))
    with socket.create_connection(("127.0.0.1", g.port), timeout=5) as s:
        started = time.time()
        assert s.recv(10) == b""
        assert time.time() - started < 2


def test_refusals_are_counted(gateway_for, upstream):
    g = gateway_for(proxy_yaml(upstream.port))
    assert raw_request(g.port, b"GET / HTTP/1.1\r\nHost: x\r\nX : y\r\n\r\n").closed
    assert raw_request(g.port, b"GET / HTTP/1.1\r\n\r\n").closed
    # A worker counts a request as it finishes it: wait for the counts, then check them exactly.
    assert g.wait_metric('gatehouse_requests_total{route="(none)",code="400"}', 2, timeout=15) == 2
    assert g.metric('gatehouse_refusals_total{reason="whitespace-before-colon"}') == 1
    assert g.metric('gatehouse_refusals_total{reason="missing-host"}') == 1


def test_defensive_mode_forwards_ambiguous_requests_then_closes_both_sides(gateway_for, upstream):
    g = gateway_for(proxy_yaml(upstream.port, "http1: {strictness: defensive}\n"))
    raw = (b"GET /with-body HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
           b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
    out = raw_request(g.port, raw)
    assert out.startswith(b"HTTP/1.1 200") and b"Connection: close" in out.split(b"\r\n\r\n")[0]
    assert out.closed
    assert out.count(b"HTTP/1.1 ") == 1  # the pipelined request is not read after an ambiguous one
    method, path, headers, body = upstream.requests[-1]
    assert (path, body, headers.get("connection")) == ("/with-body", b"abc", "close")
    # Malformed framing stays refused in defensive mode.
    bad = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
    out = raw_request(g.port, bad)
    assert out.startswith(b"HTTP/1.1 400") and out.closed
    assert len(upstream.requests) == 1
