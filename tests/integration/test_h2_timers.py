"""An HTTP/2 stream's one timer follows what its request waits for, whichever came last: a
response that filled the stream's buffer gives the client limits.body_timeout to take it, even
once the request body has ended meanwhile; a body still read is held to its pace again once the
response is taken. Either way a stream never holds its upstream for ever. The upstream here
answers at once, before the request body is read."""
import struct
import time

import pytest

from test_h2 import SETTINGS, frame
from test_h2_lifetimes import DATA, H2, wait_for
from testenv import accept_forever, listening_socket, serve_each

WINDOW_UPDATE = 8
IN_FLIGHT = 'gatehouse_upstream_in_flight{upstream="app"}'
CONFIG = """
limits: {body_timeout: 2s, head_timeout: 2s}
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]}
routes:
  - {name: app, match: {prefix: /}, auth: none, upstream: app}
"""


class EarlyUpstream:
    """Answers each request as soon as its head arrives, with `sent` bytes of a body declared
    `declared` long, then waits (the rest never comes), never reading the request body."""

    def __init__(self, declared, sent):
        self.declared, self.sent = declared, sent
        self.sock, self.port = listening_socket(8)
        self.conns = []
        serve = serve_each(self._serve)
        accept_forever(self.sock, lambda c: (self.conns.append(c), serve(c)))

    def _serve(self, c):
        head = b""
        try:
            while b"\r\n\r\n" not in head:
                chunk = c.recv(4096)
                if not chunk:
                    return
                head += chunk
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % self.declared)
            c.sendall(b"y" * self.sent)
        except OSError:
            return

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


@pytest.fixture
def early(request):
    up = EarlyUpstream(*request.param)
    yield up
    up.close()


def send_body(c, n, end):
    c.send(frame(DATA, 0x1 if end else 0, 1, b"x" * n))


@pytest.mark.parametrize("early", [(8 << 20, 8 << 20)], indirect=True)
def test_a_response_never_taken_times_out_after_the_body_ends(gateway_for, early):
    """The response fills the client's window and the stream's buffer; then the body ends: the
    client still has limits.body_timeout to take the response, no more."""
    gw = gateway_for(CONFIG % early.port, listener_extra=", h2c: true")
    c = H2(gw)
    c.request(1, "/up", "POST", end=False)
    send_body(c, 100, False)
    assert wait_for(lambda: gw.metric(IN_FLIGHT) == 1, 5)
    time.sleep(1.0)  # the response is waiting for a window that never opens
    send_body(c, 100, True)
    assert wait_for(lambda: gw.metric(IN_FLIGHT) == 0, 4), gw.metric(IN_FLIGHT)
    line = gw.access_lines(1)[-1]
    assert (line["status"], line["bytes_in"]) == (200, 200), line


@pytest.mark.parametrize("early", [(8 << 20, 1 << 20)], indirect=True)
def test_a_stalled_body_times_out_after_the_response_is_taken(gateway_for, early):
    """The response filled the stream's buffer, then the client took it all; the upstream waits
    for the body, which stalls: the body's timeout ends the request."""
    gw = gateway_for(CONFIG % early.port, listener_extra=", h2c: true")
    c = H2(gw)
    c.request(1, "/up", "POST", end=False)
    send_body(c, 100, False)
    time.sleep(1.0)  # the buffer fills
    big = 1 << 30
    c.send(frame(SETTINGS, 0, 0, struct.pack(">HI", 4, big)) +
           frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", big)))
    got = 0
    for kind, _, sid, payload in c.frames(3):
        if kind == DATA and sid == 1:
            got += len(payload)
            if got >= 1 << 20:
                break
    assert got == 1 << 20
    assert wait_for(lambda: gw.metric(IN_FLIGHT) == 0, 4), gw.metric(IN_FLIGHT)
    assert gw.access_lines(1)[-1]["reason"] == "body-timeout", gw.access_lines(1)
