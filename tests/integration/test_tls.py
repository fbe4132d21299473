"""TLS on the listeners, with certificates made at test time: versions (1.0 and 1.1 refused),
certificates chosen by SNI (exact, wildcard, default), resumption, plain HTTP on the TLS port,
garbage and stalled handshakes, large bodies both ways, pipelining, the access log and metrics
of handshakes and expiry, and the configuration rules."""
import hashlib
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time

import pytest
import requests

from conftest import proxy_yaml
from testenv import BIN
from testenv.certs import CertAuthority

RESPOND = """
routes:
  - {name: r, match: {prefix: /}, auth: none, respond: {status: 200, body: "hello"}}
"""


@pytest.fixture
def pki(tmp_path):
    ca = CertAuthority(str(tmp_path))
    ca.api = ca.issue("api", "api.test", dns=["api.test", "127.0.0.1"], ips=["127.0.0.1"])
    ca.wild = ca.issue("wild", "*.apps.test", dns=["*.apps.test"])
    return ca


def tls_of(*pairs, extra=""):
    certs = ", ".join("{certificate: %s, private_key: %s}" % p for p in pairs)
    return "{certificates: [%s]%s}" % (certs, extra)


def s_client(port, *args, data=b""):
    """openssl s_client against the gateway: its output (the handshake's summary)."""
    p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port] + list(args),
                       input=data, capture_output=True, timeout=20)
    return p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")


def served_subject(port, server_name, ca_file):
    """The common name of the certificate the gateway presents for server_name."""
    ctx = ssl.create_default_context(cafile=ca_file)
    ctx.check_hostname = False
    with socket.create_connection(("127.0.0.1", port)) as raw:
        with ctx.wrap_socket(raw, server_hostname=server_name) as s:
            cert = s.getpeercert()
    return dict(x[0] for x in cert["subject"])["commonName"]


def test_https_requests_with_a_verified_certificate(gateway_for, pki, upstream):
    gw = gateway_for(proxy_yaml(upstream.port), tls=tls_of(pki.api))
    s = requests.Session()
    for _ in range(3):  # one connection, kept alive
        r = s.get(gw.url + "/echo", verify=pki.ca_file)
        assert r.status_code == 200
    assert "h:x-forwarded-proto=https" in r.text
    line = gw.access_lines(3)[-1]
    assert line["tls"] == "TLSv1.3" and line["tls_cipher"].startswith("TLS_") and line["alpn"] == "http/1.1"
    assert gw.metric('gatehouse_tls_handshakes_total{result="ok"}') == 1


@pytest.mark.parametrize("version,accepted", [("-tls1", False), ("-tls1_1", False), ("-tls1_2", True), ("-tls1_3", True)])
def test_versions_below_1_2_are_refused(gateway_for, pki, version, accepted):
    gw = gateway_for(RESPOND, tls=tls_of(pki.api))
    # The client is allowed the old versions, so that the refusal is the gateway's.
    out = s_client(gw.port, version, "-cipher", "DEFAULT@SECLEVEL=0", "-CAfile", pki.ca_file,
                   "-servername", "api.test", "-ign_eof", data=b"GET / HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n")
    if accepted:
        assert "HTTP/1.1 200" in out and "Verify return code: 0 (ok)" in out, out
    else:
        assert "alert protocol version" in out, out
        assert gw.metric('gatehouse_tls_handshakes_total{result="failed",reason="protocol_version"}') == 1


def test_min_version_1_3_refuses_1_2(gateway_for, pki):
    gw = gateway_for(RESPOND, tls=tls_of(pki.api, extra=", min_version: \"1.3\""))
    assert "alert protocol version" in s_client(gw.port, "-tls1_2")
    assert "TLSv1.3" in s_client(gw.port, "-tls1_3")


def test_sni_picks_the_certificate(gateway_for, pki):
    gw = gateway_for(RESPOND, tls=tls_of(pki.api, pki.wild))
    assert served_subject(gw.port, "api.test", pki.ca_file) == "api.test"
    assert served_subject(gw.port, "API.TEST", pki.ca_file) == "api.test"
    assert served_subject(gw.port, "one.apps.test", pki.ca_file) == "*.apps.test"
    # A wildcard covers one label only; an unknown name or none gets the first certificate.
    assert served_subject(gw.port, "a.b.apps.test", pki.ca_file) == "api.test"
    assert served_subject(gw.port, "other.test", pki.ca_file) == "api.test"
    out = s_client(gw.port, "-noservername")
    assert "CN = api.test" in out


@pytest.mark.parametrize("version", ["-tls1_2", "-tls1_3"])
def test_sessions_are_resumed(gateway_for, pki, tmp_path, version):
    gw = gateway_for(RESPOND, tls=tls_of(pki.api), workers=2)
    sess = str(tmp_path / "session")
    request = b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    first = s_client(gw.port, version, "-sess_out", sess, "-ign_eof", data=request)
    assert "New," in first
    for _ in range(4):  # whichever worker accepts, the ticket opens
        again = s_client(gw.port, version, "-sess_in", sess, "-ign_eof", data=request)
        assert "Reused," in again and "HTTP/1.1 200" in again, again


def ticket_of(session_file):
    out = subprocess.run(["openssl", "sess_id", "-in", session_file, "-text", "-noout"],
                         capture_output=True, text=True).stdout
    return out.split("TLS session ticket:", 1)[1] if "TLS session ticket:" in out else None


def test_each_tls13_resumption_earns_a_new_ticket(gateway_for, pki, tmp_path):
    """Clients use a TLS 1.3 ticket once: a resumption that brought no new ticket would make the
    client's next connection a full handshake."""
    gw = gateway_for(RESPOND, tls=tls_of(pki.api))
    request = b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    sessions = [str(tmp_path / ("s%d" % i)) for i in range(4)]
    assert "New," in s_client(gw.port, "-tls1_3", "-sess_out", sessions[0], "-ign_eof", data=request)
    for before, after in zip(sessions, sessions[1:]):
        out = s_client(gw.port, "-tls1_3", "-sess_in", before, "-sess_out", after, "-ign_eof", data=request)
        assert "Reused," in out and "HTTP/1.1 200" in out, out
    tickets = [ticket_of(f) for f in sessions]
    assert all(tickets) and len(set(tickets)) == 4
    assert gw.metric('gatehouse_tls_handshakes_total{result="resumed"}') == 3
    assert gw.metric('gatehouse_tls_handshakes_total{result="ok"}') == 1


@pytest.mark.parametrize("version", ["-tls1_2", "-tls1_3"])
def test_session_tickets_can_be_turned_off(gateway_for, pki, tmp_path, version):
    gw = gateway_for(RESPOND, tls=tls_of(pki.api, extra=", session_tickets: false"))
    sess = str(tmp_path / "session")
    request = b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    out = s_client(gw.port, version, "-sess_out", sess, "-ign_eof", data=request)
    assert "New," in out and "HTTP/1.1 200" in out, out
    assert not os.path.exists(sess)  # neither a ticket nor a session id: nothing to resume with
    assert gw.metric('gatehouse_tls_handshakes_total{result="ok"}') == 1


def test_sessions_survive_a_reload(gateway_for, pki, tmp_path):
    gw = gateway_for(RESPOND, tls=tls_of(pki.api))
    sess = str(tmp_path / "session")
    request = b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    assert "New," in s_client(gw.port, "-tls1_3", "-sess_out", sess, "-ign_eof", data=request)
    assert gw.admin("/reload", "POST")[0] == 200  # new contexts, the same ticket keys
    again = s_client(gw.port, "-tls1_3", "-sess_in", sess, "-ign_eof", data=request)
    assert "Reused," in again and "HTTP/1.1 200" in again, again


def test_certificates_reload_when_their_files_change_under_load(gateway_for, pki, tmp_path):
    live = tmp_path / "live"
    live.mkdir()
    cert, key = str(live / "tls.crt"), str(live / "tls.key")
    shutil.copy(pki.api[0], cert)
    shutil.copy(pki.api[1], key)
    gw = gateway_for(RESPOND, tls="{certificate: %s, private_key: %s}" % (cert, key), workers=2)
    renewed = pki.issue("renewed", "renewed.api.test", dns=["api.test"], ips=["127.0.0.1"])
    stop = threading.Event()
    results = []

    def hammer():
        while not stop.is_set():
            try:  # a new connection each time: each one sees the certificate in force
                results.append(requests.get(gw.url + "/", verify=pki.ca_file, timeout=5).status_code)
            except requests.RequestException as e:
                results.append(repr(e))

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)
        # Replaced the way certificate tools do it: written aside, renamed over the old files.
        for src, dst in zip(renewed, (cert, key)):
            shutil.copy(src, dst + ".new")
            os.rename(dst + ".new", dst)
        deadline = time.time() + 5
        while time.time() < deadline and served_subject(gw.port, "api.test", pki.ca_file) != "renewed.api.test":
            time.sleep(0.1)
        assert served_subject(gw.port, "api.test", pki.ca_file) == "renewed.api.test"
        time.sleep(0.3)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert len(results) > 50 and set(results) == {200}, [r for r in results if r != 200][:3]
    events = [json.loads(l)["event"] for l in gw.event_lines()]
    assert "tls_files_changed" in events
    # A broken file fails the reload: the running certificate stays.
    with open(cert, "w") as f:
        f.write("not a certificate")
    deadline = time.time() + 3
    while time.time() < deadline and not any('"reload"' in l and "error" in l for l in gw.event_lines()):
        time.sleep(0.1)
    assert gw.metric('gatehouse_reloads_total{result="failure"}') >= 1
    assert served_subject(gw.port, "api.test", pki.ca_file) == "renewed.api.test"


def test_plain_http_on_the_tls_port_is_told_so(gateway_for, pki):
    gw = gateway_for(RESPOND, tls=tls_of(pki.api))
    r = requests.get("http://127.0.0.1:%d/x" % gw.port)
    assert r.status_code == 400
    assert r.headers["Content-Type"] == "application/problem+json"
    assert r.json()["type"] == "urn:gatehouse:problem:plain-http-on-tls-port"
    assert gw.access_lines(1)[-1]["reason"] == "plain-http-on-tls-port"
    assert gw.metric('gatehouse_tls_handshakes_total{result="failed",reason="plain_http"}') == 1
    events = [json.loads(l) for l in gw.event_lines()]
    assert any(e["event"] == "tls_handshake_failed" and e["reason"] == "plain_http" for e in events)


def test_garbage_and_stalled_handshakes_are_closed(gateway_for, pki):
    gw = gateway_for("limits: {head_timeout: 500ms}\n" + RESPOND, tls=tls_of(pki.api))
    with socket.create_connection(("127.0.0.1", gw.port), timeout=5) as s:
        s.sendall(b"\x16\x03\x01\x00\x05hello" + os.urandom(64))
        assert s.recv(100)[:1] in (b"\x15", b"")  # an alert, or the close
    with socket.create_connection(("127.0.0.1", gw.port), timeout=5) as s:
        s.sendall(b"\x16\x03\x01\x02\x00\x01")  # a ClientHello that never ends
        t0 = time.time()
        assert s.recv(100) == b""
        assert time.time() - t0 < 3
    assert gw.metric('gatehouse_tls_handshakes_total{result="failed",reason="protocol_error"}') >= 1
    r = requests.get(gw.url + "/", verify=pki.ca_file)  # others are served all along
    assert r.status_code == 200


def test_large_bodies_both_ways(gateway_for, pki, upstream):
    gw = gateway_for(proxy_yaml(upstream.port, extra="limits: {max_body_bytes: 64m}\n"), tls=tls_of(pki.api))
    body = os.urandom(5 * 1024 * 1024)
    r = requests.post(gw.url + "/echo", data=body, verify=pki.ca_file)
    assert r.status_code == 200 and "body=%d" % len(body) in r.text
    assert hashlib.sha256(upstream.requests[-1][3]).digest() == hashlib.sha256(body).digest()
    r = requests.get(gw.url + "/big/9000000", verify=pki.ca_file, stream=True)
    got = sum(len(chunk) for chunk in r.iter_content(65536))
    assert got == 9000000


def test_pipelined_requests_in_one_record(gateway_for, pki):
    gw = gateway_for(RESPOND, tls=tls_of(pki.api))
    ctx = ssl.create_default_context(cafile=pki.ca_file)
    with socket.create_connection(("127.0.0.1", gw.port)) as raw:
        with ctx.wrap_socket(raw, server_hostname="api.test") as s:
            s.sendall(b"GET /1 HTTP/1.1\r\nHost: api.test\r\n\r\n" * 20 + b"GET /last HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
    assert data.count(b"HTTP/1.1 200 OK") == 21


def test_metrics_show_certificate_expiry(gateway_for, pki):
    gw = gateway_for(RESPOND, tls=tls_of(pki.api, pki.wild))
    text = gw.metrics()
    days = [float(l.split()[-1]) for l in text.splitlines() if l.startswith("gatehouse_tls_certificate_expiry_days{")]
    assert len(days) == 2 and all(89 < d <= 90 for d in days), text
    assert 'certificate="*.apps.test"' in text


def check(tmp_path, tls):
    path = tmp_path / "c.yaml"
    path.write_text("listeners:\n  - address: 127.0.0.1:1\n    tls: %s\n%s" % (tls, RESPOND))
    return subprocess.run([BIN, "check", "-c", str(path)], capture_output=True, text=True)


def test_configuration_rules(tmp_path, pki):
    other_cert, other_key = pki.issue("other", "other.test", dns=["other.test"])
    expired = pki.issue("old", "old.test", dns=["old.test"], expired=True)
    cert, key = pki.api
    cases = [
        ("{certificate: %s}" % cert, "private_key: required"),
        ("{certificate: %s, private_key: %s}" % (cert, other_key), "does not belong to"),
        ("{certificate: %s, private_key: %s}" % (key, key), "no certificate could be read"),
        ("{certificate: %s, private_key: %s, min_version: \"1.1\"}" % (cert, key), "TLS 1.1 is not offered"),
        ("{certificate: %s, private_key: %s, min_version: \"1.0\"}" % (cert, key), "TLS 1.0 is not offered"),
        ("{certificate: %s, private_key: %s, min_version: \"2\"}" % (cert, key), "is not a TLS version"),
        ("{certificate: %s, private_key: %s, ciphers: NOPE}" % (cert, key), "no usable cipher"),
        ("{certificate: /nonexistent.pem, private_key: %s}" % key, "/nonexistent.pem"),
        ("{}", "needs certificate and private_key"),
        ("{certificate: %s, private_key: %s, verify: false}" % (cert, key), "unknown key 'verify'"),
    ]
    for tls, want in cases:
        r = check(tmp_path, tls)
        assert r.returncode == 1 and want in r.stderr, (tls, r.stderr)
        assert re.search(r"c\.yaml:3:\d+: listeners\[0\]\.tls", r.stderr), r.stderr
    # Warnings, not errors: an expired certificate, a private key every user can read.
    r = check(tmp_path, "{certificate: %s, private_key: %s}" % expired)
    assert r.returncode == 0 and "expired on" in r.stderr, r.stderr
    os.chmod(other_key, 0o644)
    r = check(tmp_path, "{certificate: %s, private_key: %s}" % (other_cert, other_key))
    assert r.returncode == 0 and "readable by every user" in r.stderr, r.stderr
