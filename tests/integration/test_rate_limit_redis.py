"""rate_limits with store: redis, against a real redis-server started by the fixture: one limit
held by two gateway processes, Redis killed and restarted mid-run (each on_failure), quotas that
survive a gateway restart, a password, TLS with client certificates (and the certificates the
gateway must refuse), and the configuration rules."""
import concurrent.futures
import json
import os
import subprocess
import time

import pytest
import requests

from testenv import BIN
from testenv.certs import CertAuthority
from testenv.redis import Redis


@pytest.fixture
def redis():
    r = Redis().start()
    yield r
    r.stop()


def yaml(redis, limit, on_failure="local", store_extra=""):
    return """
stores:
  redis: {address: 127.0.0.1:%d, timeout: 200ms, on_failure: %s%s}
rate_limits:
  shared: {%s, store: redis}
routes:
  - {name: r, match: {prefix: /}, auth: none, rate_limit: shared, respond: {status: 204}}
""" % (redis.port, on_failure, store_extra, limit)


def redis_events(gw):
    return [e for e in (json.loads(l) for l in gw.event_lines()) if e["event"].startswith("redis_")]


def statuses(gw, n):
    s = requests.Session()
    return [s.get(gw.url + "/").status_code for _ in range(n)]


def test_two_gateways_share_one_limit(gateway_for, redis):
    text = yaml(redis, "key: route, rate: 50/s, burst: 10")
    gws = [gateway_for(text, workers=2), gateway_for(text, workers=2)]

    def hammer(gw):
        s = requests.Session()
        codes = []
        end = time.time() + 10
        while time.time() < end:
            codes.append(s.get(gw.url + "/").status_code)
        return codes

    start = time.time()
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(hammer, gws + gws))
    elapsed = time.time() - start
    passed = sum(r.count(204) for r in results)
    expected = 10 + 50 * elapsed
    assert abs(passed - expected) <= 0.05 * expected, (passed, expected)
    assert sum(r.count(429) for r in results) > passed  # they tried far more than the limit


def test_redis_down_falls_back_then_recovers(gateway_for, redis):
    gw = gateway_for(yaml(redis, "key: route, rate: 1/m, burst: 3"), workers=2)
    assert statuses(gw, 4) == [204, 204, 204, 429]
    redis.stop()
    codes = statuses(gw, 5)  # on_failure: local, a bucket of its own
    assert codes.count(204) >= 3 and 429 in codes
    assert gw.metric('gatehouse_redis_up') == 0
    redis.start()  # empty: the limit starts over
    deadline = time.time() + 10
    while time.time() < deadline and gw.metric('gatehouse_redis_up') != 1:
        statuses(gw, 1)
        time.sleep(0.1)
    assert gw.metric('gatehouse_redis_up') == 1
    # Logged once per transition, not once per worker or per request: ups and downs alternate
    # (a restarting Redis may be seen down a second time while it starts).
    changes = [e for e in (json.loads(l)["event"] for l in gw.event_lines()) if e.startswith("redis_")]
    assert changes[0] == "redis_up" and changes[-1] == "redis_up" and "redis_down" in changes, changes
    assert all(a != b for a, b in zip(changes, changes[1:])), changes
    assert gw.metric('gatehouse_redis_requests_total{store="redis",result="fallback_local"}') >= 5


@pytest.mark.parametrize("on_failure,status,reason", [("deny", 503, "rate-limit-unavailable"), ("allow", 204, None)])
def test_redis_down_with_deny_or_allow(gateway_for, redis, on_failure, status, reason):
    gw = gateway_for(yaml(redis, "key: route, rate: 1/m, burst: 1", on_failure))
    assert statuses(gw, 1) == [204]
    redis.stop()
    r = requests.get(gw.url + "/")
    assert r.status_code == status
    if reason:
        assert r.json()["type"] == "urn:gatehouse:problem:" + reason


def test_a_slow_redis_is_timed_out(gateway_for, redis):
    gw = gateway_for(yaml(redis, "key: route, rate: 100/s", "deny"))
    assert statuses(gw, 1) == [204]
    os.kill(redis.proc.pid, 19)  # SIGSTOP: connected, silent
    try:
        t0 = time.time()
        assert requests.get(gw.url + "/").status_code == 503
        assert time.time() - t0 < 1.0  # the store's 200 ms timeout, not the client's patience
    finally:
        os.kill(redis.proc.pid, 18)  # SIGCONT


def test_quotas_survive_a_gateway_restart(gateway_for, redis):
    text = yaml(redis, "key: route, rate: 100/s, quota: 3/day")
    first = gateway_for(text)
    assert statuses(first, 2) == [204, 204]
    first.stop()
    second = gateway_for(text)
    assert statuses(second, 2) == [204, 429]
    assert requests.get(second.url + "/").json()["type"] == "urn:gatehouse:problem:quota-exceeded"


@pytest.fixture
def tls_redis(tmp_path):
    ca = CertAuthority(str(tmp_path))
    r = Redis(tls=ca).start()
    r.ca = ca
    r.client_cert, r.client_key = ca.issue("gateway", "gatehouse", client=True)
    yield r
    r.stop()


def test_decisions_over_tls_with_a_client_certificate(gateway_for, tls_redis):
    tls = ", tls: {ca_file: %s, certificate: %s, private_key: %s}" % (
        tls_redis.ca.ca_file, tls_redis.client_cert, tls_redis.client_key)
    text = yaml(tls_redis, "key: route, rate: 1/m, burst: 3", "deny", tls)
    first, second = gateway_for(text, workers=2), gateway_for(text)
    # One limit in the one Redis, reached over TLS by both.
    assert statuses(first, 2) == [204, 204]
    assert statuses(second, 2) == [204, 429]
    assert statuses(first, 1) == [429]
    assert first.metric('gatehouse_redis_up') == 1
    assert first.metric('gatehouse_redis_requests_total{store="redis",result="ok"}') == 3
    assert [e["event"] for e in redis_events(first)] == ["redis_up"]
    # A reload reads the certificates again but keeps the connections it has.
    clients = tls_redis.command("CLIENT", "LIST")
    assert first.admin("/reload", "POST")[0] == 200
    assert statuses(first, 1) == [429]
    before = sorted(l.split()[0] for l in clients.splitlines() if "cmd=client" not in l)
    after = sorted(l.split()[0] for l in tls_redis.command("CLIENT", "LIST").splitlines() if "cmd=client" not in l)
    # The connections open before are still there (a worker that had none may open its first).
    assert set(before) <= set(after) and len(before) >= 2, (before, after)


@pytest.mark.parametrize("case,reasons", [
    ("another CA", ["not trusted"]),
    ("another name", ["not trusted: hostname mismatch"]),
    # Redis sends its alert and closes: the PING that follows the handshake may meet the reset
    # before the alert is read.
    ("no client certificate", ["certificate required", "connection reset by peer"]),
])
def test_a_redis_that_cannot_be_trusted_is_not_used(gateway_for, tls_redis, tmp_path, case, reasons):
    ca_file, name, client = tls_redis.ca.ca_file, "redis.test", (tls_redis.client_cert, tls_redis.client_key)
    if case == "another CA":
        ca_file = CertAuthority(str(tmp_path), "another CA").ca_file
    elif case == "another name":
        name = "cache.test"
    else:
        client = None
    tls = ", tls: {ca_file: %s, server_name: %s%s}" % (
        ca_file, name, ", certificate: %s, private_key: %s" % client if client else "")
    gw = gateway_for(yaml(tls_redis, "key: route, rate: 1/m, burst: 3", "deny", tls))
    r = requests.get(gw.url + "/")  # the first decision opens the connection; on_failure: deny
    assert r.status_code == 503 and r.json()["type"] == "urn:gatehouse:problem:rate-limit-unavailable"
    events = redis_events(gw)
    assert events and events[0]["event"] == "redis_down", events
    assert any(r in events[0]["error"] for r in reasons), events[0]
    assert "redis_up" not in [e["event"] for e in events]
    assert gw.metric('gatehouse_redis_up') == 0


def test_password_is_sent_and_a_wrong_one_is_reported(gateway_for, tmp_path):
    redis = Redis(password="s3cret-for-redis").start()
    try:
        for secret, up in (("s3cret-for-redis", True), ("wrong", False)):
            (tmp_path / "pw").write_text(secret)
            extra = ", password: \"${file:%s}\"" % (tmp_path / "pw")
            gw = gateway_for(yaml(redis, "key: route, rate: 1/m, burst: 1", "deny", extra))
            assert statuses(gw, 2) == ([204, 429] if up else [503, 503])
            events = redis_events(gw)
            if up:
                assert [e["event"] for e in events] == ["redis_up"]
            else:
                assert events[0]["event"] == "redis_down" and "AUTH refused" in events[0]["error"]
                assert "wrong" not in json.dumps(events)  # the secret is never logged
            gw.stop()
    finally:
        redis.stop()


def test_redis_configuration_rules(tmp_path):
    base = "listeners: [{address: 127.0.0.1:1}]\n%s\nrate_limits:\n  l: %s\nroutes: [{name: r, match: {prefix: /}, auth: none, rate_limit: l, respond: {}}]\n"
    cases = [
        ("", "{key: route, rate: 1/s, store: redis}", "store: redis needs stores.redis"),
        ("stores: {redis: {address: nowhere}}", "{key: route, rate: 1/s, store: redis}", "is not host:port"),
        ("stores: {redis: {address: 127.0.0.1:6379, password: hunter2}}", "{key: route, rate: 1/s}", "secrets are references"),
        ("stores: {redis: {address: 127.0.0.1:6379, on_failure: retry}}", "{key: route, rate: 1/s}", "on_failure"),
        ("stores: {memcached: {}}", "{key: route, rate: 1/s}", "unknown key 'memcached'"),
    ]
    ca = CertAuthority(str(tmp_path))
    cert, key = ca.issue("client", "gatehouse", client=True)
    other_cert, _ = ca.issue("other", "other", client=True)
    tls = "stores: {redis: {address: 127.0.0.1:6379, tls: %s}}"
    cases += [
        (tls % "{certificate: %s}" % cert, "{key: route, rate: 1/s}", "certificate and private_key go together"),
        (tls % "{certificate: %s, private_key: %s}" % (other_cert, key), "{key: route, rate: 1/s}",
         "private_key does not belong to certificate"),
        (tls % "{ca_file: %s}" % key, "{key: route, rate: 1/s}", "no CA certificate could be read"),
        (tls % "{ca_file: /nonexistent/ca.pem}", "{key: route, rate: 1/s}", "/nonexistent/ca.pem"),
        (tls % "{verify: false}", "{key: route, rate: 1/s}", "unknown key 'verify'"),
        (tls % "on", "{key: route, rate: 1/s}", "mapping"),
    ]
    for stores, limit, want in cases:
        (tmp_path / "c.yaml").write_text(base % (stores, limit))
        r = subprocess.run([BIN, "check", "-c", str(tmp_path / "c.yaml")], capture_output=True, text=True)
        assert r.returncode == 1 and want in r.stderr, (want, r.stderr)
