"""Upstream failures map to 502, 503 and 504, with a reason in the log and the metrics."""
import concurrent.futures
import socket
import threading
import time

import requests

from conftest import proxy_yaml
from testenv import free_port, listening_socket, raw_request


def test_upstream_down_is_502(gateway_for):
    g = gateway_for(proxy_yaml(free_port()))
    r = requests.get(g.url + "/x")
    assert r.status_code == 502
    assert r.json()["type"] == "urn:gatehouse:problem:upstream-connect-failed"
    line = g.access_lines(1)[-1]
    assert line["reason"] == "upstream-connect-failed" and line["upstream"].startswith("127.0.0.1:")
    # Nothing was sent: tried again once (retry.attempts 2 by default), refused again.
    assert g.metric('gatehouse_upstream_requests_total{upstream="app",result="connect_failed"}') == 2
    assert line["attempts"] == 2


def test_slow_upstream_is_504(gateway_for, upstream):
    g = gateway_for(proxy_yaml(upstream.port, upstream_extra=", timeout: 300ms"))
    started = time.time()
    r = requests.get(g.url + "/slow/2000")
    assert r.status_code == 504 and time.time() - started < 1.5
    assert r.json()["type"] == "urn:gatehouse:problem:upstream-timeout"
    assert g.metric('gatehouse_upstream_requests_total{upstream="app",result="timeout"}') == 1
    # The gateway keeps serving after a timeout.
    assert requests.get(g.url + "/fast").status_code == 200


def test_max_concurrency_is_enforced_across_workers(gateway_for, upstream):
    g = gateway_for(proxy_yaml(upstream.port, upstream_extra=", max_concurrency: 2"), workers=2)

    def call(i):
        return requests.get(g.url + "/slow/700?i=%d" % i).status_code

    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        codes = list(ex.map(call, range(8)))
    assert codes.count(200) == 2, codes
    assert codes.count(503) == 6, codes
    assert g.metric('gatehouse_upstream_requests_total{upstream="app",result="at_capacity"}') == 6
    assert g.metric('gatehouse_upstream_in_flight{upstream="app"}') == 0
    r = requests.get(g.url + "/slow/0")
    assert r.status_code == 200


def test_malformed_upstream_response_is_502(gateway_for, upstream):
    g = gateway_for(proxy_yaml(upstream.port))
    r = requests.get(g.url + "/garbage")
    assert r.status_code == 502 and r.json()["type"].endswith("upstream-bad-response")
    r = requests.get(g.url + "/close")
    assert r.status_code == 502 and r.json()["type"].endswith("upstream-reset")
    assert requests.get(g.url + "/fine").status_code == 200


def test_round_robin_over_endpoints(gateway_for):
    from testenv import Upstream
    with Upstream(free_port()) as a, Upstream(free_port()) as b:
        g = gateway_for("""
upstreams:
  app: {endpoints: [http://127.0.0.1:%d, http://127.0.0.1:%d]}
routes:
  - {name: app, match: {prefix: /}, auth: none, upstream: app}
""" % (a.port, b.port))
        for i in range(10):
            assert requests.get(g.url + "/rr").status_code == 200
        assert len(a.requests) == 5 and len(b.requests) == 5


def test_stale_pooled_connection_is_retried_for_bodiless_requests(gateway_for):
    """An upstream that closes idle keep-alive connections must not cost the client a 502."""
    srv, port = listening_socket(16)

    def serve():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            f = c.makefile("rb")
            while f.readline() not in (b"\r\n", b""):
                pass
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            time.sleep(0.05)
            f.close()
            c.close()  # keep-alive promised, connection dropped right after

    threading.Thread(target=serve, daemon=True).start()
    g = gateway_for(proxy_yaml(port))
    with requests.Session() as s:
        for i in range(6):
            assert s.get(g.url + "/r").status_code == 200
            time.sleep(0.1 if i % 2 else 0.03)  # before and after the upstream's close
    srv.close()


def test_pooled_connections_are_reused_then_expire(gateway_for, upstream):
    g = gateway_for(proxy_yaml(upstream.port, upstream_extra=", keepalive: {idle_timeout: 500ms}"))
    for i in range(5):
        assert requests.get(g.url + "/p").status_code == 200
    assert upstream.connections == 1
    time.sleep(2.2)  # past idle_timeout and the once-a-second sweep
    assert requests.get(g.url + "/p").status_code == 200
    assert upstream.connections == 2


def test_an_early_upstream_answer_to_an_upload_reaches_the_client(gateway_for):
    """An upstream may refuse an upload before reading it; the client gets that answer and the
    connection closes, since the rest of the body will not be read."""
    srv, port = listening_socket(4)

    def serve():
        c, _ = srv.accept()
        f = c.makefile("rb")
        while f.readline() not in (b"\r\n", b""):
            pass
        c.sendall(b"HTTP/1.1 413 Too Big\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope")
        time.sleep(1)
        f.close()
        c.close()

    threading.Thread(target=serve, daemon=True).start()
    g = gateway_for(proxy_yaml(port))
    with socket.create_connection(("127.0.0.1", g.port), timeout=10) as s:
        s.sendall(b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 8000000\r\n\r\n")
        out = b""
        try:
            for _ in range(120):
                s.sendall(b"z" * 65536)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            while True:
                b = s.recv(4096)
                if not b:
                    break
                out += b
        except ConnectionResetError:
            pass
    assert out.startswith(b"HTTP/1.1 413") and out.endswith(b"nope")
    assert b"Connection: close" in out
    srv.close()
