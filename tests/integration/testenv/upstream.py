"""A real HTTP/1.1 upstream server with behaviours chosen by path, recording what it received."""
import io
import socket
import ssl
import threading
import time
from urllib.parse import parse_qsl

from . import accept_forever


class _CountingReader(io.RawIOBase):
    """A socket's reading side that adds what it reads to its upstream's bytes_received."""

    def __init__(self, sock, upstream):
        self.sock = sock
        self.upstream = upstream

    def readable(self):
        return True

    def readinto(self, b):
        n = self.sock.recv_into(b)
        with self.upstream.lock:
            self.upstream.bytes_received += n
        return n


class Upstream:
    """Paths:
    /echo...      200 with a JSON-ish echo of method, path, headers and body length
    /slow/<ms>    waits, then 200
    /big/<bytes>  streams that many bytes (chunked) without holding them in memory
    /close        closes the connection without answering
    /garbage      answers with a malformed status line
    /status/<n>   answers with that status
    .../with-headers?Name=value&...  adds those fields to its response
    anything else 200 "ok"
    """

    def __init__(self, port, tls=None, client_ca=None, host="127.0.0.1"):
        """tls: (certificate, key) to serve HTTPS; client_ca: then require client certificates
        of that CA (the subjects seen are kept in client_subjects); host: the loopback address
        to listen on (127.0.0.2 and the like stand for other machines)."""
        self.port = port
        self.ssl = None
        self.client_subjects = []
        self.handshakes = self.resumed = 0
        if tls:
            self.ssl = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ssl.load_cert_chain(*tls)
            if client_ca:
                self.ssl.verify_mode = ssl.CERT_REQUIRED
                self.ssl.load_verify_locations(client_ca)
        self.requests = []  # (method, path, headers dict lower-cased, body bytes)
        # Every request head as received, byte for byte, even one that does not parse; and each
        # parsed request's header lines in order, repeated names kept: [(name, value), ...].
        self.raw_heads = []
        self.header_lines = []
        self.connections = 0
        self.bytes_received = 0  # every byte read from any connection
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(512)
        self.closing = False
        accept_forever(self.sock, self._accepted, lambda: self.closing)

    def close(self):
        self.closing = True
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _accepted(self, c):
        with self.lock:
            self.connections += 1
        threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _read_head(self, f):
        """The head's lines are read whole and recorded before they are parsed, so that bytes
        that do not parse are on record too."""
        lines = []
        while True:
            line = f.readline()
            if not line:
                break
            lines.append(line)
            if line == b"\r\n" and len(lines) > 1:
                break
        if not lines:
            return None
        with self.lock:
            self.raw_heads.append(b"".join(lines))
        method, path, _ = lines[0].decode("latin-1").split(" ", 2)
        headers = {}
        raw = []
        for h in lines[1:]:
            if h in (b"\r\n", b""):
                break
            k, v = h.decode("latin-1").split(":", 1)
            headers[k.strip().lower()] = v.strip()
            raw.append((k.strip(), v.strip()))
        return method, path, headers, raw

    def lines_named(self, name, request=-1):
        """The values of every header line called name (any case) of one request, in order."""
        return [v for k, v in self.header_lines[request] if k.lower() == name.lower()]

    @staticmethod
    def _read_body(f, headers):
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = bytearray()
            while True:
                size = int(f.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while f.readline() not in (b"\r\n", b""):
                        pass
                    return bytes(body)
                body += f.read(size)
                f.readline()
        n = int(headers.get("content-length", "0"))
        return f.read(n) if n else b""

    def _serve(self, c):
        if self.ssl:
            try:
                c = self.ssl.wrap_socket(c, server_side=True)
            except (ssl.SSLError, OSError):
                c.close()
                return
            with self.lock:
                self.handshakes += 1
                self.resumed += 1 if c.session_reused else 0
                peer = c.getpeercert()
                if peer:
                    self.client_subjects.append(dict(x[0] for x in peer["subject"])["commonName"])
        f = io.BufferedReader(_CountingReader(c, self))
        try:
            while True:
                head = self._read_head(f)
                if head is None:
                    return
                method, path, headers, raw = head
                body = self._read_body(f, headers)
                with self.lock:
                    self.requests.append((method, path, headers, body))
                    self.header_lines.append(raw)
                if not self._answer(c, method, path, headers, raw, body):
                    return
        except (OSError, ValueError):
            return
        finally:
            c.close()

    def _answer(self, c, method, path, headers, raw, body):
        if path.startswith("/close"):
            return False
        if path.startswith("/garbage"):
            c.sendall(b"HTTP/1.1 2OO OK\r\n\r\n")
            return False
        if path.startswith("/slow/"):
            time.sleep(int(path.split("/")[2].split("?")[0]) / 1000.0)
        if path.startswith("/big/"):
            total = int(path.split("/")[2])
            c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/octet-stream\r\n\r\n")
            block = b"x" * 65536
            sent = 0
            while sent < total:
                n = min(len(block), total - sent)
                c.sendall(b"%x\r\n" % n + block[:n] + b"\r\n")
                sent += n
            c.sendall(b"0\r\n\r\n")
            return True
        status = 200
        if path.startswith("/status/"):
            status = int(path.split("/")[2])
        lines = ["method=%s" % method, "path=%s" % path, "body=%d" % len(body)]
        lines += ["h:%s=%s" % (k.lower(), v) for k, v in raw]
        payload = ("\n".join(lines) + "\n").encode()
        if method == "HEAD":
            payload_out = b""
        else:
            payload_out = payload
        extra = b""
        if "/with-headers?" in path:
            extra = b"".join(("%s: %s\r\n" % kv).encode() for kv in parse_qsl(path.split("?", 1)[1]))
        c.sendall(b"HTTP/1.1 %d X\r\nContent-Length: %d\r\nX-Upstream: yes\r\nConnection: keep-alive, X-Hop\r\nX-Hop: secret\r\n%s\r\n"
                  % (status, len(payload), extra) + payload_out)
        return True
