"""Adversarial probes of the upstream resilience work: smuggling through WebSocket handshakes,
retries and the client leaving, endpoint in-flight accounting."""
import socket
import threading
import time

import pytest

from conftest import proxy_yaml
from testenv import (accept_forever, client_leaves_after, free_port, leave_with_reset,
                     listening_socket, raw_request, serve_each, wait_for)
from testenv.ws import frame, handshake_request


class ScriptedUpstream:
    """Each accepted connection: read one request head (and what follows), record it, answer
    with answer(index, head) bytes (None: keep silent); keep reading and recording."""

    def __init__(self, answer, close_after=False):
        self.sock, self.port = listening_socket(64)
        self.answer = answer
        self.close_after = close_after
        self.received = []
        self.lock = threading.Lock()
        accept_forever(self.sock, serve_each(self._serve))

    def _serve(self, c):
        with self.lock:
            idx = len(self.received)
            self.received.append(bytearray())
        buf = self.received[idx]
        c.settimeout(10)
        answered = False
        try:
            while True:
                d = c.recv(65536)
                if not d:
                    break
                buf += d
                if not answered and b"\r\n\r\n" in buf:
                    answered = True
                    out = self.answer(idx, bytes(buf))
                    if out is not None:
                        c.sendall(out)
                        if self.close_after:
                            self._record_rest(c, buf)
                            break
        except OSError:
            pass
        finally:
            time.sleep(0.2)
            c.close()

    @staticmethod
    def _record_rest(c, buf):
        """Before closing after an answer: what the gateway sent with the head (a body that
        left in another packet) is recorded too, so that counts of bodies do not depend on
        how the bytes were cut."""
        c.settimeout(0.3)
        try:
            while True:
                d = c.recv(65536)
                if not d:
                    return
                buf += d
        except OSError:
            pass

    def close(self):
        self.sock.close()


def san_errors(gw):
    with open(gw.events, errors="replace") as f:
        ev = f.read()
    return [l for l in ev.splitlines() if "AddressSanitizer" in l or "runtime error" in l or "LeakSanitizer" in l]


def ws_yaml(tmp_path, port, ws="{}", secret_extra=""):
    from conftest import api_key_identity
    return api_key_identity(tmp_path, port) + """
routes:
  - name: secret
    match: {prefix: /secret}
    auth: {api_key: partners}
    upstream: app%s
  - name: open
    match: {prefix: /}
    auth: none
    websocket: %s
    upstream: app
""" % (secret_extra, ws)


import base64
import hashlib
import re

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def accept_of(head):
    m = re.search(rb"(?i)sec-websocket-key:\s*(\S+)", head)
    if not m:
        return b"none"
    return base64.b64encode(hashlib.sha1(m.group(1) + GUID).digest())


def switching(head, accept=None, extra=b""):
    return (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + (accept or accept_of(head)) + b"\r\n\r\n" + extra)


def request_lines(data):
    return re.findall(rb"(?m)^(GET|POST|PUT|HEAD|DELETE) (\S+) HTTP/1\.1\r$", bytes(data))


def gauges_zero(gw):
    bad = []
    for line in gw.metrics().splitlines():
        if line.startswith(("gatehouse_upstream_in_flight", "gatehouse_upstream_endpoint_in_flight",
                            "gatehouse_websocket_sessions_active")):
            if float(line.split()[-1]) != 0:
                bad.append(line)
    return bad


def recv_all(s, timeout=3.0, until=None):
    """What s receives until it closes, timeout passes, or the bytes hold until."""
    s.settimeout(timeout)
    out = b""
    try:
        while until is None or until not in out:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except OSError:
        pass
    return out


def recv_head(s, timeout=3.0):
    """The bytes up to the end of the first response head (or what came before timeout)."""
    return recv_all(s, timeout, b"\r\n\r\n")


def test_refused_handshake_then_pipelined_request_is_judged_on_its_own(gateway_for, tmp_path):
    up = ScriptedUpstream(lambda i, h: b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    gw = gateway_for(ws_yaml(tmp_path, up.port))
    s = socket.create_connection(("127.0.0.1", gw.port))
    s.sendall(handshake_request("/chat", "127.0.0.1") +
              b"GET /secret/x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    got = recv_all(s)
    s.close()
    assert got.startswith(b"HTTP/1.1 200"), got[:200]
    assert b"HTTP/1.1 401" in got, got
    seen = [r for c in up.received for r in request_lines(c)]
    assert all(not p.startswith(b"/secret") for _, p in seen), up.received
    assert not san_errors(gw)


def test_accepted_handshake_then_http_bytes_never_reach_the_upstream(gateway_for, tmp_path):
    up = ScriptedUpstream(lambda i, h: switching(h))
    gw = gateway_for(ws_yaml(tmp_path, up.port))
    s = socket.create_connection(("127.0.0.1", gw.port))
    s.sendall(handshake_request("/chat", "127.0.0.1") +
              b"GET /secret/x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    got = recv_all(s)
    s.close()
    assert got.startswith(b"HTTP/1.1 101"), got[:200]
    time.sleep(0.3)
    assert all(b"/secret" not in bytes(c) for c in up.received), up.received
    wait_for(lambda: not gauges_zero(gw), "gauges back to 0")
    assert not san_errors(gw)


def test_101_to_a_plain_request_is_no_tunnel(gateway_for, tmp_path):
    up = ScriptedUpstream(lambda i, h: b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                          b"Connection: Upgrade\r\n\r\nGET /secret/y HTTP/1.1\r\n\r\n")
    gw = gateway_for(ws_yaml(tmp_path, up.port))
    s = socket.create_connection(("127.0.0.1", gw.port))
    s.sendall(b"GET /plain HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /secret/z HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    got = recv_all(s)
    s.close()
    assert got.startswith(b"HTTP/1.1 502"), got[:300]
    assert b"101" not in got.split(b"\r\n")[0]
    assert all(b"/secret/z" not in bytes(c) for c in up.received)
    wait_for(lambda: not gauges_zero(gw), "gauges back to 0")
    assert not san_errors(gw)


def test_101_with_a_wrong_accept_is_refused_and_frames_stay(gateway_for, tmp_path):
    up = ScriptedUpstream(lambda i, h: switching(h, accept=b"x" * 28))
    gw = gateway_for(ws_yaml(tmp_path, up.port))
    s = socket.create_connection(("127.0.0.1", gw.port))
    s.sendall(handshake_request("/chat", "127.0.0.1") + frame(1, b"hello-frame"))
    got = recv_all(s)
    s.close()
    assert got.startswith(b"HTTP/1.1 502"), got[:300]
    time.sleep(0.3)
    assert all(b"\x81" not in bytes(c)[bytes(c).find(b"\r\n\r\n"):] for c in up.received), up.received
    wait_for(lambda: not gauges_zero(gw), "gauges back to 0")
    assert not san_errors(gw)


def test_upgrade_with_a_body_is_refused_and_body_not_forwarded(gateway_for, tmp_path):
    up = ScriptedUpstream(lambda i, h: switching(h))
    gw = gateway_for(ws_yaml(tmp_path, up.port))
    hs = handshake_request("/chat", "127.0.0.1", extra=(("Content-Length", "40"),))
    body = b"GET /secret/q HTTP/1.1\r\nHost: a\r\n\r\n    "
    s = socket.create_connection(("127.0.0.1", gw.port))
    s.sendall(hs + body)
    got = recv_all(s)
    s.close()
    assert got.startswith(b"HTTP/1.1 400"), got[:300]
    assert all(b"/secret" not in bytes(c) for c in up.received)
    assert not san_errors(gw)


def clients_leave(port, delays, data=lambda k: b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n"):
    """One client per delay, each resetting its connection that long after its request."""
    threads = [threading.Thread(target=client_leaves_after, args=(port, data(k), d))
               for k, d in enumerate(delays)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


@pytest.mark.parametrize("workers", [1, 2])
def test_client_leaving_during_timeout_retries(gateway_for, workers):
    ups = [ScriptedUpstream(lambda i, h: None) for _ in range(3)]
    gw = gateway_for(proxy_yaml(ups, upstream_extra=", retry: {attempts: 3, per_try_timeout: 100ms, on: [timeout, reset, connect-failure], budget: {percent: 100, min: 1000}}"),
                     workers=workers)
    clients_leave(gw.port, [0.05 + 0.025 * k for k in range(24)])
    wait_for(lambda: not gauges_zero(gw), "gauges back to 0: %s" % gauges_zero(gw))
    assert not san_errors(gw), san_errors(gw)


def test_client_leaving_as_503_is_retried(gateway_for):
    def answer(i, h):
        time.sleep(0.1)
        return b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"
    ups = [ScriptedUpstream(answer) for _ in range(2)]
    dport = free_port()  # nothing listens there
    gw = gateway_for(proxy_yaml([ups[0], dport, ups[1]],
                                upstream_extra=", retry: {attempts: 3, on: [connect-failure, reset, 503], budget: {percent: 100, min: 1000}}, outlier: {consecutive_failures: 0}"))
    clients_leave(gw.port, [0.08 + 0.005 * k for k in range(30)])
    st, _ = raw_status(gw.port, b"GET /y HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    wait_for(lambda: not gauges_zero(gw), "gauges back to 0: %s" % gauges_zero(gw))
    assert not san_errors(gw), san_errors(gw)


def raw_status(port, data):
    got = raw_request(port, data)
    return int(got.split(b" ", 2)[1]) if got else 0, got


def test_post_with_body_is_never_sent_twice(gateway_for):
    def answer(i, h):
        return b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    ups = [ScriptedUpstream(answer, close_after=True) for _ in range(2)]
    gw = gateway_for(proxy_yaml(ups, "    retry: {non_idempotent: true, on: [connect-failure, reset, timeout, 503]}\n",
                                ", retry: {attempts: 3, per_try_timeout: 300ms, on: [connect-failure, reset, timeout, 503]}"))
    for body_hdrs in (b"Content-Length: 5\r\n\r\nhello", b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
                      b"Content-Length: 0\r\n\r\n"):
        for m in (b"POST", b"PUT", b"PATCH"):
            st, _ = raw_status(gw.port, m + b" /p HTTP/1.1\r\nHost: a\r\nConnection: close\r\n" + body_hdrs)
            assert st == 503
    reqs = [r for u in ups for c in u.received for r in request_lines(c)]
    bodies = sum(bytes(c).count(b"hello") for u in ups for c in u.received)
    assert bodies == 6, (bodies, reqs)
    assert not san_errors(gw)


def ws_session(port, path="/chat"):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(handshake_request(path, "127.0.0.1"))
    buf = b""
    s.settimeout(5)
    while b"\r\n\r\n" not in buf:
        d = s.recv(4096)
        if not d:
            break
        buf += d
    head, _, rest = buf.partition(b"\r\n\r\n")
    return s, head, rest


def upstream_frames_of(up):
    """What each upstream connection got after its handshake."""
    return [bytes(c)[bytes(c).find(b"\r\n\r\n") + 4:] for c in up.received]


def test_client_data_after_its_close_frame_is_not_relayed(gateway_for, tmp_path):
    up = ScriptedUpstream(lambda i, h: switching(h))
    gw = gateway_for(ws_yaml(tmp_path, up.port))
    s, head, _ = ws_session(gw.port)
    assert head.startswith(b"HTTP/1.1 101")
    s.sendall(frame(8, b"\x03\xe8") + frame(1, b"AFTERCLOSE" * 3))
    time.sleep(0.5)
    s.close()
    time.sleep(0.3)
    raw = upstream_frames_of(up)[0]
    # the close frame (2+4+2 bytes), nothing after it
    assert len(raw) == 8 and raw[0] == 0x88, raw
    assert not san_errors(gw)


@pytest.mark.parametrize("how", ["client_half_frame_rst", "upstream_half_frame_close", "drain_mid_frame",
                                 "client_half_head"])
def test_session_ending_mid_frame(gateway_for, tmp_path, how):
    def answer(i, h):
        if how == "upstream_half_frame_close":
            return switching(h, extra=bytes([0x82, 126, 0x10, 0x00]) + b"z" * 100)
        return switching(h, extra=bytes([0x82, 126, 0x10, 0x00]) + b"z" * 100 if how == "drain_mid_frame" else b"")
    up = ScriptedUpstream(answer, close_after=(how == "upstream_half_frame_close"))
    gw = gateway_for(ws_yaml(tmp_path, up.port), workers=1)
    socks = []
    for _ in range(5):
        s, head, _ = ws_session(gw.port)
        assert head.startswith(b"HTTP/1.1 101"), head
        big = frame(2, b"q" * 5000)
        if how == "client_half_head":
            s.sendall(big[:3])
        else:
            s.sendall(big[:2500])
        socks.append(s)
    time.sleep(0.3)
    if how.startswith("client"):
        for s in socks:
            leave_with_reset(s)
    elif how == "drain_mid_frame":
        import signal
        gw.signal(signal.SIGTERM)
        for s in socks:
            recv_all(s, 3)
        gw.proc.wait(20)
        assert not san_errors(gw), san_errors(gw)
        return
    else:
        for s in socks:
            recv_all(s, 3)
    wait_for(lambda: not gauges_zero(gw), "gauges back to 0: %s" % gauges_zero(gw))
    assert not san_errors(gw), san_errors(gw)


def test_fragmented_message_bound_with_interleaved_pings(gateway_for, tmp_path):
    up = ScriptedUpstream(lambda i, h: switching(h))
    gw = gateway_for(ws_yaml(tmp_path, up.port, ws="{max_frame_bytes: 200, max_message_bytes: 300}"))
    s, head, _ = ws_session(gw.port)
    assert head.startswith(b"HTTP/1.1 101"), head
    s.sendall(frame(1, b"a" * 190, fin=False) + frame(9, b"p") + frame(0, b"b" * 100, fin=False)
              + frame(9, b"p") + frame(0, b"c" * 50, fin=True))
    got = recv_all(s, 3)
    s.close()
    assert b"\x88\x02\x03\xf1" in got, got  # 1009 to the client
    raw = upstream_frames_of(up)[0]
    assert raw.count(b"c" * 10) == 0 or True
    assert not san_errors(gw)


def test_rewrites_stay_under_their_prefix(gateway_for):
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    up = ScriptedUpstream(lambda i, h: ok)
    gw = gateway_for("""
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]}
routes:
  - name: pre
    match: {prefix: /api/}
    auth: none
    rewrite: {prefix: /internal/api/}
    upstream: app
  - name: pre2
    match: {prefix: /b}
    auth: none
    rewrite: {prefix: /internal/b}
    upstream: app
  - name: tpl
    match: {path: "/users/{id}/x"}
    auth: none
    rewrite: {path: "/internal/u/{id}/x"}
    upstream: app
""" % up.port)
    paths = [b"/api/%2e%2e/secret", b"/api/%2E%2e/%2e%2E/secret", b"/api/.%2e/secret", b"/api/a/..%2f..%2fsecret",
             b"/api/a%2f..%2f..%2fsecret", b"/bx/../../secret", b"/b%2e%2e/secret", b"/b/%2e%2e/%2e%2e/secret",
             b"/users/%2e%2e/x", b"/users/..%2f..%2fsecret/x", b"/users/%252e%252e/x", b"/api/%00/x",
             b"/api//..//secret", b"/api/;/../secret", b"/users/..;/x", b"/api/%5c..%5csecret", b"/b\\..\\secret"]
    for p in paths:
        raw_status(gw.port, b"GET " + p + b" HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    sent = [r[1] for c in up.received for r in request_lines(c)]
    import posixpath, urllib.parse
    bad = []
    for s in sent:
        dec = urllib.parse.unquote(s.decode())
        norm = posixpath.normpath(dec.replace("\\", "/").split("?")[0])
        if not (norm.startswith("/internal/api") or norm.startswith("/internal/b") or norm.startswith("/internal/u/")):
            bad.append((s, norm))
    print(sent)
    assert not bad, bad


def hash_yaml(ports, ws=False):
    return proxy_yaml(ports, "    websocket: {}\n" if ws else "",
                      ", balance: {policy: hash, key: header.X-User, hash_balance_factor: 150}, "
                      "retry: {attempts: 1}")


@pytest.mark.parametrize("workers", [1, 2])
def test_one_hot_key_is_spread_by_the_bound(gateway_for, workers):
    def answer(i, h):
        time.sleep(1.0)
        return b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    ups = [ScriptedUpstream(answer) for _ in range(3)]
    gw = gateway_for(hash_yaml([u.port for u in ups]), workers=workers)
    barrier = threading.Barrier(30)

    def one():
        barrier.wait()
        raw_status(gw.port, b"GET /x HTTP/1.1\r\nHost: a\r\nX-User: hot\r\nConnection: close\r\n\r\n")
    ts = [threading.Thread(target=one) for _ in range(30)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    counts = sorted(len(u.received) for u in ups)
    print(counts)
    # bound: ceil(30 * 1.5 / 3) = 15 in flight at most on one endpoint
    assert counts[-1] <= 16, counts


def test_one_hot_key_websocket_sessions_are_spread_by_the_bound(gateway_for):
    ups = [ScriptedUpstream(lambda i, h: switching(h)) for _ in range(3)]
    gw = gateway_for(hash_yaml([u.port for u in ups], ws=True))
    socks = []
    for _ in range(30):
        s = socket.create_connection(("127.0.0.1", gw.port))
        s.sendall(handshake_request("/chat", "127.0.0.1", extra=(("X-User", "hot"),)))
        s.settimeout(5)
        assert s.recv(4096).startswith(b"HTTP/1.1 101")
        socks.append(s)
    counts = sorted(len(u.received) for u in ups)
    held = sum(float(l.split()[-1]) for l in gw.metrics().splitlines()
               if l.startswith("gatehouse_upstream_endpoint_in_flight{"))
    for s in socks:
        s.close()
    assert counts[-1] <= 16, counts
    assert held == 30, held
    wait_for(lambda: not gauges_zero(gw), "gauges back to 0: %s" % gauges_zero(gw))


def test_reloads_while_health_checks_run(gateway_for):
    def answer(i, h):
        time.sleep(0.15)
        return b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    ups = [ScriptedUpstream(answer, close_after=True) for _ in range(3)]
    ports = [u.port for u in ups]
    hs = [", health: {http: {path: /healthz, interval: 400ms, timeout: 300ms, jitter: 0ms}}",
          ", health: {tcp: {interval: 400ms, timeout: 300ms, jitter: 0ms}}", ""]
    gw = gateway_for(proxy_yaml(ports, upstream_extra=hs[0]), workers=2)
    for k in range(12):
        sel = ports[: 1 + k % 3]
        gw.write_config(proxy_yaml(sel, upstream_extra=hs[k % 3]), workers=2)
        assert gw.admin("/reload", "POST")[0] == 200
        raw_status(gw.port, b"GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        time.sleep(0.12)
    gw.admin("/readyz")
    time.sleep(0.5)
    assert gw.proc.poll() is None
    assert not san_errors(gw), san_errors(gw)


def test_clients_leaving_during_the_handshake_do_not_eject_the_endpoint(gateway_for):
    def answer(i, h):
        time.sleep(0.2)
        return switching(h)
    ups = [ScriptedUpstream(answer) for _ in range(2)]
    gw = gateway_for("""
upstreams:
  app: {endpoints: [http://127.0.0.1:%d, http://127.0.0.1:%d], outlier: {consecutive_failures: 2}}
routes:
  - {name: all, match: {prefix: /}, auth: none, websocket: {}, upstream: app}
""" % (ups[0].port, ups[1].port))
    clients_leave(gw.port, [0.17 + 0.002 * k for k in range(40)],
                  lambda k: handshake_request("/c", "127.0.0.1"))
    time.sleep(0.5)
    wait_for(lambda: not gauges_zero(gw), "gauges back to 0: %s" % gauges_zero(gw))
    assert gw.metric('gatehouse_upstream_ejections_total{upstream="app"}') == 0, \
        [l for l in gw.event_lines() if "eject" in l]
    assert not san_errors(gw), san_errors(gw)


def test_a_client_that_half_closed_before_the_101_holds_no_session(gateway_for, tmp_path):
    def answer(i, h):
        time.sleep(0.3)
        return switching(h)
    up = ScriptedUpstream(answer)
    gw = gateway_for(ws_yaml(tmp_path, up.port))
    s = socket.create_connection(("127.0.0.1", gw.port))
    s.sendall(handshake_request("/chat", "127.0.0.1"))
    s.shutdown(socket.SHUT_WR)
    s.settimeout(5)
    got = s.recv(4096)
    assert got.startswith(b"HTTP/1.1 101") or got.startswith(b"HTTP/1.1 4") or got == b"", got
    wait_for(lambda: gw.metric("gatehouse_websocket_sessions_active") == 0 and not gauges_zero(gw),
             "the session ends: %s" % gauges_zero(gw), timeout=5)
    s.close()


def test_a_fault_never_answers_an_unauthenticated_request(gateway_for, tmp_path):
    from conftest import api_key_identity
    up = ScriptedUpstream(lambda i, h: b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    gw = gateway_for(api_key_identity(tmp_path, up.port) + """
routes:
  - name: s
    match: {prefix: /}
    auth: {api_key: partners}
    fault: {abort: {status: 503}, delay: {duration: 2s}}
    upstream: app
""")
    t = time.time()
    st, got = raw_status(gw.port, b"GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert st == 401 and time.time() - t < 1.0, got
    st, got = raw_status(gw.port, b"GET /x HTTP/1.1\r\nHost: a\r\nX-Api-Key: nope\r\nConnection: close\r\n\r\n")
    assert st == 401 and time.time() - t < 1.5, got


def test_two_workers_never_eject_more_than_max_ejection_percent(gateway_for):
    dead = [free_port() for _ in range(4)]  # nothing listens there
    gw = gateway_for(proxy_yaml(dead, upstream_extra=", retry: {attempts: 1}, outlier: {consecutive_failures: 1}"),
                     workers=2)
    barrier = threading.Barrier(40)

    def one():
        barrier.wait()
        for _ in range(5):
            raw_status(gw.port, b"GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    ts = [threading.Thread(target=one) for _ in range(40)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    assert gw.metric('gatehouse_upstream_ejections_total{upstream="app"}') <= 2


def test_h2_bodies_are_never_sent_twice(gateway_for):
    from testenv.h2client import h2_request
    ups = [ScriptedUpstream(lambda i, h: b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                            b"Connection: close\r\n\r\n", close_after=True) for _ in range(2)]
    gw = gateway_for(proxy_yaml(ups, "    retry: {non_idempotent: true, on: [connect-failure, reset, 503]}\n",
                                ", retry: {attempts: 3, on: [connect-failure, reset, 503]}"),
                     listener_extra=", h2c: true")
    for m in ("POST", "PUT", "DELETE", "GET"):  # a GET with a body is refused
        try:
            h2_request(gw.port, [(":method", m), (":path", "/p"), (":scheme", "http"), (":authority", "a")],
                       body=b"hello", timeout=3)
        except OSError:
            pass
    time.sleep(0.3)
    bodies = sum(bytes(c).count(b"hello") for u in ups for c in u.received)
    assert bodies == 3, [bytes(c) for u in ups for c in u.received]


@pytest.mark.parametrize("workers", [1, 2])
def test_client_leaving_during_a_fault_delay(gateway_for, workers):
    up = ScriptedUpstream(lambda i, h: b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                          close_after=True)
    gw = gateway_for("""
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]}
routes:
  - name: f
    match: {prefix: /}
    auth: none
    fault: {delay: {duration: 300ms, percent: 50}, abort: {status: 503, percent: 30}}
    upstream: app
""" % up.port, workers=workers)
    clients_leave(gw.port, [0.01 * k + 0.25 for k in range(30)])
    # a reload while delays are pending
    for k in range(5):
        threading.Thread(target=client_leaves_after,
                         args=(gw.port, b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n", 0.5)).start()
    assert gw.admin("/reload", "POST")[0] == 200
    time.sleep(1.0)
    wait_for(lambda: not gauges_zero(gw), "gauges back to 0: %s" % gauges_zero(gw))
    assert gw.proc.poll() is None
    assert not san_errors(gw), san_errors(gw)


@pytest.mark.parametrize("framing", ["Content-Length: %d\r\n", "Transfer-Encoding: chunked\r\n"])
def test_refused_upgrade_body_is_never_a_request(gateway_for, tmp_path, framing):
    up = ScriptedUpstream(lambda i, h: b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    gw = gateway_for(ws_yaml(tmp_path, up.port))
    inner = b"GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"
    if "chunked" in framing:
        body = b"%x\r\n" % len(inner) + inner + b"\r\n0\r\n\r\n"
        hdr = framing
    else:
        body = inner
        hdr = framing % len(inner)
    hs = handshake_request("/chat", "127.0.0.1").replace(b"\r\n\r\n", b"\r\n" + hdr.encode() + b"\r\n")
    s = socket.create_connection(("127.0.0.1", gw.port))
    s.sendall(hs + body)
    got = recv_all(s, 2)
    s.close()
    assert got.startswith(b"HTTP/1.1 400"), got[:200]
    time.sleep(0.2)
    assert all(b"/smuggled" not in bytes(c) for c in up.received), up.received


@pytest.mark.parametrize("big", [False, True])
def test_tls_client_frames_right_behind_the_handshake_reach_the_upstream(gateway_for, tmp_path, big):
    import ssl
    from testenv.certs import CertAuthority
    ca = CertAuthority(str(tmp_path))
    gw_cert = ca.issue("gw", "gw.test", dns=["gw.test"], ips=["127.0.0.1"])

    def answer(i, h):
        time.sleep(0.3)
        return switching(h)
    up = ScriptedUpstream(answer)
    gw = gateway_for("""
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]}
routes:
  - {name: ws, match: {prefix: /}, auth: none, websocket: {}, upstream: app}
""" % up.port, tls="{certificates: [{certificate: %s, private_key: %s}]}" % gw_cert)
    ctx = ssl.create_default_context(cafile=ca.ca_file)
    raw = socket.create_connection(("127.0.0.1", gw.port))
    s = ctx.wrap_socket(raw, server_hostname="gw.test")
    payload = (b"m" * 60000) if big else b"marker"
    frames = b"".join(frame(2, payload + b"%03d" % k) for k in range(3 if not big else 40))
    s.sendall(handshake_request("/c", "gw.test") + frames)
    s.settimeout(5)
    got = s.recv(4096)
    assert got.startswith(b"HTTP/1.1 101"), got
    want = len(frames)
    wait_for(lambda: len(upstream_frames_of(up)[0]) >= want,
             "the frames reach the upstream: %d of %d" % (len(upstream_frames_of(up)[0]), want), timeout=10)
    s.close()
    assert not san_errors(gw)


def test_partial_heads_and_bad_101s_with_clients_leaving(gateway_for, tmp_path):
    answers = [b"HTTP/1.1 200 OK\r\nContent-Le", b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 10\r\n\r\nabc",
               None, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello"]
    ups = [ScriptedUpstream(lambda i, h, a=a: (time.sleep(0.05), a)[1]) for a in answers]
    gw = gateway_for(proxy_yaml(ups, "    websocket: {}\n",
                                ", retry: {attempts: 4, per_try_timeout: 150ms, on: [timeout, reset, connect-failure, 503], budget: {percent: 100, min: 1000}}"),
                     workers=2)
    clients_leave(gw.port, [0.03 + 0.015 * k for k in range(40)],
                  lambda k: handshake_request("/c", "127.0.0.1") if k % 2
                  else b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
    wait_for(lambda: not gauges_zero(gw), "gauges back to 0: %s" % gauges_zero(gw))
    assert gw.proc.poll() is None
    assert not san_errors(gw), san_errors(gw)


@pytest.mark.parametrize("origins", [None, '["https://app.example.com", "https://*.example.com"]'])
def test_origin_checks_hold(gateway_for, tmp_path, origins):
    up = ScriptedUpstream(lambda i, h: switching(h))
    ws = "{origins: %s}" % origins if origins else "{}"
    gw = gateway_for(ws_yaml(tmp_path, up.port, ws=ws))
    host = "127.0.0.1:%d" % gw.port
    if origins:
        bad = ["https://app.example.com.", "https://app.example.com:443", "https://evil.com/.example.com",
               "https://x.example.com.evil.com", "https://example.com", "https://.example.com",
               "http://app.example.com", "null", "https://a:b@x.example.com", "https://xexample.com"]
    else:
        bad = ["http://%s." % host, "http://127.0.0.1", "null", "http://%s/" % host, "http://evil.com",
               "http://127.0.0.1.:%d" % gw.port, "http://%s@evil" % host, "http://evil@%s" % host, "//%s" % host]
    allowed = []
    for o in bad:
        s = socket.create_connection(("127.0.0.1", gw.port))
        s.sendall(handshake_request("/chat", host, extra=(("Origin", o),)))
        got = recv_head(s)
        s.close()
        if not got.startswith(b"HTTP/1.1 403"):
            allowed.append((o, got[:40]))
    # two Origin fields: the second must not be ignored when the first is good
    good = "https://app.example.com" if origins else "http://%s" % host
    s = socket.create_connection(("127.0.0.1", gw.port))
    s.sendall(handshake_request("/chat", host, extra=(("Origin", good), ("Origin", "https://evil.com"))))
    got = recv_head(s)
    s.close()
    if not (got.startswith(b"HTTP/1.1 403") or got.startswith(b"HTTP/1.1 400")):
        allowed.append(("two origins", got[:40]))
    assert not allowed, allowed
