"""`gatehouse reload|stop|status` against a running gateway, the admin API behind admin.token
(401 problem+json with WWW-Authenticate, probes open), a non-loopback admin without a token
refused at load, and pid_file (written once bound, removed only while it holds this pid)."""
import base64
import json
import os
import re
import socket
import stat
import subprocess
import time

import pytest
import requests

from conftest import proxy_yaml, request_in_flight
from testenv import BIN, Gateway, free_port, wait_for

TOKEN = "t0ken-" + "x" * 26


class AdminGateway(Gateway):
    """A gateway whose admin mapping carries admin_extra (", token: ...")."""

    def __init__(self, yaml_text, admin_extra=""):
        self.admin_extra = admin_extra
        super().__init__(yaml_text)

    def write_config(self, yaml_text, workers=1):
        super().write_config(yaml_text, workers)
        with open(self.config) as f:
            text = f.read()
        plain = "admin: {address: 127.0.0.1:%d}" % self.admin_port
        with open(self.config, "w") as f:
            f.write(text.replace(plain, plain[:-1] + self.admin_extra + "}"))

    def ask(self, path, method="GET", token=None):
        headers = {"Authorization": "Bearer " + token} if token else {}
        return requests.request(method, "http://127.0.0.1:%d%s" % (self.admin_port, path),
                                headers=headers, timeout=10)


BASIC_CHALLENGE = 'Basic realm="gatehouse-admin", charset="UTF-8"'


def challenges(r):
    """Each WWW-Authenticate line of an answer, in order (requests joins them)."""
    return r.raw.headers.getlist("WWW-Authenticate")


@pytest.fixture
def started():
    gateways = []

    def start(yaml_text, admin_extra=""):
        g = AdminGateway(yaml_text, admin_extra)
        gateways.append(g)
        return g

    yield start
    for g in gateways:
        g.__exit__(None, None, None)


@pytest.fixture
def token_file(tmp_path):
    path = tmp_path / "admin.token"
    path.write_text(TOKEN + "\n")
    os.chmod(str(path), 0o600)
    return str(path)


def gatehouse(*args, timeout=60):
    return subprocess.run([BIN] + list(args), capture_output=True, text=True, timeout=timeout)


def with_token(token_file):
    return ', token: "${file:%s}"' % token_file


# --- status ------------------------------------------------------------------------------------

def test_status_summarizes_a_ready_gateway_and_exits_0(started, upstream):
    dead = free_port()
    g = started(proxy_yaml([upstream.port, dead],
                           upstream_extra=", health: {tcp: {interval: 100ms, healthy_after: 1, "
                                          "unhealthy_after: 1}}"))
    wait_for(lambda: '"health":"down"' in g.ask("/status").text
             and '"health":"up"' in g.ask("/status").text, "both verdicts")
    r = gatehouse("status", "-c", g.config)
    assert r.returncode == 0, r
    out = r.stdout
    config_hash = re.search(r'config_info\{hash="(\w+)"', g.metrics()).group(1)
    assert re.match(r"gatehouse \S+, pid %d, up \d+d \d\d:\d\d:\d\d\n" % g.proc.pid, out), out
    assert "state:     ready\n" in out and "config:    sha256 %s\n" % config_hash in out
    assert "workers:   1\n" in out and "  127.0.0.1:%d\n" % g.port in out
    assert re.search(r"127\.0\.0\.1:%d +up\n" % upstream.port, out), out
    assert re.search(r"127\.0\.0\.1:%d +down\n" % dead, out), out
    j = json.loads(gatehouse("status", "--admin", "127.0.0.1:%d" % g.admin_port, "--json").stdout)
    assert set(j) == {"version", "config_hash", "uptime_s", "pid", "workers", "listeners",
                      "upstreams", "ready", "draining"}
    assert (j["pid"], j["workers"], j["ready"], j["draining"]) == (g.proc.pid, 1, True, False)
    assert j["config_hash"] == config_hash
    assert j["listeners"] == [{"name": "127.0.0.1:%d" % g.port,
                               "address": "127.0.0.1:%d" % g.port, "tls": False}]
    health = {e["endpoint"]: e["health"] for e in j["upstreams"][0]["endpoints"]}
    assert health == {"127.0.0.1:%d" % upstream.port: "up", "127.0.0.1:%d" % dead: "down"}


def test_status_exits_1_when_not_ready(started):
    # An identity provider whose keys never came: its routes answer 503, /readyz too.
    g = started("""
identity:
  jwt:
    corp: {issuer: https://idp.test, jwks_uri: "http://127.0.0.1:%d/jwks", audiences: [a],
           algorithms: [ES256]}
routes:
  - {name: orders, match: {prefix: /orders}, auth: {jwt: corp}, respond: {status: 204}}
""" % free_port())
    r = gatehouse("status", "-c", g.config)
    assert r.returncode == 1 and "state:     not ready\n" in r.stdout, r
    assert "why:\n  identity provider corp has no keys: " in r.stdout, r.stdout
    assert json.loads(g.ask("/status").text)["ready"] is False


def test_status_of_an_unreachable_admin_exits_2_naming_it():
    port = free_port()
    r = gatehouse("status", "--admin", "127.0.0.1:%d" % port)
    assert r.returncode == 2 and r.stdout == "", r
    assert ("gatehouse status: cannot reach the admin listener at 127.0.0.1:%d: Connection refused"
            % port) in r.stderr


def test_a_configuration_without_admin_is_refused_precisely(tmp_path):
    path = tmp_path / "g.yaml"
    path.write_text("listeners: [{address: 127.0.0.1:%d}]\n"
                    "routes: [{name: a, match: {prefix: /}, auth: none, respond: {status: 204}}]\n"
                    % free_port())
    for verb in ("reload", "stop", "status"):
        r = gatehouse(verb, "-c", str(path))
        assert r.returncode == 2, r
        assert ("gatehouse %s: %s has no admin listener (admin.address)" % (verb, path)) in r.stderr


@pytest.mark.parametrize("verb", ["reload", "stop", "status"])
def test_each_verb_has_help_and_refuses_what_it_does_not_know(verb):
    r = gatehouse(verb, "--help")
    assert r.returncode == 0 and r.stdout.startswith("usage: gatehouse %s [-c FILE" % verb), r
    assert ("--wait" in r.stdout) == (verb == "stop")
    r = gatehouse(verb)
    assert r.returncode == 2 and "give either -c FILE or --admin HOST:PORT" in r.stderr, r
    r = gatehouse(verb, "--admin", "127.0.0.1:1", "--frob")
    assert r.returncode == 2 and "unexpected argument '--frob'" in r.stderr, r


def test_usage_lists_the_verbs():
    assert "gatehouse reload|stop|status" in gatehouse("--help").stdout


# --- reload -----------------------------------------------------------------------------------

def test_reload_prints_the_report_and_exits_1_when_refused(started, upstream):
    g = started(proxy_yaml(upstream.port))
    r = gatehouse("reload", "-c", g.config)
    assert r.returncode == 0 and r.stdout.startswith("reloaded "), r
    assert r.stdout.split()[1] == re.search(r'config_info\{hash="(\w+)"', g.metrics()).group(1)
    # A warning of the new file is in the report.
    g.write_config(proxy_yaml(upstream.port) + """
  - {name: never, match: {prefix: /}, auth: none, respond: {status: 204}}
""")
    r = gatehouse("reload", "-c", g.config, "--json")
    j = json.loads(r.stdout)
    assert r.returncode == 0 and j["reloaded"] is True and "warning" in j["report"], r
    # The gateway refuses a file that does not load: exit 1, its errors at file:line:col.
    g.write_config("routes:\n  - {name: x, match: {path: /x}, auth: none, respnd: {}}\n")
    r = gatehouse("reload", "--admin", "127.0.0.1:%d" % g.admin_port)
    assert r.returncode == 1, r
    assert re.search(re.escape(g.config) + r":\d+:\d+: .*respnd", r.stderr), r.stderr
    # With -c the same file is read first: it does not load, nothing is asked, exit 1.
    r = gatehouse("reload", "-c", g.config)
    assert r.returncode == 1 and "does not load" in r.stderr, r
    assert "the running gateway keeps its configuration" in r.stderr, r.stderr
    # status cannot find the listener in that file either: it says how to name it instead.
    r = gatehouse("status", "-c", g.config)
    assert r.returncode == 2 and "--admin HOST:PORT" in r.stderr.splitlines()[-1], r


# --- stop -------------------------------------------------------------------------------------

def test_stop_drains_and_wait_returns_once_the_process_is_gone(started, upstream):
    g = started(proxy_yaml(upstream.port, extra="drain_timeout: 2s\n"))
    status = g.ask("/stop", "GET")
    assert (status.status_code, status.headers["Allow"]) == (405, "POST")
    r = gatehouse("stop", "-c", g.config, "--wait", timeout=30)
    assert r.returncode == 0, r
    assert r.stdout == ("gatehouse (pid %d) at 127.0.0.1:%d is draining\n"
                        "gatehouse (pid %d) stopped\n" % (g.proc.pid, g.admin_port, g.proc.pid))
    assert g.proc.poll() == 0
    assert any('"event":"admin_stop"' in line for line in g.event_lines())


def test_status_says_draining_and_stop_wait_outlasts_the_drain(started, upstream):
    g = started(proxy_yaml(upstream.port))
    t, result = request_in_flight(g, upstream, "/slow/2500")
    began = time.time()
    stopper = subprocess.Popen([BIN, "stop", "-c", g.config, "--wait"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    wait_for(lambda: json.loads(g.ask("/status").text)["draining"], "the drain to begin")
    r = gatehouse("status", "-c", g.config)
    assert r.returncode == 1 and "state:     draining\n" in r.stdout, r
    assert "why:\n  draining\n" in r.stdout, r.stdout
    out, err = stopper.communicate(timeout=30)
    assert stopper.returncode == 0 and out.endswith("stopped\n"), (out, err)
    assert time.time() - began > 1.5  # it waited for the request in flight
    t.join(10)
    assert result["r"].status_code == 200 and g.proc.poll() == 0


def test_post_stop_answers_202_and_drains(started, upstream):
    g = started(proxy_yaml(upstream.port))
    r = g.ask("/stop", "POST")
    assert r.status_code == 202 and r.headers["Content-Type"] == "application/json"
    assert r.json() == {"status": "draining", "pid": g.proc.pid, "drain_timeout_ms": 30000}
    g.proc.wait(15)
    assert g.proc.returncode == 0


# --- admin.token --------------------------------------------------------------------------------

def test_the_token_is_required_refused_and_accepted(started, upstream, token_file):
    g = started(proxy_yaml(upstream.port), admin_extra=with_token(token_file))
    # The probes stay open: load balancers and kubelets carry no token.
    assert g.ask("/healthz").status_code == 200 and g.ask("/readyz").status_code == 200
    for path, method in (("/status", "GET"), ("/metrics", "GET"), ("/reload", "POST"),
                         ("/stop", "POST"), ("/nope", "GET"), ("/healthz", "POST")):
        r = g.ask(path, method)
        assert r.status_code == 401, (path, r.status_code)
        assert challenges(r) == ['Bearer realm="gatehouse-admin"', BASIC_CHALLENGE]
        assert r.headers["Content-Type"] == "application/problem+json"
        assert r.json()["type"] == "urn:gatehouse:problem:missing-token"
    r = g.ask("/status", token="x" * len(TOKEN))
    assert r.status_code == 401 and r.json()["type"] == "urn:gatehouse:problem:invalid-token"
    assert challenges(r) == ['Bearer realm="gatehouse-admin", error="invalid_token"',
                             BASIC_CHALLENGE]
    r = requests.get("http://127.0.0.1:%d/status" % g.admin_port,
                     headers={"Authorization": "Digest " + TOKEN}, timeout=10)
    assert r.status_code == 401 and "neither Bearer nor Basic" in r.json()["detail"]
    assert g.ask("/status", token=TOKEN).status_code == 200
    assert g.ask("/metrics", token=TOKEN).status_code == 200
    refused = [json.loads(line) for line in g.event_lines() if '"admin_refused"' in line]
    assert {e["reason"] for e in refused} == {"missing-token", "invalid-token"}
    assert any(e["message"] == "admin request refused: wrong admin token" and e["path"] == "/status"
               and e["peer"] == "127.0.0.1" for e in refused), refused
    # The verbs: the token from -c FILE, from --token-file, or none (401: exit 2).
    assert gatehouse("status", "-c", g.config).returncode == 0
    admin = "127.0.0.1:%d" % g.admin_port
    assert gatehouse("status", "--admin", admin, "--token-file", token_file).returncode == 0
    r = gatehouse("status", "--admin", admin)
    assert r.returncode == 2 and "refused the token (401)" in r.stderr, r
    r = gatehouse("stop", "--admin", admin)
    assert r.returncode == 2 and g.proc.poll() is None, r


def test_a_browser_sends_the_token_as_basic_and_changes_only_from_the_dashboard(
        started, upstream, token_file):
    """The dashboard's way in: Basic credentials with the token as the password (the user name
    is not read). A browser sends them again on its own, with another site's form too: a change
    made with them needs X-Gatehouse-Dashboard, which such a form cannot add."""
    g = started(proxy_yaml(upstream.port), admin_extra=with_token(token_file))
    url = "http://127.0.0.1:%d" % g.admin_port

    def basic(user, password):
        return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()

    for user in ("admin", "", "anyone"):
        r = requests.get(url + "/status", headers={"Authorization": basic(user, TOKEN)}, timeout=10)
        assert r.status_code == 200, (user, r.text)
    r = requests.get(url + "/", headers={"Authorization": basic("admin", TOKEN)}, timeout=10)
    assert r.status_code == 200 and "<title>Gatehouse</title>" in r.text
    # Another site's <script src> or <img src> carries the same credentials: no answer may be
    # taken in by a page of another origin, nor read as a type it is not.
    for path in ("/config", "/metrics", "/status", "/bans", "/stats", "/", "/nope"):
        r = requests.get(url + path, headers={"Authorization": basic("admin", TOKEN)}, timeout=10)
        assert r.headers.get("Cross-Origin-Resource-Policy") == "same-origin", (path, r.headers)
        assert r.headers.get("X-Content-Type-Options") == "nosniff", (path, r.headers)
    r = requests.get(url + "/config", timeout=10)
    assert r.status_code == 401 and r.headers["Cross-Origin-Resource-Policy"] == "same-origin"
    r = requests.get(url + "/status", headers={"Authorization": basic("admin", TOKEN + "x")},
                     timeout=10)
    assert r.status_code == 401 and r.json()["type"] == "urn:gatehouse:problem:invalid-token"
    # Not credentials: bad base64, inner padding, no colon, a token as the user name.
    good = base64.b64encode(("admin:" + TOKEN).encode()).decode()
    for text in ("%%%%", good[:-1], "YQ==YQ==", base64.b64encode(TOKEN.encode()).decode()):
        r = requests.get(url + "/status", headers={"Authorization": "Basic " + text}, timeout=10)
        assert r.status_code == 401 and r.json()["type"] == "urn:gatehouse:problem:missing-token", \
            (text, r.text)
        assert "malformed Basic credentials" in r.json()["detail"]
    r = requests.get(url + "/status", headers={"Authorization": basic(TOKEN, "")}, timeout=10)
    assert r.status_code == 401 and r.json()["type"] == "urn:gatehouse:problem:invalid-token"
    # A change with the browser's credentials: refused without the dashboard's header.
    def reloads():
        m = re.findall(r'^gatehouse_reloads_total\{result="success"\} (\d+)',
                       g.ask("/metrics", token=TOKEN).text, re.M)
        return int(m[0]) if m else 0

    before = reloads()
    r = requests.post(url + "/reload", headers={"Authorization": basic("admin", TOKEN),
                                                "Content-Type": "text/plain"}, timeout=10)
    assert r.status_code == 403 and r.headers["Content-Type"] == "application/problem+json"
    assert r.json()["type"] == "urn:gatehouse:problem:cors-refused", r.text
    assert "WWW-Authenticate" not in r.headers
    assert reloads() == before
    refused = [json.loads(line) for line in g.event_lines() if '"admin_refused"' in line]
    assert any(e["reason"] == "cors-refused" and e["path"] == "/reload" for e in refused), refused
    r = requests.post(url + "/reload", headers={"Authorization": basic("admin", TOKEN),
                                                "X-Gatehouse-Dashboard": "1"}, timeout=10)
    assert r.status_code == 200 and reloads() == before + 1, r.text
    # A tool's Bearer token needs no such header: no browser sends it on its own.
    assert g.ask("/reload", "POST", token=TOKEN).status_code == 200 and reloads() == before + 2


def test_without_a_token_another_sites_page_changes_nothing(started, upstream):
    """No admin.token: tools change things freely, but the operator's browser, which can reach
    the loopback listener, must not do so for another site's page (a form posting to /stop)."""
    g = started(proxy_yaml(upstream.port))
    url = "http://127.0.0.1:%d" % g.admin_port

    def reloads():
        m = re.findall(r'^gatehouse_reloads_total\{result="success"\} (\d+)',
                       g.ask("/metrics").text, re.M)
        return int(m[0]) if m else 0

    before = reloads()
    form = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site",
            "Content-Type": "application/x-www-form-urlencoded"}
    for path in ("/reload", "/stop"):
        r = requests.post(url + path, headers=form, data="a=1", timeout=10)
        assert r.status_code == 403, (path, r.status_code, r.text)
        assert r.json()["type"] == "urn:gatehouse:problem:cors-refused"
    r = requests.delete(url + "/bans/10.0.0.1", headers={"Origin": "null"}, timeout=10)
    assert r.status_code == 403
    assert reloads() == before and g.proc.poll() is None
    assert requests.get(url + "/status", headers=form, timeout=10).status_code == 200
    # The dashboard's own request, and a tool's, which sends no Origin.
    r = requests.post(url + "/reload", headers={"Origin": url, "X-Gatehouse-Dashboard": "1"},
                      timeout=10)
    assert r.status_code == 200 and reloads() == before + 1, r.text
    assert g.ask("/reload", "POST").status_code == 200 and reloads() == before + 2
    refused = [json.loads(line) for line in g.event_lines() if '"admin_refused"' in line]
    assert any(e["reason"] == "cors-refused" and e["path"] == "/stop" for e in refused), refused
    # DNS rebinding: a page whose name now points at 127.0.0.1 is this listener's origin to the
    # browser, so it may add the header and read answers; its Host still names it.
    rebound = "evil.example:%d" % g.admin_port
    page = {"Host": rebound, "Sec-Fetch-Site": "same-origin"}
    assert requests.get(url + "/config", headers=page, timeout=10).status_code == 403
    r = requests.post(url + "/stop", headers={"Host": rebound, "Origin": "http://" + rebound,
                                              "X-Gatehouse-Dashboard": "1"}, timeout=10)
    assert r.status_code == 403 and g.proc.poll() is None
    page["Host"] = "localhost:%d" % g.admin_port
    assert requests.get(url + "/config", headers=page, timeout=10).status_code == 200


def test_an_admin_off_loopback_needs_a_token(tmp_path, token_file):
    path = tmp_path / "g.yaml"
    base = ("listeners: [{address: 127.0.0.1:8080}]\nadmin:\n  address: %s\n%s"
            "routes: [{name: a, match: {prefix: /}, auth: none, respond: {status: 204}}]\n")
    for address in ("0.0.0.0:9901", "10.1.2.3:9901", '"[::]:9901"'):
        path.write_text(base % (address, ""))
        r = gatehouse("check", "-c", str(path))
        assert r.returncode == 1, r
        assert ("%s:3:12: admin.address: an admin listener reachable beyond this host needs "
                "admin.token" % path) in r.stderr, r.stderr
    path.write_text(base % ("0.0.0.0:9901", '  token: "${file:%s}"\n' % token_file))
    r = gatehouse("check", "-c", str(path))
    assert r.returncode == 0 and "warning" not in r.stderr, r
    for address in ("127.0.0.1:9901", '"[::1]:9901"'):
        path.write_text(base % (address, ""))
        assert gatehouse("check", "-c", str(path)).returncode == 0
    # A short token is refused where it is written.
    short = tmp_path / "short.token"
    short.write_text("abc\n")
    path.write_text(base % ("127.0.0.1:9901", '  token: "${file:%s}"\n' % short))
    r = gatehouse("check", "-c", str(path))
    assert r.returncode == 1 and ":4:10: admin.token: an admin token is at least 16" in r.stderr, r


# --- pid_file ---------------------------------------------------------------------------------

def test_pid_file_is_written_once_bound_and_removed_at_exit(started, upstream, tmp_path):
    pid_file = tmp_path / "run" / "gatehouse.pid"
    os.makedirs(str(pid_file.parent))
    g = started(proxy_yaml(upstream.port, extra="pid_file: %s\n" % pid_file))
    assert pid_file.read_text() == "%d\n" % g.proc.pid
    assert stat.S_IMODE(os.stat(str(pid_file)).st_mode) == 0o644
    assert os.listdir(str(pid_file.parent)) == ["gatehouse.pid"]  # no temporary file left
    assert g.stop() == 0
    assert not pid_file.exists()


def test_a_pid_file_taken_over_by_another_process_is_left_alone(started, upstream, tmp_path):
    pid_file = tmp_path / "gatehouse.pid"
    g = started(proxy_yaml(upstream.port, extra="pid_file: %s\n" % pid_file))
    pid_file.write_text("%d\n" % os.getpid())  # as a graceful upgrade's new process would
    assert g.stop() == 0
    assert pid_file.read_text() == "%d\n" % os.getpid()


@pytest.mark.parametrize("where", ["missing-dir/gatehouse.pid", "is-a-dir"])
def test_an_unwritable_pid_file_stops_the_start(tmp_path, where):
    os.makedirs(str(tmp_path / "is-a-dir"))
    target = tmp_path / where
    port, admin_port = free_port(), free_port()
    path = tmp_path / "g.yaml"
    path.write_text("listeners: [{address: 127.0.0.1:%d}]\nadmin: {address: 127.0.0.1:%d}\n"
                    "pid_file: %s\n"
                    "routes: [{name: a, match: {prefix: /}, auth: none, respond: {status: 204}}]\n"
                    % (port, admin_port, target))
    r = subprocess.run([BIN, "run", "-c", str(path)], capture_output=True, text=True, timeout=20)
    assert r.returncode == 1, r
    why = "No such file or directory" if where.startswith("missing") else "Is a directory"
    assert "%s: pid_file: cannot write %s: %s" % (path, target, why) in r.stderr, r.stderr
    assert '"event":"start"' not in r.stderr
    assert sorted(os.listdir(str(tmp_path))) == ["g.yaml", "is-a-dir"]
    assert os.listdir(str(tmp_path / "is-a-dir")) == []


def test_a_second_gateway_on_the_same_addresses_leaves_the_pid_file_alone(started, upstream,
                                                                         tmp_path):
    pid_file = tmp_path / "gatehouse.pid"
    g = started(proxy_yaml(upstream.port, extra="pid_file: %s\n" % pid_file))
    r = subprocess.run([BIN, "run", "-c", g.config], capture_output=True, text=True, timeout=20)
    assert r.returncode == 1 and "Address already in use" in r.stderr, r
    assert pid_file.read_text() == "%d\n" % g.proc.pid
    assert os.listdir(str(tmp_path)) == ["gatehouse.pid"]



def test_a_refusal_of_a_long_method_and_path_logs_whole_json(started, upstream, token_file):
    g = started(proxy_yaml(upstream.port), admin_extra=with_token(token_file))
    with socket.create_connection(("127.0.0.1", g.admin_port), timeout=10) as s:
        s.sendall(b"A" * 600 + b" /" + b'"' * 250 + b" HTTP/1.1\r\nHost: admin\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 401 ")
    refused = [json.loads(line) for line in g.event_lines() if '"admin_refused"' in line]
    assert len(refused) == 1 and refused[0]["method"] == "A" * 32, refused
    assert refused[0]["path"] == "/" + '"' * 250


def test_admin_connections_are_bounded(started, upstream):
    """A flood of idle admin connections cannot take the descriptors the workers need: beyond
    64 open, a new one is closed at once (and said so, once a second), as the listeners do at
    limits.max_connections; once they go, the admin answers again."""
    g = started(proxy_yaml(upstream.port))

    def closed_unanswered():
        with socket.create_connection(("127.0.0.1", g.admin_port), timeout=5) as more:
            more.sendall(b"GET /healthz HTTP/1.1\r\nHost: admin\r\n\r\n")
            try:
                return more.recv(100) == b""
            except ConnectionResetError:
                return True
    idle = [socket.create_connection(("127.0.0.1", g.admin_port), timeout=10) for _ in range(64)]
    try:
        # Once the 64 are accepted, every new connection is closed rather than answered.
        wait_for(closed_unanswered, "a connection beyond 64 to be closed unanswered")
        assert requests.get(g.url + "/", timeout=10).status_code == 200  # the data plane serves
    finally:
        for s in idle:
            s.close()
    def answers():
        try:
            return g.ask("/healthz").status_code == 200
        except requests.ConnectionError:
            return False  # the idle ones' closes not yet seen
    wait_for(answers, "the admin to answer again")
    busy = {json.loads(l)["message"] for l in g.event_lines() if '"admin_busy"' in l}
    assert busy == {"admin connection closed: 64 already open"}, busy
