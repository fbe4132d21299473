"""Privileges and confinement: the switch to user: and group: after binding (every thread), a
port below 1024 bound before it, reloads that need root refused with why, no_new_privs on every
thread, the workers' seccomp filter (Seccomp: 2), and the errors of user: and group:."""
import glob
import os
import pathlib
import socket
import subprocess
import tempfile

import pytest
import requests

from conftest import proxy_yaml
from testenv import BIN, free_port, wait_for

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")
NOBODY = 65534


def threads(pid):
    """Each thread's status fields: {tid: {"Name": ..., "Uid": [...], ...}}."""
    out = {}
    for path in glob.glob("/proc/%d/task/*/status" % pid):
        fields = {}
        for line in open(path):
            key, _, value = line.partition(":")
            fields[key] = value.split()
        out[path.split("/")[4]] = fields
    return out


def workers_of(pid):
    return {t: f for t, f in threads(pid).items() if f["Name"][0].startswith("gh-worker-")}


def readable_by_all(g):
    """The test's folder and configuration, readable by the dropped user (a reload reads it)."""
    os.chmod(g.dir, 0o755)
    os.chmod(g.config, 0o644)


def p_free(port):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def low_free_port():
    """A port below 1024 nothing listens on."""
    for port in range(700, 1000):
        if p_free(port):
            return port
    pytest.skip("no free port below 1024")


@ROOT_ONLY
def test_every_thread_runs_as_user_and_group_and_still_serves(gateway_for, upstream):
    g = gateway_for(proxy_yaml(upstream.port, "user: nobody\ngroup: nogroup\n"), workers=2)
    ts = threads(g.proc.pid)
    assert len(ts) >= 3, ts
    for tid, f in ts.items():
        assert f["Uid"] == [str(NOBODY)] * 4, (tid, f["Name"], f["Uid"])
        assert f["Gid"] == [str(NOBODY)] * 4, (tid, f["Name"], f["Gid"])
        assert f["Groups"] == [str(NOBODY)], (tid, f["Groups"])
        assert f["CapEff"] == ["0000000000000000"], (tid, f["CapEff"])
    assert requests.get(g.url + "/after-the-drop").status_code == 200


def test_every_thread_has_no_new_privs_and_workers_have_seccomp(gateway_for, upstream):
    g = gateway_for(proxy_yaml(upstream.port), workers=2)
    ts = threads(g.proc.pid)
    for tid, f in ts.items():
        assert f["NoNewPrivs"] == ["1"], (tid, f["Name"])
    ws = workers_of(g.proc.pid)
    assert len(ws) == 2, ts
    for tid, f in ws.items():
        assert f["Seccomp"] == ["2"], (tid, f["Name"])
    # The control thread (the process's first) keeps exec for binary upgrades.
    assert ts[str(g.proc.pid)]["Seccomp"] == ["0"]
    assert requests.get(g.url + "/confined").status_code == 200


def test_seccomp_false_leaves_the_workers_unfiltered(gateway_for, upstream):
    g = gateway_for(proxy_yaml(upstream.port, "seccomp: false\n"), workers=2)
    ws = workers_of(g.proc.pid)
    assert len(ws) == 2 and all(f["Seccomp"] == ["0"] for f in ws.values()), ws
    assert all(f["NoNewPrivs"] == ["1"] for f in threads(g.proc.pid).values())


@ROOT_ONLY
def test_a_port_below_1024_is_bound_before_the_drop_and_a_new_one_needs_a_restart(
        gateway_for, upstream):
    low = low_free_port()
    g = gateway_for(proxy_yaml(upstream.port, "user: nobody\n"), workers=2,
                    more_listeners=["{address: 127.0.0.1:%d}" % low])
    assert threads(g.proc.pid)[str(g.proc.pid)]["Uid"][0] == str(NOBODY)
    assert requests.get("http://127.0.0.1:%d/low" % low).status_code == 200
    readable_by_all(g)
    # The ports it holds stay across a reload; a new one below 1024 cannot be bound any more.
    status, text = g.admin("/reload", method="POST")
    assert status == 200, text
    assert requests.get("http://127.0.0.1:%d/low" % low).status_code == 200
    other = next(p for p in range(low + 1, 1024) if p_free(p))
    g.more_listeners.append("{address: 127.0.0.1:%d}" % other)
    g.write_config(proxy_yaml(upstream.port, "user: nobody\n"), workers=2)
    status, text = g.admin("/reload", method="POST")
    assert status == 422, text
    assert "cannot listen on 127.0.0.1:%d: a port below 1024 needs root or " \
        "CAP_NET_BIND_SERVICE" % other in text, text
    assert requests.get("http://127.0.0.1:%d/still" % low).status_code == 200


@ROOT_ONLY
def test_a_reload_the_dropped_user_cannot_read_fails_with_why(gateway_for, upstream):
    g = gateway_for(proxy_yaml(upstream.port, "user: nobody\n"))
    # The test's folder is root's alone (0700): the reload, as nobody, cannot read the file.
    status, text = g.admin("/reload", method="POST")
    assert status == 422, text
    assert "Permission denied" in text, text
    assert "the gateway runs as uid %d gid %d since its start" % (NOBODY, NOBODY) in text, text
    assert requests.get(g.url + "/still").status_code == 200


@ROOT_ONLY
def test_changing_user_on_reload_applies_at_the_next_start(gateway_for, upstream):
    g = gateway_for(proxy_yaml(upstream.port, "user: nobody\n"))
    readable_by_all(g)
    g.write_config(proxy_yaml(upstream.port, "user: root\nseccomp: false\n"))
    status, text = g.admin("/reload", method="POST")
    assert status == 200, text
    wait_for(lambda: any("a change of user or group applies at the next start" in l
                         for l in g.event_lines()), "the user warning")
    assert any("a change of seccomp applies at the next start" in l for l in g.event_lines())
    assert threads(g.proc.pid)[str(g.proc.pid)]["Uid"][0] == str(NOBODY)


def write(tmp_path, text):
    conf = tmp_path / "c.yaml"
    conf.write_text(text)
    return conf


ROUTES = "routes: [{name: r, match: {prefix: /}, auth: none, respond: {}}]\n"


def test_an_unknown_user_or_group_fails_check_at_its_line(tmp_path):
    conf = write(tmp_path, "listeners: [{address: 127.0.0.1:%d}]\nuser: no-such-user-gh\n"
                 "group: no-such-group-gh\n" % free_port() + ROUTES)
    p = subprocess.run([BIN, "check", "-c", str(conf)], capture_output=True, text=True)
    assert p.returncode == 1
    assert "c.yaml:2:7: user: unknown user 'no-such-user-gh'" in p.stderr, p.stderr
    assert "c.yaml:3:8: group: unknown group 'no-such-group-gh'" in p.stderr, p.stderr
    conf = write(tmp_path, "listeners: [{address: 127.0.0.1:%d}]\nuser: 4000000\n"
                 % free_port() + ROUTES)
    p = subprocess.run([BIN, "check", "-c", str(conf)], capture_output=True, text=True)
    assert p.returncode == 1
    assert "c.yaml:2:7: user: user 4000000 has no entry in the user database" in p.stderr, p.stderr


@ROOT_ONLY
def test_a_gateway_not_started_as_root_cannot_become_another_user():
    with tempfile.TemporaryDirectory(prefix="gh-") as folder:  # /tmp: every user may enter
        os.chmod(folder, 0o755)
        not_root_cannot_switch(pathlib.Path(folder))


def not_root_cannot_switch(tmp_path):
    port = free_port()
    conf = write(tmp_path, "listeners: [{address: 127.0.0.1:%d}]\nuser: root\n" % port + ROUTES)
    os.chmod(conf, 0o644)
    p = subprocess.run(["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
                        "--clear-groups", BIN, "run", "-c", str(conf)],
                       capture_output=True, text=True, timeout=15)
    assert p.returncode == 1, p.stderr
    assert "user: root: the gateway was started as uid %d, not root, so it cannot switch to " \
        "uid 0 gid 0" % NOBODY in p.stderr, p.stderr
    assert p_free(port), "nothing is left bound"
    # Started as that user already: nothing to switch, it runs.
    conf.write_text("listeners: [{address: 127.0.0.1:%d}]\nuser: nobody\ngroup: nogroup\n"
                    % port + ROUTES)
    proc = subprocess.Popen(["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
                             "--clear-groups", BIN, "run", "-c", str(conf)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: not p_free(port) or proc.poll() is not None, "the start")
        assert proc.poll() is None, proc.stderr.read()
    finally:
        proc.terminate()
        proc.wait(timeout=15)
