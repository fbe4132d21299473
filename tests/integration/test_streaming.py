"""Responses stream through with backpressure: a 100 MB body never sits in the gateway."""
import socket
import time


from conftest import proxy_yaml
from testenv import SANITIZED, wait_for


def test_100mb_response_streams_with_bounded_memory(gateway_for, upstream):
    g = gateway_for(proxy_yaml(upstream.port))
    before = g.rss_kib()
    total = 100 * 1024 * 1024
    with socket.create_connection(("127.0.0.1", g.port), timeout=30) as s:
        s.sendall(b"GET /big/%d HTTP/1.1\r\nHost: x\r\n\r\n" % total)
        received = 0
        peak = before
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        buf = bytearray(65536)
        head_done = False
        data = b""
        tail = b""  # the last bytes of the body: the chunked framing ends with 0 CRLF CRLF
        while True:
            n = s.recv_into(buf)
            if n == 0:
                break
            chunk = bytes(buf[:n])
            if not head_done:
                data += chunk
                if b"\r\n\r\n" not in data:
                    continue
                head_done = True
                chunk = data.split(b"\r\n\r\n", 1)[1]
            received += len(chunk)
            tail = (tail + chunk)[-5:]
            if received % (8 * 1024 * 1024) < 65536:
                peak = max(peak, g.rss_kib())
                time.sleep(0.01)  # a slow reader: the gateway must hold back, not buffer
            if received > total and tail == b"0\r\n\r\n":
                break
    peak = max(peak, g.rss_kib())
    # chunk framing adds a little; on failure, say what the connection and the gateway saw
    assert received > total, (received, head_done, data[:300], g.access_lines()[-3:], g.event_lines()[-5:])
    limit = 20 * 1024 if not SANITIZED else 80 * 1024
    assert peak - before < limit, "RSS grew by %d KiB" % (peak - before)
    line = g.access_lines(1)[-1]
    assert line["status"] == 200 and line["bytes_out"] > total


def test_a_client_that_stops_reading_is_cut_at_the_body_timeout(gateway_for, upstream):
    g = gateway_for(proxy_yaml(upstream.port, "limits: {body_timeout: 1s}\n"))
    s = socket.create_connection(("127.0.0.1", g.port), timeout=10)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    started = time.time()
    s.sendall(b"GET /big/%d HTTP/1.1\r\nHost: x\r\n\r\n" % (50 * 1024 * 1024))
    # Read nothing: the gateway's queue fills, then the timer runs out and the connection goes.
    wait_for(lambda: len(upstream.requests) == 1, "the request to reach the upstream")
    wait_for(lambda: g.metric("gatehouse_open_connections") == 0, "the connection to be cut", timeout=30)
    assert time.time() - started >= 0.9  # cut by the 1 s timer, not at once
    s.close()
