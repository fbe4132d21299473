"""HTTP/2 flow control: every DATA byte a stream receives is credited back to the connection's
window, whatever becomes of its request (answered before its body, refused for its size,
reset by the client, padded), so refused uploads never stall the connection; and a body read
ahead of the upstream (body_buffer_before_upstream) reaches it whole, with or without a length."""
import struct
import time

import pytest

from test_h2 import HEADERS, RST_STREAM, frame
from test_h2_lifetimes import CANCEL, DATA, H2, wait_for

WINDOW_UPDATE = 8
IN_FLIGHT = 'gatehouse_upstream_in_flight{upstream="app"}'
CONFIG = """
limits: {max_body_bytes: %s, body_buffer_before_upstream: 64k, body_timeout: 2s}
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]}
routes:
  - {name: hello, match: {prefix: /hello}, auth: none, respond: {status: 200, body: "hello"}}
  - {name: app, match: {prefix: /}, auth: none, upstream: app}
"""


def send_data(c, sid, n, end, pad=0):
    """n bytes of DATA in frames of at most 16000, ignoring windows; pad: padding per frame."""
    while True:
        k = min(n, 16000)
        n -= k
        flags = (0x1 if end and n == 0 else 0) | (0x8 if pad else 0)
        payload = bytes([pad - 1]) + b"x" * k + b"\0" * (pad - 1) if pad else b"x" * k
        c.send(frame(DATA, flags, sid, payload))
        if n <= 0:
            return


def upload(c, sid, total, end=True, timeout=5.0):
    """Sends total bytes on sid as the gateway's windows allow; the bytes sent."""
    conn = stream = 65535
    sent, deadline = 0, time.time() + timeout
    while sent < total and time.time() < deadline:
        k = min(16000, total - sent, conn, stream)
        if k > 0:
            c.send(frame(DATA, 0x1 if end and sent + k == total else 0, sid, b"z" * k))
            sent, conn, stream = sent + k, conn - k, stream - k
            continue
        for kind, _, s, payload in c.frames(1):
            if kind == WINDOW_UPDATE:
                inc = struct.unpack(">I", payload)[0]
                conn, stream = (conn + inc, stream) if s == 0 else (conn, stream + inc if s == sid else stream)
                break
            if kind == HEADERS:
                c.dec.decode(payload)
            if kind == RST_STREAM and s == sid:
                return sent
    return sent


def status_of(c, sid):
    for kind, _, s, payload in c.frames(5):
        if kind == HEADERS:
            fields = dict(c.dec.decode(payload))
            if s == sid:
                return int(fields[":status"])
    return None


@pytest.fixture
def gw(gateway_for, upstream):
    return gateway_for(CONFIG % ("1000", upstream.port), listener_extra=", h2c: true")


def refused_with_length(c, sid):
    c.request(sid, "/echo", "POST", [("content-length", "20000")], end=False)
    send_data(c, sid, 20000, True)


def refused_while_streaming(c, sid):
    c.request(sid, "/echo", "POST", end=False)
    send_data(c, sid, 20000, True)


def answered_before_body(c, sid):
    c.request(sid, "/hello", "POST", end=False)
    send_data(c, sid, 20000, True)


def padded(c, sid):
    c.request(sid, "/echo", "POST", end=False)
    for i in range(20):
        send_data(c, sid, 500 if i < 19 else 0, i == 19, pad=250)


def reset_mid_upload(c, sid):
    c.request(sid, "/echo", "POST", end=False)
    send_data(c, sid, 20000, False)
    c.reset(sid, CANCEL)


@pytest.mark.parametrize("case", [refused_with_length, refused_while_streaming, answered_before_body,
                                  padded, reset_mid_upload], ids=lambda f: f.__name__)
def test_refused_uploads_give_the_connection_window_back(gw, case):
    """Eight such streams send more than the connection's initial window (65535): the next
    upload on the connection still goes through."""
    c = H2(gw)
    for i in range(8):
        case(c, 2 * i + 1)
        time.sleep(0.05)
    c.request(17, "/echo", "POST", end=False)
    send_data(c, 17, 900, True)
    assert status_of(c, 17) == 200


@pytest.mark.parametrize("size", [1000, 64 * 1024, 200000])
@pytest.mark.parametrize("length", [True, False], ids=["content-length", "unframed"])
def test_a_body_read_ahead_reaches_the_upstream_whole(gateway_for, upstream, size, length):
    gw = gateway_for(CONFIG % ("10m", upstream.port), listener_extra=", h2c: true")
    c = H2(gw)
    c.request(1, "/echo", "POST", [("content-length", str(size))] if length else [], end=False)
    assert upload(c, 1, size) == size
    assert status_of(c, 1) == 200
    assert len(upstream.requests[-1][3]) == size


@pytest.mark.parametrize("at", [1000, 70000, 150000])
def test_a_reset_while_the_body_is_read_ahead_frees_the_stream(gateway_for, upstream, at):
    gw = gateway_for(CONFIG % ("10m", upstream.port), listener_extra=", h2c: true")
    c = H2(gw)
    c.request(1, "/echo", "POST", end=False)
    upload(c, 1, at, end=False)
    c.reset(1, CANCEL)
    c.request(3, "/hello")
    assert c.status(3) == 200
    c.close()
    assert wait_for(lambda: gw.metric(IN_FLIGHT) == 0, 3)
