"""Graceful binary upgrade: SIGUSR2 starts the binary again on the listening sockets (the
listeners' and the admin's); once the new process is ready the old one drains and exits, and no
request fails. A new process that fails leaves the old one serving."""
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest

import testenv
from conftest import proxy_yaml
from testenv import Gateway, read_response, wait_for

PR_SET_CHILD_SUBREAPER = 36
REAL_BIN = os.path.realpath(testenv.BIN)


def children():
    """The pids of this process's children (the gateways it started, and what came to it)."""
    me, pids = os.getpid(), []
    for name in os.listdir("/proc"):
        try:
            with open("/proc/%s/stat" % name) as f:
                if name.isdigit() and int(f.read().split(") ", 1)[1].split()[1]) == me:
                    pids.append(int(name))
        except (OSError, IndexError, ValueError):
            pass
    return pids


@pytest.fixture(autouse=True)
def subreaper():
    """The new process of an upgrade is the old one's child: once the old one exits it comes to
    this process (not to init), so that the test can wait for it and read its exit status. A
    test that failed half-way leaves none running: they are stopped after it."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    before = set(children())
    yield
    for pid in set(children()) - before:
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                if b"gatehouse" not in f.read():
                    continue
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (OSError, ChildProcessError):
            pass


def events(g, name):
    return [json.loads(l) for l in g.event_lines() if '"event":"%s"' % name in l]


def wait_event(g, name, n=1, timeout=30):
    wait_for(lambda: len(events(g, name)) >= n, "%d %s event(s)" % (n, name), timeout)
    return events(g, name)[n - 1]


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


def upgrade(g):
    """SIGUSR2, then the new process's pid once the old one has exited 0."""
    g.signal(signal.SIGUSR2)
    pid = wait_event(g, "upgrade_ready")["pid"]
    assert g.proc.wait(timeout=30) == 0
    return pid


def stop_new(g, pid):
    """Ends the gateway the test started by upgrading: SIGTERM, and its exit status."""
    os.kill(pid, signal.SIGTERM)
    _, status = os.waitpid(pid, 0)
    ev = open(g.events).read()
    assert "ERROR: AddressSanitizer" not in ev and "runtime error:" not in ev, ev[-4000:]
    return os.waitstatus_to_exitcode(status)


def get(port, path, close=True, timeout=10.0):
    """One request on a new connection: its status, or None when it failed."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n"
                       % (path, "Connection: close\r\n" if close else "")).encode())
            return read_response(s, timeout)[0]
    except OSError:
        return None


class Prober:
    """A thread that asks port for path on a new connection each time, until stopped: every
    status it got, None for a connection that failed."""

    def __init__(self, port, path):
        self.port, self.path = port, path
        self.statuses, self.done = [], threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.done.is_set():
            self.statuses.append(get(self.port, self.path))

    def stop(self):
        self.done.set()
        self.thread.join(30)
        return self.statuses


def test_an_upgrade_under_load_fails_no_request(gateway_for, upstream):
    g = gateway_for(proxy_yaml(upstream.port), workers=2)
    # Keep-alive connections, and a new connection for every request (those wait in the
    # listening sockets' queues: a socket closed under them would reset them).
    loads = [subprocess.Popen(["wrk", "-t1", "-c12", "-d60s"] + extra + [g.url + "/load"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for extra in ([], ["-H", "Connection: close"])]
    fresh = Prober(g.port, "/fresh")
    wait_for(lambda: len(upstream.requests) > 300, "the load to start")
    # Three upgrades in a row: the new process of one is the old process of the next.
    pids = [g.proc.pid]
    for n in range(1, 4):
        g.signal(signal.SIGUSR2) if n == 1 else os.kill(pids[-1], signal.SIGUSR2)
        pids.append(wait_event(g, "upgrade_ready", n)["pid"])
        wait_for(lambda: not alive(pids[-2]), "process %d to exit" % pids[-2])
        before = len(upstream.requests)
        wait_for(lambda: len(upstream.requests) > before + 300, "requests after upgrade %d" % n)
    new = pids[-1]
    assert g.proc.wait(timeout=5) == 0
    for pid in pids[1:-1]:
        assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    for wrk in loads:
        wrk.send_signal(signal.SIGINT)  # wrk prints its summary on SIGINT
        out = wrk.communicate(timeout=30)[0]
        m = re.search(r"(\d+) requests in", out)
        assert m and int(m.group(1)) > 100, out
        assert "Non-2xx" not in out and "Socket errors" not in out, out
    statuses = fresh.stop()
    assert len(statuses) > 10 and set(statuses) == {200}, statuses
    assert len(set(pids)) == 4 and alive(new)
    assert get(g.port, "/after") == 200
    started = events(g, "upgrade_started")
    assert [e["pid"] for e in started] == pids[1:]
    assert [e["sockets"] for e in started] == [3, 3, 3]  # two workers' and the admin's
    assert stop_new(g, new) == 0


def test_a_broken_configuration_keeps_the_old_process_serving(gateway_for, upstream):
    g = gateway_for(proxy_yaml(upstream.port))
    good = open(g.config).read()
    with open(g.config, "a") as f:
        f.write("bogus_key: 1\n")
    g.signal(signal.SIGUSR2)
    failed = wait_event(g, "upgrade_failed")
    assert failed["level"] == "error" and failed["pid"] > 0
    assert "bogus_key" in failed["reason"] and g.config in failed["reason"], failed
    assert not events(g, "upgrade_ready")
    wait_for(lambda: not alive(failed["pid"]), "the failed process to exit")
    # The old process keeps every listener: the gateway's and the admin's.
    assert g.proc.poll() is None
    assert get(g.port, "/still") == 200
    assert g.admin("/readyz") == (200, "ready\n")
    # Once fixed, the next SIGUSR2 upgrades.
    open(g.config, "w").write(good)
    new = upgrade(g)
    assert get(g.port, "/fixed") == 200
    assert stop_new(g, new) == 0


def installed_copy(tmp_path):
    """The binary copied to a path of its own, as a package would install it."""
    path = str(tmp_path / "bin" / "gatehouse")
    os.makedirs(os.path.dirname(path))
    shutil.copy2(testenv.BIN, path)
    return path


def install(path, script):
    """A new file at path (a script that ends by running the binary), put there as package
    managers do: written beside it and renamed over it, while the old file still runs."""
    tmp = path + ".new"
    with open(tmp, "w") as f:
        f.write("#!/bin/sh\n" + script)
    os.chmod(tmp, 0o755)
    os.rename(tmp, path)


def test_the_file_now_at_the_binary_path_runs(tmp_path, monkeypatch, upstream):
    path = installed_copy(tmp_path)
    monkeypatch.setattr(testenv, "BIN", path)
    marker = tmp_path / "new-binary-ran"
    with Gateway(proxy_yaml(upstream.port)) as g:
        # The new file: it says it ran, takes its time (a second SIGUSR2 and a reload come
        # meanwhile), and runs the real binary with the arguments it was given.
        install(path, 'echo "$@" > %s\nsleep 2\nexec %s "$@"\n' % (marker, REAL_BIN))
        g.signal(signal.SIGUSR2)
        wait_event(g, "upgrade_started")
        wait_for(lambda: marker.exists(), "the new file to run")
        g.signal(signal.SIGUSR2)
        refused = wait_event(g, "upgrade_refused")
        assert refused["level"] == "warn" and "under way" in refused["message"]
        # So is a reload: the new process reads the file as it starts.
        assert g.admin("/reload", "POST") == (422, "binary upgrade under way: reload refused\n")
        new = wait_event(g, "upgrade_ready")["pid"]
        assert g.proc.wait(timeout=30) == 0
        assert marker.read_text().split() == ["run", "-c", g.config]
        assert os.readlink("/proc/%d/exe" % new) == REAL_BIN
        assert get(g.port, "/new") == 200
        assert len(events(g, "upgrade_started")) == 1
        assert stop_new(g, new) == 0


def test_a_new_process_that_dies_before_ready_changes_nothing(tmp_path, monkeypatch, upstream):
    path = installed_copy(tmp_path)
    monkeypatch.setattr(testenv, "BIN", path)
    with Gateway(proxy_yaml(upstream.port)) as g:
        install(path, "exit 3\n")
        g.signal(signal.SIGUSR2)
        failed = wait_event(g, "upgrade_failed")
        assert "exited with status 3 before it was ready" in failed["reason"], failed
        assert get(g.port, "/still") == 200 and g.admin("/healthz") == (200, "ok\n")


def test_the_admin_listener_answers_throughout_an_upgrade(gateway_for, upstream):
    g = gateway_for(proxy_yaml(upstream.port))
    admin = Prober(g.admin_port, "/healthz")
    wait_for(lambda: len(admin.statuses) > 20, "the admin probes to start")
    new = upgrade(g)
    count = len(admin.statuses)
    wait_for(lambda: len(admin.statuses) > count + 20, "admin probes after the upgrade")
    statuses = admin.stop()
    assert set(statuses) == {200}, statuses
    assert g.admin("/readyz") == (200, "ready\n")  # the new process answers: the old one is gone
    assert stop_new(g, new) == 0


def test_the_pid_file_follows_the_upgrade_and_the_verbs_reach_the_new_process(gateway_for,
                                                                             upstream, tmp_path):
    """The new process writes its pid once it listens; the old one leaves the file at its exit
    (it holds another pid); `gatehouse stop --wait` then stops the new one, which removes it."""
    pid_file = tmp_path / "gatehouse.pid"
    g = gateway_for(proxy_yaml(upstream.port, extra="pid_file: %s\n" % pid_file))
    assert pid_file.read_text() == "%d\n" % g.proc.pid
    new = upgrade(g)
    assert pid_file.read_text() == "%d\n" % new
    status = json.loads(subprocess.run([testenv.BIN, "status", "-c", g.config, "--json"],
                                       capture_output=True, text=True, timeout=30).stdout)
    assert status["pid"] == new
    r = subprocess.run([testenv.BIN, "stop", "-c", g.config, "--wait"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.endswith("(pid %d) stopped\n" % new), r
    assert not pid_file.exists()
    assert stop_new(g, new) == 0


def listening_sockets(pid, port):
    """How many listening sockets on port the process pid holds (ss, by socket)."""
    out = subprocess.run(["ss", "-Hltnp", "sport = :%d" % port], capture_output=True,
                         text=True).stdout
    return sum(1 for l in out.splitlines() if "pid=%d," % pid in l)


def test_workers_may_differ_and_no_socket_is_closed(gateway_for, upstream):
    """2 workers, then 3 (the third opens a socket beside the two handed over), then 1 (which
    keeps all three: closing one would reset the connections in its queue)."""
    g = gateway_for(proxy_yaml(upstream.port), workers=2)
    text = open(g.config).read()
    fresh = Prober(g.port, "/fresh")
    pids = [g.proc.pid]
    for n, workers in enumerate([3, 1], 1):
        open(g.config, "w").write(text.replace("workers: 2", "workers: %d" % workers))
        os.kill(pids[-1], signal.SIGUSR2)
        pids.append(wait_event(g, "upgrade_ready", n)["pid"])
        wait_for(lambda: not alive(pids[-2]), "process %d to exit" % pids[-2])
        assert wait_event(g, "start", n + 1)["workers"] == workers
    statuses = fresh.stop()
    assert len(statuses) > 10 and set(statuses) == {200}, statuses
    assert [e["sockets"] for e in events(g, "upgrade_started")] == [3, 4]
    assert listening_sockets(pids[-1], g.port) == 3
    os.waitpid(pids[1], 0)
    assert stop_new(g, pids[-1]) == 0


def test_only_listening_sockets_bound_where_they_are_named_are_adopted(tmp_path, upstream):
    """The variable is read with suspicion: a socket is kept only if the kernel says it listens
    where it is named and the configuration has that address; the rest is refused by name."""
    def listener(reuse=True):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, int(reuse))
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        return s, s.getsockname()[1]
    handed, port = listener()
    misnamed, _ = listener()
    admin_port = testenv.free_port()
    not_a_socket = open(tmp_path / "file", "w")
    cfg = tmp_path / "g.yaml"
    cfg.write_text("listeners: [{address: 127.0.0.1:%d}]\nadmin: {address: 127.0.0.1:%d}\n%s"
                   % (port, admin_port, proxy_yaml(upstream.port)))
    names = ["127.0.0.1:%d=%d" % (port, handed.fileno()),
             "127.0.0.1:1=%d" % misnamed.fileno(),
             "127.0.0.1:2=%d" % not_a_socket.fileno(), "junk"]
    env = dict(os.environ, GATEHOUSE_INHERITED_FDS=",".join(names))
    events_path = tmp_path / "events.log"
    p = subprocess.Popen([testenv.BIN, "run", "-c", str(cfg)], env=env, stdout=subprocess.DEVNULL,
                         stderr=open(events_path, "w"),
                         pass_fds=(handed.fileno(), misnamed.fileno(), not_a_socket.fileno()))
    try:
        wait_for(lambda: '"event":"start"' in events_path.read_text() or p.poll() is not None,
                 "the start")
        # The port is held by the socket handed over: a bind of its own would have failed.
        handed.close()
        assert get(port, "/adopted") == 200
        warned = [json.loads(l) for l in events_path.read_text().splitlines()
                  if '"upgrade_inherit"' in l]
        assert [(w["fd"], w["address"], w["message"].split(":")[0]) for w in warned] == [
            (misnamed.fileno(), "127.0.0.1:1",
             "an inherited socket is not bound where it is named, or one too many"),
            (not_a_socket.fileno(), "127.0.0.1:2", "an inherited descriptor is not a listening socket"),
            (-1, "junk", "a malformed item of GATEHOUSE_INHERITED_FDS is ignored")], warned
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(30) == 0
        misnamed.close()
        not_a_socket.close()


def test_a_descriptor_named_twice_is_adopted_once(tmp_path, upstream):
    """Two names of one descriptor would give it two owners that each close it: the second
    name is refused, and the gateway serves on the socket and exits cleanly. Text of any bytes
    is named in whole JSON lines."""
    handed = socket.socket()
    handed.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    handed.bind(("127.0.0.1", 0))
    handed.listen(16)
    port = handed.getsockname()[1]
    cfg = tmp_path / "g.yaml"
    cfg.write_text("workers: 2\nlisteners: [{address: 127.0.0.1:%d}]\nadmin: {address: 127.0.0.1:%d}\n%s"
                   % (port, testenv.free_port(), proxy_yaml(upstream.port)))
    name = "127.0.0.1:%d=%d" % (port, handed.fileno())
    junk = '"\x01' * 200  # the variable's text, escaped in the event, is cut to stay whole JSON
    env = dict(os.environ, GATEHOUSE_INHERITED_FDS=",".join([name, name, junk]))
    events_path = tmp_path / "events.log"
    p = subprocess.Popen([testenv.BIN, "run", "-c", str(cfg)], env=env, stdout=subprocess.DEVNULL,
                         stderr=open(events_path, "w"), pass_fds=(handed.fileno(),))
    try:
        wait_for(lambda: '"event":"start"' in events_path.read_text() or p.poll() is not None,
                 "the start")
        handed.close()
        assert all(get(port, "/twice") == 200 for _ in range(10))
        warned = [json.loads(l) for l in events_path.read_text().splitlines()
                  if '"upgrade_inherit"' in l]
        assert [(w["fd"], w["message"]) for w in warned] == [
            (int(name.split("=")[1]),
             "an inherited descriptor named twice: the second name is ignored"),
            (-1, "a malformed item of GATEHOUSE_INHERITED_FDS is ignored")], warned
        assert warned[1]["address"] == junk[:64]
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(30) == 0
    text = events_path.read_text()
    assert "AddressSanitizer" not in text and "runtime error" not in text, text[-3000:]


def test_an_admin_address_taken_fails_the_upgrade_before_any_worker_listens(gateway_for, upstream):
    g = gateway_for(proxy_yaml(upstream.port), workers=1)
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    text = open(g.config).read()
    # Two workers now: the second would open a socket of its own beside the one handed over.
    open(g.config, "w").write(text.replace("workers: 1", "workers: 2").replace(
        "127.0.0.1:%d}" % g.admin_port, "127.0.0.1:%d}" % taken.getsockname()[1]))
    fresh = Prober(g.port, "/fresh")
    g.signal(signal.SIGUSR2)
    failed = wait_event(g, "upgrade_failed")
    wait_for(lambda: not alive(failed["pid"]), "the failed process to exit")
    statuses = fresh.stop()
    assert failed["reason"] == "admin: cannot listen on 127.0.0.1:%d: Address already in use " \
        "(held by pid %d, python3)" % (taken.getsockname()[1], os.getpid()), failed
    taken.close()
    assert not events(g, "start")[1:], "the new process started"
    assert set(statuses) == {200}, statuses
    assert g.admin("/healthz") == (200, "ok\n")


def test_systemd_hears_of_the_new_main_pid_not_of_a_stop(gateway_for, upstream, tmp_path, monkeypatch):
    """Under Type=notify the old process, still the main pid systemd listens to, names the new
    one as the main pid and does not say it stops: the service goes on."""
    path = str(tmp_path / "notify")
    heard = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    heard.bind(path)
    heard.settimeout(0.2)
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    g = gateway_for(proxy_yaml(upstream.port))
    messages = []

    def drain():
        while True:
            try:
                data, _ = heard.recvfrom(4096)
                messages.append(data.decode())
            except socket.timeout:
                return messages

    wait_for(lambda: any("READY=1" in m for m in drain()), "READY")
    pid = upgrade(g)
    wait_for(lambda: any(m.startswith("MAINPID=") for m in drain()), "MAINPID")
    assert "MAINPID=%d\nSTATUS=upgraded: serving from pid %d" % (pid, pid) in messages, messages
    assert not any("STOPPING=1" in m for m in drain()), messages
    os.kill(pid, signal.SIGTERM)  # the new process is the one that stops now, and says so
    wait_for(lambda: any("STOPPING=1" in m for m in drain()), "STOPPING from the new process")
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    heard.close()
