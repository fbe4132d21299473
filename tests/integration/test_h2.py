"""HTTP/2 for clients: ALPN h2 on TLS listeners and prior-knowledge h2c, with real clients (curl,
h2load, and raw frames for the abuse cases): requests through the stages and the HTTP/1.1
upstream pools, bodies both ways, refusals as problem+json, rapid reset and CONTINUATION floods
cut off with GOAWAY while a concurrent normal client is served, and the configuration rules."""
import hashlib
import os
import re
import signal
import socket
import struct
import subprocess
import threading
import time

import hpack
import pytest

from testenv import BIN
from testenv.certs import CertAuthority

ROUTES = """
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]}
routes:
  - {name: hello, match: {prefix: /hello}, auth: none,
     respond: {status: 200, headers: {X-LongLongLongLongLongLongLongLongLongLongLongLongLongLongLongLongLongLongLongLong: kept}, body: "hello"}}
  - {name: app, match: {prefix: /, methods: [GET, POST]}, auth: none, upstream: app}
limits: {max_body_bytes: 64m}
"""


@pytest.fixture
def pki(tmp_path):
    ca = CertAuthority(str(tmp_path))
    ca.server = ca.issue("server", "localhost", dns=["localhost"], ips=["127.0.0.1"])
    return ca


def curl(*args):
    """curl's output, then "\n<http version> <status>"; when curl fails, its exit code and its
    error message (-sS) follow, so that an assertion on the output says why."""
    p = subprocess.run(["curl", "-sS", "-o", "-", "-w", "\n%{http_version} %{http_code}"] + list(args),
                       capture_output=True, timeout=60)
    if p.returncode != 0:
        return p.stdout + b"\n[curl exit %d] " % p.returncode + p.stderr
    return p.stdout


@pytest.fixture
def h2c(gateway_for, upstream):
    gw = gateway_for(ROUTES % upstream.port, listener_extra=", h2c: true")
    gw.upstream = upstream
    return gw


@pytest.fixture
def h2tls(gateway_for, upstream, pki):
    gw = gateway_for(ROUTES % upstream.port, tls="{certificate: %s, private_key: %s}" % pki.server)
    gw.upstream = upstream
    gw.ca_file = pki.ca_file
    return gw


def test_h2_over_tls_and_h2c(h2c, h2tls):
    out = curl("--http2", "--cacert", h2tls.ca_file, "https://localhost:%d/hello" % h2tls.port)
    assert out.endswith(b"\n2 200") and out.startswith(b"hello"), out
    out = curl("--http2-prior-knowledge", "http://127.0.0.1:%d/x?q=1" % h2c.port)
    assert out.endswith(b"\n2 200") and b"path=/x?q=1" in out, out
    seen = h2c.upstream.requests[-1][2]
    assert seen["x-forwarded-proto"] == "http" and "connection" not in seen
    line = h2c.access_lines(1)[-1]
    assert line["protocol"] == "h2" and line["route"] == "app" and line["status"] == 200, line
    tls_line = h2tls.access_lines(1)[-1]
    assert tls_line["alpn"] == "h2" and tls_line["protocol"] == "h2"
    # Every response field reaches the stream, long names too, in lower case.
    out = curl("--http2-prior-knowledge", "-i", "http://127.0.0.1:%d/hello" % h2c.port)
    assert b"x-longlonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglong: kept" in out, out
    # An HTTP/1.1 client on the same listeners is still served.
    assert curl("--http1.1", "http://127.0.0.1:%d/hello" % h2c.port).endswith(b"\n1.1 200")


def test_proxied_response_head_on_a_stream(gateway_for, upstream):
    """The proxy hands a stream its head as fields: the upstream's end-to-end fields, none of its
    hop-by-hop ones (Connection and what it names), the stage's rate-limit fields, the request
    id; HEAD and 204 carry no body, a chunked body arrives whole."""
    gw = gateway_for("""
rate_limits:
  loud: {key: route, rate: 100/s, headers: always}
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]}
routes:
  - {name: app, match: {prefix: /}, auth: none, rate_limit: loud, upstream: app}
""" % upstream.port, listener_extra=", h2c: true")
    url = "http://127.0.0.1:%d" % gw.port
    out = curl("--http2-prior-knowledge", "-i", url + "/echo")
    head, _, body = out.partition(b"\r\n\r\n")
    fields = dict(line.split(b": ", 1) for line in head.split(b"\r\n")[1:])
    assert head.startswith(b"HTTP/2 200") and fields[b"x-upstream"] == b"yes", out
    assert b"x-hop" not in fields and b"connection" not in fields and b"transfer-encoding" not in fields
    assert fields[b"ratelimit-policy"] == b'"loud";q=100;w=1' and fields[b"ratelimit"].startswith(b'"loud";r=')
    line = gw.access_lines(1)[-1]
    assert fields[b"x-request-id"] == line["request_id"].encode() and line["status"] == 200
    assert int(fields[b"content-length"]) == len(body.rsplit(b"\n2 200", 1)[0]) and b"method=GET" in body
    assert line["bytes_out"] == int(fields[b"content-length"])  # on a stream: the body's bytes
    out = curl("--http2-prior-knowledge", "-I", url + "/echo")
    assert out.startswith(b"HTTP/2 200") and out.endswith(b"\r\n\r\n\n2 200"), out
    assert curl("--http2-prior-knowledge", url + "/status/204").endswith(b"\n2 204")
    out = curl("--http2-prior-knowledge", url + "/big/300000")
    assert out == b"x" * 300000 + b"\n2 200", out[-100:]


def test_many_streams_with_h2load(h2tls):
    p = subprocess.run(["h2load", "-n", "2000", "-c", "4", "-m", "20", "https://127.0.0.1:%d/load" % h2tls.port],
                       capture_output=True, text=True, timeout=120)
    assert re.search(r"requests: 2000 total, 2000 started, 2000 done, 2000 succeeded", p.stdout), p.stdout
    assert "status codes: 2000 2xx" in p.stdout, p.stdout


def test_bodies_both_ways(h2tls, tmp_path):
    body = os.urandom(3 * 1024 * 1024)
    (tmp_path / "body").write_bytes(body)
    out = curl("--http2", "--cacert", h2tls.ca_file, "--data-binary", "@%s" % (tmp_path / "body"),
               "https://localhost:%d/echo" % h2tls.port)
    assert out.endswith(b"\n2 200") and b"body=%d" % len(body) in out, out[-200:]
    assert hashlib.sha256(h2tls.upstream.requests[-1][3]).digest() == hashlib.sha256(body).digest()
    out = curl("--http2", "--cacert", h2tls.ca_file, "https://localhost:%d/big/7000000" % h2tls.port)
    assert out.endswith(b"\n2 200") and len(out) == 7000000 + len(b"\n2 200")


def test_refusals_are_problem_json_on_a_stream(h2c):
    out = curl("--http2-prior-knowledge", "-i", "-X", "DELETE", "http://127.0.0.1:%d/x" % h2c.port)
    assert b"HTTP/2 405" in out and b"content-type: application/problem+json" in out
    assert b"urn:gatehouse:problem:method-not-allowed" in out and b"allow: GET, HEAD, POST" in out, out
    big = "x" * 20000
    out = curl("--http2-prior-knowledge", "-H", "X-Big: " + big, "http://127.0.0.1:%d/hello" % h2c.port)
    assert out.endswith(b"\n2 431"), out[-300:]  # the header list is too large: refused, never served


# Raw frames for the abuse cases.
def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
HEADERS, RST_STREAM, SETTINGS, GOAWAY, CONTINUATION = 1, 3, 4, 7, 9


def request_block(path="/hello"):
    return hpack.Encoder().encode([(":method", "GET"), (":scheme", "http"), (":path", path),
                                   (":authority", "localhost")])


def frames_of(sock):
    """The frames the gateway sends, as (type, flags, stream, payload), until the end of the
    connection, a reset or ten seconds of silence."""
    buf = b""
    sock.settimeout(10)
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, socket.timeout):
            return
        if not chunk:
            return
        buf += chunk
        while len(buf) >= 9:
            length = int.from_bytes(buf[:3], "big")
            if len(buf) < 9 + length:
                break
            yield buf[3], buf[4], int.from_bytes(buf[5:9], "big") & 0x7fffffff, buf[9:9 + length]
            buf = buf[9 + length:]


def goaway_code(sock):
    """Reads frames until GOAWAY (its error code) or the end of the connection (None)."""
    for kind, _, _, payload in frames_of(sock):
        if kind == GOAWAY:
            return struct.unpack(">I", payload[4:8])[0]
    return None


def stream_ends(sock, stream):
    """True once the stream's HEADERS or DATA carries END_STREAM; False at GOAWAY, RST_STREAM or
    the end of the connection."""
    for kind, flags, sid, _ in frames_of(sock):
        if kind in (GOAWAY, RST_STREAM):
            return False
        if sid == stream and kind in (0, HEADERS) and flags & 1:
            return True
    return False


def test_h2c_request_split_across_reads(gateway_for, upstream):
    """However the client's first bytes are cut up (the preface, SETTINGS and a HEAD request's
    HEADERS in one read, or in pieces down to single bytes, with pauses between them), the
    proxied response arrives whole."""
    gw = gateway_for(ROUTES % upstream.port, listener_extra=", h2c: true")
    block = hpack.Encoder().encode([(":method", "HEAD"), (":scheme", "http"), (":path", "/echo"),
                                    (":authority", "127.0.0.1:%d" % gw.port)])
    settings = frame(SETTINGS, 0, 0, struct.pack(">HIHI", 3, 100, 4, 10485760))
    update = frame(8, 0, 0, struct.pack(">I", 1 << 20))
    head = frame(HEADERS, 5, 1, block)
    whole = PREFACE + settings + update + head
    cuts = {"one read": [whole], "preface apart": [PREFACE, whole[24:]],
            "headers apart": [PREFACE + settings + update, head],
            "three bytes of the preface": [whole[:3], whole[3:]],
            "sixteen bytes of the preface": [whole[:16], whole[16:]],
            "settings cut": [whole[:29], whole[29:]], "headers cut": [whole[:-7], whole[-7:]],
            "byte by byte": [whole[i:i + 1] for i in range(len(whole))]}
    for name, pieces in cuts.items():
        with socket.create_connection(("127.0.0.1", gw.port), timeout=10) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for piece in pieces:
                s.sendall(piece)
                time.sleep(0.002 if len(pieces) > 10 else 0.05)
            assert stream_ends(s, 1), name


def background_client(port, results):
    def run():
        for _ in range(20):
            results.append(curl("--http2-prior-knowledge", "http://127.0.0.1:%d/hello" % port).endswith(b"\n2 200"))
    t = threading.Thread(target=run)
    t.start()
    return t


def test_rapid_reset_is_cut_off(h2c):
    results = []
    t = background_client(h2c.port, results)
    s = socket.create_connection(("127.0.0.1", h2c.port))
    block = request_block()
    burst = bytearray(PREFACE + frame(SETTINGS, 0, 0))
    for i in range(1000):  # open a stream, cancel it at once: the CVE-2023-44487 pattern
        sid = 2 * i + 1
        burst += frame(HEADERS, 0x4 | 0x1, sid, block) + frame(RST_STREAM, 0, sid, struct.pack(">I", 8))
    try:
        s.sendall(bytes(burst))
    except (BrokenPipeError, ConnectionResetError):
        pass
    assert goaway_code(s) == 0xb  # ENHANCE_YOUR_CALM
    s.close()
    t.join()
    assert all(results) and len(results) == 20
    assert h2c.metric('gatehouse_refusals_total{reason="http2-flood"}') >= 1


def test_continuation_flood_is_cut_off(h2c):
    """A valid header block (so nothing but the frame count can stop it) split over many
    CONTINUATION frames: GOAWAY ENHANCE_YOUR_CALM, then the connection closes."""
    results = []
    t = background_client(h2c.port, results)
    s = socket.create_connection(("127.0.0.1", h2c.port))
    block = hpack.Encoder().encode([(":method", "GET"), (":scheme", "http"), (":path", "/hello"),
                                    (":authority", "localhost")] + [("x-pad-%d" % i, "v" * 8) for i in range(200)])
    pieces = [block[i:i + 8] for i in range(0, len(block), 8)]
    assert len(pieces) > 200
    data = bytearray(PREFACE + frame(SETTINGS, 0, 0) + frame(HEADERS, 0x1, 1, pieces[0]))
    for i, piece in enumerate(pieces[1:]):
        data += frame(CONTINUATION, 0x4 if i == len(pieces) - 2 else 0, 1, piece)
    try:
        s.sendall(bytes(data))
    except (BrokenPipeError, ConnectionResetError):
        pass
    t0 = time.time()
    assert goaway_code(s) == 0xb  # ENHANCE_YOUR_CALM
    s.settimeout(3)
    try:
        while s.recv(65536):  # then the end of the connection, soon
            pass
    except (ConnectionResetError, socket.timeout):
        pass
    assert time.time() - t0 < 3
    s.close()
    t.join()
    assert all(results) and len(results) == 20


def test_settings_advertise_the_limits(gateway_for, upstream):
    gw = gateway_for(ROUTES % upstream.port + "http2: {max_concurrent_streams: 7, initial_window_size: 128k}\n",
                     listener_extra=", h2c: true")
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=5)
    s.sendall(PREFACE + frame(SETTINGS, 0, 0))
    head = s.recv(9, socket.MSG_WAITALL)
    assert head[3] == SETTINGS
    payload = s.recv(int.from_bytes(head[:3], "big"), socket.MSG_WAITALL)
    settings = dict(struct.unpack(">HI", payload[i:i + 6]) for i in range(0, len(payload), 6))
    assert settings[3] == 7 and settings[4] == 131072  # streams, window
    assert settings[6] == 16384 and settings[2] == 0  # header list = limits.max_head_bytes, no push
    s.close()


def test_sigterm_lets_streams_in_flight_finish(h2c):
    results = []
    t = threading.Thread(target=lambda: results.append(
        curl("--http2-prior-knowledge", "http://127.0.0.1:%d/slow/800" % h2c.port)))
    t.start()
    deadline = time.time() + 5
    while time.time() < deadline and not h2c.upstream.requests:
        time.sleep(0.02)
    h2c.signal(signal.SIGTERM)  # GOAWAY: the stream in flight finishes, then the gateway exits
    t.join()
    assert results[0].endswith(b"\n2 200"), results
    assert h2c.proc.wait(timeout=10) == 0


def check(tmp_path, listener):
    path = tmp_path / "c.yaml"
    path.write_text("listeners:\n  - %s\nroutes: [{name: r, match: {prefix: /}, auth: none, respond: {}}]\n" % listener)
    return subprocess.run([BIN, "check", "-c", str(path)], capture_output=True, text=True)


def test_configuration_rules(tmp_path, pki):
    tls = "tls: {certificate: %s, private_key: %s}" % pki.server
    r = check(tmp_path, "{address: 127.0.0.1:1, h2c: true, %s}" % tls)
    assert r.returncode == 1 and "h2c is HTTP/2 without TLS" in r.stderr, r.stderr
    r = check(tmp_path, "{address: 127.0.0.1:1, h2c: true, http2: false}")
    assert r.returncode == 1 and "h2c needs http2: true" in r.stderr, r.stderr
    r = check(tmp_path, "{address: 127.0.0.1:1, http2: maybe}")
    assert r.returncode == 1 and "http2" in r.stderr, r.stderr
    path = tmp_path / "c.yaml"
    for bad, want in (("{max_concurrent_streams: 0}", "max_concurrent_streams"),
                      ("{initial_window_size: 1k}", "initial_window_size"),
                      ("{push: true}", "unknown key 'push'")):
        path.write_text("listeners: [{address: 127.0.0.1:1}]\nhttp2: %s\n"
                        "routes: [{name: r, match: {prefix: /}, auth: none, respond: {}}]\n" % bad)
        r = subprocess.run([BIN, "check", "-c", str(path)], capture_output=True, text=True)
        assert r.returncode == 1 and want in r.stderr, (bad, r.stderr)


def test_http2_can_be_turned_off(gateway_for, upstream, pki):
    gw = gateway_for(ROUTES % upstream.port, tls="{certificate: %s, private_key: %s}" % pki.server,
                     listener_extra=", http2: false")
    out = curl("--http2", "--cacert", pki.ca_file, "https://localhost:%d/hello" % gw.port)
    assert out.endswith(b"\n1.1 200"), out  # ALPN offered HTTP/1.1 only
