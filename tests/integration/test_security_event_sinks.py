"""The security event stream's syslog sink (security_events.syslog): each event one RFC 5424
message (PRI from the facility and the event's severity, MSGID the event's action, the ECS JSON
as the message) to a collector over UDP or TCP (octet counting); a TCP connection that drops is
made again; a collector that is down costs lines, counted, never a request's time."""
import http.server
import json
import re
import socket
import subprocess
import threading
import time

import pytest

from testenv import BIN, raw_request

FRAME = re.compile(rb"^<(\d+)>1 (\S+) (\S+) (\S+) (\S+) (\S+) (-|\[[^\]]*\]) (.*)$", re.S)
SMUGGLE = (b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
           b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")


def config(address, extra=""):
    return """
security_events:
  max_per_second: 100
  syslog: {address: %s%s}
routes:
  - {name: open, match: {prefix: /}, auth: none, respond: {status: 204}}
""" % (address, extra)


def decode(message):
    m = FRAME.match(message)
    assert m, message
    pri, ts, host, app, procid, msgid, sd, body = m.groups()
    return {"pri": int(pri), "timestamp": ts.decode(), "host": host.decode(), "app": app.decode(),
            "procid": procid.decode(), "msgid": msgid.decode(), "sd": sd.decode(),
            "event": json.loads(body)}


def read_octet_counted(conn, buf):
    """One RFC 6587 octet-counted frame from the connection: (message, rest), or (None, buf) when
    the connection ended."""
    while True:
        sp = buf.find(b" ")
        if sp > 0:
            n = int(buf[:sp])
            if len(buf) >= sp + 1 + n:
                return buf[sp + 1:sp + 1 + n], buf[sp + 1 + n:]
        chunk = conn.recv(65536)
        if not chunk:
            return None, buf
        buf += chunk


def test_udp_messages_are_rfc5424_with_the_action_as_msgid(gateway_for):
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(10)
    g = gateway_for(config("udp://127.0.0.1:%d" % rx.getsockname()[1], ", app_name: gh-test"))
    raw_request(g.port, SMUGGLE)
    m = decode(rx.recv(65536))
    # auth (4) * 8 + warning (4): a request refused is an alert.
    assert m["pri"] == 36 and m["msgid"] == "request-refused" and m["app"] == "gh-test"
    assert m["sd"] == "-" and m["procid"].isdigit()
    assert m["event"]["event.action"] == "request-refused"
    assert m["event"]["event.reason"].startswith("transfer-encoding-with-content-length")
    assert m["timestamp"] == m["event"]["@timestamp"]
    raw_request(g.port, b"TRACE /t HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert decode(rx.recv(65536))["msgid"] == "unusual-method"
    rx.close()


def test_a_unix_datagram_socket_gets_the_messages(gateway_for, tmp_path):
    path = str(tmp_path / "log.sock")
    rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    rx.bind(path)
    rx.settimeout(10)
    g = gateway_for(config("'unix:%s'" % path, ", facility: authpriv"))
    raw_request(g.port, b"TRACE /u HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    m = decode(rx.recv(65536))
    assert m["pri"] == 10 * 8 + 4 and m["msgid"] == "unusual-method"
    assert m["event"]["url.path"] == "/u"
    rx.close()


def test_udp_messages_are_cut_to_2048_bytes_and_say_so(gateway_for):
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(10)
    g = gateway_for(config("udp://127.0.0.1:%d" % rx.getsockname()[1], ", facility: local3"))
    raw_request(g.port, b"TRACE /" + b"a" * 3000 +
                b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = rx.recv(65536)
    assert len(data) <= 2048
    m = FRAME.match(data)
    assert m and int(m.group(1)) == 19 * 8 + 4
    full = int(re.match(rb'\[gatehouse@32473 cut="(\d+)"\]', m.group(7)).group(1))
    assert full > 3000 and m.group(8).startswith(b'{"@timestamp"')
    rx.close()


def test_tcp_frames_are_octet_counted_and_a_dropped_connection_is_made_again(gateway_for):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    srv.settimeout(10)
    g = gateway_for(config("tcp://127.0.0.1:%d" % srv.getsockname()[1]))
    raw_request(g.port, SMUGGLE)
    conn, _ = srv.accept()
    conn.settimeout(10)
    msg, _ = read_octet_counted(conn, b"")
    m = decode(msg)
    assert m["pri"] == 36 and m["msgid"] == "request-refused"
    conn.close()  # the collector goes away; the sink connects again (with a backoff)
    srv.settimeout(0.2)
    deadline = time.time() + 15
    again = None
    while again is None and time.time() < deadline:
        raw_request(g.port, b"TRACE /again HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        try:
            again, _ = srv.accept()
        except socket.timeout:
            pass
    assert again is not None, "the sink did not connect again"
    again.settimeout(10)
    msg, _ = read_octet_counted(again, b"")
    assert msg is not None and decode(msg)["msgid"] == "unusual-method"
    again.close()
    srv.close()


def test_a_collector_that_is_down_costs_counted_drops_not_time(gateway_for):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there
    g = gateway_for(config("tcp://127.0.0.1:%d" % port))
    start = time.time()
    for i in range(20):
        raw_request(g.port, b"TRACE /%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % i)
    assert time.time() - start < 5
    assert g.wait_metric("gatehouse_security_events_dropped_total", 20) >= 20
    assert g.wait_metric('gatehouse_security_events_total{action="unusual-method"}', 20) == 20


def check(tmp_path, text):
    p = tmp_path / "g.yaml"
    p.write_text("listeners: [{address: 127.0.0.1:1}]\n" + text +
                 "routes:\n  - {name: r, match: {prefix: /}, auth: none, respond: {status: 204}}\n")
    return subprocess.run([BIN, "check", "-c", str(p)], capture_output=True, text=True,
                          timeout=20), p


@pytest.mark.parametrize("text,at,message", [
    ("security_events:\n  http: {url: ftp://x/}\n", "2:15", "expected an http:// or https:// URL"),
    ("security_events:\n  http: {url: http://x/, headers: [nocolon]}\n", "2:36",
     "expected 'Name: value', got 'nocolon'"),
    ("security_events:\n  http: {url: http://x/, authorization: Bearer x}\n", "2:41",
     "secrets are references"),
    ("security_events:\n  http: {url: http://x/, batch: 0}\n", "2:33", "out of range"),
    ("security_events:\n  syslog: {address: http://x:1}\n", "2:21", "expected udp://host:port"),
    ("security_events:\n  syslog: {address: udp://x}\n", "2:21", "expected udp://host:port"),
    ("security_events:\n  syslog: {address: udp://x:1, facility: nope}\n", "2:42",
     "expected one of: kern, user, mail, daemon, auth"),
    ("security_events:\n  syslog:\n    app_name: a b\n", "3:15", "printable"),
    ("security_events:\n  syslog: {adress: unix:/dev/log}\n", "2:12", "did you mean 'address'"),
])
def test_sink_configuration_errors_say_file_line_and_column(tmp_path, text, at, message):
    r, p = check(tmp_path, text)
    assert r.returncode != 0
    line, col = at.split(":")
    assert "%s:%d:%s:" % (p, int(line) + 1, col) in r.stderr, r.stderr
    assert message in r.stderr


def test_check_print_shows_the_sink_keys(tmp_path):
    p = tmp_path / "g.yaml"
    p.write_text("listeners: [{address: 127.0.0.1:1}]\n"
                 "security_events: {syslog: {address: 'unix:/dev/log'}}\n"
                 "routes:\n  - {name: r, match: {prefix: /}, auth: none, respond: {status: 204}}\n")
    r = subprocess.run([BIN, "check", "--print", "-c", str(p)], capture_output=True, text=True,
                       timeout=20)
    assert r.returncode == 0, r.stderr
    assert ("  syslog:\n    address: 'unix:/dev/log'\n    facility: auth\n    app_name: gatehouse\n"
            in r.stdout), r.stdout
    assert "  http:\n    batch: 100\n    interval: 1s\n" in r.stdout, r.stdout


class Collector:
    """An HTTP collector on a thread: records each POST (headers, parsed JSON body) and answers
    with the next of `statuses` (200 once they are used up)."""

    def __init__(self, statuses=()):
        self.posts, self.statuses = [], list(statuses)
        collector = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = collector.statuses.pop(0) if collector.statuses else 200
                collector.posts.append((status, dict(self.headers), json.loads(body)))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, n, timeout=10):
        deadline = time.time() + timeout
        while len(self.posts) < n and time.time() < deadline:
            time.sleep(0.05)
        return self.posts

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def http_config(port, extra=""):
    return """
security_events:
  max_per_second: 100
  http: {url: "http://127.0.0.1:%d/ingest", headers: ["X-Source: edge"]%s}
routes:
  - {name: open, match: {prefix: /}, auth: none, respond: {status: 204}}
""" % (port, extra)


def test_http_batches_are_json_arrays_with_the_headers(gateway_for, monkeypatch):
    monkeypatch.setenv("SIEM_AUTH", "Splunk t0ken")
    c = Collector()
    g = gateway_for(http_config(c.port, ", authorization: '${env:SIEM_AUTH}', batch: 3, "
                                        "interval: 5s"))
    for i in range(3):
        raw_request(g.port, b"TRACE /%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % i)
    posts = c.wait(1, timeout=3)
    assert len(posts) == 1, posts  # a full batch goes at once, not after the interval
    status, headers, events = posts[0]
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Source"] == "edge" and headers["Authorization"] == "Splunk t0ken"
    assert sorted(e["url.path"] for e in events) == ["/0", "/1", "/2"]
    assert all(e["event.action"] == "unusual-method" for e in events)
    raw_request(g.port, b"TRACE /late HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert [e["url.path"] for e in c.wait(2)[1][2]] == ["/late"]  # a partial one after 5s
    c.close()


def test_http_retries_on_429_and_5xx(gateway_for):
    c = Collector(statuses=[503, 429])
    g = gateway_for(http_config(c.port, ", interval: 50ms"))
    raw_request(g.port, SMUGGLE)
    posts = c.wait(3)
    assert [p[0] for p in posts] == [503, 429, 200]
    assert posts[0][2] == posts[2][2] and posts[2][2][0]["event.action"] == "request-refused"
    assert g.metric("gatehouse_security_events_dropped_total") == 0
    c.close()


def test_an_http_collector_that_is_down_costs_counted_drops_not_time(gateway_for):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there
    g = gateway_for(http_config(port, ", batch: 5, interval: 50ms"))
    start = time.time()
    for i in range(10):
        raw_request(g.port, b"TRACE /%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % i)
    assert time.time() - start < 5
    # five tries with the backoff (0.5+1+2+4 s) before a batch is given up
    assert g.wait_metric("gatehouse_security_events_dropped_total", 10, timeout=40) == 10
