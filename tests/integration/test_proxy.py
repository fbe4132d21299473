"""Proxying: headers both ways, keep-alive, pipelining, HTTP/1.0, Expect, chunked bodies."""
import socket

import requests

from conftest import proxy_yaml, upstream_lines
from testenv import raw_request


def test_forwards_and_sets_forwarding_headers(gateway_for, upstream):
    g = gateway_for(proxy_yaml(upstream.port))
    # A field named in Connection is hop-by-hop however long its name is.
    long_name = "X-Long-" + "n" * 120
    r = requests.get(g.url + "/a/./b/../c?q=1", headers={
        "X-Forwarded-For": "6.6.6.6", "X-Request-Id": "spoofed", "Forwarded": "for=1.2.3.4",
        "X-Real-IP": "1.2.3.4", "Connection": "X-Secret, " + long_name, "X-Secret": "hop",
        long_name: "hop", "User-Agent": "t/1"})
    assert r.status_code == 200
    assert "path=/a/c?q=1" in r.text
    host = "127.0.0.1:%d" % g.port
    assert upstream_lines(upstream, masked=("traceparent",)) == [
        ("Host", host), ("User-Agent", "t/1"), ("Accept-Encoding", "gzip, deflate"), ("Accept", "*/*"),
        ("X-Forwarded-For", "127.0.0.1"), ("X-Forwarded-Proto", "http"), ("X-Forwarded-Host", host),
        ("X-Request-Id", r.headers["X-Request-Id"]), ("traceparent", "*")]
    assert r.headers["X-Request-Id"] != "spoofed"
    # Hop-by-hop headers of the upstream (and those it names in Connection) stay behind.
    assert r.headers["X-Upstream"] == "yes"
    assert "X-Hop" not in r.headers
    assert r.headers.get("Connection", "keep-alive").lower() != "close"


def test_trusted_proxy_headers_are_kept(gateway_for, upstream):
    g = gateway_for(proxy_yaml(upstream.port, "trusted_proxies: [127.0.0.0/8]\n"))
    r = requests.get(g.url + "/", headers={"X-Forwarded-For": "6.6.6.6", "X-Forwarded-Proto": "https",
                                           "X-Request-Id": "abc-123"})
    assert upstream_lines(upstream, masked=("traceparent",)) == [
        ("Host", "127.0.0.1:%d" % g.port), ("User-Agent", requests.utils.default_user_agent()),
        ("Accept-Encoding", "gzip, deflate"), ("Accept", "*/*"), ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-For", "6.6.6.6, 127.0.0.1"), ("X-Forwarded-Host", "127.0.0.1:%d" % g.port),
        ("X-Request-Id", "abc-123"), ("traceparent", "*")]
    assert r.headers["X-Request-Id"] == "abc-123"
    assert g.access_lines(1)[-1]["request_id"] == "abc-123"
    # An id that is not a plain token is replaced, never echoed.
    r = requests.get(g.url + "/", headers={"X-Request-Id": "a b<script>"})
    assert len(r.headers["X-Request-Id"]) == 32


def test_keep_alive_reuses_client_and_upstream_connections(gateway_for, upstream):
    g = gateway_for(proxy_yaml(upstream.port))
    with requests.Session() as s:
        for i in range(20):
            assert s.get(g.url + "/k%d" % i).status_code == 200
    assert g.wait_metric('gatehouse_upstream_requests_total{upstream="app",result="success"}', 20) == 20
    assert len(upstream.requests) == 20


def test_pipelined_requests_answer_in_order(gateway_for, upstream):
    g = gateway_for(proxy_yaml(upstream.port))
    reqs = b"".join(b"GET /slow/%d?n=%d HTTP/1.1\r\nHost: x\r\n\r\n" % (ms, i)
                    for i, ms in enumerate([200, 0, 100]))
    reqs += b"GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    out = raw_request(g.port, reqs).decode()
    order = [l for l in out.splitlines() if l.startswith("path=")]
    assert order == ["path=/slow/200?n=0", "path=/slow/0?n=1", "path=/slow/100?n=2", "path=/last"]


def test_http10_with_and_without_keep_alive(gateway_for, upstream):
    g = gateway_for(proxy_yaml(upstream.port))
    out = raw_request(g.port, b"GET /a HTTP/1.0\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 200") and b"Connection: close" in out
    with socket.create_connection(("127.0.0.1", g.port), timeout=5) as s:
        f = s.makefile("rb")
        for i in range(2):
            s.sendall(b"GET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            assert f.readline().startswith(b"HTTP/1.1 200")
            headers = {}
            while True:
                line = f.readline()
                if line == b"\r\n":
                    break
                k, v = line.decode().split(":", 1)
                headers[k.lower()] = v.strip()
            assert headers["connection"] == "keep-alive"
            f.read(int(headers["content-length"]))


def test_expect_100_continue(gateway_for, upstream):
    g = gateway_for(proxy_yaml(upstream.port))
    with socket.create_connection(("127.0.0.1", g.port), timeout=5) as s:
        s.sendall(b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        assert s.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        s.sendall(b"hello")
        resp = b""
        while b"body=" not in resp:
            resp += s.recv(4096)
        assert resp.startswith(b"HTTP/1.1 200") and b"body=5" in resp
    method, path, headers, body = upstream.requests[-1]
    assert body == b"hello" and "expect" not in headers


def test_chunked_upload_streams_to_upstream(gateway_for, upstream):
    g = gateway_for(proxy_yaml(upstream.port))

    def gen():
        for i in range(200):
            yield b"y" * 10000

    r = requests.post(g.url + "/upload", data=gen())
    assert r.status_code == 200 and "body=2000000" in r.text
    method, path, headers, body = upstream.requests[-1]
    assert headers["transfer-encoding"] == "chunked" and len(body) == 2000000
    r = requests.post(g.url + "/upload", data=b"z" * 300000)
    assert "body=300000" in r.text


def test_head_and_status_passthrough(gateway_for, upstream):
    g = gateway_for(proxy_yaml(upstream.port))
    r = requests.head(g.url + "/h")
    assert r.status_code == 200 and r.text == "" and int(r.headers["Content-Length"]) > 0
    assert requests.get(g.url + "/status/404").status_code == 404
    assert requests.get(g.url + "/status/503").status_code == 503


def test_direct_responses(gateway_for):
    g = gateway_for("""
routes:
  - name: health
    match: {path: /healthz, methods: [GET]}
    auth: none
    respond: {status: 200, headers: {X-Demo: '1'}, body: "ok\\n"}
""")
    r = requests.get(g.url + "/healthz")
    assert (r.status_code, r.text, r.headers["X-Demo"]) == (200, "ok\n", "1")
    assert r.headers["Content-Type"].startswith("text/plain")
    r = requests.post(g.url + "/healthz")
    assert r.status_code == 405 and r.headers["Allow"] == "GET, HEAD"
    assert r.headers["Content-Type"] == "application/problem+json"
    assert r.json()["type"] == "urn:gatehouse:problem:method-not-allowed"
    r = requests.get(g.url + "/nothing")
    assert r.status_code == 404 and r.json()["status"] == 404


def test_direct_response_reads_the_body_and_keeps_the_connection(gateway_for):
    g = gateway_for("""
routes:
  - {name: orders, match: {path: /orders, methods: [POST]}, auth: none, respond: {status: 201, body: created}}
""")
    with socket.create_connection(("127.0.0.1", g.port), timeout=5) as s:
        s.sendall(b"POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcd"
                  b"POST /orders HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n")
        out = b""
        while out.count(b"created") < 2:
            out += s.recv(4096)
    assert out.count(b"HTTP/1.1 201") == 2 and b"Connection: close" not in out
    assert [l["bytes_in"] for l in g.access_lines(2)] == [4, 2]
