"""The security event stream's syslog sink (security_events.syslog): each event one RFC 5424
message (PRI from the facility and the event's severity, MSGID the event's action, the ECS JSON
as the message) to a collector over UDP or TCP (octet counting); a TCP connection that drops is
made again; a collector that is down costs lines, counted, never a request's time."""
import json
import re
import socket
import subprocess
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
    ("security_events:\n  syslog: {address: http://x:1}\n", "2:21", "expected udp://host:port"),
    ("security_events:\n  syslog: {address: udp://x}\n", "2:21", "expected udp://host:port"),
    ("security_events:\n  syslog: {address: udp://x:1, facility: nope}\n", "2:42",
     "expected one of: kern, user, mail, daemon, auth"),
    ("security_events:\n  syslog:\n    app_name: a b\n", "3:15", "printable"),
    ("security_events:\n  syslog: {adress: unix:/dev/log}\n", "2:12", "did you mean 'address'"),
])
def test_syslog_configuration_errors_say_file_line_and_column(tmp_path, text, at, message):
    r, p = check(tmp_path, text)
    assert r.returncode != 0
    line, col = at.split(":")
    assert "%s:%d:%s:" % (p, int(line) + 1, col) in r.stderr, r.stderr
    assert message in r.stderr


def test_check_print_shows_the_syslog_keys(tmp_path):
    p = tmp_path / "g.yaml"
    p.write_text("listeners: [{address: 127.0.0.1:1}]\n"
                 "security_events: {syslog: {address: 'unix:/dev/log'}}\n"
                 "routes:\n  - {name: r, match: {prefix: /}, auth: none, respond: {status: 204}}\n")
    r = subprocess.run([BIN, "check", "--print", "-c", str(p)], capture_output=True, text=True,
                       timeout=20)
    assert r.returncode == 0, r.stderr
    assert ("  syslog:\n    address: 'unix:/dev/log'\n    facility: auth\n    app_name: gatehouse\n"
            in r.stdout), r.stdout
