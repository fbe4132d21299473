"""Endpoints named by DNS: each address of the name is an endpoint of its own (its state, pool,
log and metric label "host:port@address"), the name is resolved again every dns_refresh, a
change reloads the configuration, and a name that stops resolving keeps its last addresses,
at a reload too. The gateway runs in a mount namespace of its own whose /etc/hosts the test
writes: the real resolver of the C library, with the answers the test chooses."""
import json
import os
import signal
import threading
import time

import requests

from testenv import Gateway, Upstream, check_config, free_port
from testenv.resolver import Hosts, SilentNameServer

NAME = "api.test"


def config(port, refresh="1s", extra=""):
    return """
upstreams:
  app: {endpoints: [http://%s:%d], dns_refresh: %s%s}
routes:
  - {name: app, match: {prefix: /}, auth: none, upstream: app}
""" % (NAME, port, refresh, extra)


def events(g, name):
    return [json.loads(l) for l in g.event_lines() if '"event":"%s"' % name in l]


def wait_events(g, name, n, timeout=10.0):
    deadline = time.time() + timeout
    while len(events(g, name)) < n and time.time() < deadline:
        time.sleep(0.05)
    return events(g, name)


def wait_reloads(g, n, timeout=10.0):
    deadline = time.time() + timeout
    while g.metric('gatehouse_reloads_total{result="success"}') < n and time.time() < deadline:
        time.sleep(0.05)
    return g.metric('gatehouse_reloads_total{result="success"}')


def spread(g, ups, n=12):
    """Sends n GETs; how many each upstream received."""
    before = [len(u.requests) for u in ups]
    for _ in range(n):
        assert requests.get(g.url + "/x", timeout=5).status_code == 200
    return [len(u.requests) - b for u, b in zip(ups, before)]


def test_each_address_is_an_endpoint_and_follows_dns(tmp_path):
    port = free_port()
    hosts = Hosts(tmp_path)
    hosts.set(["127.0.0.2"])
    a, b = Upstream(port, host="127.0.0.2"), Upstream(port, host="127.0.0.3")
    g = Gateway(config(port, extra=", host: endpoint"), wrap=hosts.wrap)
    try:
        assert spread(g, [a, b]) == [12, 0]
        # With host: endpoint the name is the Host; the address only chooses the connection.
        assert dict(a.header_lines[-1])["Host"] == "%s:%d" % (NAME, port)
        assert g.access_lines(12)[-1]["upstream"] == "%s:%d@127.0.0.2" % (NAME, port)

        hosts.set(["127.0.0.2", "127.0.0.3"])
        changed = wait_events(g, "dns_changed", 1)
        assert changed[0]["upstream"] == "app" and changed[0]["name"] == "%s:%d" % (NAME, port)
        assert changed[0]["addresses"] == 2
        assert wait_reloads(g, 1) == 1
        got = spread(g, [a, b])
        assert got[0] > 0 and got[1] > 0 and sum(got) == 12, got
        metrics = g.metrics()
        for addr in ("127.0.0.2", "127.0.0.3"):
            assert 'endpoint="%s:%d@%s"' % (NAME, port, addr) in metrics

        hosts.set(["127.0.0.3"])
        assert wait_reloads(g, 2) == 2
        assert spread(g, [a, b]) == [0, 12]
        assert '@127.0.0.2"' not in g.metrics()  # its state went with the snapshots naming it
        assert g.metric('gatehouse_dns_resolutions_total{result="changed"}') == 2
        assert g.wait_metric('gatehouse_dns_resolutions_total{result="unchanged"}', 1) >= 1
    finally:
        g.__exit__(None, None, None)
        a.close()
        b.close()


def test_a_name_that_stops_resolving_keeps_its_addresses(tmp_path):
    port = free_port()
    hosts = Hosts(tmp_path)
    hosts.set(["127.0.0.2", "127.0.0.3"])
    a, b = Upstream(port, host="127.0.0.2"), Upstream(port, host="127.0.0.3")
    g = Gateway(config(port), wrap=hosts.wrap)
    try:
        hosts.set([])
        failed = wait_events(g, "dns_failed", 1)
        assert failed[0]["level"] == "warn" and failed[0]["name"] == "%s:%d" % (NAME, port)
        time.sleep(2.5)  # more failed lookups: one event for the streak
        assert len(events(g, "dns_failed")) == 1
        assert g.metric('gatehouse_dns_resolutions_total{result="failed"}') >= 2
        got = spread(g, [a, b])
        assert got[0] > 0 and got[1] > 0, got

        # An operator's reload meanwhile is not refused for it: the addresses stay, with a
        # warning naming the endpoint.
        g.signal(signal.SIGHUP)
        assert wait_reloads(g, 1) == 1
        warned = [e for e in events(g, "reload") if e["level"] == "warn"]
        assert warned[0]["message"] == (
            "%s:6:21: warning: upstreams.app.endpoints[0]: 'http://%s:%d': %s:%d does not "
            "resolve (Name or service not known): its 2 last addresses stay"
            % (g.config, NAME, port, NAME, port))
        got = spread(g, [a, b])
        assert got[0] > 0 and got[1] > 0, got

        hosts.set(["127.0.0.3"])
        assert wait_events(g, "dns_recovered", 1)[0]["addresses"] == 1
        assert wait_reloads(g, 2) == 2
        assert spread(g, [a, b]) == [0, 12]
    finally:
        g.__exit__(None, None, None)
        a.close()
        b.close()


def test_names_in_the_configuration_are_checked(tmp_path):
    hosts = Hosts(tmp_path)
    r = check_config(tmp_path, "listeners: [{address: 127.0.0.1:1}]\n" + config(80), wrap=hosts.wrap)
    assert r.returncode != 0
    assert "c.yaml:4:21: upstreams.app.endpoints[0]: 'http://api.test:80': api.test:80 does " \
           "not resolve" in r.stderr, r.stderr

    hosts.set(["127.0.0.%d" % i for i in range(2, 67)])  # 65 addresses
    r = check_config(tmp_path, "listeners: [{address: 127.0.0.1:1}]\n" + config(80), wrap=hosts.wrap)
    assert r.returncode != 0
    assert "c.yaml:4:21: upstreams.app.endpoints[0]: 'http://api.test:80': an upstream has at " \
           "most 64 endpoints" in r.stderr, r.stderr

    hosts.set(["127.0.0.2"])
    r = check_config(tmp_path, "listeners: [{address: 127.0.0.1:1}]\n" + config(80, "500ms"),
                     wrap=hosts.wrap)
    assert r.returncode != 0 and "c.yaml:4:55: upstreams.app.dns_refresh" in r.stderr, r.stderr
    r = check_config(tmp_path, "listeners: [{address: 127.0.0.1:1}]\n" + config(80), wrap=hosts.wrap)
    assert r.returncode == 0, r.stderr


def test_literal_addresses_are_never_looked_up(gateway_for, upstream):
    g = gateway_for(config(upstream.port).replace(NAME, "127.0.0.1"))
    time.sleep(2.5)
    assert g.metric('gatehouse_dns_resolutions_total{result="unchanged"}') == 0
    assert g.metric('gatehouse_dns_resolutions_total{result="failed"}') == 0
    assert requests.get(g.url + "/x", timeout=5).status_code == 200
    assert g.access_lines(1)[-1]["upstream"] == "127.0.0.1:%d" % upstream.port


def test_an_outage_keeps_only_the_addresses_in_force(tmp_path):
    """A request in flight holds the snapshot it started on, and with it the states of that
    snapshot's endpoints; an address DNS has since taken away must not come back from there
    when the name then stops resolving at a reload."""
    port = free_port()
    hosts = Hosts(tmp_path)
    hosts.set(["127.0.0.2"])
    a, b = Upstream(port, host="127.0.0.2"), Upstream(port, host="127.0.0.3")
    g = Gateway(config(port), wrap=hosts.wrap)
    slow = []
    try:
        t = threading.Thread(target=lambda: slow.append(
            requests.get(g.url + "/slow/8000", timeout=15).status_code))
        t.start()
        deadline = time.time() + 5
        while not a.requests and time.time() < deadline:
            time.sleep(0.02)
        assert a.requests, "the slow request reached 127.0.0.2"
        hosts.set(["127.0.0.3"])
        assert wait_reloads(g, 1) == 1
        hosts.set([])
        wait_events(g, "dns_failed", 1)
        g.signal(signal.SIGHUP)
        assert wait_reloads(g, 2) == 2
        warned = [e for e in events(g, "reload") if e["level"] == "warn"]
        assert warned and warned[-1]["message"].endswith("its 1 last addresses stay"), warned
        assert spread(g, [a, b]) == [0, 12]
        t.join()
        assert slow == [200]
    finally:
        g.__exit__(None, None, None)
        a.close()
        b.close()


def test_sigterm_during_a_slow_lookup_drains_at_once(tmp_path):
    """A name server that never answers holds a lookup for its whole timeout (20 s here); the
    drain and the exit must not wait for it."""
    port = free_port()
    hosts = Hosts(tmp_path)
    hosts.set(["127.0.0.2"])
    silent = SilentNameServer(tmp_path)
    a = Upstream(port, host="127.0.0.2")
    g = Gateway(config(port), wrap=hosts.wrap_with_resolver(silent.path))
    try:
        assert spread(g, [a]) == [12]
        hosts.set([])  # the next lookup asks the name server, which keeps silent
        silent.wait_query()
        assert g.seconds_to_exit() < 3, "the exit waited for the lookup"
        assert g.proc.returncode == 0
        assert events(g, "stop")
    finally:
        g.__exit__(None, None, None)
        a.close()
        silent.close()


def test_plain_and_tls_endpoints_of_one_address_never_share_connections(tmp_path):
    """http:// and https:// at the same name and port are two endpoints with one address: a
    kept-alive plain connection must never carry a request meant for TLS (nor one upstream's
    connection another upstream's requests, whose TLS settings may differ)."""
    port = free_port()
    hosts = Hosts(tmp_path)
    hosts.set(["127.0.0.2"])
    plain = Upstream(port, host="127.0.0.2")
    g = Gateway("""
upstreams:
  plain: {endpoints: [http://%s:%d]}
  secure: {endpoints: [https://%s:%d], timeout: 1s}
routes:
  - {name: plain, match: {prefix: /plain}, auth: none, upstream: plain}
  - {name: secure, match: {prefix: /secure}, auth: none, upstream: secure}
""" % (NAME, port, NAME, port), wrap=hosts.wrap)
    try:
        assert requests.get(g.url + "/plain/x", timeout=5).status_code == 200
        # A TLS handshake with a server that speaks plain HTTP: no answer, no request.
        assert requests.get(g.url + "/secure/x", timeout=5).status_code == 504
        assert [r[1] for r in plain.requests] == ["/plain/x"]
    finally:
        g.__exit__(None, None, None)
        plain.close()


def test_an_answer_the_reload_refuses_is_asked_for_once(tmp_path):
    """65 addresses fail the reload with the reason and the running configuration serves on;
    the same answer at the next lookups asks for no reload again (no failed reload every
    dns_refresh), another answer does."""
    port = free_port()
    hosts = Hosts(tmp_path)
    hosts.set(["127.0.0.2"])
    a, b = Upstream(port, host="127.0.0.2"), Upstream(port, host="127.0.0.3")
    g = Gateway(config(port), wrap=hosts.wrap)
    try:
        hosts.set(["127.0.0.%d" % i for i in range(2, 67)])
        assert wait_events(g, "dns_changed", 1)[0]["addresses"] == 65
        assert g.wait_metric('gatehouse_reloads_total{result="failure"}', 1) == 1
        errors = [e["message"] for e in events(g, "reload") if e["level"] == "error"]
        assert any("an upstream has at most 64 endpoints" in m for m in errors), errors
        time.sleep(3.5)  # three more lookups with the same answer
        assert g.wait_metric('gatehouse_dns_resolutions_total{result="unchanged"}', 3) >= 3
        assert len(events(g, "dns_changed")) == 1
        assert g.metric('gatehouse_reloads_total{result="failure"}') == 1
        assert spread(g, [a, b]) == [12, 0]

        hosts.set(["127.0.0.3"])
        assert wait_reloads(g, 1) == 1
        assert spread(g, [a, b]) == [0, 12]
    finally:
        g.__exit__(None, None, None)
        a.close()
        b.close()


def test_a_reload_while_the_name_server_is_silent_keeps_the_addresses_in_time(tmp_path):
    """A name server that never answers (20 s per lookup here): a reload meanwhile waits a
    bounded time for the name, then keeps its addresses, and SIGTERM right after is heard."""
    port = free_port()
    hosts = Hosts(tmp_path)
    hosts.set(["127.0.0.2"])
    silent = SilentNameServer(tmp_path)
    a = Upstream(port, host="127.0.0.2")
    g = Gateway(config(port, refresh="30s"), wrap=hosts.wrap_with_resolver(silent.path))
    try:
        hosts.set([])
        started = time.time()
        g.signal(signal.SIGHUP)
        assert wait_reloads(g, 1) == 1
        assert time.time() - started < 5, "the reload waited for the name server"
        warned = [e for e in events(g, "reload") if e["level"] == "warn"]
        assert warned[-1]["message"].endswith(
            "does not resolve (Temporary failure in name resolution): its 1 last addresses "
            "stay"), warned
        assert spread(g, [a]) == [12]
        assert g.seconds_to_exit() < 3, "the exit waited for the name server"
    finally:
        g.__exit__(None, None, None)
        a.close()
        silent.close()


def test_health_checks_follow_the_addresses(tmp_path):
    """Each address is checked on its own: a new one that refuses connections goes down alone;
    one that DNS takes away stops being checked and leaves the metrics; the one that stays
    keeps its verdict and its count of checks across the reloads."""
    port = free_port()
    hosts = Hosts(tmp_path)
    hosts.set(["127.0.0.2"])
    a = Upstream(port, host="127.0.0.2")  # nothing listens on 127.0.0.3
    g = Gateway(config(port, extra=", health: {tcp: {interval: 100ms, timeout: 50ms, "
                                   "unhealthy_after: 2}}"), wrap=hosts.wrap)
    checks = 'gatehouse_upstream_health_checks_total{upstream="app",endpoint="%s:%d@%s",' \
             'result="%s"}'
    healthy = 'gatehouse_upstream_endpoint_healthy{upstream="app",endpoint="%s:%d@%s"}'
    try:
        assert g.wait_metric(checks % (NAME, port, "127.0.0.2", "success"), 3) >= 3
        hosts.set(["127.0.0.2", "127.0.0.3"])
        assert wait_reloads(g, 1) == 1
        assert g.wait_metric(checks % (NAME, port, "127.0.0.3", "failure"), 2) >= 2
        deadline = time.time() + 5
        while g.metric(healthy % (NAME, port, "127.0.0.3")) != 0 and time.time() < deadline:
            time.sleep(0.05)
        assert g.metric(healthy % (NAME, port, "127.0.0.3")) == 0
        assert g.metric(healthy % (NAME, port, "127.0.0.2")) == 1
        assert spread(g, [a]) == [12]  # the down address gets nothing
        passed = g.metric(checks % (NAME, port, "127.0.0.2", "success"))

        hosts.set(["127.0.0.2"])
        assert wait_reloads(g, 2) == 2
        assert "@127.0.0.3" not in g.metrics()
        assert g.wait_metric(checks % (NAME, port, "127.0.0.2", "success"), passed + 3) >= \
            passed + 3  # the same state, still counting
    finally:
        g.__exit__(None, None, None)
        a.close()
