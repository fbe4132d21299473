"""Certificate events on the security stream: every listener certificate as it comes into force
(at start, and after a reload only the ones new on their listener), with the ECS tls.server
fields; certificates that expire within security_events.certificate_expiry_warning or have
expired, at load and again every certificate_check_interval."""
import hashlib
import json
import os
import shutil
import socket
import ssl
import time

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from testenv import Upstream, free_port
from testenv.certs import CertAuthority

RESPOND = """
routes:
  - {name: r, match: {prefix: /}, auth: none, respond: {status: 200, body: "hello"}}
"""


@pytest.fixture
def pki(tmp_path):
    return CertAuthority(str(tmp_path))


def events_of(path, action=None):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        lines = [json.loads(l) for l in f.read().splitlines() if l.strip()]
    return [e for e in lines if action is None or e["event.action"] == action]


def wait_events(path, action, n, timeout=10.0):
    deadline = time.time() + timeout
    while len(events_of(path, action)) < n and time.time() < deadline:
        time.sleep(0.05)
    return events_of(path, action)


def facts(pem_path):
    with open(pem_path, "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    der = cert.public_bytes(serialization.Encoding.DER)
    return cert, hashlib.sha256(der).hexdigest().upper()


def start(gateway_for, tmp_path, pairs, warning="14d", interval="1h"):
    events = str(tmp_path / "security.log")
    certs = ", ".join("{certificate: %s, private_key: %s}" % p for p in pairs)
    g = gateway_for("security_events: {file: %s, certificate_expiry_warning: %s, "
                    "certificate_check_interval: %s}\n%s" % (events, warning, interval, RESPOND),
                    tls="{certificates: [%s]}" % certs)
    return g, events


def test_certificates_at_start_with_their_fields_and_expiry(gateway_for, pki, tmp_path):
    soon = pki.issue("soon", "soon.test", dns=["soon.test", "127.0.0.1"], ips=["127.0.0.1"], days=5)
    later = pki.issue("later", "later.test", dns=["later.test"], days=90)
    old = pki.issue("old", "old.test", dns=["old.test"], expired=True)
    g, path = start(gateway_for, tmp_path, [soon, later, old], interval="1s")
    loaded = wait_events(path, "certificate-loaded", 3)
    assert len(loaded) == 3, events_of(path)
    by_name = {e["gatehouse.certificate.name"]: e for e in loaded}
    assert set(by_name) == {"soon.test", "later.test", "old.test"}
    cert, sha = facts(soon[0])
    e = by_name["soon.test"]
    assert e["tls.server.hash.sha256"] == sha
    assert int(e["tls.server.x509.serial_number"], 16) == cert.serial_number
    assert e["tls.server.x509.subject.distinguished_name"] == "CN=soon.test"
    assert e["tls.server.x509.issuer.distinguished_name"] == "CN=gatehouse test CA"
    assert e["tls.server.x509.not_after"] == cert.not_valid_after.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert e["tls.server.x509.not_before"] == cert.not_valid_before.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert e["server.address"] == "127.0.0.1:%d" % g.port
    assert (e["event.kind"], e["event.category"], e["event.type"], e["event.outcome"]) == \
        ("event", ["configuration"], ["change"], "success")
    assert e["event.reason"] == "start" and 4.9 < e["gatehouse.certificate.days_left"] <= 5
    # Within the warning window: told at load; the one far from it is not.
    expiring = wait_events(path, "certificate-expiring", 1)
    assert {x["gatehouse.certificate.name"] for x in expiring} == {"soon.test"}
    assert expiring[0]["event.kind"] == "alert" and expiring[0]["tls.server.hash.sha256"] == sha
    expired = wait_events(path, "certificate-expired", 1)
    assert [x["gatehouse.certificate.name"] for x in expired][:1] == ["old.test"]
    assert expired[0]["event.outcome"] == "failure" and expired[0]["gatehouse.certificate.days_left"] < 0
    # The check comes back every certificate_check_interval, from the control thread.
    assert len(wait_events(path, "certificate-expiring", 3, timeout=6)) >= 3
    assert len(events_of(path, "certificate-loaded")) == 3  # loaded is said once
    assert g.wait_metric('gatehouse_security_events_total{action="certificate-loaded"}', 3) == 3


def test_a_reload_tells_the_new_certificate_only(gateway_for, pki, tmp_path):
    live = tmp_path / "live"
    live.mkdir()
    cert, key = str(live / "tls.crt"), str(live / "tls.key")
    first = pki.issue("first", "api.test", dns=["api.test", "127.0.0.1"], ips=["127.0.0.1"], days=5)
    other = pki.issue("other", "other.test", dns=["other.test"], days=90)
    shutil.copy(first[0], cert)
    shutil.copy(first[1], key)
    g, path = start(gateway_for, tmp_path, [(cert, key), other])
    assert len(wait_events(path, "certificate-loaded", 2)) == 2
    assert len(wait_events(path, "certificate-expiring", 1)) == 1
    renewed = pki.issue("renewed", "api.test", dns=["api.test", "127.0.0.1"], ips=["127.0.0.1"])
    shutil.copy(renewed[0], cert)
    shutil.copy(renewed[1], key)
    assert g.admin("/reload", "POST")[0] == 200
    loaded = wait_events(path, "certificate-loaded", 3)
    assert len(loaded) == 3, loaded
    _, new_sha = facts(renewed[0])
    _, old_sha = facts(first[0])
    assert loaded[2]["tls.server.hash.sha256"] == new_sha != old_sha
    assert loaded[2]["event.reason"] == "reload"
    time.sleep(0.3)
    # The unchanged certificate is not told again; the renewed one is far from its end.
    assert len(events_of(path, "certificate-loaded")) == 3
    assert len(events_of(path, "certificate-expiring")) == 1


def test_no_warning_window_tells_only_expired(gateway_for, pki, tmp_path):
    soon = pki.issue("soon", "soon.test", dns=["soon.test", "127.0.0.1"], ips=["127.0.0.1"], days=1)
    g, path = start(gateway_for, tmp_path, [soon], warning="0s")
    assert len(wait_events(path, "certificate-loaded", 1)) == 1
    time.sleep(0.3)
    assert events_of(path, "certificate-expiring") == []


def test_refused_client_certificates_at_the_handshake(gateway_for, pki, tmp_path):
    server = pki.issue("server", "127.0.0.1", dns=["localhost"], ips=["127.0.0.1"])
    good = pki.issue("good", "good", client=True)
    stranger = CertAuthority(str(tmp_path), "another CA").issue("stranger", "stranger", client=True)
    events = str(tmp_path / "security.log")
    g = gateway_for("security_events: {file: %s}\n%s" % (events, RESPOND),
                    tls="{certificate: %s, private_key: %s, client_auth: required, client_ca: %s}"
                    % (server[0], server[1], pki.ca_file))

    def attempt(cert):
        ctx = ssl.create_default_context(cafile=pki.ca_file)
        if cert:
            ctx.load_cert_chain(*cert)
        try:
            with socket.create_connection(("127.0.0.1", g.port), timeout=5) as raw:
                with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                    s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
                    return s.recv(100).startswith(b"HTTP/1.1 200")
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
            return False

    assert attempt(good)
    assert not attempt(None) and not attempt(stranger)
    refused = wait_events(events, "client-certificate-refused", 2)
    assert [e["error.code"] for e in refused] == ["no_client_certificate", "certificate_rejected"]
    for e in refused:
        assert e["event.reason"] == "tls-handshake: " + e["error.code"]
        assert e["source.ip"] == "127.0.0.1" and e["server.address"] == "127.0.0.1:%d" % g.port
        assert (e["event.category"], e["event.outcome"]) == (["authentication"], "failure")
        assert e["tls.established"] is False


def test_an_upstream_certificate_that_does_not_verify(gateway_for, pki, tmp_path):
    backend = pki.issue("backend", "backend.test", dns=["backend.test"], ips=["127.0.0.1"])
    other_ca = CertAuthority(str(tmp_path), "another CA").ca_file
    events = str(tmp_path / "security.log")
    nothing = free_port()  # no one listens there: an upstream merely down
    with Upstream(free_port(), tls=backend) as u:
        g = gateway_for("""
security_events: {file: %s}
upstreams:
  app: {endpoints: [https://127.0.0.1:%d], tls: {ca_file: %s}}
  plain: {endpoints: [http://127.0.0.1:%d]}
routes:
  - {name: app, match: {prefix: /app}, auth: none, upstream: app}
  - {name: plain, match: {prefix: /plain}, auth: none, upstream: plain}
""" % (events, u.port, other_ca, nothing))
        assert requests.get(g.url + "/app/x").status_code == 502
        found = wait_events(events, "upstream-certificate-rejected", 1)
        assert len(found) == 1, events_of(events)
        e = found[0]
        assert e["event.reason"].startswith("upstream-tls-failed: the peer's certificate is not trusted")
        assert (e["event.kind"], e["event.category"], e["event.type"]) == ("alert", ["network"], ["connection"])
        assert e["rule.id"] == "app" and e["http.response.status_code"] == 502
    # An upstream that is merely down is no security event.
    assert requests.get(g.url + "/plain/x").status_code == 502
    time.sleep(0.3)
    assert [x["event.action"] for x in events_of(events)] == ["upstream-certificate-rejected"]
