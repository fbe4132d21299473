"""fault: failures and delays injected on purpose on a route (game days). An abort is answered by
the gateway with the configured status as a problem document (fault-injected), logged and
counted, and nothing reaches the upstream; a delay holds the request on the worker's loop, then
it goes on; percentages hold over many requests; with header, only requests that carry it are
faulted; every control of the route answers before any fault; a client that leaves during a
delay leaves nothing behind and nothing is forwarded; the audit reports every fault."""
import json
import os
import socket
import subprocess
import time

import requests

from conftest import api_key_identity
from testenv import BIN, client_leaves_after, wait_for


def fault_config(upstream_port, fault, extra=""):
    return """
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]}
routes:
  - name: game
    match: {prefix: /game}
    auth: none
    fault: %s
    upstream: app
  - name: calm
    match: {prefix: /}
    auth: none
    upstream: app
%s""" % (upstream_port, fault, extra)


def faults(gw, kind, route="game"):
    return gw.metric('gatehouse_faults_injected_total{route="%s",kind="%s"}' % (route, kind))


def test_abort_100_percent_answers_the_status_and_forwards_nothing(gateway_for, upstream):
    gw = gateway_for(fault_config(upstream.port, "{abort: {status: 503}}"))
    for _ in range(5):
        r = requests.get(gw.url + "/game/x")
        assert r.status_code == 503
        assert r.headers["Content-Type"] == "application/problem+json"
        body = r.json()
        assert body["type"] == "urn:gatehouse:problem:fault-injected"
        assert body["status"] == 503 and "fault.abort" in body["detail"]
    assert upstream.requests == [] and upstream.connections == 0
    # The route next to it is untouched: the upstream is there and answers.
    assert requests.get(gw.url + "/other").status_code == 200
    assert len(upstream.requests) == 1
    lines = gw.access_lines(6)
    assert [(l["status"], l["reason"], l["fault"]) for l in lines[:5]] == \
        [(503, "fault-injected", "abort")] * 5
    assert "fault" not in lines[5]
    assert gw.wait_metric('gatehouse_faults_injected_total{route="game",kind="abort"}', 5) == 5
    assert faults(gw, "delay") == 0


def test_abort_status_is_the_configured_one(gateway_for, upstream):
    gw = gateway_for(fault_config(upstream.port, "{abort: {status: 418, percent: 100}}"))
    r = requests.post(gw.url + "/game/x", data=b"a body the gateway never forwards")
    assert r.status_code == 418 and r.json()["status"] == 418
    assert r.json()["type"] == "urn:gatehouse:problem:fault-injected"
    assert upstream.requests == []


def test_percent_0_never_faults(gateway_for, upstream):
    gw = gateway_for(fault_config(upstream.port, "{abort: {status: 503, percent: 0}, "
                                  "delay: {duration: 5s, percent: 0}}"))
    started = time.monotonic()
    for _ in range(50):
        assert requests.get(gw.url + "/game/x").status_code == 200
    assert time.monotonic() - started < 5  # not one was delayed 5 s
    assert len(upstream.requests) == 50
    assert [l["fault"] for l in gw.access_lines(50)] == [None] * 50
    assert faults(gw, "abort") == 0 and faults(gw, "delay") == 0


def test_half_of_the_requests_fail_within_a_tolerant_band(gateway_for, upstream):
    gw = gateway_for(fault_config(upstream.port, "{abort: {status: 500, percent: 50}}"))
    s = requests.Session()
    statuses = [s.get(gw.url + "/game/x").status_code for _ in range(400)]
    aborted = statuses.count(500)
    assert set(statuses) == {200, 500}
    # Binomial(400, 0.5): a standard deviation of 10; 120..280 is 8 of them either side.
    assert 120 <= aborted <= 280, aborted
    assert len(upstream.requests) == 400 - aborted
    assert gw.wait_metric('gatehouse_faults_injected_total{route="game",kind="abort"}',
                          aborted) == aborted


def test_fractional_percent_is_accepted(gateway_for, upstream):
    gw = gateway_for(fault_config(upstream.port, "{abort: {status: 503, percent: 0.5}}"))
    s = requests.Session()
    statuses = [s.get(gw.url + "/game/x").status_code for _ in range(200)]
    assert statuses.count(503) <= 10  # 1 expected; never anything like half
    assert len(upstream.requests) == statuses.count(200)


def test_header_gated_fault_only_touches_requests_with_the_header(gateway_for, upstream):
    gw = gateway_for(fault_config(upstream.port,
                                  "{header: x-gatehouse-fault, abort: {status: 503}}"))
    s = requests.Session()
    for _ in range(20):
        assert s.get(gw.url + "/game/x").status_code == 200
        assert s.get(gw.url + "/game/x", headers={"X-Gatehouse-Fault": "1"}).status_code == 503
    assert len(upstream.requests) == 20
    assert all("x-gatehouse-fault" not in h for _, _, h, _ in upstream.requests)
    assert faults(gw, "abort") == 20


def test_delay_holds_the_request_at_least_the_duration(gateway_for, upstream):
    gw = gateway_for(fault_config(upstream.port, "{delay: {duration: 700ms}}"))
    for _ in range(2):
        started = time.monotonic()
        r = requests.get(gw.url + "/game/x", timeout=30)
        elapsed = time.monotonic() - started
        assert r.status_code == 200
        assert elapsed >= 0.69, elapsed
    assert len(upstream.requests) == 2
    started = time.monotonic()
    assert requests.get(gw.url + "/elsewhere").status_code == 200
    lines = gw.access_lines(3)
    assert [(l["fault"], l["fault_delay_ms"]) for l in lines[:2]] == [("delay", 700)] * 2
    assert faults(gw, "delay") == 2 and faults(gw, "abort") == 0


def test_a_delay_does_not_hold_other_requests(gateway_for, upstream):
    """The delay is a timer on the loop: one worker serves other requests meanwhile."""
    gw = gateway_for(fault_config(upstream.port, "{header: x-slow, delay: {duration: 2s}}"))
    slow = socket.create_connection(("127.0.0.1", gw.port))
    slow.sendall(b"GET /game/x HTTP/1.1\r\nHost: a\r\nX-Slow: 1\r\n\r\n")
    wait_for(lambda: faults(gw, "delay") == 1, "the delay to begin")
    started = time.monotonic()
    for _ in range(5):
        assert requests.get(gw.url + "/game/x").status_code == 200
    assert time.monotonic() - started < 1.5
    slow.settimeout(10)
    assert slow.recv(100).startswith(b"HTTP/1.1 200")
    slow.close()


def test_delay_then_abort(gateway_for, upstream):
    gw = gateway_for(fault_config(upstream.port,
                                  "{abort: {status: 504}, delay: {duration: 300ms}}"))
    started = time.monotonic()
    r = requests.get(gw.url + "/game/x")
    assert r.status_code == 504 and time.monotonic() - started >= 0.29
    assert upstream.requests == []
    line = gw.access_lines(1)[0]
    assert (line["fault"], line["fault_delay_ms"], line["reason"]) == \
        ("delay+abort", 300, "fault-injected")


def test_a_client_that_leaves_during_the_delay_leaves_nothing_behind(gateway_for, upstream):
    """The timer is cancelled with the request (run under the sanitizer build: no leak, no
    use after free), and the request never reaches the upstream."""
    gw = gateway_for(fault_config(upstream.port, "{delay: {duration: 1s}}"))
    for n in range(1, 6):
        client_leaves_after(gw.port, b"GET /game/gone HTTP/1.1\r\nHost: a\r\n\r\n",
                            lambda: wait_for(lambda: faults(gw, "delay") == n, "the delay to begin"))
    lines = gw.access_lines(5)
    assert [(l["reason"], l["fault"]) for l in lines] == [("client-closed", "delay")] * 5
    time.sleep(1.5)  # past every delay: a timer left running would wake a freed request now
    assert upstream.requests == [] and upstream.connections == 0
    assert requests.get(gw.url + "/game/x").status_code == 200  # the worker is fine
    assert gw.stop() == 0
    events = open(gw.events).read()
    assert "Sanitizer" not in events and "runtime error" not in events, events[-3000:]


def test_an_unauthenticated_request_gets_401_not_the_fault(gateway_for, upstream, tmp_path):
    gw = gateway_for(api_key_identity(tmp_path, upstream.port) + """
routes:
  - name: game
    match: {prefix: /}
    auth: {api_key: partners}
    fault: {abort: {status: 503}, delay: {duration: 2s}}
    upstream: app
""")
    started = time.monotonic()
    for headers in ({}, {"X-API-Key": "wrong"}):
        r = requests.get(gw.url + "/x", headers=headers)
        assert r.status_code == 401, headers
        assert r.json()["type"].startswith("urn:gatehouse:problem:") and \
            "fault" not in r.json()["type"]
    assert time.monotonic() - started < 2  # not delayed either: the fault never ran
    assert faults(gw, "abort") == 0 and faults(gw, "delay") == 0
    r = requests.get(gw.url + "/x", headers={"X-API-Key": "k1"})
    assert r.status_code == 503 and r.json()["type"] == "urn:gatehouse:problem:fault-injected"
    assert upstream.requests == []
    assert [l["fault"] for l in gw.access_lines(3)] == [None, None, "delay+abort"]


def audit(tmp_path, text, fmt):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return subprocess.run([BIN, "audit", "-c", str(path), "--format", fmt, "--fail-on", "none"],
                          capture_output=True, text=True)


def test_the_audit_reports_every_fault(tmp_path):
    text = ("listeners: [{address: 127.0.0.1:8080}]\n"
            "upstreams: {app: {endpoints: ['http://127.0.0.1:9000']}}\n"
            "routes:\n"
            "  - {name: all, match: {prefix: /a, methods: [GET]}, auth: none, upstream: app,\n"
            "     fault: {abort: {status: 503, percent: 5}, delay: {duration: 2s, percent: 0.5}}}\n"
            "  - {name: gated, match: {prefix: /g, methods: [GET]}, auth: none, upstream: app,\n"
            "     fault: {header: x-gatehouse-fault, delay: {duration: 1s}}}\n"
            "  - {name: plain, match: {prefix: /, methods: [GET]}, auth: none, upstream: app}\n")
    p = audit(tmp_path, text, "json")
    assert p.returncode == 0, p.stderr
    found = [f for f in json.loads(p.stdout)["findings"] if f["id"] == "GH-FAULT-001"]
    assert [(f["subject"], f["severity"], f["key"], f["line"]) for f in found] == [
        ("route all", "medium", "routes[0].fault", 5),
        ("route gated", "low", "routes[1].fault", 7)]
    assert found[0]["message"] == ("route 'all' injects faults: abort 503 for 5% and delay 2000ms "
                                   "for 0.5% of requests")
    assert found[1]["message"] == ("route 'gated' injects faults: delay 1000ms for 100% of "
                                   "requests that carry x-gatehouse-fault")
    p = audit(tmp_path, text, "text")
    assert p.returncode == 0, p.stderr
    assert "MEDIUM  GH-FAULT-001" in p.stdout and "LOW     GH-FAULT-001" in p.stdout
    assert "c.yaml:5:" in p.stdout and "route 'all' injects faults" in p.stdout
    # Faults on a critical route rank one level higher.
    critical = text.replace("name: all,", "name: all, critical: true,")
    found = [f for f in json.loads(audit(tmp_path, critical, "json").stdout)["findings"]
             if f["id"] == "GH-FAULT-001"]
    assert found[0]["severity"] == "high"


def test_an_http2_stream_reset_during_the_delay_ends_it(gateway_for, upstream):
    """Over HTTP/2 a client cancels a stream (RST_STREAM) or drops the connection during the
    delay: each request ends there, the worker serves the next, nothing is forwarded."""
    from test_h2_lifetimes import CANCEL, H2
    gw = gateway_for(fault_config(upstream.port, "{delay: {duration: 1s}}"),
                     listener_extra=", h2c: true")
    c = H2(gw)
    c.request(1, "/game/x")
    wait_for(lambda: faults(gw, "delay") == 1, "the delay to begin")
    c.reset(1, CANCEL)
    c.request(3, "/game/y")
    wait_for(lambda: faults(gw, "delay") == 2, "the second delay to begin")
    c.sock.close()  # the connection goes, with the stream waiting on it
    lines = gw.access_lines(2)
    assert [(l["protocol"], l["fault"], l["status"]) for l in lines] == [("h2", "delay", 499)] * 2
    time.sleep(1.5)  # past both delays
    assert upstream.requests == []
    c = H2(gw)
    c.request(1, "/game/z")
    assert c.status(1) == 200
    assert len(upstream.requests) == 1
