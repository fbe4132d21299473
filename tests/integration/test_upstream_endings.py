"""How an upstream response ends. A response that is complete by its own framing (its length
reached, its last chunk read, a status or method without a body) and then followed by the
upstream closing its connection is a success: the client gets it whole, the log and the metrics
carry its status and no reason, and only the connection is not reused. A response cut short by
the close is an upstream reset: the client's connection is cut. Each upstream here is a raw
socket that writes exactly the bytes given."""
import http.client
import ssl
import time

import pytest

from conftest import proxy_yaml
from testenv import accept_forever, listening_socket, serve_each
from testenv.certs import CertAuthority
from testenv.h2client import h2_request


def read_head(c):
    data = b""
    while b"\r\n\r\n" not in data:
        b = c.recv(4096)
        if not b:
            return False
        data += b
    return True


class RawUpstream:
    """Answers each request with `writes` (a pause between them), then closes the connection
    when close is true, else waits for the next request on it. tls: (certificate, key) to serve
    HTTPS; notify: end the TLS session with close_notify before the close."""

    def __init__(self, writes, close=True, tls=None, notify=False):
        self.writes, self.close, self.notify = writes, close, notify
        self.ctx = None
        if tls:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(*tls)
        self.sock, self.port = listening_socket()
        self.connections = 0
        serve = serve_each(self._serve)
        accept_forever(self.sock, lambda c: (self._count(), serve(c)))

    def _count(self):
        self.connections += 1

    def _serve(self, c):
        try:
            if self.ctx:
                c = self.ctx.wrap_socket(c, server_side=True)
            while read_head(c):
                for i, w in enumerate(self.writes):
                    if i:
                        time.sleep(0.1)
                    c.sendall(w)
                if self.close:
                    break
            if self.ctx and self.notify:
                c.settimeout(2)
                c.unwrap()  # close_notify (then the gateway's close ends the wait for its own)
        except (OSError, ssl.SSLError):
            pass
        finally:
            c.close()

    def stop(self):
        self.sock.close()


@pytest.fixture
def raw_upstream():
    made = []

    def make(writes, **kw):
        u = RawUpstream(writes, **kw)
        made.append(u)
        return u

    yield make
    for u in made:
        u.stop()


def get(port, method="GET", path="/e"):
    """(status, response, body) over HTTP/1.1; IncompleteRead (or a reset) when the gateway cut
    the connection short of the body's end."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, path)
        r = conn.getresponse()
        return r.status, r, r.read()
    finally:
        conn.close()


def assert_success(g, status, count=1):
    line = g.access_lines(count)[-1]
    assert line["status"] == status and line["upstream_status"] == status, line
    assert "reason" not in line, line
    assert g.wait_metric('gatehouse_upstream_requests_total{upstream="app",result="success"}',
                         count) == count
    assert g.metric('gatehouse_upstream_requests_total{upstream="app",result="reset"}') == 0
    assert g.metric('gatehouse_refusals_total{reason="upstream-reset"}') == 0
    assert g.wait_metric('gatehouse_requests_total{route="app",code="%d"}' % status, count) == count


COMPLETE_THEN_CLOSE = {
    "empty-length": ("GET", [b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"], 200, b""),
    "http10-redirect": ("GET", [b"HTTP/1.0 302 Found\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n"],
                        302, b""),
    "no-content": ("GET", [b"HTTP/1.1 204 No Content\r\n\r\n"], 204, b""),
    "not-modified": ("GET", [b'HTTP/1.1 304 Not Modified\r\nETag: "a"\r\n\r\n'], 304, b""),
    "head": ("HEAD", [b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"], 200, b""),
    "length-with-close": ("GET", [b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"], 200, b"hello"),
    "chunked": ("GET", [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
                        b"0\r\n\r\n"], 200, b"hello"),
    "until-close": ("GET", [b"HTTP/1.1 200 OK\r\n\r\nhel", b"lo"], 200, b"hello"),
}


@pytest.mark.parametrize("case", sorted(COMPLETE_THEN_CLOSE))
def test_a_complete_response_then_close_is_a_success(gateway_for, raw_upstream, case):
    method, writes, status, body = COMPLETE_THEN_CLOSE[case]
    u = raw_upstream(writes)
    g = gateway_for(proxy_yaml(u.port))
    got, r, data = get(g.port, method)
    assert (got, data) == (status, body)
    if case == "http10-redirect":
        assert r.getheader("Location") == "/x"
    assert_success(g, status)


@pytest.mark.parametrize("case", ["empty-length", "length-with-close", "chunked"])
def test_a_complete_response_then_close_is_a_success_over_h2(gateway_for, raw_upstream, case):
    _, writes, status, body = COMPLETE_THEN_CLOSE[case]
    u = raw_upstream(writes)
    g = gateway_for(proxy_yaml(u.port), listener_extra=", h2c: true")
    got, _, data = h2_request(g.port, [(":method", "GET"), (":scheme", "http"), (":path", "/e"),
                                       (":authority", "x")])
    assert (got, data) == (status, body)
    assert_success(g, status)


def test_an_empty_body_on_a_kept_connection_ends_at_once(gateway_for, raw_upstream):
    """Content-Length: 0 needs no byte and no close to end: the response goes out at once and the
    connection is reused."""
    u = raw_upstream([b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"], close=False)
    g = gateway_for(proxy_yaml(u.port, upstream_extra=", timeout: 3s"))
    for i in range(3):
        started = time.time()
        assert get(g.port)[0] == 201
        assert time.time() - started < 1.5
    assert u.connections == 1
    assert_success(g, 201, 3)


CUT_SHORT = {
    "length": [b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"],
    "chunked": [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"],
}


@pytest.mark.parametrize("case", sorted(CUT_SHORT))
def test_a_response_cut_short_by_the_close_is_a_reset(gateway_for, raw_upstream, case):
    u = raw_upstream(CUT_SHORT[case])
    g = gateway_for(proxy_yaml(u.port))
    with pytest.raises((http.client.IncompleteRead, ConnectionError)):
        get(g.port)  # cut: the body falls short of its framing
    line = g.access_lines(1)[-1]
    assert line["reason"] == "upstream-reset" and line["upstream_status"] == 200, line
    assert g.wait_metric('gatehouse_upstream_requests_total{upstream="app",result="reset"}', 1) == 1
    assert g.metric('gatehouse_upstream_requests_total{upstream="app",result="success"}') == 0


def test_a_close_before_any_response_byte_is_a_reset(gateway_for, raw_upstream):
    u = raw_upstream([])
    g = gateway_for(proxy_yaml(u.port, upstream_extra=", retry: {attempts: 1}"))
    assert get(g.port)[0] == 502
    assert g.access_lines(1)[-1]["reason"] == "upstream-reset"
    assert g.wait_metric('gatehouse_upstream_requests_total{upstream="app",result="reset"}', 1) == 1


@pytest.fixture
def backend_cert(tmp_path):
    ca = CertAuthority(str(tmp_path))
    ca.backend = ca.issue("backend", "backend.test", ips=["127.0.0.1"])
    return ca


def tls_yaml(port, ca):
    return """
upstreams:
  app: {endpoints: [https://127.0.0.1:%d], tls: {ca_file: %s}}
routes:
  - {name: app, match: {prefix: /}, auth: none, upstream: app}
""" % (port, ca.ca_file)


UNTIL_CLOSE = [b"HTTP/1.1 200 OK\r\n\r\nhel", b"lo"]


def test_over_tls_close_notify_ends_a_body_that_runs_to_the_close(gateway_for, raw_upstream,
                                                                   backend_cert):
    u = raw_upstream(UNTIL_CLOSE, tls=backend_cert.backend, notify=True)
    g = gateway_for(tls_yaml(u.port, backend_cert))
    got, _, data = get(g.port)
    assert (got, data) == (200, b"hello")
    assert_success(g, 200)


def test_over_tls_a_bare_close_cuts_a_body_that_runs_to_the_close(gateway_for, raw_upstream,
                                                                  backend_cert):
    """Without close_notify the end of the connection may be anyone on the path cutting it."""
    u = raw_upstream(UNTIL_CLOSE, tls=backend_cert.backend)
    g = gateway_for(tls_yaml(u.port, backend_cert))
    with pytest.raises((http.client.IncompleteRead, ConnectionError)):
        get(g.port)  # cut: the body falls short of its framing
    assert g.access_lines(1)[-1]["reason"] == "upstream-reset"
    assert g.wait_metric('gatehouse_upstream_requests_total{upstream="app",result="reset"}', 1) == 1


def test_over_tls_a_complete_response_then_a_bare_close_is_a_success(gateway_for, raw_upstream,
                                                                     backend_cert):
    u = raw_upstream([b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"], tls=backend_cert.backend)
    g = gateway_for(tls_yaml(u.port, backend_cert))
    assert get(g.port)[:1] == (200,)
    assert_success(g, 200)
