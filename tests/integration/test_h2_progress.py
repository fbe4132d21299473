"""HTTP/2 timeouts count from progress, not from the client's last frame: an idle connection
closes after limits.idle_timeout and one whose window stays shut after limits.body_timeout,
however many PING, SETTINGS or empty frames the client sends meanwhile (h2c and TLS). A client
that reads, however slowly, is not cut off."""
import struct
import time

import pytest

from test_h2 import PREFACE, SETTINGS, frame, pki  # noqa: F401 (pki is a fixture)
from test_h2_lifetimes import H2, h2_gateway

PING, PRIORITY, WINDOW_UPDATE = 6, 2, 8
INITIAL_WINDOW_SIZE = 4


@pytest.fixture(params=["h2c", "tls"])
def gw(request, gateway_for, upstream, pki):  # noqa: F811
    return h2_gateway(request.param, gateway_for, upstream, pki,
                      "head_timeout: 2s, body_timeout: 2s, idle_timeout: 2s")


def chatter(c, seconds, frames):
    """Sends frames every 0.3 s for up to seconds; the time the gateway closed the connection
    after, or None if it stayed open."""
    start = time.time()
    while time.time() - start < seconds:
        c.send(frames)
        if c.closed_within(0.3):
            return time.time() - start
    return None


NOISE = (frame(PING, 0, 0, b"12345678") + frame(SETTINGS, 0, 0, b"") +
         frame(PRIORITY, 0, 101, struct.pack(">IB", 0, 7)))


def test_an_idle_connection_closes_whatever_frames_it_gets(gw):
    c = H2(gw)
    closed = chatter(c, 8, NOISE)
    assert closed is not None and closed < 5, closed
    c.close()


def test_a_shut_window_times_out_whatever_frames_it_gets(gw):
    c = H2(gw, settings=False)
    c.send(PREFACE + frame(SETTINGS, 0, 0, struct.pack(">HI", INITIAL_WINDOW_SIZE, 0)))
    c.request(1, "/hello")
    assert c.status(1, 5) == 200
    # A WINDOW_UPDATE for the connection only lets nothing flow: the stream's window is shut.
    closed = chatter(c, 8, NOISE + frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 1)))
    assert closed is not None and closed < 5, closed
    c.close()


def test_a_slow_reader_is_not_cut_off(gw):
    """A window opened a few bytes at a time is progress: the response keeps going past the
    timeouts."""
    c = H2(gw, settings=False)
    c.send(PREFACE + frame(SETTINGS, 0, 0, struct.pack(">HI", INITIAL_WINDOW_SIZE, 1)))
    c.request(1, "/hello")
    body = b""
    for _ in range(5):  # a byte every 1.2 s: 6 s, three times the 2 s timeouts
        for kind, _, stream, payload in c.frames(1.2):
            if kind == 0 and stream == 1:
                body += payload
        c.send(frame(WINDOW_UPDATE, 0, 1, struct.pack(">I", 1)))
    for kind, _, stream, payload in c.frames(0.5):
        if kind == 0 and stream == 1:
            body += payload
    assert body == b"hello", body
    c.close()
