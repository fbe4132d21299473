"""Reload, drain, log reopen, the admin listener, the access log and metrics."""
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time

import pytest
import requests

from conftest import proxy_yaml
from testenv import BIN, free_port, wait_for


def test_access_log_fields(gateway_for, upstream):
    g = gateway_for(proxy_yaml(upstream.port))
    r = requests.post(g.url + "/a/b?x=1&y=%20", data=b"12345",
                      headers={"User-Agent": "probe/1 \"q\"", "Host": "API.example:8080"})
    line = g.access_lines(1)[-1]
    assert set(line) >= {"ts", "request_id", "client_ip", "listener", "method", "host", "path",
                         "query", "route", "status", "bytes_in", "bytes_out", "duration_ms",
                         "upstream", "upstream_status", "upstream_ms", "user_agent"}
    assert (line["listener"], line["host"]) == ("127.0.0.1:%d" % g.port, "api.example:8080")
    assert line["query"] == "x=1&y=%20"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", line["ts"])
    assert line["request_id"] == r.headers["X-Request-Id"]
    assert (line["client_ip"], line["method"], line["path"], line["route"]) == ("127.0.0.1", "POST", "/a/b", "app")
    assert (line["status"], line["bytes_in"], line["upstream_status"]) == (200, 5, 200)
    assert line["bytes_out"] > 100 and line["upstream"] == "127.0.0.1:%d" % upstream.port
    assert line["user_agent"] == 'probe/1 "q"'
    assert line["duration_ms"] >= line["upstream_ms"] >= 0
    assert "reason" not in line
    requests.get(g.url + "/plain")
    line = g.access_lines(2)[-1]
    assert line["path"] == "/plain" and "query" not in line


IMF_FIXDATE = r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$"


def fresh_date(value):
    """Whether value is an IMF-fixdate (RFC 9110 §5.6.7) within a few seconds of now."""
    from email.utils import parsedate_to_datetime
    return bool(re.match(IMF_FIXDATE, value)) and abs(parsedate_to_datetime(value).timestamp() - time.time()) < 5


def test_a_request_whose_line_would_not_fit_is_still_logged(gateway_for, upstream):
    """A method the size of the head (a token, refused with 405) made even the line without the
    client's free text overflow, and the request went unlogged: the minimal line says what it was
    and how it ended, with the method cut and fields_cut."""
    g = gateway_for(proxy_yaml(upstream.port))
    with socket.create_connection(("127.0.0.1", g.port), timeout=10) as s:
        s.sendall(b"A" * 7900 + b" /x HTTP/1.1\r\nHost: a\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 405 ")
    line = g.access_lines(1)[-1]
    assert (line["method"], line["status"], line["fields_cut"]) == ("A" * 32, 405, True), line
    assert line["listener"] == "127.0.0.1:%d" % g.port and line["client_ip"] == "127.0.0.1"


def test_every_response_carries_a_date(gateway_for, upstream):
    yaml = proxy_yaml(upstream.port).replace("routes:\n", "routes:\n  - {name: own, match: {prefix: /own}, auth: none, respond: {status: 204}}\n", 1)
    g = gateway_for(yaml)
    own = requests.get(g.url + "/own")
    refused = requests.request("BREW", g.url + "/pot")  # a method no listener accepts
    assert own.status_code == 204 and refused.status_code in (405, 501)
    assert refused.headers["Content-Type"] == "application/problem+json"
    for r in (own, refused):
        assert fresh_date(r.headers["Date"]), r.headers
    # An upstream's response without a Date gets the gateway's; one with a Date keeps it, alone.
    bare = requests.get(g.url + "/bare")
    assert bare.headers["X-Upstream"] == "yes" and fresh_date(bare.headers["Date"])
    kept = "Tue, 01 Dec 2026 10:00:00 GMT"
    dated = requests.get(g.url + "/with-headers?Date=" + kept)
    assert dated.headers["Date"] == kept
    s = socket.create_connection(("127.0.0.1", g.port))
    s.sendall(b"GET /with-headers?Date=Tue,%2001%20Dec%202026%2010:00:00%20GMT HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(4096)
    s.close()
    assert head.lower().count(b"\r\ndate: ") == 1, head
    status, _, headers = g.admin_response("/healthz")
    assert status == 200 and fresh_date(headers["Date"])


def test_metrics_exposition(gateway_for, upstream):
    g = gateway_for(proxy_yaml(upstream.port))
    for _ in range(3):
        requests.get(g.url + "/m")
    requests.get(g.url + "/status/500")
    g.wait_metric('gatehouse_request_duration_seconds_count{route="app"}', 4, timeout=15)
    text = g.metrics()
    assert 'gatehouse_requests_total{route="app",code="200"} 3' in text
    assert 'gatehouse_requests_total{route="app",code="500"} 1' in text
    assert 'gatehouse_request_duration_seconds_count{route="app"} 4' in text
    assert 'gatehouse_request_duration_seconds_bucket{route="app",le="+Inf"} 4' in text
    assert 'gatehouse_upstream_requests_total{upstream="app",result="success"} 4' in text
    assert 'gatehouse_upstream_in_flight{upstream="app"} 0' in text
    assert re.search(r"^gatehouse_open_connections \d+$", text, re.M)
    assert 'gatehouse_reloads_total{result="success"} 0' in text
    assert re.search(r'^gatehouse_config_info\{hash="[0-9a-f]{64}"\} 1$', text, re.M)
    assert re.search(r'^gatehouse_build_info\{version="[^"]+"\} 1$', text, re.M)
    # Every sample line is "name{labels} value" or "name value".
    for line in text.splitlines():
        assert line.startswith("#") or re.match(r'^[a-z_]+(\{[^}]*\})? [0-9.e+-]+$', line), line


def test_admin_health_and_readiness(gateway_for, upstream):
    g = gateway_for(proxy_yaml(upstream.port))
    assert g.admin("/healthz") == (200, "ok\n")
    assert g.admin("/readyz") == (200, "ready\n")
    assert g.admin("/nope")[0] == 404


def test_reload_applies_and_a_bad_file_keeps_the_old_config(gateway_for, upstream):
    g = gateway_for(proxy_yaml(upstream.port))
    assert requests.get(g.url + "/x").status_code == 200
    hash1 = re.search(r'config_info\{hash="(\w+)"', g.metrics()).group(1)
    g.write_config("""
routes:
  - {name: only, match: {path: /only}, auth: none, respond: {status: 200, body: "new\\n"}}
""")
    status, body = g.admin("/reload", "POST")
    assert status == 200, body
    assert requests.get(g.url + "/only").text == "new\n"
    assert requests.get(g.url + "/x").status_code == 404
    hash2 = re.search(r'config_info\{hash="(\w+)"', g.metrics()).group(1)
    assert hash1 != hash2
    # A broken file: the old configuration stays, each error is logged with its location.
    g.write_config("routes:\n  - {name: only, match: {path: /only}, auth: none, respnd: {}}\n")
    g.signal(signal.SIGHUP)
    deadline = time.time() + 5
    while time.time() < deadline and g.metric('gatehouse_reloads_total{result="failure"}') < 1:
        time.sleep(0.05)
    assert g.metric('gatehouse_reloads_total{result="failure"}') == 1
    assert requests.get(g.url + "/only").text == "new\n"
    events = "\n".join(g.event_lines())
    assert "gatehouse.yaml:5:52: routes[0]: unknown key 'respnd'; did you mean 'respond'?" in events
    status, body = g.admin("/reload", "POST")
    assert status == 422 and "unknown key 'respnd'" in body


def reached(upstream, path):
    return lambda: any(r[1] == path for r in list(upstream.requests))


def test_in_flight_request_finishes_on_the_config_it_started_with(gateway_for, upstream):
    g = gateway_for(proxy_yaml(upstream.port))
    result = {}
    t = threading.Thread(target=lambda: result.update(r=requests.get(g.url + "/slow/800")))
    t.start()
    wait_for(reached(upstream, "/slow/800"), "the request to reach the upstream")
    g.write_config("routes:\n  - {name: other, match: {prefix: /}, auth: none, respond: {status: 418}}\n")
    assert g.admin("/reload", "POST")[0] == 200
    t.join()
    assert result["r"].status_code == 200 and "path=/slow/800" in result["r"].text
    assert requests.get(g.url + "/slow/800").status_code == 418


def test_ten_sighups_under_load_fail_no_request(gateway_for, upstream):
    g = gateway_for(proxy_yaml(upstream.port), workers=2)
    wrk = subprocess.Popen(["wrk", "-t2", "-c16", "-d20s", g.url + "/load"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    served = 'gatehouse_upstream_requests_total{upstream="app",result="success"}'
    wait_for(lambda: g.metric(served) > 50, "the load to start")
    for i in range(10):
        # One reload at a time (signals sent together may be folded into one), each with load
        # still running across it.
        g.signal(signal.SIGHUP)
        before = g.metric(served)
        wait_for(lambda: g.metric('gatehouse_reloads_total{result="success"}') >= i + 1, "reload %d" % (i + 1))
        wait_for(lambda: g.metric(served) > before + 20, "requests after reload %d" % (i + 1))
    assert wrk.poll() is None, "the load ended before the last reload"
    wrk.send_signal(signal.SIGINT)  # wrk prints its summary on SIGINT
    out = wrk.communicate(timeout=30)[0]
    m = re.search(r"(\d+) requests in", out)
    assert m and int(m.group(1)) > 100, out
    assert "Non-2xx" not in out and "Socket errors" not in out, out
    assert g.metric('gatehouse_reloads_total{result="success"}') == 10


def sigterm_during_a_slow_request(g, upstream, ms):
    """SIGTERM while a request the upstream answers in ms is in flight, once the listener has
    closed: the thread that waits for the response, and where it puts it ("r")."""
    result = {}
    path = "/slow/%d" % ms
    t = threading.Thread(target=lambda: result.update(r=requests.get(g.url + path)))
    t.start()
    wait_for(reached(upstream, path), "the request to reach the upstream")
    g.signal(signal.SIGTERM)
    # Listeners are closed at once: new connections are refused while the old one finishes.
    wait_for(lambda: refused(g.port), "the listener to close")
    return t, result


def test_sigterm_drains_in_flight_requests_and_exits_0(gateway_for, upstream):
    g = gateway_for(proxy_yaml(upstream.port))
    t, result = sigterm_during_a_slow_request(g, upstream, 3000)
    assert "r" not in result  # the listener closed while the request was still in flight
    t.join(30)
    assert result["r"].status_code == 200
    assert result["r"].headers["Connection"] == "close"
    assert g.proc.wait(timeout=10) == 0
    assert any('"event":"stop"' in l for l in g.event_lines())


def test_the_admin_listener_answers_through_the_drain(gateway_for, upstream):
    g = gateway_for(proxy_yaml(upstream.port))
    t, result = sigterm_during_a_slow_request(g, upstream, 2500)
    # The load balancer's probe learns of the drain; metrics are still scraped during it.
    assert g.admin("/readyz") == (503, "draining\n")
    assert g.admin("/healthz") == (200, "ok\n")
    assert "gatehouse_open_connections" in g.metrics()
    assert g.admin("/reload", method="POST")[0] != 200
    t.join(30)
    assert result["r"].status_code == 200
    assert g.proc.wait(timeout=10) == 0
    assert refused(g.admin_port)  # closed once the drain ended


def refused(port):
    """Whether a connection to port is refused. A reset is not an answer yet: the handshake
    reached a listening socket's queue just as that socket closed; the next try says."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return False
    except ConnectionRefusedError:
        return True
    except ConnectionResetError:
        return False


def test_drain_timeout_cuts_what_does_not_finish(gateway_for, upstream):
    g = gateway_for(proxy_yaml(upstream.port, "drain_timeout: 300ms\n"))
    outcome = {}

    def call():
        try:
            requests.get(g.url + "/slow/5000")
        except requests.exceptions.ConnectionError as e:
            outcome["cut"] = e

    t = threading.Thread(target=call, daemon=True)
    t.start()
    wait_for(reached(upstream, "/slow/5000"), "the request to reach the upstream")
    started = time.time()
    g.signal(signal.SIGTERM)
    assert g.proc.wait(timeout=10) == 0
    assert time.time() - started < 4  # 300 ms of drain, not the 5 s the upstream takes
    t.join(5)
    assert "cut" in outcome


def test_sigusr1_reopens_the_access_log(gateway_for, upstream, tmp_path):
    log = tmp_path / "access.log"
    g = gateway_for(proxy_yaml(upstream.port, "access_log: %s\n" % log))
    requests.get(g.url + "/one")
    wait_for(lambda: "/one" in log.read_text(), "the first line to be written")
    os.rename(log, str(log) + ".1")
    g.signal(signal.SIGUSR1)
    wait_for(log.exists, "the access log to be opened again")
    requests.get(g.url + "/two")
    wait_for(lambda: "/two" in log.read_text(), "the second line to be written")
    assert "/one" in open(str(log) + ".1").read()
    assert "/two" in log.read_text() and "/one" not in log.read_text()


def test_the_start_event_names_every_address_it_answers_on(gateway_for, upstream):
    g = gateway_for(proxy_yaml(upstream.port))
    start = [json.loads(l) for l in g.event_lines() if '"event":"start"' in l][0]
    assert start["listeners"] == ["127.0.0.1:%d" % g.port]
    assert start["admin"] == "127.0.0.1:%d" % g.admin_port


def test_a_reload_answers_with_its_warnings(gateway_for, upstream):
    g = gateway_for(proxy_yaml(upstream.port))
    # A risky pattern in a route's path is a warning, not an error.
    g.write_config(proxy_yaml(upstream.port) + "  - {name: dup, match: {prefix: /}, auth: none, "
                   "respond: {}}\n")
    status, text = g.admin("/reload", method="POST")
    assert status == 200 and text.startswith("reloaded "), text
    assert ": warning: " in text and "routes[1]" in text, text


def test_a_log_that_cannot_be_reopened_says_so_and_keeps_its_file(gateway_for, upstream, tmp_path):
    folder = tmp_path / "logs"
    folder.mkdir()
    log = folder / "access.log"
    g = gateway_for(proxy_yaml(upstream.port, "access_log: %s\n" % log))
    os.rename(folder, str(folder) + ".gone")  # the folder is gone: the file cannot be opened
    g.signal(signal.SIGUSR1)
    wait_for(lambda: any('"log_reopen"' in l for l in g.event_lines()), "the reopen event")
    event = [json.loads(l) for l in g.event_lines() if '"log_reopen"' in l][-1]
    assert event["level"] == "error" and "No such file or directory" in event["message"], event
    requests.get(g.url + "/after")
    moved = tmp_path / "logs.gone" / "access.log"
    wait_for(lambda: "/after" in moved.read_text(), "the line in the file it had")


def test_a_reload_to_an_access_log_that_cannot_be_opened_fails(gateway_for, upstream, tmp_path):
    log = tmp_path / "access.log"
    g = gateway_for(proxy_yaml(upstream.port, "access_log: %s\n" % log))
    g.write_config(proxy_yaml(upstream.port, "access_log: %s/no/dir/a.log\n" % tmp_path))
    status, text = g.admin("/reload", method="POST")
    assert status == 422 and "access_log: cannot open %s/no/dir/a.log: No such file or " \
        "directory" % tmp_path in text, text
    assert g.metric('gatehouse_reloads_total{result="failure"}') == 1
    requests.get(g.url + "/still")
    wait_for(lambda: "/still" in log.read_text(), "the line in the file in force")


def test_check_reports_file_line_col_and_exit_codes(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("listeners: [{address: 127.0.0.1:1}]\n"
                    "routes: [{name: r, match: {prefix: /}, auth: none, respond: {}}]\n")
    p = subprocess.run([BIN, "check", "-c", str(good)], capture_output=True, text=True)
    assert p.returncode == 0 and "ok" in p.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("listeners: [{address: 127.0.0.1:1}]\n"
                   "routes:\n  - name: r\n    match: {prefix: /}\n    upstream: nope\n    timeout: 5s\n")
    p = subprocess.run([BIN, "check", "-c", str(bad)], capture_output=True, text=True)
    assert p.returncode == 1
    assert "bad.yaml:6:5: routes[0]: unknown key 'timeout'" in p.stderr
    assert "bad.yaml:3:5: routes[0].auth: required" in p.stderr
    assert "routes[0].upstream: no upstream named 'nope'" in p.stderr
    p = subprocess.run([BIN, "check", "-c", str(tmp_path / "missing.yaml")], capture_output=True, text=True)
    assert p.returncode == 1 and "cannot open" in p.stderr
    p = subprocess.run([BIN, "run"], capture_output=True, text=True)
    assert p.returncode == 2


def test_run_refuses_a_bad_config_and_a_busy_port(tmp_path, upstream):
    bad = tmp_path / "bad.yaml"
    bad.write_text("listeners: [{address: 127.0.0.1:1}]\nroutes: []\n")
    p = subprocess.run([BIN, "run", "-c", str(bad)], capture_output=True, text=True, timeout=10)
    assert p.returncode == 1 and "routes: at least one route" in p.stderr
    busy = tmp_path / "busy.yaml"
    busy.write_text("listeners: [{address: 127.0.0.1:%d}]\n"
                    "routes: [{name: r, match: {prefix: /}, auth: none, respond: {}}]\n" % upstream.port)
    p = subprocess.run([BIN, "run", "-c", str(busy)], capture_output=True, text=True, timeout=10)
    assert p.returncode == 1 and "cannot listen on 127.0.0.1:%d" % upstream.port in p.stderr


def test_an_admin_path_asked_with_another_method_is_405_with_allow(gateway_for, upstream):
    g = gateway_for(proxy_yaml(upstream.port))
    for method, path, allow in (("GET", "/reload", "POST"), ("POST", "/metrics", "GET"),
                                ("DELETE", "/healthz", "GET")):
        r = requests.request(method, "http://127.0.0.1:%d%s" % (g.admin_port, path), timeout=5)
        assert (r.status_code, r.headers.get("Allow")) == (405, allow), (method, path)
    assert g.metric('gatehouse_reloads_total{result="success"}') == 0  # GET reloaded nothing
    r = requests.get("http://127.0.0.1:%d/nope" % g.admin_port, timeout=5)
    assert r.status_code == 404 and "Allow" not in r.headers


def test_an_access_log_that_cannot_be_opened_stops_the_start_cleanly(tmp_path):
    """It used to abort with a double free: the failed start freed the path, the stop again."""
    conf = tmp_path / "log.yaml"
    conf.write_text("listeners: [{address: 127.0.0.1:%d}]\naccess_log: %s/no/such/dir/a.log\n"
                    "routes: [{name: r, match: {prefix: /}, auth: none, respond: {}}]\n"
                    % (free_port(), tmp_path))
    p = subprocess.run([BIN, "run", "-c", str(conf)], capture_output=True, text=True, timeout=10)
    assert p.returncode == 1, p.stderr
    assert "access_log: cannot open %s/no/such/dir/a.log: No such file or directory" % tmp_path \
        in p.stderr, p.stderr
    assert "double free" not in p.stderr and "AddressSanitizer" not in p.stderr, p.stderr


def test_reload_opens_and_closes_listeners(gateway_for, upstream):
    from testenv import free_port
    g = gateway_for(proxy_yaml(upstream.port), workers=2)
    extra = free_port()
    text = open(g.config).read().replace(
        "listeners: [{address: 127.0.0.1:%d}]" % g.port,
        "listeners: [{address: 127.0.0.1:%d}, {address: 127.0.0.1:%d}]" % (g.port, extra))
    open(g.config, "w").write(text)
    assert g.admin("/reload", "POST")[0] == 200
    assert requests.get("http://127.0.0.1:%d/added" % extra).status_code == 200
    with requests.Session() as s:  # a keep-alive connection on the kept listener survives
        assert s.get(g.url + "/kept").status_code == 200
        g.write_config(proxy_yaml(upstream.port))
        assert g.admin("/reload", "POST")[0] == 200
        assert s.get(g.url + "/kept").status_code == 200
    try:
        requests.get("http://127.0.0.1:%d/gone" % extra, timeout=1)
        assert False, "the removed listener still answers"
    except requests.exceptions.ConnectionError:
        pass


def h2c_statuses(port, n):
    """n HTTP/2 (prior knowledge) requests, each on its own connection: "<version> <status>"."""
    return [subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
                            "--http2-prior-knowledge", "http://127.0.0.1:%d/x" % port],
                           capture_output=True, text=True, timeout=30).stdout for _ in range(n)]


def run_briefly(config):
    """`gatehouse run` on config: (exit code or None while it still runs after 5 s, stderr)."""
    p = subprocess.Popen([BIN, "run", "-c", str(config)], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    try:
        p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    return p


def stop(p):
    if p.poll() is None:
        p.kill()
    return p.wait(), p.stderr.read()


def test_an_address_another_process_listens_on_is_refused(gateway_for, upstream, tmp_path):
    """Workers share each listening address through SO_REUSEPORT, which any process of the same
    user could join and take a share of the connections of: a second gateway on a listener's
    address, an admin listener on it, or a reload adding it must fail, and every connection
    still reaches the gateway that had the address first."""
    from testenv import free_port
    g = gateway_for(proxy_yaml(upstream.port), listener_extra=", h2c: true")
    route = "routes: [{name: r, match: {prefix: /}, auth: none, respond: {status: 418}}]\n"
    second = tmp_path / "second.yaml"
    second.write_text("listeners: [{address: 127.0.0.1:%d}]\n%s" % (g.port, route))
    p = run_briefly(second)
    served = h2c_statuses(g.port, 16)  # while a second gateway that started would share the port
    rc, err = stop(p)
    assert served == ["2 200"] * 16, served
    assert rc == 1, (rc, err)
    # The message names the process that holds the address.
    assert "cannot listen on 127.0.0.1:%d: Address already in use (held by pid %d, gatehouse)" % (g.port, g.proc.pid) in err, err
    with socket.socket() as foreign:  # not a gateway: its pid and name all the same
        foreign.bind(("127.0.0.1", 0))
        foreign.listen()
        taken = tmp_path / "taken.yaml"
        taken.write_text("listeners: [{address: 127.0.0.1:%d}]\n%s" % (foreign.getsockname()[1], route))
        rc, err = stop(run_briefly(taken))
        assert rc == 1 and "(held by pid %d, " % os.getpid() in err, err
    port = free_port()
    same = tmp_path / "same.yaml"
    same.write_text("listeners: [{address: 127.0.0.1:%d}]\nadmin: {address: 127.0.0.1:%d}\n%s" % (port, port, route))
    rc, err = stop(run_briefly(same))
    assert rc == 1 and "admin: cannot listen on 127.0.0.1:%d: Address already in use (by this gateway's own listeners)" % port in err, (rc, err)
    other = gateway_for(proxy_yaml(upstream.port))
    text = open(other.config).read().replace(
        "listeners: [{address: 127.0.0.1:%d}]" % other.port,
        "listeners: [{address: 127.0.0.1:%d}, {address: 127.0.0.1:%d}]" % (other.port, g.port))
    open(other.config, "w").write(text)
    status, body = other.admin("/reload", "POST")
    served = h2c_statuses(g.port, 16)
    assert served == ["2 200"] * 16, served
    assert status != 200 and "cannot listen on 127.0.0.1:%d" % g.port in body, (status, body)



@pytest.mark.parametrize("family, held, wanted", [
    (socket.AF_INET6, "::ffff:127.0.0.1", "127.0.0.1"),  # an IPv4 address an IPv6 socket holds
    (socket.AF_INET6, "::", "127.0.0.1"),                # a dual-stack wildcard
    (socket.AF_INET, "0.0.0.0", "127.0.0.1"),            # the IPv4 wildcard
    (socket.AF_INET6, "::1", "[::1]"),                   # IPv6 itself
])
def test_the_holder_of_an_address_is_named_whatever_its_family(tmp_path, family, held, wanted):
    route = "routes: [{name: r, match: {prefix: /}, auth: none, respond: {status: 418}}]\n"
    with socket.socket(family) as foreign:
        if family == socket.AF_INET6 and held != "::1":
            foreign.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        foreign.bind((held, 0))
        foreign.listen()
        taken = tmp_path / "taken.yaml"
        taken.write_text("listeners: [{address: \"%s:%d\"}]\n%s" % (wanted, foreign.getsockname()[1], route))
        rc, err = stop(run_briefly(taken))
    assert rc == 1 and "Address already in use (held by pid %d, " % os.getpid() in err, err
