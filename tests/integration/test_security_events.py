"""The security event stream (security_events.file): one ECS JSON line per security event, apart
from the access log: refusals by kind with their precise reason, every request of a critical
route, repetitions folded with event.count, the file reopened on SIGUSR1, reloads with the
configuration's hashes and who asked, and its configuration errors with file:line:col."""
import json
import os
import signal
import subprocess
import time

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec

from testenv import BIN, raw_request
from testenv.tokens import ec_jwk, sign, token_claims

ISS, AUD = "https://idp.test", "api"
ECS_FIELDS = ("@timestamp", "event.kind", "event.category", "event.type", "event.action",
              "event.outcome", "event.reason", "event.id", "source.ip", "user.id", "url.path",
              "http.request.method", "http.response.status_code", "rule.id", "observer.name",
              "observer.type", "observer.version")


@pytest.fixture(scope="module")
def key():
    return ec.generate_private_key(ec.SECP256R1())


def config(tmp_path, key, upstream_port, events, max_per_second=10):
    (tmp_path / "k.json").write_text(json.dumps({"keys": [ec_jwk(key, "k1")]}))
    return """
security_events: {file: %s, max_per_second: %d}
identity:
  jwt:
    corp: {issuer: %s, audiences: [%s], algorithms: [ES256], jwks_file: %s}
rate_limits:
  tight: {key: client_ip, rate: 1/m, burst: 1}
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]}
routes:
  - name: orders
    match: {prefix: /orders}
    auth: {jwt: corp, scopes: [orders:read]}
    upstream: app
  - name: payments
    match: {prefix: /payments}
    auth: none
    tags: [money]
    upstream: app
  - name: limited
    match: {prefix: /limited}
    auth: none
    rate_limit: tight
    upstream: app
  - name: open
    match: {prefix: /}
    auth: none
    upstream: app
""" % (events, max_per_second, ISS, AUD, tmp_path / "k.json", upstream_port)


@pytest.fixture
def gw(gateway_for, upstream, key, tmp_path):
    events = tmp_path / "security.log"
    g = gateway_for(config(tmp_path, key, upstream.port, events))
    g.security = str(events)
    return g


def security_lines(g, n=None, timeout=10.0):
    """The stream's lines parsed (each must be one JSON object); waits for at least n."""
    deadline = time.time() + timeout
    while True:
        lines = []
        if os.path.exists(g.security):
            with open(g.security) as f:
                lines = [json.loads(l) for l in f.read().splitlines() if l.strip()]
        if n is None or len(lines) >= n or time.time() > deadline:
            return lines
        time.sleep(0.05)


def bearer(key, **claims):
    return {"Authorization": "Bearer " + sign(key, "k1", "ES256", token_claims(ISS, AUD, **claims))}


def the_event(g, action):
    events = [e for e in security_lines(g, 1) if e["event.action"] == action]
    assert len(events) == 1, security_lines(g)
    e = events[0]
    for field in ECS_FIELDS:
        assert field in e, field
    assert (e["observer.name"], e["observer.type"]) == ("gatehouse", "gatehouse")
    access = g.access_lines(1)
    assert e["event.id"] in [a["request_id"] for a in access]  # the access log's request id
    assert e["source.ip"] == "127.0.0.1"
    return e


def test_a_bad_token_is_an_authentication_failure_with_its_reason(gw, key):
    r = requests.get(gw.url + "/orders/1", headers={"Authorization": "Bearer not.a.token"})
    assert r.status_code == 401
    e = the_event(gw, "authentication-failure")
    assert e["event.category"] == ["authentication"] and e["event.outcome"] == "failure"
    # The precise reason: the slug, the authentication's own reason, the detail.
    access = gw.access_lines(1)[-1]
    assert access["auth_reason"]
    assert e["event.reason"] == "invalid-token (%s): %s" % (access["auth_reason"], access["detail"])
    assert (e["http.response.status_code"], e["rule.id"], e["url.path"]) == (401, "orders", "/orders/1")
    assert e["http.request.method"] == "GET" and e["user.id"] is None
    assert e["event.id"] == gw.access_lines(1)[-1]["request_id"]


def test_a_missing_scope_is_an_authorization_denial_naming_the_user(gw, key):
    r = requests.get(gw.url + "/orders/1", headers=bearer(key, sub="alice", scope="other"))
    assert r.status_code == 403
    e = the_event(gw, "authorization-denied")
    assert e["event.reason"].startswith("insufficient-scope")
    assert e["user.id"] == "alice" and e["http.response.status_code"] == 403


def test_a_rate_limit_refusal_is_rate_limited(gw):
    assert requests.get(gw.url + "/limited").status_code == 200
    assert requests.get(gw.url + "/limited").status_code == 429
    e = the_event(gw, "rate-limited")
    assert e["event.reason"].startswith("rate-limited") and e["rule.id"] == "limited"


def test_smuggling_is_request_refused_with_the_framing_reason(gw):
    raw_request(gw.port, b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    e = the_event(gw, "request-refused")
    assert e["event.reason"].startswith("transfer-encoding-with-content-length")
    assert e["event.kind"] == "alert" and e["event.category"] == ["intrusion_detection"]
    assert e["http.response.status_code"] == 400


def test_trace_is_an_unusual_method(gw):
    raw_request(gw.port, b"TRACE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    e = the_event(gw, "unusual-method")
    assert e["http.request.method"] == "TRACE"
    # An ordinary request is no event at all.
    assert requests.get(gw.url + "/plain").status_code == 200
    time.sleep(0.3)
    assert [x["event.action"] for x in security_lines(gw)] == ["unusual-method"]


def test_a_critical_route_logs_every_request(gw):
    for i in range(3):
        assert requests.get(gw.url + "/payments/%d" % i).status_code == 200
    events = security_lines(gw, 3)
    assert [e["event.action"] for e in events] == ["critical-route-access"] * 3
    assert [e["url.path"] for e in events] == ["/payments/0", "/payments/1", "/payments/2"]
    assert all(e["event.outcome"] == "success" and e["rule.id"] == "payments" for e in events)
    ids = {a["request_id"] for a in gw.access_lines(3)}
    assert {e["event.id"] for e in events} == ids
    assert gw.wait_metric('gatehouse_security_events_total{action="critical-route-access"}', 3) == 3


def test_repeated_refusals_are_folded_with_a_count(gateway_for, upstream, key, tmp_path):
    events = tmp_path / "security.log"
    g = gateway_for(config(tmp_path, key, upstream.port, events, max_per_second=3))
    g.security = str(events)
    # 20 identical refusals, started just after a second began (a slow machine may spread them
    # over two seconds: each second then has its own allowance and its own folded line).
    time.sleep(1.02 - time.time() % 1)
    s = requests.Session()
    for _ in range(20):
        assert s.get(g.url + "/orders/1").status_code == 401
    deadline = time.time() + 5
    while True:
        # the refusals' own lines (twenty 401s in a minute are also an error-rate anomaly)
        lines = [e for e in security_lines(g) if e["event.action"] == "authentication-failure"]
        single = [e for e in lines if "event.count" not in e]
        folded = [e for e in lines if "event.count" in e]
        if len(single) + sum(e["event.count"] for e in folded) >= 20 or time.time() > deadline:
            break
        time.sleep(0.05)
    assert len(single) + sum(e["event.count"] for e in folded) == 20, lines
    seconds = {}
    for e in single:
        seconds[e["@timestamp"][:19]] = seconds.get(e["@timestamp"][:19], 0) + 1
    assert all(n <= 3 for n in seconds.values()), lines
    assert 1 <= len(folded) <= len(seconds), lines
    if len(seconds) == 1:  # the usual case: all in one second
        assert len(single) == 3 and folded[0]["event.count"] == 17
    assert folded[0]["event.action"] == "authentication-failure"
    assert folded[0]["source.ip"] == "127.0.0.1" and folded[0]["rule.id"] == "orders"
    written = len(single) + len(folded)
    assert g.wait_metric('gatehouse_security_events_total{action="authentication-failure"}',
                         written) == written
    assert g.metric("gatehouse_security_events_dropped_total") == 0


def test_the_file_is_reopened_on_sigusr1(gw):
    raw_request(gw.port, b"TRACE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    security_lines(gw, 1)
    os.rename(gw.security, gw.security + ".1")
    gw.signal(signal.SIGUSR1)
    deadline = time.time() + 5
    while not os.path.exists(gw.security) and time.time() < deadline:
        time.sleep(0.02)
    raw_request(gw.port, b"TRACE /again HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    lines = security_lines(gw, 1)
    assert [e["url.path"] for e in lines] == ["/again"]
    with open(gw.security + ".1") as f:
        assert len(f.read().splitlines()) == 1


def test_reloads_record_the_hashes_and_who_asked(gw):
    before = gw.admin("/status")[1]
    old_hash = json.loads(before)["config_hash"]
    with open(gw.config, "a") as f:
        f.write("  - {name: extra, match: {prefix: /extra}, auth: none, upstream: app}\n")
    assert gw.admin("/reload", "POST")[0] == 200
    e = security_lines(gw, 1)[-1]
    assert e["event.action"] == "configuration-reloaded"
    assert e["event.category"] == ["configuration"] and e["event.outcome"] == "success"
    assert e["gatehouse.reload.by"] == "admin"
    assert e["gatehouse.config.hash_before"] == old_hash
    new_hash = json.loads(gw.admin("/status")[1])["config_hash"]
    assert e["gatehouse.config.hash_after"] == new_hash != old_hash
    with open(gw.config, "a") as f:
        f.write("  - {name: broken, match: {prefix: /b}, auth: none, upstream: nowhere}\n")
    gw.signal(signal.SIGHUP)
    lines = security_lines(gw, 2)
    e = lines[-1]
    assert e["event.action"] == "configuration-reload-failed" and e["event.outcome"] == "failure"
    assert e["gatehouse.reload.by"] == "SIGHUP"
    assert e["gatehouse.config.hash_before"] == new_hash and e["gatehouse.config.hash_after"] is None
    assert "nowhere" in e["event.reason"]


def check(tmp_path, text):
    p = tmp_path / "g.yaml"
    p.write_text("listeners: [{address: 127.0.0.1:1}]\n" + text +
                 "routes:\n  - {name: r, match: {prefix: /}, auth: none, respond: {status: 204}}\n")
    return subprocess.run([BIN, "check", "-c", str(p)], capture_output=True, text=True,
                          timeout=20), p


@pytest.mark.parametrize("text,at,message", [
    ("security_events: {file: relative.log}\n", "1:25", "expected stdout, off or an absolute"),
    ("security_events:\n  max_per_second: 0\n", "2:19", "out of range [1, 100000]"),
    ("security_events:\n  fil: /tmp/x\n", "2:3", "did you mean 'file'"),
])
def test_configuration_errors_say_file_line_and_column(tmp_path, text, at, message):
    r, p = check(tmp_path, text)
    assert r.returncode != 0
    line, col = at.split(":")
    assert "%s:%d:%s:" % (p, int(line) + 1, col) in r.stderr, r.stderr
    assert message in r.stderr


def test_check_print_shows_the_section_and_its_defaults(tmp_path):
    p = tmp_path / "g.yaml"
    p.write_text("listeners: [{address: 127.0.0.1:1}]\n"
                 "routes:\n  - {name: r, match: {prefix: /}, auth: none, respond: {status: 204}}\n")
    r = subprocess.run([BIN, "check", "--print", "-c", str(p)], capture_output=True, text=True,
                       timeout=20)
    assert r.returncode == 0, r.stderr
    assert "security_events:\n  file: off\n  max_per_second: 10\n" in r.stdout


def test_a_reload_to_a_file_that_cannot_be_opened_fails_and_moves_nothing(gw, tmp_path):
    with open(gw.config) as f:
        text = f.read()
    bad = text.replace("file: %s" % gw.security, "file: %s/no/dir/s.log" % tmp_path)
    assert bad != text
    other = tmp_path / "other-access.log"
    bad += "access_log: %s\n" % other  # opened before the security file fails: moved back
    with open(gw.config, "w") as f:
        f.write(bad)
    status, report = gw.admin("/reload", "POST")
    assert status == 422 and "security_events.file: cannot open %s/no/dir/s.log" % tmp_path in report
    raw_request(gw.port, b"TRACE /still HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    # Lines of different threads (the control thread's reload, a worker's refusal) may come in
    # either order.
    lines = {e["event.action"]: e for e in security_lines(gw, 2)}
    failed = lines["configuration-reload-failed"]
    assert "security_events.file: cannot open" in failed["event.reason"]
    assert lines["unusual-method"]["url.path"] == "/still"
    assert any(a["path"] == "/still" for a in gw.access_lines(1))
    assert not other.exists() or other.read_text() == ""
