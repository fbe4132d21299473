"""TLS to https:// upstreams, against real HTTPS upstream servers with certificates made at test
time: verification against ca_file, the host name checked (a wrong one is a 502), sessions
kept alive and resumed, mTLS to a backend that requires it, insecure_skip_verify spelled out,
large bodies both ways, and the configuration rules."""
import hashlib
import os
import subprocess
import time

import pytest
import requests

from testenv import BIN, Upstream, free_port
from testenv.certs import CertAuthority


@pytest.fixture
def pki(tmp_path):
    ca = CertAuthority(str(tmp_path))
    ca.backend = ca.issue("backend", "backend.test", dns=["backend.test"], ips=["127.0.0.1"])
    ca.named = ca.issue("named", "only-a-name.test", dns=["only-a-name.test"])
    ca.gateway = ca.issue("gateway", "gatehouse", client=True)
    return ca


def yaml(port, tls="", extra=""):
    return """
upstreams:
  app: {endpoints: [https://127.0.0.1:%d]%s%s}
routes:
  - {name: app, match: {prefix: /}, auth: none, upstream: app}
""" % (port, ", tls: %s" % tls if tls else "", extra)


@pytest.fixture
def backend(pki):
    with Upstream(free_port(), tls=pki.backend) as u:
        yield u


def test_requests_over_verified_tls_reuse_the_connection(gateway_for, pki, backend):
    gw = gateway_for(yaml(backend.port, "{ca_file: %s}" % pki.ca_file))
    s = requests.Session()
    for i in range(10):
        r = s.get(gw.url + "/echo/%d" % i)
        assert r.status_code == 200 and "path=/echo/%d" % i in r.text
    assert backend.handshakes == 1  # one connection, kept alive in the pool
    assert gw.wait_metric('gatehouse_upstream_requests_total{upstream="app",result="success"}', 10) == 10


def test_new_connections_resume_the_session(gateway_for, pki, backend):
    gw = gateway_for(yaml(backend.port, "{ca_file: %s}" % pki.ca_file, ", keepalive: {max_idle: 0}"))
    for i in range(5):
        assert requests.get(gw.url + "/x%d" % i).status_code == 200
    assert backend.handshakes == 5  # nothing pooled: a connection each
    assert backend.resumed >= 3, backend.resumed  # the first is full, then tickets
    # A reload may change what is trusted: the first connection after it is verified in full.
    resumed = backend.resumed
    assert gw.admin("/reload", "POST")[0] == 200
    time.sleep(0.2)
    assert requests.get(gw.url + "/after").status_code == 200
    assert backend.resumed == resumed
    assert requests.get(gw.url + "/again").status_code == 200
    assert backend.resumed == resumed + 1


@pytest.mark.parametrize("case", ["wrong name", "wrong CA", "no verification"])
def test_an_upstream_that_cannot_be_trusted_gets_no_request(gateway_for, pki, tmp_path, case):
    cert = pki.named if case == "wrong name" else pki.backend
    ca_file = CertAuthority(str(tmp_path), "another CA").ca_file if case != "wrong name" else pki.ca_file
    tls = "{ca_file: %s%s}" % (ca_file, ", insecure_skip_verify: true" if case == "no verification" else "")
    with Upstream(free_port(), tls=cert) as u:
        gw = gateway_for(yaml(u.port, tls))
        r = requests.get(gw.url + "/secret")
        if case == "no verification":
            assert r.status_code == 200
            return
        assert r.status_code == 502
        assert r.json()["type"] == "urn:gatehouse:problem:upstream-tls-failed"
        line = gw.access_lines(1)[-1]
        assert "not trusted" in line["detail"], line
        assert ("address mismatch" in line["detail"]) == (case == "wrong name")  # 127.0.0.1 is not in it
        assert not u.requests  # nothing was sent
        # Nothing was sent: tried again once (retry.attempts 2 by default), refused again.
        assert gw.metric('gatehouse_upstream_requests_total{upstream="app",result="tls_failed"}') == 2


def test_server_name_names_the_expected_certificate(gateway_for, pki):
    with Upstream(free_port(), tls=pki.named) as u:
        gw = gateway_for(yaml(u.port, "{ca_file: %s, server_name: only-a-name.test}" % pki.ca_file))
        assert requests.get(gw.url + "/").status_code == 200


def test_mtls_to_a_backend_that_requires_it(gateway_for, pki):
    with Upstream(free_port(), tls=pki.backend, client_ca=pki.ca_file) as u:
        without = gateway_for(yaml(u.port, "{ca_file: %s}" % pki.ca_file))
        assert requests.get(without.url + "/").status_code == 502
        with_cert = gateway_for(yaml(u.port, "{ca_file: %s, certificate: %s, private_key: %s}"
                                     % ((pki.ca_file,) + pki.gateway)))
        assert requests.get(with_cert.url + "/").status_code == 200
        assert u.client_subjects == ["gatehouse"]


def test_large_bodies_both_ways(gateway_for, pki, backend):
    gw = gateway_for(yaml(backend.port, "{ca_file: %s}" % pki.ca_file) + "limits: {max_body_bytes: 64m}\n")
    body = os.urandom(6 * 1024 * 1024)
    r = requests.post(gw.url + "/echo", data=body)
    assert r.status_code == 200 and "body=%d" % len(body) in r.text
    assert hashlib.sha256(backend.requests[-1][3]).digest() == hashlib.sha256(body).digest()
    r = requests.get(gw.url + "/big/12000000", stream=True)
    total = 0
    for chunk in r.iter_content(4096):  # a slow reader: the gateway holds back, then resumes
        total += len(chunk)
    assert total == 12000000


def check(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_text("listeners: [{address: 127.0.0.1:1}]\n" + text)
    return subprocess.run([BIN, "check", "-c", str(path)], capture_output=True, text=True)


def test_configuration_rules(tmp_path, pki):
    plain = """
upstreams:
  app: {endpoints: [http://127.0.0.1:1], tls: {ca_file: %s}}
routes:
  - {name: app, match: {prefix: /}, auth: none, upstream: app}
""" % pki.ca_file
    cases = [
        (plain, "tls applies to https:// endpoints"),
        (yaml(1, "{certificate: %s}" % pki.gateway[0]), "certificate and private_key go together"),
        (yaml(1, "{ca_file: %s}" % pki.gateway[1]), "no CA certificate could be read"),
        (yaml(1, "{verify: false}"), "unknown key 'verify'"),
        (yaml(1).replace("https://", "ftp://"), "endpoints are http://host:port or https://host:port"),
    ]
    for text, want in cases:
        r = check(tmp_path, text)
        assert r.returncode == 1 and want in r.stderr, (want, r.stderr)
    r = check(tmp_path, yaml(1, "{insecure_skip_verify: true}"))
    assert r.returncode == 0 and "warning" in r.stderr and "not verified" in r.stderr, r.stderr
    r = check(tmp_path, yaml(1))  # https:// alone: the system's CAs, verification on
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip().endswith("0 warnings)") or "warning" not in r.stderr, r.stderr


def test_a_reload_that_changes_what_is_trusted_reuses_no_pooled_connection(gateway_for, pki, tmp_path):
    """Pooled connections outlive snapshots, but not the TLS settings they were verified under:
    one made without verification is not reused once verification is on; a reload that changes
    nothing of TLS keeps the pool warm."""
    other_ca = CertAuthority(str(tmp_path), "another CA").ca_file
    with Upstream(free_port(), tls=pki.backend) as u:
        gw = gateway_for(yaml(u.port, "{ca_file: %s, insecure_skip_verify: true}" % other_ca))
        s = requests.Session()
        assert s.get(gw.url + "/first").status_code == 200
        assert gw.admin("/reload", "POST")[0] == 200  # the same file: the same TLS settings
        assert s.get(gw.url + "/same").status_code == 200
        assert u.handshakes == 1  # the pooled connection served on
        gw.write_config(yaml(u.port, "{ca_file: %s}" % other_ca))
        assert gw.admin("/reload", "POST")[0] == 200
        r = s.get(gw.url + "/verified-now")
        assert r.status_code == 502, r.text  # a new connection, refused: the CA does not sign it
        assert r.json()["type"] == "urn:gatehouse:problem:upstream-tls-failed"
        assert not any("/verified-now" in req for req in map(str, u.requests))
