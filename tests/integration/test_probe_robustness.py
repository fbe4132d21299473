"""gatehouse probe against targets and arguments that fight back: a target that drips forever
(--max-seconds bounds the run, each exchange included), a target that meets every request with
silence (no pass from nothing observed), answers carrying every byte value (every report format
stays valid and printable), --target URLs and --only lists the probe must refuse, and a self-test
stopped by a signal (its gateway stopped, its directory of keys removed)."""
import glob
import json
import os
import signal
import socket
import subprocess
import threading
import time
import xml.etree.ElementTree as ET

import pytest

from testenv import BIN, ROOT, accept_forever, listening_socket, serve_each

EXAMPLES = os.path.join(ROOT, "examples")
EVERY_BYTE = bytes(range(256))


def probe(*args, timeout=60, **kw):
    return subprocess.run([BIN, "probe", *args], capture_output=True, text=True, timeout=timeout,
                          **kw)


def hostile_target(answer):
    """A loopback target that reads a request's first bytes, then hands the socket to answer."""
    sock, port = listening_socket(64)

    def serve(c):
        try:
            c.settimeout(2)
            try:
                c.recv(65536)
            except OSError:
                pass
            answer(c)
        except OSError:
            pass
        finally:
            c.close()
    accept_forever(sock, serve_each(serve))
    return sock, port


def drip(c):
    c.sendall(b"HTTP/1.1 200 OK\r\n")
    for _ in range(600):  # a byte every 100 ms: never a whole head
        c.sendall(b"X")
        time.sleep(0.1)


def every_byte(c):
    field = bytes(b for b in EVERY_BYTE if b not in (10, 13))
    body = EVERY_BYTE * 4 + b"\xff\xfe\xc3(" + b"A" * 5000
    c.sendall(b"HTTP/1.1 200 OK\r\nX-Evil: " + field + b"\r\nContent-Length: %d\r\n\r\n" % len(body)
              + body)


def continue_flood(c):
    c.settimeout(5)
    try:
        for _ in range(20000):  # interim answers and never a final one
            c.sendall(b"HTTP/1.1 100 Continue\r\n\r\n" * 16)
    except OSError:
        pass


def test_an_interim_answer_flood_is_never_judged_as_a_hung_or_accepting_gateway():
    sock, port = hostile_target(continue_flood)
    try:
        p = probe("--target", "http://127.0.0.1:%d/" % port, "--only", "FRM-001,FRM-013",
                  "--quiet", "--format", "json", "--max-seconds", "20")
    finally:
        sock.close()
    doc = json.loads(p.stdout)
    for r in doc["results"]:
        assert r["verdict"] in ("error", "skip"), r  # nothing to judge: no final answer came
        assert "within" not in r["why"], r


def test_max_seconds_bounds_a_target_that_drips_forever(tmp_path):
    sock, port = hostile_target(drip)
    try:
        t0 = time.monotonic()
        p = probe("--target", "http://127.0.0.1:%d/" % port, "--max-seconds", "1", "--quiet",
                  "--format", "json")
        took = time.monotonic() - t0
    finally:
        sock.close()
    assert took < 3.0, took  # an exchange's own wait (5 s) does not outlast the run's cap
    doc = json.loads(p.stdout)
    assert doc["summary"]["pass"] == 0 and doc["summary"]["fail"] == 0, doc["summary"]
    cut = [r for r in doc["results"] if "during the case" in r["why"]]
    assert cut and all(r["verdict"] == "skip" for r in cut), cut


def test_reports_stay_valid_when_answers_carry_every_byte(tmp_path):
    sock, port = hostile_target(every_byte)
    out = {}
    try:
        reports = []
        for fmt in ("json", "sarif", "junit", "markdown"):
            reports += ["--report", "%s=%s" % (fmt, tmp_path / fmt)]
        p = probe("--target", "http://127.0.0.1:%d/" % port, "--quiet", "-o",
                  str(tmp_path / "text"), *reports)
        assert p.returncode == 1, p.stderr  # the target serves /admin: failures, with evidence
        for fmt in ("text", "json", "sarif", "junit", "markdown"):
            out[fmt] = (tmp_path / fmt).read_bytes().decode("utf-8")
    finally:
        sock.close()
    json.loads(out["json"])
    json.loads(out["sarif"])
    ET.fromstring(out["junit"])
    assert "\\x00" in out["text"] and "\\xff" in out["text"]  # the bytes are there, escaped
    for fmt in ("text", "markdown"):
        bad = [ch for ch in out[fmt] if ch != "\n" and not " " <= ch <= "~"]
        assert not bad, (fmt, bad[:5])
    assert max(len(line) for line in out["text"].splitlines()) <= 120
    assert out["markdown"].count("```") % 2 == 0


@pytest.mark.parametrize("url,says", [
    ("http://user:secret@127.0.0.1:8080/", "credentials"),
    ("http://127.0.0.1:99999/", "bad port"),
    ("http://127.0.0.1:80abc/", "bad port"),
    ("http://127.0.0.1:/", "bad port"),
    ("http://[::1/", "[IPv6]"),
    ("http://[::1]junk/", "[IPv6]"),
    ("http://[example.com]:80/", "IPv6"),
    ("http://::1:8080/", "bad port"),
    ("http://" + "h" * 300 + ":80/", "too long"),
    ("http:///", "no host"),
])
def test_target_urls_the_probe_cannot_honour_are_refused(url, says):
    p = probe("--target", url, "--only", "INFO-001")
    assert p.returncode == 2, (url, p.stdout, p.stderr)
    assert says in p.stderr, p.stderr


@pytest.mark.parametrize("only", [",", "", "tokens,", ",tokens", "tokens,,paths"])
def test_only_with_an_empty_entry_is_refused(only):
    p = probe("--target", "http://127.0.0.1:9/", "--only", only)
    assert p.returncode == 2 and "empty entry" in p.stderr, (only, p.stderr)


def test_an_ipv6_target_is_reached_with_a_bracketed_host_header():
    seen = []
    srv = socket.socket(socket.AF_INET6)
    try:
        srv.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback")
    srv.listen(16)
    port = srv.getsockname()[1]

    def serve(c):
        try:
            seen.append(c.recv(65536))
            c.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        finally:
            c.close()
    accept_forever(srv, serve_each(serve))
    try:
        p = probe("--target", "http://[::1]:%d/api?x=1" % port, "--only", "INFO-001", "--format",
                  "json")
    finally:
        srv.close()
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["results"][0]["verdict"] == "pass"
    asked = [s for s in seen if s]  # the reachability check before the cases sends nothing
    assert asked and all(b"\r\nHost: [::1]:%d\r\n" % port in s for s in asked), seen


def gateway_children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(c) for c in f.read().split()]
    except OSError:
        return []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stopped_self_test_stops_its_gateway_and_removes_its_files(tmp_path, sig):
    subprocess.run(["bash", os.path.join(ROOT, "scripts", "demo-cert.sh")], check=True,
                   capture_output=True)
    env = dict(os.environ, TMPDIR=str(tmp_path))
    proc = subprocess.Popen([BIN, "probe", "-c", "gatehouse.yaml", "--quiet",
                             "-o", os.devnull], cwd=EXAMPLES, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        gateway = []
        while time.monotonic() < deadline and not (gateway and glob.glob(str(tmp_path / "gatehouse-probe-*"))):
            gateway = gateway_children(proc.pid)
            time.sleep(0.05)
        assert gateway, "the self-test never started its gateway"
        time.sleep(0.5)  # into the cases
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=8)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 2, err
    assert "stopped by a signal" in err, err
    assert glob.glob(str(tmp_path / "gatehouse-probe-*")) == []
    for pid in gateway:
        assert not os.path.exists("/proc/%d" % pid) or \
            open("/proc/%d/stat" % pid).read().split()[2] == "Z", pid


@pytest.mark.parametrize("flag,values", [
    ("--target", ["http://127.0.0.1:9/", "http://127.0.0.1:10/"]),
    ("-c", ["a.yaml", "b.yaml"]),
    ("--format", ["json", "sarif"]),
    ("--only", ["tokens", "paths"]),
])
def test_a_single_valued_flag_given_twice_is_refused(flag, values):
    """The last would win silently: a run aimed at the wrong target or the wrong cases."""
    p = probe(flag, values[0], flag, values[1], "--list-cases")
    assert p.returncode == 2 and "given twice" in p.stderr, p.stderr
