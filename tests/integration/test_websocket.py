"""WebSocket sessions through the gateway: a real client and server (python3-websockets) on a
route with `websocket:`, the handshake authenticated and judged (Origin, version, key, the
route's session count) before the upstream hears of it, frames bounded and checked both ways
(masking, sizes) with the right close codes, one access-log line and metrics per session, and
an upgrade refused on routes without `websocket:`."""
import asyncio
import base64
import hashlib
import json
import socket
import ssl
import struct
import threading
import time

import pytest
import websockets
from cryptography.hazmat.primitives.asymmetric import ec

from conftest import jwt_identity
from testenv.certs import CertAuthority
from testenv import check_config, free_port, listening_socket, wait_for
from testenv.h2client import h2_request
from testenv.tokens import sign, token_claims
from testenv.ws import RawClient, WsUpstream, frame, handshake_request, run

ISS, AUD = "https://idp.test", "chat"


@pytest.fixture
def wsup():
    with WsUpstream(free_port()) as u:
        yield u


@pytest.fixture(scope="module")
def key():
    return ec.generate_private_key(ec.SECP256R1())


def token(key, **over):
    return sign(key, "k1", "ES256", token_claims(ISS, AUD, **over))


def config(tmp_path, key, port, ws="{}"):
    return jwt_identity(tmp_path, key, ISS, AUD, port) + """
routes:
  - name: chat
    match: {prefix: /echo}
    auth: {jwt: corp, scopes: [chat]}
    forward: {claims: {sub: X-User-Id}}
    websocket: %s
    upstream: app
  - name: plain
    match: {prefix: /plain}
    auth: none
    upstream: app
  - name: open
    match: {prefix: /}
    auth: none
    websocket: %s
    upstream: app
""" % (ws, ws)


def header(lines, name):
    return [v for k, v in lines if k.lower() == name]


async def echo_session(url, headers, messages, **kw):
    async with websockets.connect(url, extra_headers=headers, compression=None, **kw) as c:
        got = []
        for m in messages:
            await c.send(m)
            got.append(await c.recv())
        return got


def test_session_with_a_token_echoes_and_is_logged(gateway_for, wsup, key, tmp_path):
    gw = gateway_for(config(tmp_path, key, wsup.port))
    url = "ws://127.0.0.1:%d/echo/room1" % gw.port
    # Without a token, or without the scope, the handshake is refused like any request.
    with pytest.raises(websockets.InvalidStatusCode) as e:
        run(echo_session(url, {}, ["x"]))
    assert e.value.status_code == 401
    with pytest.raises(websockets.InvalidStatusCode) as e:
        run(echo_session(url, {"Authorization": "Bearer " + token(key, scope="read")}, ["x"]))
    assert e.value.status_code == 403
    assert wsup.handshakes == []
    auth = {"Authorization": "Bearer " + token(key, scope="chat", sub="alice"),
            "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits"}
    msgs = ["hello", b"\x00\x01binary", "x" * 70000, b"y" * 200000]
    assert run(echo_session(url, auth, msgs)) == msgs
    assert wsup.messages == msgs
    seen = wsup.handshakes[-1]
    assert header(seen, "x-user-id") == ["alice"]
    assert header(seen, "upgrade") == ["websocket"]
    assert header(seen, "sec-websocket-version") == ["13"]
    assert len(header(seen, "sec-websocket-key")) == 1
    assert header(seen, "sec-websocket-extensions") == []  # no extension is negotiated
    wait_for(lambda: wsup.closes, "the upstream's end of the session")
    assert wsup.closes[-1][0] == 1000
    line = gw.access_lines(3)[-1]
    assert line["status"] == 101 and line["upstream_status"] == 101
    assert line["ws_close_code"] == 1000 and line["ws_closed_by"] == "client"
    assert line["ws_frames_in"] == 5 and line["ws_frames_out"] == 5  # four messages and a close
    assert line["ws_bytes_in"] > 270000 and line["ws_bytes_out"] > 270000
    assert line["sub"] == "alice" and line["route"] == "chat"
    assert gw.wait_metric('gatehouse_websocket_sessions_total{route="chat",close_code="1000"}', 1) == 1
    assert gw.metric("gatehouse_websocket_sessions_active") == 0
    assert gw.metric('gatehouse_websocket_frames_total{direction="client"}') == 5


def test_origin_is_judged_before_the_upstream_hears_of_it(gateway_for, wsup, key, tmp_path):
    gw = gateway_for(config(tmp_path, key, wsup.port,
                            ws="{origins: [https://app.example.com, https://*.corp.example]}"))
    url = "ws://127.0.0.1:%d/open" % gw.port
    for origin in ("https://app.example.com", "https://chat.corp.example"):
        assert run(echo_session(url, {}, ["hi"], origin=origin)) == ["hi"]
    assert len(wsup.handshakes) == 2
    for origin in ("https://evil.example", "http://app.example.com", "null",
                   "https://corp.example"):
        c = RawClient(gw.port, "/open", extra=[("Origin", origin)])
        assert c.status == 403, origin
        assert "websocket-origin-refused" in c.buf.decode() + c.head
        c.close()
    assert len(wsup.handshakes) == 2
    # A client that is no browser page sends no Origin: nothing to hijack.
    assert run(echo_session(url, {}, ["hi"])) == ["hi"]
    lines = [l for l in gw.access_lines(7) if l.get("reason") == "websocket-origin-refused"]
    assert len(lines) == 4 and lines[0]["detail"] == "the Origin is not in websocket.origins"


def test_without_origins_only_the_same_origin_may_connect(gateway_for, wsup, key, tmp_path):
    gw = gateway_for(config(tmp_path, key, wsup.port))
    url = "ws://127.0.0.1:%d/open" % gw.port
    assert run(echo_session(url, {}, ["a"], origin="http://127.0.0.1:%d" % gw.port)) == ["a"]
    c = RawClient(gw.port, "/open", extra=[("Origin", "https://attacker.example")])
    assert c.status == 403
    assert len(wsup.handshakes) == 1


def test_upgrade_refused_where_the_route_has_no_websocket(gateway_for, wsup, key, tmp_path):
    gw = gateway_for(config(tmp_path, key, wsup.port))
    c = RawClient(gw.port, "/plain/x")
    assert c.status == 400
    body = json.loads(c.body())
    assert body["type"] == "urn:gatehouse:problem:websocket-not-allowed"
    assert wsup.handshakes == []
    # Malformed handshakes on a websocket route: each with its reason, nothing forwarded.
    cases = [([("Sec-WebSocket-Version", "8")], 426, "websocket-version-not-supported"),
             ([("Sec-WebSocket-Key", "short")], 400, "bad-websocket-handshake"),
             ([("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
               ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")], 400, "bad-websocket-handshake"),
             ([("Connection", "keep-alive")], 400, "bad-websocket-handshake")]
    for extra, status, slug in cases:
        s = socket.create_connection(("127.0.0.1", gw.port), timeout=5)
        req = handshake_request("/open", "127.0.0.1", ()).decode().split("\r\n")
        names = {k.lower() for k, _ in extra}
        req = [l for l in req if l.split(":")[0].lower() not in names or not l]
        req = "\r\n".join(req[:-2] + ["%s: %s" % kv for kv in extra]) + "\r\n\r\n"
        s.sendall(req.encode())
        reply = b""
        while b"\r\n\r\n" not in reply:
            reply += s.recv(4096)
        head = reply.split(b"\r\n\r\n")[0].decode()
        assert head.startswith("HTTP/1.1 %d" % status), head
        if status == 426:
            assert "Sec-WebSocket-Version: 13" in head
        s.close()
    lines = gw.access_lines(5)
    assert [l["reason"] for l in lines] == ["websocket-not-allowed",
                                            "websocket-version-not-supported"] + \
        ["bad-websocket-handshake"] * 3
    assert lines[-1]["detail"] == "Connection does not name upgrade"
    assert wsup.handshakes == []


def test_upstream_that_refuses_is_relayed(gateway_for, wsup, key, tmp_path):
    gw = gateway_for(config(tmp_path, key, wsup.port))
    c = RawClient(gw.port, "/deny")
    assert c.status == 403
    assert c.body() == "no sessions here\n"
    assert gw.access_lines(1)[-1]["upstream_status"] == 403


def test_unmasked_client_frame_closes_1002(gateway_for, wsup, key, tmp_path):
    gw = gateway_for(config(tmp_path, key, wsup.port))
    # A frame right behind the handshake, before the 101: it waits, then goes on.
    c = RawClient(gw.port, "/open", then=frame(1, b"fine"))
    assert c.status == 101
    assert c.read_frame() == (1, b"fine")
    c.send(frame(1, b"unmasked", masked=False))
    assert c.close_code() == 1002
    assert c.at_eof()
    wait_for(lambda: wsup.closes, "the upstream's end")
    assert wsup.closes[-1][0] == 1001  # the upstream did nothing wrong: the gateway went away
    assert wsup.messages == ["fine"]
    line = gw.access_lines(1)[-1]
    assert line["ws_close_code"] == 1002 and line["ws_closed_by"] == "gateway"
    assert line["ws_error"] == "client frame not masked"


def test_frames_over_the_bounds_close_1009(gateway_for, wsup, key, tmp_path):
    gw = gateway_for(config(tmp_path, key, wsup.port,
                            ws="{max_frame_bytes: 1k, max_message_bytes: 4k}"))
    url = "ws://127.0.0.1:%d/open" % gw.port

    async def close_code(*messages):
        """Sends each message (a list: its fragments) and reads its echo; the close code the
        gateway sent when it stopped the session."""
        async with websockets.connect(url, compression=None, max_size=None) as c:
            try:
                for m in messages:
                    await c.send(iter(m) if isinstance(m, list) else m)
                    await c.recv()
            except websockets.ConnectionClosed as e:
                return e.rcvd.code if e.rcvd else None
        return "not closed"
    # A frame at max_frame_bytes passes, one over it is refused.
    assert run(close_code("a" * 1024, "b" * 1025)) == 1009
    # A message whose fragments, each under max_frame_bytes, sum over max_message_bytes (the
    # upstream, which echoes nothing on /idle, takes the first whole).
    c = RawClient(gw.port, "/idle")
    for fin in (False, False, False, True):
        c.send(frame(0 if fin or c.buf == b"sent" else 1, b"c" * 1024, fin=fin))
        c.buf = b"sent"
    c.buf = b""
    c.send(frame(2, b"d" * 1024, fin=False) + b"".join(frame(0, b"d" * 1024, fin=False) for _ in range(3)))
    c.send(frame(0, b"d", fin=True))
    assert c.close_code() == 1009
    # Nothing of a refused frame or message reached the upstream.
    assert all(len(m) <= 4096 and m[0] not in "bd" for m in wsup.messages), wsup.messages
    # Control frames: at most 125 bytes, never fragmented (RFC 6455 5.5).
    c = RawClient(gw.port, "/open")
    c.send(frame(9, b"p" * 126))
    assert c.close_code() == 1002
    # The upstream's frames are bounded too: the client is told 1001, the upstream 1009.
    c = RawClient(gw.port, "/big/2000")
    assert c.close_code() == 1001
    wait_for(lambda: len(wsup.closes) >= 4, "the upstreams' ends")
    assert wsup.closes[-1][0] == 1009
    errors = [l.get("ws_error") for l in gw.access_lines(4)]
    assert "frame longer than websocket.max_frame_bytes" in errors
    assert "message longer than websocket.max_message_bytes" in errors
    assert "control frame longer than 125 bytes" in errors


def test_close_handshake_from_the_upstream_and_rsv_bits(gateway_for, wsup, key, tmp_path):
    gw = gateway_for(config(tmp_path, key, wsup.port))
    c = RawClient(gw.port, "/open")
    c.send(frame(1, b"x", rsv=0x40))  # RSV1 without permessage-deflate
    assert c.close_code() == 1002
    line = gw.access_lines(1)[-1]
    assert line["ws_closed_by"] == "gateway", line  # the upstream never saw the frame
    assert line["ws_error"] == "RSV bits set: no extension was negotiated"
    # A close from the client goes to the upstream, the upstream's answer comes back.
    c = RawClient(gw.port, "/open")
    c.send(frame(8, struct.pack(">H", 4000) + b"bye"))
    assert c.close_code() == 4000
    assert c.at_eof()
    wait_for(lambda: len(wsup.closes) >= 2, "the upstream's end")
    assert wsup.closes[-1] == (4000, "bye")
    line = gw.access_lines(2)[-1]
    assert line["ws_close_code"] == 4000 and line["ws_closed_by"] == "client"


def test_max_connections_refuses_before_the_upstream(gateway_for, wsup, key, tmp_path):
    gw = gateway_for(config(tmp_path, key, wsup.port, ws="{max_connections: 2}"), workers=2)
    a, b = RawClient(gw.port, "/open"), RawClient(gw.port, "/open")
    assert (a.status, b.status) == (101, 101)
    c = RawClient(gw.port, "/open")
    assert c.status == 503 and "websocket-sessions-full" in c.body()
    assert len(wsup.handshakes) == 2
    assert gw.metric("gatehouse_websocket_sessions_active") == 2
    a.send(frame(8, struct.pack(">H", 1000)))
    assert a.close_code() == 1000
    a.at_eof()
    wait_for(lambda: RawClient(gw.port, "/open").status == 101, "a session given back")


def test_idle_sessions_close_1001(gateway_for, wsup, key, tmp_path):
    gw = gateway_for(config(tmp_path, key, wsup.port, ws="{idle_timeout: 1s}"))
    c = RawClient(gw.port, "/idle")
    start = time.time()
    assert c.close_code() == 1001
    assert 0.9 < time.time() - start < 5
    line = gw.access_lines(1)[-1]
    assert line["ws_error"] == "no frame either way within websocket.idle_timeout"


def test_drain_closes_open_sessions_1001(gateway_for, wsup, key, tmp_path):
    gw = gateway_for(config(tmp_path, key, wsup.port))
    c = RawClient(gw.port, "/idle")
    assert c.status == 101
    gw.stop()
    assert c.close_code() == 1001
    assert gw.proc.returncode == 0


def test_client_gone_mid_frame(gateway_for, wsup, key, tmp_path):
    gw = gateway_for(config(tmp_path, key, wsup.port))
    c = RawClient(gw.port, "/open")
    c.send(frame(2, b"z" * 5000)[:3000])  # the head and part of the payload
    c.close()
    line = gw.access_lines(1)[-1]
    assert line["ws_close_code"] == 1006 and line["ws_closed_by"] == "client"
    # The upstream going away: its close frame reaches the client.
    c = RawClient(gw.port, "/idle")
    closing = threading.Thread(target=wsup.close)  # it waits for the close handshake
    closing.start()
    assert c.close_code() == 1001
    c.send(frame(8, struct.pack(">H", 1001)))  # the close handshake completes through the gateway
    assert c.at_eof()
    closing.join()
    line = gw.access_lines(2)[-1]
    assert line["ws_close_code"] == 1001 and line["ws_closed_by"] == "upstream"


def test_a_thousand_idle_sessions_in_bounded_memory(gateway_for, wsup, key, tmp_path):
    gw = gateway_for(config(tmp_path, key, wsup.port, ws="{max_connections: 2000}"))
    n = 1000

    async def hold():
        before = gw.rss_kib()
        conns = await asyncio.gather(*[websockets.connect(
            "ws://127.0.0.1:%d/idle" % gw.port, compression=None, ping_interval=None)
            for _ in range(n)])
        await asyncio.sleep(0.5)
        during = gw.rss_kib()
        active = gw.metric("gatehouse_websocket_sessions_active")
        # Each still answers: a ping through the gateway to the upstream and back.
        await asyncio.gather(*[c.ping() for c in conns[:50]])
        await asyncio.gather(*[c.close() for c in conns])
        return before, during, active
    before, during, active = run(hold(), timeout=120)
    assert active == n
    per_session = (during - before) * 1024 / n
    print("\n%d idle WebSocket sessions: %.0f bytes of gateway RSS per session" % (n, per_session))
    assert per_session < 64 * 1024, per_session
    wait_for(lambda: gw.metric("gatehouse_websocket_sessions_active") == 0, "every session closed")


def test_configuration_errors_have_their_position(tmp_path):
    base = ("listeners: [{address: 127.0.0.1:8080}]\nupstreams:\n  app: {endpoints: "
            "[http://127.0.0.1:9]}\nroutes:\n  - name: r\n    match: {prefix: /}\n"
            "    auth: none\n")
    cases = [("    upstream: app\n    websocket: {max_frame_bytes: 1m, max_message_bytes: 64k}\n",
              "max_message_bytes (65536) is less than max_frame_bytes"),
             ("    respond: {status: 204}\n    websocket: {}\n", "a session needs an upstream"),
             ("    upstream: app\n    websocket: {origins: [app.example.com]}\n",
              "'app.example.com' is not an origin"),
             ("    upstream: app\n    websocket: {idle_timeout: 10ms}\n", "idle_timeout"),
             ("    upstream: app\n    websocket: {max_conections: 3}\n",
              "did you mean 'max_connections'")]
    for text, message in cases:
        p = check_config(tmp_path, base + text)
        assert p.returncode != 0 and message in p.stderr, p.stderr
        assert "c.yaml:9:" in p.stderr, p.stderr


def raw_upstream(replies):
    """An upstream that answers each connection's head with the next of replies (a function
    of the request's Sec-WebSocket-Key), then keeps what it receives; (port, received)."""
    srv, port = listening_socket()
    received = []

    def serve():
        for reply in replies:
            c, _ = srv.accept()
            data = b""
            while b"\r\n\r\n" not in data:
                data += c.recv(65536)
            key = [l.split(b":", 1)[1].strip() for l in data.split(b"\r\n")
                   if l.lower().startswith(b"sec-websocket-key:")][0]
            data = reply(key)
            if isinstance(data, tuple):  # (bytes, True): close right after them
                c.sendall(data[0])
                c.close()
                continue
            c.sendall(data)
            c.settimeout(5)
            try:
                while True:
                    chunk = c.recv(65536)
                    if not chunk:
                        break
                    received.append(chunk)
            except OSError:
                pass
            c.close()
        srv.close()
    threading.Thread(target=serve, daemon=True).start()
    return port, received


def accept_of(key):
    return base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())


def test_upstream_handshake_and_frames_are_checked(gateway_for, key, tmp_path):
    ok = lambda k, more=b"": (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                              b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept_of(k) +
                              b"\r\n" + more + b"\r\n")
    replies = [lambda k: ok(b"dGhlIHNhbXBsZSBub25jZQ=="),  # the accept of another key
               lambda k: ok(k, b"Sec-WebSocket-Extensions: permessage-deflate\r\n"),
               lambda k: ok(k) + frame(1, b"masked by a server"),
               lambda k: (ok(k) + frame(2, b"s" * 5000, masked=False)[:3000], True)]
    port, received = raw_upstream(replies)
    gw = gateway_for(config(tmp_path, key, port))
    for detail in ("the upstream's 101 has no Sec-WebSocket-Accept matching the key",
                   "the upstream's 101 names an extension the gateway did not offer"):
        c = RawClient(gw.port, "/open")
        assert c.status == 502
        assert json.loads(c.body())["detail"] == detail
    c = RawClient(gw.port, "/open")
    assert c.status == 101
    assert c.close_code() == 1001  # the client did nothing wrong
    wait_for(lambda: received, "the gateway's close to the upstream")
    assert received[-1][:2] == b"\x88\x82"  # a masked close frame...
    data = received[-1]
    code = bytes(b ^ data[2 + i % 4] for i, b in enumerate(data[6:8]))
    assert struct.unpack(">H", code)[0] == 1002  # ...telling the upstream what it broke
    line = gw.access_lines(3)[-1]
    assert line["ws_error"] == "server frame masked"
    # The upstream gone mid-frame: the client's stream is mid-frame too, so it is only closed.
    c = RawClient(gw.port, "/open")
    assert c.status == 101
    assert c.at_eof()
    line = gw.access_lines(4)[-1]
    assert line["ws_close_code"] == 1006 and line["ws_closed_by"] == "upstream"
    assert 3000 - 4 <= line["ws_bytes_out"] <= 3000


def test_http2_streams_cannot_open_a_session(gateway_for, wsup, key, tmp_path):
    """RFC 8441's extended CONNECT is not offered (no SETTINGS_ENABLE_CONNECT_PROTOCOL) and
    an HTTP/2 request naming Upgrade is malformed (RFC 9113 8.2.2): neither reaches the
    upstream."""
    gw = gateway_for(config(tmp_path, key, wsup.port), listener_extra=", h2c: true")
    base = [(":scheme", "http"), (":authority", "127.0.0.1"), (":path", "/open")]
    status, _, _ = h2_request(gw.port, [(":method", "CONNECT"), (":protocol", "websocket")] + base
                              + [("sec-websocket-version", "13")])
    assert status is None, status  # the stream is reset
    status, _, _ = h2_request(gw.port, [(":method", "GET")] + base + [
        ("upgrade", "websocket"), ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")])
    assert status is None, status  # the stream is reset
    assert wsup.handshakes == []


def test_sessions_over_tls_both_sides_with_large_messages(gateway_for, tmp_path):
    """TLS to the client and to the upstream: frames cross decrypted blocks and the pumps of
    both TLS pipes, megabytes each way, with a slow reader on each side at times."""
    ca = CertAuthority(str(tmp_path))
    gw_cert = ca.issue("gw", "gw.test", dns=["gw.test"], ips=["127.0.0.1"])
    up_cert = ca.issue("up", "up.test", dns=["up.test"], ips=["127.0.0.1"])
    with WsUpstream(free_port(), tls=up_cert) as up:
        gw = gateway_for("""
upstreams:
  app: {endpoints: [https://127.0.0.1:%d], tls: {ca_file: %s}}
routes:
  - {name: ws, match: {prefix: /}, auth: none, websocket: {}, upstream: app}
""" % (up.port, ca.ca_file), tls="{certificates: [{certificate: %s, private_key: %s}]}" % gw_cert)
        ctx = ssl.create_default_context(cafile=ca.ca_file)

        async def session():
            async with websockets.connect("wss://127.0.0.1:%d/echo" % gw.port, ssl=ctx,
                                          compression=None, max_size=None) as c:
                sent = [bytes([i]) * (1000000 - i) for i in range(6)]
                for m in sent:  # all out before any is read: both directions back up
                    await c.send(m)
                await asyncio.sleep(0.3)
                got = [await c.recv() for _ in sent]
                return got == sent
        assert run(session())
        line = gw.access_lines(1)[-1]
        assert line["ws_close_code"] == 1000 and line["ws_bytes_out"] > 5900000


def test_a_session_outlives_a_reload(gateway_for, wsup, key, tmp_path):
    """A session keeps the configuration it began with; new handshakes follow the new one."""
    gw = gateway_for(config(tmp_path, key, wsup.port))
    c = RawClient(gw.port, "/open")
    assert c.status == 101
    gw.write_config(config(tmp_path, key, wsup.port).replace("    websocket: {}\n", "", 2))
    status, body = gw.admin("/reload", "POST")
    assert status == 200, body
    c.send(frame(1, b"still here"))
    assert c.read_frame() == (1, b"still here")
    assert RawClient(gw.port, "/open").status == 400  # the route has no websocket any more
    c.send(frame(8, struct.pack(">H", 1000)))
    assert c.close_code() == 1000
    assert c.at_eof()
