"""Client certificates on TLS listeners (mTLS), with a CA, clients, an expired, a revoked and a
wrong-CA certificate made at test time: required and optional client_auth, route rules by
SPIFFE ID, subject and fingerprint, mTLS together with a JWT, RFC 9440 Client-Cert forwarding
(and spoofed copies stripped), the access log, and the configuration rules."""
import base64
import json
import os
import re
import socket
import ssl
import subprocess
import time

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from testenv import BIN
from testenv.certs import CertAuthority, write_crl
from testenv.tokens import ec_jwk, sign, token_claims

SPIFFE = "spiffe://example.org/ns/payments/sa/api"


@pytest.fixture
def pki(tmp_path):
    ca = CertAuthority(str(tmp_path))
    ca.server = ca.issue("server", "127.0.0.1", dns=["localhost"], ips=["127.0.0.1"])
    ca.payments = ca.issue("payments", "payments", uris=[SPIFFE], client=True)
    ca.billing = ca.issue("billing", "billing", uris=["spiffe://example.org/ns/billing/sa/api"], client=True)
    ca.expired = ca.issue("expired", "expired", client=True, expired=True)
    ca.revoked = ca.issue("revoked", "revoked", client=True)
    ca.crl = write_crl(ca, str(tmp_path / "crl.pem"), ["revoked"])
    ca.other = CertAuthority(str(tmp_path), "another CA").issue("stranger", "stranger", client=True)
    return ca


def listener(pki, mode="required", crl=True):
    return "{certificate: %s, private_key: %s, client_auth: %s, client_ca: %s%s}" % (
        pki.server[0], pki.server[1], mode, pki.ca_file, ", crl_file: %s" % pki.crl if crl else "")


def fingerprint(cert_path):
    cert = x509.load_pem_x509_certificate(open(cert_path, "rb").read())
    return cert.fingerprint(cert.signature_hash_algorithm.__class__()).hex()


def der_b64(cert_path):
    cert = x509.load_pem_x509_certificate(open(cert_path, "rb").read())
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def get(gw, pki, path="/", cert=None, headers=None):
    return requests.get(gw.url + path, verify=pki.ca_file, cert=cert, headers=headers or {})


def handshake_refused(gw, pki, cert):
    """True when the gateway refuses the TLS session of a client presenting cert (or none)."""
    ctx = ssl.create_default_context(cafile=pki.ca_file)
    if cert:
        ctx.load_cert_chain(*cert)
    try:
        with socket.create_connection(("127.0.0.1", gw.port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                # TLS 1.3: the client's certificate is judged after the client's Finished, so
                # the refusal arrives on the first read.
                s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
                return not s.recv(100).startswith(b"HTTP/1.1 200")
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
        return True


RESPOND_ANY = """
routes:
  - {name: r, match: {prefix: /}, auth: none, respond: {status: 200, body: "hello"}}
"""


def test_required_client_certificates(gateway_for, pki):
    gw = gateway_for(RESPOND_ANY, tls=listener(pki))
    assert get(gw, pki, cert=pki.payments).status_code == 200
    line = gw.access_lines(1)[-1]
    assert line["client_cert_subject"] == "CN=payments"
    assert line["client_cert_sha256"] == fingerprint(pki.payments[0])
    for cert, reason in ((None, "no_client_certificate"), (pki.other, "certificate_rejected"),
                         (pki.expired, "certificate_rejected"), (pki.revoked, "certificate_rejected")):
        assert handshake_refused(gw, pki, cert), cert
    assert gw.metric('gatehouse_tls_handshakes_total{result="failed",reason="no_client_certificate"}') == 1
    assert gw.metric('gatehouse_tls_handshakes_total{result="failed",reason="certificate_rejected"}') == 3
    assert get(gw, pki, cert=pki.billing).status_code == 200  # others are served all along


def test_a_revocation_ends_resumption_too(gateway_for, pki, tmp_path):
    crl = str(tmp_path / "live-crl.pem")
    write_crl(pki, crl, [])
    tls = "{certificate: %s, private_key: %s, client_auth: required, client_ca: %s, crl_file: %s}" % (
        pki.server[0], pki.server[1], pki.ca_file, crl)
    gw = gateway_for(RESPOND_ANY, tls=tls)
    sess = str(tmp_path / "session")
    request = b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"

    def s_client(*args):
        p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % gw.port, "-tls1_3",
                            "-cert", pki.payments[0], "-key", pki.payments[1], "-ign_eof"] + list(args),
                           input=request, capture_output=True, timeout=20)
        return p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")

    assert "HTTP/1.1 200" in s_client("-sess_out", sess)
    assert "Reused," in s_client("-sess_in", sess)
    # The certificate is revoked: the CRL is replaced, the gateway reloads by itself, and the
    # ticket the client holds no longer skips the check.
    write_crl(pki, crl + ".new", ["payments"])
    os.rename(crl + ".new", crl)
    deadline = time.time() + 5
    while time.time() < deadline and gw.metric('gatehouse_reloads_total{result="success"}') < 1:
        time.sleep(0.05)
    time.sleep(0.3)  # the workers take the new snapshot
    out = s_client("-sess_in", sess)
    assert "Reused," not in out and "HTTP/1.1 200" not in out, out
    assert gw.metric('gatehouse_tls_handshakes_total{result="failed",reason="certificate_rejected"}') >= 1


def test_revocation_needs_the_crl(gateway_for, pki):
    gw = gateway_for(RESPOND_ANY, tls=listener(pki, crl=False))
    assert get(gw, pki, cert=pki.revoked).status_code == 200


MTLS_ROUTES = """
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]}
routes:
  - {name: payments, match: {prefix: /payments}, auth: {mtls: {spiffe_ids: ["%s"]}}, upstream: app,
     forward: {client_cert: true}}
  - {name: by-subject, match: {prefix: /subject}, auth: {mtls: {subjects: ["CN=billing"]}}, upstream: app}
  - {name: by-print, match: {prefix: /print}, auth: {mtls: {fingerprints: ["%s"]}}, upstream: app}
  - {name: any-cert, match: {prefix: /any}, auth: {mtls: {}}, upstream: app}
  - {name: open, match: {prefix: /}, auth: none, upstream: app}
"""


def test_route_rules_on_an_optional_listener(gateway_for, pki, upstream):
    colon_print = ":".join(re.findall("..", fingerprint(pki.payments[0]).upper()))
    gw = gateway_for(MTLS_ROUTES % (upstream.port, SPIFFE, colon_print), tls=listener(pki, "optional"))
    assert get(gw, pki, "/open").status_code == 200  # optional: no certificate is fine here
    r = get(gw, pki, "/any")
    assert r.status_code == 403 and r.json()["type"] == "urn:gatehouse:problem:client-certificate-required"
    assert get(gw, pki, "/payments", cert=pki.payments).status_code == 200
    r = get(gw, pki, "/payments", cert=pki.billing)
    assert r.status_code == 403 and r.json()["type"] == "urn:gatehouse:problem:client-certificate-mismatch"
    assert gw.access_lines(4)[-1]["auth_reason"] == "client_certificate_mismatch"
    assert get(gw, pki, "/subject", cert=pki.billing).status_code == 200
    assert get(gw, pki, "/subject", cert=pki.payments).status_code == 403
    assert get(gw, pki, "/print", cert=pki.payments).status_code == 200
    assert get(gw, pki, "/print", cert=pki.billing).status_code == 403
    assert get(gw, pki, "/any", cert=pki.billing).status_code == 200
    assert gw.metric('gatehouse_auth_failures_total{provider="mtls",reason="client_certificate_mismatch"}') == 3
    # A wrong-CA certificate is refused at the handshake even where certificates are optional.
    assert handshake_refused(gw, pki, pki.other)


def test_client_cert_is_forwarded_and_spoofs_are_stripped(gateway_for, pki, upstream):
    gw = gateway_for(MTLS_ROUTES % (upstream.port, SPIFFE, "a" * 64), tls=listener(pki, "optional"))
    spoof = {"Client-Cert": ":AAAA:", "Client-Cert-Chain": ":BBBB:"}
    r = get(gw, pki, "/payments", cert=pki.payments, headers=spoof)
    assert r.status_code == 200
    assert upstream.lines_named("Client-Cert") == [":%s:" % der_b64(pki.payments[0])]
    # The chain is what the client sent after its leaf: here OpenSSL adds the CA it trusts.
    assert upstream.lines_named("Client-Cert-Chain") in ([], [":%s:" % der_b64(pki.ca_file)])
    names = [k.lower() for k, _ in upstream.header_lines[-1]]
    assert names.count("client-cert") == 1 and names.count("client-cert-chain") <= 1
    assert names.index("client-cert") > names.index("x-request-id")  # the gateway's own line
    r = get(gw, pki, "/open", cert=pki.payments, headers=dict(spoof, Client_Cert=":CCCC:"))  # not forwarded here
    assert not [k for k, _ in upstream.header_lines[-1] if k.lower().replace("_", "-").startswith("client-cert")]


def test_mtls_and_a_jwt_must_both_pass(gateway_for, pki, upstream, tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "k.json").write_text(json.dumps({"keys": [ec_jwk(key, "k1")]}))
    text = """
identity:
  jwt:
    main: {issuer: https://idp.test, audiences: [api], jwks_file: %s, algorithms: [ES256]}
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]}
routes:
  - {name: both, match: {prefix: /}, auth: {mtls: {spiffe_ids: ["%s"]}, jwt: main}, upstream: app}
""" % (tmp_path / "k.json", upstream.port, SPIFFE)
    gw = gateway_for(text, tls=listener(pki, "optional"))
    token = {"Authorization": "Bearer " + sign(key, "k1", "ES256", token_claims("https://idp.test", "api"))}
    assert get(gw, pki, cert=pki.payments, headers=token).status_code == 200
    assert get(gw, pki, cert=pki.payments).status_code == 401
    assert get(gw, pki, headers=token).status_code == 403


def check(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return subprocess.run([BIN, "check", "-c", str(path)], capture_output=True, text=True)


def test_configuration_rules(tmp_path, pki):
    cert, key = pki.server
    base = "listeners:\n  - address: 127.0.0.1:1\n    tls: {certificate: %s, private_key: %s%%s}\n" % (cert, key)
    route = "routes:\n  - {name: r, match: {prefix: /}, auth: %s, respond: {}}\n"
    cases = [
        (base % ", client_auth: required" + route % "none", "client_auth: required needs client_ca"),
        (base % (", client_ca: %s" % pki.ca_file) + route % "none", "need client_auth"),
        (base % ", client_auth: sometimes, client_ca: x" + route % "none", "client_auth"),
        (base % (", client_auth: required, client_ca: %s, crl_file: %s" % (pki.ca_file, cert)) + route % "none",
         "no CRL could be read"),
        (base % "" + route % "{mtls: {fingerprints: [abc]}}", "is not a SHA-256 fingerprint"),
        (base % "" + route % "{mtls: {spiffe_ids: [payments]}}", "is not a SPIFFE ID"),
        (base % "" + route % "{mtls: {issuers: [x]}}", "unknown key 'issuers'"),
    ]
    for text, want in cases:
        r = check(tmp_path, text)
        assert r.returncode == 1 and want in r.stderr, (text, r.stderr)
