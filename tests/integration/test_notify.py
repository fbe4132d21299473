"""systemd's notifications (Type=notify), heard on a real unix datagram socket named by
NOTIFY_SOCKET: READY with a status once serving, RELOADING (with MONOTONIC_USEC) then READY on
SIGHUP, STOPPING on SIGTERM, WATCHDOG pings at half of WATCHDOG_USEC; nothing without it."""
import signal
import socket
import time

import pytest

from conftest import proxy_yaml
from testenv import wait_for


@pytest.fixture
def notify_socket(tmp_path, monkeypatch):
    path = str(tmp_path / "notify")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    got = []

    def messages():
        while True:
            try:
                got.append(s.recv(4096).decode())
            except BlockingIOError:
                return got

    yield messages
    s.close()


def fields(message):
    return dict(line.split("=", 1) for line in message.splitlines() if "=" in line)


def test_ready_reloading_stopping(gateway_for, upstream, notify_socket):
    g = gateway_for(proxy_yaml(upstream.port))
    wait_for(lambda: any("READY=1" in m for m in notify_socket()), "READY")
    ready = [fields(m) for m in notify_socket() if "READY=1" in m]
    assert ready[0]["STATUS"] == "serving", ready

    before = time.clock_gettime(time.CLOCK_MONOTONIC) * 1e6
    g.signal(signal.SIGHUP)
    wait_for(lambda: len([m for m in notify_socket() if "READY=1" in m]) >= 2, "READY again")
    msgs = notify_socket()
    reloading = [i for i, m in enumerate(msgs) if "RELOADING=1" in m]
    assert len(reloading) == 1, msgs
    stamp = int(fields(msgs[reloading[0]])["MONOTONIC_USEC"])
    assert before <= stamp <= time.clock_gettime(time.CLOCK_MONOTONIC) * 1e6
    after = [fields(m) for m in msgs[reloading[0]:] if "READY=1" in m]
    assert after and after[0]["STATUS"] == "serving; reloaded", msgs

    g.signal(signal.SIGTERM)
    wait_for(lambda: any("STOPPING=1" in m for m in notify_socket()), "STOPPING")
    assert g.proc.wait(timeout=15) == 0
    assert not any("WATCHDOG=1" in m for m in notify_socket())  # not asked for


def test_a_failed_reload_is_ready_again_with_why(gateway_for, upstream, notify_socket):
    g = gateway_for(proxy_yaml(upstream.port))
    wait_for(lambda: any("READY=1" in m for m in notify_socket()), "READY")
    g.write_config("routes: [")
    g.signal(signal.SIGHUP)
    wait_for(lambda: len([m for m in notify_socket() if "READY=1" in m]) >= 2, "READY again")
    last = fields([m for m in notify_socket() if "READY=1" in m][-1])
    assert "the last reload failed" in last["STATUS"], last


def test_watchdog_pings_at_half_the_period(gateway_for, upstream, notify_socket, monkeypatch):
    monkeypatch.setenv("WATCHDOG_USEC", "400000")  # pings every 200 ms
    gateway_for(proxy_yaml(upstream.port))
    wait_for(lambda: any("READY=1" in m for m in notify_socket()), "READY")
    notify_socket().clear()
    time.sleep(1.5)
    pings = [m for m in notify_socket() if m == "WATCHDOG=1"]
    assert 4 <= len(pings) <= 9, pings

