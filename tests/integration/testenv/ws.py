"""WebSocket peers for the tests: a real upstream server (Debian's python3-websockets) run on
its own event loop thread, and a raw client that writes the frames a library would refuse to
(unmasked ones)."""
import asyncio
import base64
import http
import os
import socket
import ssl
import struct
import threading

import websockets


class WsUpstream:
    """A WebSocket server. Paths:
    /echo...   echoes every message; records its handshake headers and how each session closed
    /idle      says nothing, answers pings (the library does)
    /deny      refuses the handshake with 403 and a body
    /big/<n>   sends one binary message of n bytes, then echoes
    """

    def __init__(self, port, tls=None):
        """tls: (certificate, key) to serve wss://."""
        self.port = port
        self.ssl = None
        if tls:
            self.ssl = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ssl.load_cert_chain(*tls)
        self.handshakes = []  # request headers, as (name, value) lists
        self.closes = []      # (code, reason) each session ended with, as the server saw it
        self.messages = []    # what it received
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.ready.wait(10)

    def _run(self):
        asyncio.set_event_loop(self.loop)

        async def process_request(path, headers):
            self.handshakes.append(list(headers.raw_items()))
            if path.startswith("/deny"):
                return (http.HTTPStatus.FORBIDDEN, [("Content-Type", "text/plain")], b"no sessions here\n")
            return None

        async def handler(ws, path):
            try:
                if path.startswith("/big/"):
                    await ws.send(b"b" * int(path[5:]))
                if path.startswith("/idle"):
                    await ws.wait_closed()
                async for m in ws:
                    self.messages.append(m)
                    await ws.send(m)
            except websockets.ConnectionClosed:
                pass
            self.closes.append((ws.close_code, ws.close_reason))

        async def main():
            self.server = await websockets.serve(handler, "127.0.0.1", self.port,
                                                 process_request=process_request,
                                                 compression=None, max_size=None,
                                                 ping_interval=None, backlog=2048,
                                                 ssl=self.ssl)
            self.ready.set()
            self.stop_event = asyncio.Event()
            await self.stop_event.wait()
            self.server.close()
            await self.server.wait_closed()

        self.loop.run_until_complete(main())

    def close(self):
        self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def run(coro, timeout=60):
    """Runs a client coroutine to its end on a loop of its own."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


def handshake_request(path, host, extra=()):
    key = base64.b64encode(os.urandom(16)).decode()
    lines = ["GET %s HTTP/1.1" % path, "Host: %s" % host, "Upgrade: websocket",
             "Connection: Upgrade", "Sec-WebSocket-Key: %s" % key, "Sec-WebSocket-Version: 13"]
    lines += ["%s: %s" % kv for kv in extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def frame(opcode, payload, masked=True, fin=True, rsv=0, length=None):
    """One frame's bytes; length: the length the head claims, when it must lie."""
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | rsv | opcode])
    m = 0x80 if masked else 0
    if n < 126:
        head += bytes([m | n])
    elif n < 65536:
        head += bytes([m | 126]) + struct.pack(">H", n)
    else:
        head += bytes([m | 127]) + struct.pack(">Q", n)
    if masked:
        key = os.urandom(4)
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        head += key
    return head + payload


class RawClient:
    """A client that speaks the handshake and frames by hand."""

    def __init__(self, port, path="/echo", extra=(), timeout=10, then=b""):
        """then: bytes sent with the handshake, in the same write."""
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.sendall(handshake_request(path, "127.0.0.1:%d" % port, extra) + then)
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            self.buf += chunk
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        self.head = head.decode("latin-1")
        self.status = int(self.head.split(" ", 2)[1]) if self.head else 0

    def body(self):
        """The body of a response that is no 101, by its Content-Length."""
        n = 0
        for line in self.head.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                n = int(value)
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            self.buf += chunk
        body, self.buf = self.buf[:n], self.buf[n:]
        return body.decode()

    def send(self, data):
        self.sock.sendall(data)

    def read_frame(self):
        """(opcode, payload) of the next frame from the gateway, or None at the end."""
        def need(n):
            while len(self.buf) < n:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return False
                self.buf += chunk
            return True
        if not need(2):
            return None
        b0, b1 = self.buf[0], self.buf[1]
        n, at = b1 & 0x7f, 2
        if n == 126:
            need(4)
            n, at = struct.unpack(">H", self.buf[2:4])[0], 4
        elif n == 127:
            need(10)
            n, at = struct.unpack(">Q", self.buf[2:10])[0], 10
        assert not b1 & 0x80, "a server's frame came masked"
        need(at + n)
        payload, self.buf = self.buf[at:at + n], self.buf[at + n:]
        return b0 & 0x0f, payload

    def close_code(self):
        """The code of the first close frame that comes, skipping other frames."""
        while True:
            f = self.read_frame()
            if f is None:
                return None
            if f[0] == 8:
                return struct.unpack(">H", f[1][:2])[0] if len(f[1]) >= 2 else 1005

    def at_eof(self, timeout=5):
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
        except (ConnectionResetError, socket.timeout):
            return False

    def close(self):
        self.sock.close()
