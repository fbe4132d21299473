"""gatehouse probe, the framing group (FRM-...): request smuggling over HTTP/1.1 and HTTP/2.

Self-test, and live mode against a Gatehouse in front of a real upstream: every case passes (the
HTTP/2 ones over h2c prior knowledge or ALPN), or skips for the reason it states. Then a planted weakness: a naive
proxy that frames requests by Content-Length alone, in front of an upstream that honours any
Transfer-Encoding naming chunked: the Content-Length/Transfer-Encoding cases must fail, by id."""
import re
import socket
import threading

import pytest

from testenv import accept_forever, free_port, listening_socket, serve_each
from testenv.certs import make_ca_and_server_cert
from testenv.probe import run_probe as probe

ISS = "https://idp.test"
AUD = "orders-api"
IDS = ["FRM-%03d" % i for i in range(1, 40)]
H2_IDS = ["FRM-%03d" % i for i in range(33, 39)]


def run_probe(target, *extra):
    """Live mode against target, the framing group unless --only says otherwise."""
    only = [] if "--only" in extra else ["--only", "framing"]
    verdicts, report, _ = probe("--target", target, *only, *extra)
    return verdicts, report


@pytest.fixture
def signing(probe_key):
    return probe_key.pem, probe_key.jwks

def sound_yaml(upstream, jwks):
    # The first route takes a token: every attack carries a valid one, so that a refusal is the
    # framing's; FRM-030..032 leave it out on purpose.
    return """
identity:
  jwt:
    corp: {issuer: %s, audiences: [%s], algorithms: [ES256], jwks_file: %s}
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]}
routes:
  - name: orders
    match: {prefix: /orders}
    auth: {jwt: corp}
    upstream: app
  - name: public
    match: {prefix: /public}
    auth: none
    upstream: app
""" % (ISS, AUD, jwks, upstream.port)


def probe_gateway(g, pem, profile="full"):
    return run_probe(g.url, "-c", g.config, "--profile", profile, "--signing-key", str(pem), "--kid", "k1")


def test_every_framing_case_holds_against_gatehouse(gateway_for, upstream, signing):
    pem, jwks = signing
    g = gateway_for(sound_yaml(upstream, jwks), listener_extra=", h2c: true")
    verdicts, text = probe_gateway(g, pem)
    assert sorted(verdicts) == IDS, text
    bad = {i: v for i, v in verdicts.items() if v[0] != "pass"}
    assert bad == {}, text
    # Gatehouse refuses a GET with a body, so the body cases went by POST (--profile full).
    assert verdicts["FRM-001"][1].startswith("POST: "), text
    # What the upstream received (the view self-test gives): nothing smuggled, no upgrade to h2c,
    # no head with both framings.
    assert upstream.raw_heads
    for head in upstream.raw_heads:
        lower = head.lower()
        assert b"gatehouse-probe-smuggled" not in head.split(b"\r\n")[0], head
        assert b"\r\nupgrade:" not in lower and b"http2-settings" not in lower, head
        assert not (b"\r\ntransfer-encoding:" in lower and b"\r\ncontent-length:" in lower), head


def test_the_http2_cases_skip_on_a_listener_without_h2c(gateway_for, upstream, signing):
    pem, jwks = signing
    g = gateway_for(sound_yaml(upstream, jwks))
    verdicts, text = probe_gateway(g, pem)
    for i in H2_IDS:
        assert verdicts[i][0] == "skip" and "does not speak HTTP/2" in verdicts[i][1], text
    assert all(verdicts[i][0] == "pass" for i in IDS if i not in H2_IDS), text


def test_with_the_safe_profile_the_body_cases_skip_and_say_why(gateway_for, upstream, signing):
    """--profile safe sends GET only; Gatehouse refuses every GET with a body, which would make
    any attack with a body pass for that alone: those cases say so instead."""
    pem, jwks = signing
    g = gateway_for(sound_yaml(upstream, jwks), listener_extra=", h2c: true")
    verdicts, text = probe_gateway(g, pem, "safe")
    body_cases = ["FRM-%03d" % i for i in list(range(1, 18)) + list(range(22, 29)) + [32, 39]]
    for i in body_cases:
        assert verdicts[i][0] == "skip", (i, text)
        assert "refuses a GET with a valid body" in verdicts[i][1] and "--profile full" in verdicts[i][1], text
    assert all(verdicts[i][0] == "pass" for i in IDS if i not in body_cases), text


def test_a_gateway_that_takes_get_bodies_is_attacked_by_get_and_holds(gateway_for, upstream, signing):
    """http1.strictness: defensive forwards a GET with a body (re-framed): then the safe profile's
    GETs carry every attack, and each still passes."""
    pem, jwks = signing
    g = gateway_for("http1: {strictness: defensive}\n" + sound_yaml(upstream, jwks), listener_extra=", h2c: true")
    verdicts, text = probe_gateway(g, pem, "safe")
    assert verdicts["FRM-001"][1].startswith("GET: "), text
    assert {i: v for i, v in verdicts.items() if v[0] != "pass"} == {}, text
    assert not any(b"gatehouse-probe-smuggled" in h.split(b"\r\n")[0] for h in upstream.raw_heads)


def test_the_http2_cases_go_by_alpn_on_a_tls_listener(gateway_for, upstream, signing, tmp_path):
    pem, jwks = signing
    _, cert, key = make_ca_and_server_cert(str(tmp_path))
    g = gateway_for(sound_yaml(upstream, jwks), tls="{certificate: %s, private_key: %s}" % (cert, key))
    verdicts, text = run_probe(g.url, "-c", g.config, "--profile", "full", "--signing-key", str(pem),
                               "--kid", "k1", "--only", ",".join(H2_IDS))
    assert {i: v[0] for i, v in verdicts.items()} == {i: "pass" for i in H2_IDS}, text


def test_self_test_sees_what_the_upstream_received_and_every_case_holds(signing, tmp_path):
    """Self-test: the probe starts the gateway on the configuration with its own recording
    upstream, whose view each case checks (nothing smuggled, no upgrade passed on)."""
    _, jwks = signing
    conf = tmp_path / "gatehouse.yaml"
    conf.write_text("workers: 1\nlisteners: [{address: 127.0.0.1:%d, h2c: true}]\n" % free_port()
                    + sound_yaml(type("U", (), {"port": 9})(), jwks))
    verdicts, report, doc = probe("-c", str(conf), "--only", "framing")
    assert doc["mode"] == "self-test"
    assert sorted(verdicts) == IDS, report
    assert {i: v for i, v in verdicts.items() if v[0] != "pass"} == {}, report
    seen = {r["id"]: r.get("upstream") for r in doc["results"]}
    assert seen["FRM-001"] == "nothing"  # refused: nothing forwarded
    assert "GET /orders/probe HTTP/1.1" in seen["FRM-029"] and "h2c" not in seen["FRM-029"].lower()


# ---- the planted weakness ----

def read_head(f):
    """The bytes up to the blank line (CRLF CRLF), or None at EOF."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        b = f.read(1)
        if not b:
            return None
        head += b
    return head


class LaxUpstream:
    """An upstream that frames as lax servers do: any line (split at CR, LF or both) whose name,
    stripped, is Transfer-Encoding and whose value mentions chunked makes the body chunked;
    otherwise the first Content-Length that int() reads. Answers 200 to each request."""

    def __init__(self):
        self.sock, self.port = listening_socket()
        self.request_lines = []
        accept_forever(self.sock, serve_each(self._serve))

    @staticmethod
    def _chunked(lines):
        for line in lines:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"transfer-encoding" and b"chunked" in value.lower():
                return True
        return False

    @staticmethod
    def _length(lines):
        for line in lines:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                try:
                    return int(value.strip().split(b",")[0])
                except ValueError:
                    return 0
        return 0

    def _serve(self, c):
        f = c.makefile("rb")
        try:
            while True:
                head = read_head(f)
                if head is None:
                    return
                lines = re.split(rb"\r\n|\r|\n", head)
                self.request_lines.append(lines[0])
                if self._chunked(lines[1:]):
                    while True:
                        size = int(f.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            f.readline()
                            break
                        f.read(size + 2)
                else:
                    f.read(max(self._length(lines[1:]), 0))
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
        except (OSError, ValueError, OverflowError):
            return
        finally:
            c.close()


class NaiveProxy:
    """Reads each request's head, then as many body bytes as its first Content-Length says
    (Transfer-Encoding ignored), and writes both to one upstream connection as they came; the
    upstream's bytes go back to the client as they come."""

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.sock, self.port = listening_socket()
        accept_forever(self.sock, serve_each(self._serve))

    def _serve(self, c):
        up = socket.create_connection(("127.0.0.1", self.upstream_port))

        def back():
            try:
                while True:
                    b = up.recv(65536)
                    if not b:
                        break
                    c.sendall(b)
            except OSError:
                pass
            finally:
                c.close()

        threading.Thread(target=back, daemon=True).start()
        f = c.makefile("rb")
        try:
            while True:
                head = read_head(f)
                if head is None:
                    break
                m = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.I)
                up.sendall(head + (f.read(int(m.group(1))) if m else b""))
        except (OSError, OverflowError):
            pass
        finally:
            up.close()


def test_a_proxy_that_frames_by_content_length_alone_fails_the_smuggling_cases():
    lax = LaxUpstream()
    proxy = NaiveProxy(lax.port)
    verdicts, text = run_probe("http://127.0.0.1:%d/probe" % proxy.port, "--only",
                               ",".join(["FRM-%03d" % i for i in range(1, 13)] + ["FRM-032"] + H2_IDS))
    # Content-Length beside Transfer-Encoding, in either order and under every spelling the
    # upstream still reads as chunked: the proxy forwards the smuggled request as body, the
    # upstream answers it, and a third answer comes back.
    for i in ["FRM-001", "FRM-002", "FRM-003", "FRM-004", "FRM-005", "FRM-006", "FRM-007", "FRM-008",
              "FRM-009", "FRM-010", "FRM-011", "FRM-012"]:
        assert verdicts[i][0] == "fail", (i, text)
        assert "answers" in verdicts[i][1], (i, text)
    # The proxy speaks no HTTP/2: those cases say so instead of guessing.
    for i in H2_IDS:
        assert verdicts[i][0] == "skip" and "does not speak HTTP/2" in verdicts[i][1], text
    # Without a configuration there is no route known to need credentials.
    assert verdicts["FRM-032"][0] == "skip"
    assert any(b"gatehouse-probe-smuggled" in line for line in lax.request_lines)
    lax.sock.close()
    proxy.sock.close()
