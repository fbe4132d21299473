"""HTTP/2 stream and connection lifetimes: a stream that ends for any reason (the client resets
it with any code, the gateway resets it, the connection ends or times out) ends its work at
once: its upstream request is aborted (the in-flight slot comes back), its stage wait (keys,
introspection, policy, Redis) is abandoned, and nothing reads its connection afterwards. Every
stream that ends without its response counts against the connection's reset budget, whichever
side reset it, and a connection the gateway ends with an error GOAWAY is closed right after it.
Clients are raw frames (h2c and TLS with ALPN h2), so every reset code and disconnect is ours."""
import json
import os
import socket
import ssl
import struct
import time

import hpack
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from testenv import free_port, listening_socket
from testenv.idp import IdP
from testenv.introspection import IntrospectionServer
from testenv.tokens import ec_jwk, sign, token_claims
from test_h2 import (CONTINUATION, GOAWAY, HEADERS, PREFACE, RST_STREAM, SETTINGS, curl, frame,
                     pki)  # noqa: F401 (pki is a fixture)
from test_policy import PolicyServer

DATA = 0
NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, CANCEL, COMPRESSION_ERROR, ENHANCE_YOUR_CALM = 0, 1, 2, 8, 9, 0xb
IN_FLIGHT = 'gatehouse_upstream_in_flight{upstream="app"}'
SLOW_MS = 2000  # how long the slow dependencies take: every check of "ended at once" is well inside it

ROUTES = """
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]}
routes:
  - {name: hello, match: {prefix: /hello}, auth: none, respond: {status: 200, body: "hello"}}
  - {name: app, match: {prefix: /, methods: [GET, POST]}, auth: none, upstream: app}
"""


class H2:
    """A raw HTTP/2 client connection (h2c, or TLS with ALPN h2) to a gateway."""

    def __init__(self, gw, settings=True):
        self.sock = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
        if gw.tls:
            ctx = ssl.create_default_context(cafile=gw.ca_file)
            ctx.set_alpn_protocols(["h2"])
            self.sock = ctx.wrap_socket(self.sock, server_hostname="localhost")
            assert self.sock.selected_alpn_protocol() == "h2"
        self.enc, self.dec = hpack.Encoder(), hpack.Decoder()
        self.buf = b""
        if settings:
            self.send(PREFACE + frame(SETTINGS, 0, 0))

    def send(self, data):
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def block(self, path, method="GET", extra=()):
        return self.enc.encode([(":method", method), (":scheme", "http"), (":path", path),
                                (":authority", "localhost")] + list(extra))

    def request(self, sid, path, method="GET", extra=(), end=True):
        self.send(frame(HEADERS, 0x4 | (0x1 if end else 0), sid, self.block(path, method, extra)))

    def reset(self, sid, code):
        self.send(frame(RST_STREAM, 0, sid, struct.pack(">I", code)))

    def frames(self, timeout=10.0):
        """Frames as they come, until the connection ends or timeout; (kind, flags, stream, payload)."""
        deadline = time.time() + timeout
        while True:
            while len(self.buf) >= 9:
                length = int.from_bytes(self.buf[:3], "big")
                if len(self.buf) < 9 + length:
                    break
                f = (self.buf[3], self.buf[4], struct.unpack(">I", self.buf[5:9])[0] & 0x7fffffff,
                     self.buf[9:9 + length])
                self.buf = self.buf[9 + length:]
                yield f
            left = deadline - time.time()
            if left <= 0:
                return
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, socket.timeout, ssl.SSLError, OSError):
                return
            if not chunk:
                return
            self.buf += chunk

    def goaway(self, timeout=10.0):
        """The error code of the GOAWAY the gateway sends, or None."""
        for kind, _, _, payload in self.frames(timeout):
            if kind == GOAWAY:
                return struct.unpack(">I", payload[4:8])[0]
        return None

    def status(self, sid, timeout=10.0):
        for kind, _, stream, payload in self.frames(timeout):
            if kind == HEADERS and stream == sid:
                return int(dict(self.dec.decode(payload))[":status"])
        return None

    def closed_within(self, seconds):
        """Whether the gateway closes the connection (EOF or reset) within seconds."""
        start = time.time()
        for _ in self.frames(seconds):
            pass
        return time.time() - start < seconds

    def close(self):
        self.sock.close()


def wait_for(check, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


def h2_gateway(kind, gateway_for, upstream, pki, limits):  # noqa: F811
    """A gateway serving ROUTES over h2c or TLS (kind), with these limits."""
    extra = ", h2c: true" if kind == "h2c" else ""
    tls = "{certificate: %s, private_key: %s}" % pki.server if kind == "tls" else None
    g = gateway_for(ROUTES % upstream.port + "limits: {%s}\n" % limits, tls=tls, listener_extra=extra)
    g.upstream, g.ca_file = upstream, pki.ca_file
    return g


@pytest.fixture(params=["h2c", "tls"])
def gw(request, gateway_for, upstream, pki):  # noqa: F811
    return h2_gateway(request.param, gateway_for, upstream, pki,
                      "max_body_bytes: 64m, head_timeout: 2s, body_timeout: 2s")


def still_serves(g):
    """New HTTP/2 and HTTP/1.1 clients are served as before."""
    tls = ["--cacert", g.ca_file] if g.tls else []
    url = "%s://localhost:%d/hello" % ("https" if g.tls else "http", g.port)
    h2 = ["--http2"] if g.tls else ["--http2-prior-knowledge"]
    for _ in range(3):
        assert curl(*(tls + h2 + [url])).endswith(b"\n2 200")
        assert curl(*(tls + ["--http1.1", url])).endswith(b"\n1.1 200")


@pytest.mark.parametrize("code", [NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, CANCEL])
def test_reset_while_the_upstream_answers_ends_the_upstream_request(gw, code):
    clients = [H2(gw) for _ in range(10)]
    for c in clients:
        c.request(1, "/slow/%d" % SLOW_MS)
    assert wait_for(lambda: gw.metric(IN_FLIGHT) == 10, 5), gw.metric(IN_FLIGHT)
    t0 = time.time()
    for c in clients:
        c.reset(1, code)
    time.sleep(0.2)  # the resets are read before the disconnects (TLS would drop them at EOF)
    for c in clients:
        c.close()
    # The streams' upstream requests end with them, long before the upstream would answer.
    assert wait_for(lambda: gw.metric(IN_FLIGHT) == 0, 1.5), gw.metric(IN_FLIGHT)
    lines = gw.access_lines(10)
    assert [l["reason"] for l in lines[-10:]] == ["client-closed"] * 10, lines
    still_serves(gw)
    time.sleep(max(0, SLOW_MS / 1000.0 + 0.5 - (time.time() - t0)))  # the upstream answers now
    still_serves(gw)
    assert gw.metric(IN_FLIGHT) == 0


def test_reset_without_disconnect_frees_the_stream_slot(gw):
    """The client resets (NO_ERROR) and stays: the stream's work still ends, the connection
    keeps serving."""
    c = H2(gw)
    c.request(1, "/slow/%d" % SLOW_MS)
    assert wait_for(lambda: gw.metric(IN_FLIGHT) == 1, 5)
    c.reset(1, NO_ERROR)
    assert wait_for(lambda: gw.metric(IN_FLIGHT) == 0, 1.5), gw.metric(IN_FLIGHT)
    c.request(3, "/hello")
    assert c.status(3) == 200
    c.close()


def test_no_error_resets_count_against_the_budget(gw):
    """Resets with NO_ERROR are resets: a flood of them on a slow route is cut off with
    GOAWAY ENHANCE_YOUR_CALM and the connection closes; the upstream never holds more than the
    connection's stream limit."""
    c = H2(gw)
    burst = bytearray()
    for i in range(600):
        sid = 2 * i + 1
        burst += frame(HEADERS, 0x5, sid, c.block("/slow/%d" % SLOW_MS))
        burst += frame(RST_STREAM, 0, sid, struct.pack(">I", NO_ERROR))
    c.send(bytes(burst))
    assert c.goaway() == ENHANCE_YOUR_CALM
    assert c.closed_within(3)
    assert gw.metric(IN_FLIGHT) <= 100
    assert wait_for(lambda: gw.metric(IN_FLIGHT) == 0, 1.5), gw.metric(IN_FLIGHT)
    assert gw.metric('gatehouse_refusals_total{reason="http2-flood"}') >= 1
    still_serves(gw)


def test_cheap_answers_do_not_buy_resets(gw):
    """A client that lets two cheap streams finish (static answers) for every three slow ones it
    resets is still resetting more than it completes: it is cut off, and the upstream requests
    of the reset streams end with them."""
    c = H2(gw)
    sid, rounds = 1, 0
    while rounds < 300:
        c.request(sid, "/hello")
        c.request(sid + 2, "/hello")
        if c.status(sid, timeout=5) != 200 or c.status(sid + 2, timeout=5) != 200:
            break
        for slow in (sid + 4, sid + 6, sid + 8):
            c.request(slow, "/slow/%d" % SLOW_MS)
            c.reset(slow, NO_ERROR)
        sid += 10
        rounds += 1
    assert rounds < 300, "300 rounds of two answers and three resets were never cut off"
    assert c.closed_within(3)
    assert gw.metric('gatehouse_refusals_total{reason="http2-flood"}') >= 1
    assert wait_for(lambda: gw.metric(IN_FLIGHT) == 0, 1.5), gw.metric(IN_FLIGHT)
    still_serves(gw)


def test_resets_the_gateway_makes_count_too(gw):
    """MadeYouReset (CVE-2025-8671): DATA beyond the content-length makes the gateway reset each
    stream after its upstream request started; those resets count like the client's own."""
    c = H2(gw)
    burst = bytearray()
    for i in range(1000):
        sid = 2 * i + 1
        burst += frame(HEADERS, 0x4, sid, c.block("/slow/%d" % SLOW_MS, "POST", [("content-length", "1")]))
        burst += frame(DATA, 0x1, sid, b"xx")
    c.send(bytes(burst))
    assert c.goaway() == ENHANCE_YOUR_CALM
    assert c.closed_within(3)
    assert wait_for(lambda: gw.metric(IN_FLIGHT) == 0, 1.5), gw.metric(IN_FLIGHT)
    assert gw.metric('gatehouse_refusals_total{reason="http2-flood"}') >= 1
    still_serves(gw)


def test_rapid_reset_goaway_closes_the_connection(gw):
    c = H2(gw)
    burst = bytearray()
    for i in range(1000):
        sid = 2 * i + 1
        burst += frame(HEADERS, 0x5, sid, c.block("/hello")) + frame(RST_STREAM, 0, sid, struct.pack(">I", CANCEL))
    c.send(bytes(burst))
    assert c.goaway() == ENHANCE_YOUR_CALM
    assert c.closed_within(3)  # RFC 9113 5.4.1: closed after a connection error


def test_compression_error_goaway_closes_the_connection(gw):
    c = H2(gw)
    c.request(1, "/slow/%d" % SLOW_MS)  # a stream in flight must not keep the connection open
    assert wait_for(lambda: gw.metric(IN_FLIGHT) == 1, 5)
    c.send(frame(HEADERS, 0x5, 3, b"\x7f\xff\xff\xff\xff\xff\xff\x0f"))  # an index past any table
    assert c.goaway() == COMPRESSION_ERROR
    assert c.closed_within(3)
    assert wait_for(lambda: gw.metric(IN_FLIGHT) == 0, 1.5), gw.metric(IN_FLIGHT)


def test_continuation_flood_of_a_valid_block_is_cut_off_and_closed(gw):
    """A valid header block split over many CONTINUATION frames: the gateway counts the frames
    (it never decodes a broken block first), answers GOAWAY and closes."""
    c = H2(gw)
    block = c.block("/hello", extra=[("x-pad-%d" % i, "v" * 20) for i in range(100)])
    pieces = [block[i:i + 16] for i in range(0, len(block), 16)]
    assert len(pieces) > 100
    data = bytearray(frame(HEADERS, 0x1, 1, pieces[0]))
    for i, p in enumerate(pieces[1:]):
        data += frame(CONTINUATION, 0x4 if i == len(pieces) - 2 else 0, 1, p)
    c.send(bytes(data))
    assert c.goaway(5) == ENHANCE_YOUR_CALM
    assert c.closed_within(3)


def test_a_stalled_header_block_times_out(gw):
    """Half a header block, then nothing: limits.head_timeout (2 s here) closes the connection."""
    c = H2(gw)
    block = c.block("/hello")
    c.send(frame(HEADERS, 0x1, 1, block[:3]))  # no END_HEADERS, no CONTINUATION
    assert c.closed_within(5)


def test_a_client_that_never_opens_its_window_times_out(gw):
    """The response is done but the client's window stays shut (initial window 0, no
    WINDOW_UPDATE): limits.body_timeout (2 s here) closes the connection, as for an HTTP/1.1
    client that stops reading."""
    c = H2(gw, settings=False)
    c.send(PREFACE + frame(SETTINGS, 0, 0, struct.pack(">HI", 4, 0)))  # INITIAL_WINDOW_SIZE 0
    c.request(1, "/hello")
    assert c.status(1, 5) == 200  # the head is not flow-controlled, the body is
    assert c.closed_within(6)


@pytest.fixture
def h2c(gateway_for, upstream):
    g = gateway_for(ROUTES % upstream.port + "limits: {max_body_bytes: 64m}\n", listener_extra=", h2c: true")
    g.upstream = upstream
    return g


def test_h2c_header_block_over_one_input_block(h2c):
    """A header block larger than one 32 KiB read is refused (431) like on TLS, and the
    connection is released once the client leaves."""
    c = H2(h2c)
    burst = b""
    for sid in (1, 3, 5):
        big = c.block("/hello", extra=[("x-big", "b" * 40000)])
        pieces = [big[i:i + 16384] for i in range(0, len(big), 16384)]  # frames of the default size
        burst += frame(HEADERS, 0x1, sid, pieces[0])
        for i, p in enumerate(pieces[1:]):
            burst += frame(CONTINUATION, 0x4 if i == len(pieces) - 2 else 0, sid, p)
    c.send(burst)  # one burst: reads that fill the 32 KiB input block
    assert [c.status(sid, 5) for sid in (1, 3, 5)] == [431, 431, 431]
    c.close()
    assert wait_for(lambda: h2c.metric("gatehouse_open_connections") == 0, 3)


def test_h2c_upload_over_one_input_block(h2c, tmp_path):
    body = os.urandom(300 * 1024)
    (tmp_path / "body").write_bytes(body)
    out = curl("--http2-prior-knowledge", "--data-binary", "@%s" % (tmp_path / "body"),
               "http://127.0.0.1:%d/echo" % h2c.port)
    assert out.endswith(b"\n2 200") and b"body=%d" % len(body) in out, out[-200:]


# Stage waits: the stream is reset while a stage waits for a slow dependency.
ISS, AUD = "https://idp.test", "api"


@pytest.fixture(scope="module")
def key():
    return ec.generate_private_key(ec.SECP256R1())


def jwt_yaml(tmp_path, key):
    (tmp_path / "k.json").write_text(json.dumps({"keys": [ec_jwk(key, "k1")]}))
    return "identity:\n  jwt:\n    corp: {issuer: %s, audiences: [%s], algorithms: [ES256], jwks_file: %s}\n" % (
        ISS, AUD, tmp_path / "k.json")


def route(auth):
    return ("routes:\n  - {name: hello, match: {prefix: /hello}, auth: none, respond: {status: 200}}\n"
            "  - {name: waits, match: {prefix: /w}, auth: %s, respond: {status: 200}}\n" % auth)


def slow_jwks(stack, tmp_path, key):
    idp = stack(IdP(free_port(), issuer=ISS))
    idp.keys = [ec_jwk(key, "k1")]
    idp.mode, idp.slow_seconds = "slow", SLOW_MS / 1000.0 + 1  # the first fetch is still answering
    idp.start()
    yaml = ("identity:\n  jwt:\n    corp: {issuer: %s, audiences: [%s], algorithms: [ES256], jwks_uri: %s, "
            "ca_file: %s, fetch_timeout: 10s}\n" % (ISS, AUD, idp.jwks_uri, idp.ca_file))
    return yaml + route("{jwt: corp}"), "Bearer " + sign(key, "k1", "ES256", token_claims(ISS, AUD))


def slow_introspection(stack, tmp_path, key):
    s = stack(IntrospectionServer(free_port()))
    s.tokens = {"tok": {"sub": "a", "iss": ISS, "aud": AUD, "exp": int(time.time()) + 300}}
    s.delay = SLOW_MS / 1000.0
    s.start()
    yaml = ("identity:\n  introspection:\n    corp: {url: %s, client_id: %s, client_secret: '${env:INTROSPECTION_SECRET}', "
            "ca_file: %s, issuer: %s, audiences: [%s], timeout: 10s}\n" % (s.url, s.client_id, s.ca_file, ISS, AUD))
    os.environ["INTROSPECTION_SECRET"] = s.client_secret  # the gateway started next reads it
    return yaml + route("{introspection: corp}"), "Bearer tok"


def slow_policy(stack, tmp_path, key):
    opa = PolicyServer()
    stack(opa)
    opa.delay = SLOW_MS / 1000.0
    yaml = jwt_yaml(tmp_path, key) + ("policies:\n  p:\n    external: {url: \"http://127.0.0.1:%d/v1/data/allow\", "
                                      "timeout: 10s}\n" % opa.port)
    return yaml + route("{jwt: corp, policy: p}"), "Bearer " + sign(key, "k1", "ES256", token_claims(ISS, AUD))


def silent_redis(stack, tmp_path, key):
    srv, port = listening_socket()  # accepts, never answers
    stack(srv)
    yaml = ("stores:\n  redis: {address: 127.0.0.1:%d, timeout: 10s, on_failure: local}\n"
            "rate_limits:\n  l: {key: route, rate: 100/s, store: redis}\n" % port)
    return yaml + route("none, rate_limit: l"), "Bearer none"


@pytest.fixture
def stack():
    held = []
    yield lambda thing: held.append(thing) or thing
    for thing in held:
        (getattr(thing, "stop", None) or thing.close)()


@pytest.mark.parametrize("dependency", [slow_jwks, slow_introspection, slow_policy, silent_redis])
@pytest.mark.parametrize("code", [NO_ERROR, CANCEL])
def test_reset_while_a_stage_waits_abandons_the_wait(gateway_for, stack, tmp_path, key, pki, dependency, code):  # noqa: F811
    yaml, auth = dependency(stack, tmp_path, key)
    g = gateway_for(yaml, tls="{certificate: %s, private_key: %s}" % pki.server)
    g.ca_file = pki.ca_file
    clients = [H2(g) for _ in range(5)]
    t0 = time.time()
    for c in clients:
        c.request(1, "/w", extra=[("authorization", auth)])
    time.sleep(0.3)  # every stream waits on the dependency now
    for c in clients:
        c.reset(1, code)
    time.sleep(0.2)
    for c in clients:
        c.close()
    # Each request ends when its stream does (logged as the client closing), not when the
    # dependency answers.
    lines = g.access_lines(5, timeout=1.5)
    assert time.time() - t0 < SLOW_MS / 1000.0, lines
    assert [l["reason"] for l in lines if l["route"] == "waits"] == ["client-closed"] * 5, lines
    still_serves(g)
    time.sleep(max(0, SLOW_MS / 1000.0 + 1.5 - (time.time() - t0)))  # the dependency answers now
    still_serves(g)


def test_a_response_done_before_its_request_ends_the_stream(gw):
    """The gateway answers (here: 413, the declared body is over limits.max_body_bytes) while
    the client still owes the body: the stream ends with RST_STREAM NO_ERROR after the response
    (RFC 9113 8.1), it does not wait on the client."""
    c = H2(gw)
    c.request(1, "/echo", "POST", [("content-length", "999999999")], end=False)
    seen = []
    for kind, flags, sid, payload in c.frames(5):
        if sid == 1:
            seen.append((kind, flags, payload))
            if kind == RST_STREAM:
                break
    assert seen and seen[0][0] == HEADERS and int(dict(c.dec.decode(seen[0][2]))[":status"]) == 413, seen
    assert any(flags & 0x1 for kind, flags, _ in seen if kind in (HEADERS, DATA)), seen  # whole
    assert seen[-1][0] == RST_STREAM and struct.unpack(">I", seen[-1][2])[0] == NO_ERROR, seen
    c.request(3, "/hello")  # the connection goes on
    assert c.status(3) == 200
