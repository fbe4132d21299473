"""Slow request bodies: a minimum rate judged over each window (limits.body_min_rate,
body.min_rate), a deadline for the whole body (limits.body_deadline, body.deadline), and bodies read
before an upstream slot is taken (body.buffer_before_upstream). A body cut for its pace is refused
with 408 and a reason of its own, logged and counted, and the upstream sees its request aborted,
never a truncated body passed as complete. Windows are small so that the tests are quick."""
import socket
import threading
import time

import hpack
import requests

from conftest import proxy_yaml
from testenv import RecordingUpstream, check_config
from test_h2 import HEADERS, PREFACE, SETTINGS, frame

DATA = 0


def slow_post(port, path, length, step, pause, count=None, chunked=False):
    """A POST whose body comes step bytes every pause seconds until the gateway answers or the
    body is sent (its announced length, or count chunks and the last one): the answer's status,
    the seconds it took and the answer."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    framing = b"Transfer-Encoding: chunked" if chunked else b"Content-Length: %d" % length
    s.sendall(b"POST %s HTTP/1.1\r\nHost: t\r\n%s\r\nConnection: close\r\n\r\n" % (path.encode(), framing))
    start = time.time()
    pieces = count if chunked and count is not None else 10 ** 6 if chunked else -(-length // step)
    data = b""
    s.settimeout(pause)
    for i in range(pieces + (1 if chunked and count is not None else 0)):
        piece = b"0\r\n\r\n" if i == pieces else b"%x\r\n%s\r\n" % (step, b"x" * step) if chunked else b"x" * step
        try:
            s.sendall(piece)
            data = s.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            break
        if data:
            break
    s.settimeout(10)
    try:
        while not data.endswith(b"}") and not data.endswith(b"\r\n\r\n") and len(data) < 65536:
            more = s.recv(65536)
            if not more:
                break
            data += more
    except OSError:
        pass
    s.close()
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0
    return status, time.time() - start, data


def test_a_body_slower_than_the_minimum_rate_is_cut_and_the_upstream_sees_it_aborted(gateway_for):
    up = RecordingUpstream()
    gw = gateway_for("""
limits: {body_min_rate: 1k, body_rate_window: 500ms, body_timeout: 10s, body_deadline: 30s}
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]}
routes:
  - {name: up, match: {prefix: /}, auth: none, upstream: app}
""" % up.port)
    # 50 bytes every 100 ms: 500 bytes a second, never a pause long enough for body_timeout.
    status, took, data = slow_post(gw.port, "/upload", 100000, 50, 0.1)
    assert status == 408 and b"urn:gatehouse:problem:body-too-slow" in data
    assert 0.4 < took < 3
    head, body = up.ended_request()
    assert head.startswith(b"POST /upload HTTP/1.1") and b"content-length: 100000" in head.lower()
    assert 0 < len(body) < 100000  # cut: the connection closed before the announced length
    line = gw.access_lines(1)[-1]
    assert (line["status"], line["reason"]) == (408, "body-too-slow")
    assert gw.wait_metric('gatehouse_refusals_total{reason="body-too-slow"}', 1) == 1


def test_the_rate_is_judged_per_window_and_a_fast_enough_body_passes(gateway_for, upstream):
    gw = gateway_for("""
limits: {body_min_rate: 1k, body_rate_window: 500ms}
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]}
routes:
  - {name: up, match: {prefix: /}, auth: none, upstream: app}
""" % upstream.port)
    # 400 bytes every 100 ms (4 KB/s) for 1.5 s: three windows, each above the rate.
    status, _, _ = slow_post(gw.port, "/echo", 6000, 400, 0.1, count=15)
    assert status == 200
    assert upstream.requests[-1][3] == b"x" * 6000
    # The same pace, chunked (no length known ahead), with a pause shorter than a window.
    status, _, _ = slow_post(gw.port, "/echo", 0, 400, 0.1, count=15, chunked=True)
    assert status == 200
    assert upstream.requests[-1][3] == b"x" * 6000


def test_the_whole_body_deadline_fires_while_bytes_keep_trickling(gateway_for):
    ups = {"length": RecordingUpstream(), "chunked": RecordingUpstream()}
    gw = gateway_for("""
upstreams:
  length: {endpoints: [http://127.0.0.1:%d]}
  chunked: {endpoints: [http://127.0.0.1:%d]}
routes:
  - {name: length, match: {prefix: /length}, auth: none, upstream: length,
     body: {deadline: 1s, min_rate: 0, timeout: 10s}}
  - {name: chunked, match: {prefix: /chunked}, auth: none, upstream: chunked,
     body: {deadline: 1s, min_rate: 0, timeout: 10s}}
""" % (ups["length"].port, ups["chunked"].port))
    for name in ("length", "chunked"):
        # 10 bytes every 100 ms: never a pause, and min_rate is off on these routes.
        status, took, data = slow_post(gw.port, "/" + name, 100000, 10, 0.1, chunked=name == "chunked")
        assert status == 408 and b"urn:gatehouse:problem:body-deadline" in data
        assert 0.9 < took < 3
    assert [l["reason"] for l in gw.access_lines(2)] == ["body-deadline", "body-deadline"]
    # The upstreams saw their requests cut: fewer bytes than announced, no last chunk.
    assert 0 < len(ups["length"].ended_request()[1]) < 100000
    chunked = ups["chunked"].ended_request()[1]
    assert chunked.startswith(b"a\r\nxxxxxxxxxx\r\n") and not chunked.endswith(b"0\r\n\r\n")


def test_slow_bodies_read_before_the_upstream_do_not_hold_its_slots(gateway_for, upstream):
    gw = gateway_for("""
upstreams:
  app: {endpoints: [http://127.0.0.1:%d], max_concurrency: 4}
routes:
  - name: up
    match: {prefix: /}
    auth: none
    upstream: app
    body: {buffer_before_upstream: 64k, min_rate: 0, deadline: 30s}
""" % upstream.port)
    slow = []

    def trickle(i):  # 10 bytes, one every 0.3 s
        slow.append(slow_post(gw.port, "/echo/slow%d" % i, 10, 1, 0.3))

    threads = [threading.Thread(target=trickle, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.0)  # four clients a few bytes into their bodies
    for _ in range(8):
        r = requests.post(gw.url + "/echo", data=b"y" * 1000, timeout=10)
        assert r.status_code == 200, r.text
    assert not any(r[1].startswith("/echo/slow") for r in upstream.requests)  # none forwarded yet
    for t in threads:
        t.join(timeout=60)
    assert sorted(s for s, _, _ in slow) == [200] * 4
    bodies = {r[1]: r[3] for r in upstream.requests}
    assert all(bodies["/echo/slow%d" % i] == b"x" * 10 for i in range(4))


def test_a_body_larger_than_the_buffer_streams_after_what_was_read(gateway_for, upstream):
    gw = gateway_for("""
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]}
routes:
  - {name: up, match: {prefix: /}, auth: none, upstream: app, body: {buffer_before_upstream: 1k}}
""" % upstream.port)
    body = bytes(range(256)) * 40
    r = requests.post(gw.url + "/echo", data=body, timeout=10)
    assert r.status_code == 200 and upstream.requests[-1][3] == body
    # A chunked body past the buffer goes on chunked: what was read first, then the rest.
    with socket.create_connection(("127.0.0.1", gw.port), timeout=10) as s:
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
                  b"Connection: close\r\n\r\n%x\r\n%s\r\n" % (1500, body[:1500]))
        time.sleep(0.3)
        s.sendall(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body) - 1500, body[1500:]))
        assert s.recv(65536).startswith(b"HTTP/1.1 200")
    assert upstream.requests[-1][3] == body
    assert upstream.requests[-1][2].get("transfer-encoding") == "chunked"
    r = requests.post(gw.url + "/echo", data=iter([body[:300], body[300:600]]), timeout=10)
    assert r.status_code == 200 and upstream.requests[-1][3] == body[:600]  # whole, under 1k
    assert upstream.requests[-1][2]["content-length"] == "600"


def test_check_refuses_wrong_pace_settings(tmp_path):
    base = "listeners: [{address: 127.0.0.1:1}]\n"
    cases = [
        ("limits: {body_min_rate: fast}\n", "limits.body_min_rate"),
        ("limits: {body_deadline: 10ms}\n", "limits.body_deadline"),
        ("limits: {body_rate_window: -1s}\n", "limits.body_rate_window"),
        ("limits: {body_buffer_before_upstream: 2g}\n", "limits.body_buffer_before_upstream"),
        ("upstreams: {app: {endpoints: [http://127.0.0.1:1]}}\nroutes:\n"
         "  - {name: r, match: {prefix: /}, auth: none, upstream: app,\n"
         "     body: {max_bytes: 1k, buffer_before_upstream: 2k}}\n", "buffer_before_upstream"),
        ("routes:\n  - {name: r, match: {prefix: /}, auth: none, respond: {status: 204},\n"
         "     body: {deadline: forever}}\n", "body.deadline"),
    ]
    for text, where in cases:
        r = check_config(tmp_path, base + text)
        assert r.returncode != 0, text
        assert "c.yaml:" in r.stderr and where in r.stderr, (text, r.stderr)


def h2_status(sock, stream):
    """Reads frames until the response HEADERS of stream: its :status (0 if none came)."""
    buf, decoder = b"", hpack.Decoder()
    sock.settimeout(10)
    while True:
        try:
            chunk = sock.recv(65536)
        except (OSError, socket.timeout):
            return 0
        if not chunk:
            return 0
        buf += chunk
        while len(buf) >= 9 and len(buf) >= 9 + int.from_bytes(buf[:3], "big"):
            length = int.from_bytes(buf[:3], "big")
            kind, sid, payload = buf[3], int.from_bytes(buf[5:9], "big") & 0x7fffffff, buf[9:9 + length]
            buf = buf[9 + length:]
            if kind == HEADERS and sid == stream:
                return int(dict(decoder.decode(payload))[":status"])


def test_http2_request_bodies_keep_the_same_pace(gateway_for, upstream):
    gw = gateway_for("""
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]}
routes:
  - {name: slow, match: {prefix: /deadline}, auth: none, upstream: app,
     body: {deadline: 1s, min_rate: 0, timeout: 10s}}
  - {name: up, match: {prefix: /}, auth: none, upstream: app}
limits: {body_min_rate: 1k, body_rate_window: 500ms}
""" % upstream.port, listener_extra=", h2c: true")
    for path, want in (("/rate", 408), ("/deadline", 408)):
        s = socket.create_connection(("127.0.0.1", gw.port))
        block = hpack.Encoder().encode([(":method", "POST"), (":scheme", "http"), (":path", path),
                                        (":authority", "localhost"), ("content-length", "100000")])
        s.sendall(PREFACE + frame(SETTINGS, 0, 0) + frame(SETTINGS, 1, 0) + frame(HEADERS, 0x4, 1, block))
        start = time.time()
        got = {}
        reader = threading.Thread(target=lambda: got.update(status=h2_status(s, 1)))
        reader.start()
        while reader.is_alive() and time.time() - start < 5:
            try:
                s.sendall(frame(DATA, 0, 1, b"x" * 10))  # 100 bytes a second, never a pause
            except OSError:
                break
            time.sleep(0.1)
        reader.join()
        s.close()
        assert got["status"] == want and time.time() - start < 3, (path, got)
    assert [l["reason"] for l in gw.access_lines(2)] == ["body-too-slow", "body-deadline"]


def test_a_response_never_taken_times_out_after_the_body_ends(gateway_for):
    """HTTP/1.1: the upstream answers before the body is read and the client takes nothing;
    the body's end does not clear the wait on the client (limits.body_timeout)."""
    from test_h2_timers import IN_FLIGHT, EarlyUpstream
    from test_h2_lifetimes import wait_for
    up = EarlyUpstream(64 << 20, 64 << 20)
    try:
        gw = gateway_for("limits: {body_timeout: 2s}\n" + proxy_yaml(up.port))
        s = socket.create_connection(("127.0.0.1", gw.port))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(b"POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 200\r\n\r\n" + b"x" * 100)
        time.sleep(1.5)  # the response fills the socket and the output queue
        s.sendall(b"x" * 100)
        assert wait_for(lambda: gw.metric(IN_FLIGHT) == 0, 4), gw.metric(IN_FLIGHT)
        s.close()
    finally:
        up.close()
