"""Active health checks, against real endpoints in processes of their own: an endpoint made sick
or killed is found down within unhealthy_after intervals (an event with the reason, the gauge)
and gets no traffic; well again, or restarted on its port, it is back within two intervals.
Checks are made once per process however many workers; a reload keeps the verdicts of the
endpoints that stay and checks the new ones; /readyz names an upstream with no healthy
endpoint; HTTPS checks use the upstream's TLS, client certificate included; the configuration
rules."""
import json
import re
import time

import pytest
import requests

from testenv import check_config
from testenv.certs import CertAuthority

INTERVAL = 0.2
HEALTH = "{http: {path: /healthz, interval: 200ms, timeout: 150ms, jitter: 0ms, " \
         "healthy_after: 2, unhealthy_after: 2}}"


def config(upstreams, health=HEALTH):
    """upstreams: {name: [endpoint URLs]}; a route /<name>/ for each."""
    up = "".join("  %s: {endpoints: [%s], health: %s}\n" % (n, ", ".join(urls), health)
                 for n, urls in upstreams.items())
    routes = "".join("  - {name: %s, match: {prefix: /%s/}, auth: none, upstream: %s}\n"
                     % (n, n, n) for n in upstreams)
    return "upstreams:\n%sroutes:\n%s" % (up, routes)


def url(e):
    return "http://127.0.0.1:%d" % e.port


def events(g, name):
    return [json.loads(l) for l in g.event_lines() if '"event":"%s"' % name in l]


def wait_event(g, name, endpoint, count=1, timeout=10.0):
    """The count-th event name about endpoint, and when it was seen (time.time())."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = [e for e in events(g, name) if e.get("endpoint") == "127.0.0.1:%d" % endpoint.port]
        if len(got) >= count:
            return got[count - 1], time.time()
        time.sleep(0.02)
    raise AssertionError("no %s event for %d: %s" % (name, endpoint.port, g.event_lines()[-5:]))


def healthy(g, upstream, e):
    return g.metric('gatehouse_upstream_endpoint_healthy{upstream="%s",endpoint="127.0.0.1:%d"}'
                    % (upstream, e.port))


def wait_checked(g, upstream, e, n=2, timeout=10.0):
    """Until e passed n checks."""
    name = ('gatehouse_upstream_health_checks_total{upstream="%s",endpoint="127.0.0.1:%d",'
            'result="success"}' % (upstream, e.port))
    assert g.wait_metric(name, n, timeout) >= n


def served_by(e):
    return len(e.log_lines())


def test_a_sick_endpoint_is_taken_out_and_comes_back_within_two_intervals(gateway_for, endpoints):
    a, b = endpoints(2)
    g = gateway_for(config({"app": [url(a), url(b)]}))
    wait_checked(g, "app", a)
    wait_checked(g, "app", b)
    assert healthy(g, "app", a) == 1
    assert ("127.0.0.1:%d" % a.port, "-") in a.health_checks()  # Host: the endpoint's
    a.sick(True)
    t0 = time.time()
    down, seen = wait_event(g, "endpoint_unhealthy", a)
    assert seen - t0 < 2 * INTERVAL + 1.0, seen - t0
    assert down["upstream"] == "app" and down["reason"] == "status 503" and down["level"] == "warn"
    assert healthy(g, "app", a) == 0 and healthy(g, "app", b) == 1
    before = served_by(a)
    assert [requests.get(g.url + "/app/%d" % i).status_code for i in range(20)] == [200] * 20
    assert served_by(a) == before and served_by(b) >= 20
    a.sick(False)
    t0 = time.time()
    up, seen = wait_event(g, "endpoint_healthy", a)
    assert seen - t0 < 2 * INTERVAL + 1.0, seen - t0
    assert up["upstream"] == "app" and "reason" not in up
    assert healthy(g, "app", a) == 1
    for i in range(10):
        requests.get(g.url + "/app/again/%d" % i)
    assert served_by(a) > before


def test_a_killed_endpoint_is_found_down_and_restarted_is_back(gateway_for, endpoints):
    a, b = endpoints(2)
    g = gateway_for(config({"app": [url(a), url(b)]}))
    wait_checked(g, "app", a)
    a.kill()
    down, _ = wait_event(g, "endpoint_unhealthy", a)
    assert down["reason"] == "connect refused", down
    assert healthy(g, "app", a) == 0
    assert [requests.get(g.url + "/app/%d" % i).status_code for i in range(10)] == [200] * 10
    # no request tried the dead endpoint: no connect failure, no retry
    assert g.metric('gatehouse_upstream_requests_total{upstream="app",result="connect_failed"}') == 0
    a.start()
    t0 = time.time()
    wait_event(g, "endpoint_healthy", a)
    assert time.time() - t0 < 2 * INTERVAL + 1.0
    before = served_by(a)
    for i in range(10):
        requests.get(g.url + "/app/back/%d" % i)
    assert served_by(a) > before


def test_tcp_checks_find_a_killed_endpoint(gateway_for, endpoints):
    a, b = endpoints(2)
    tcp = "{tcp: {interval: 200ms, timeout: 150ms, jitter: 0ms, healthy_after: 2, unhealthy_after: 2}}"
    g = gateway_for(config({"app": [url(a), url(b)]}, health=tcp))
    wait_checked(g, "app", a)
    assert a.health_checks() == []  # a connection, no request
    a.kill()
    down, _ = wait_event(g, "endpoint_unhealthy", a)
    assert down["reason"] == "connect refused"
    a.start()
    wait_event(g, "endpoint_healthy", a)
    assert healthy(g, "app", a) == 1


def test_two_workers_do_not_double_the_probes(gateway_for, endpoints):
    (a,) = endpoints(1)
    g = gateway_for(config({"app": [url(a)]}), workers=2)
    wait_checked(g, "app", a)
    first = len(a.health_checks())
    time.sleep(10 * INTERVAL)
    made = len(a.health_checks()) - first
    assert 5 <= made <= 12, made  # one process: ten; one per worker would be twenty


def test_a_reload_keeps_verdicts_and_checks_new_endpoints(gateway_for, endpoints):
    a, b, c = endpoints(3)
    g = gateway_for(config({"app": [url(a), url(b)]}))
    a.sick(True)
    wait_event(g, "endpoint_unhealthy", a)
    g.write_config(config({"app": [url(a), url(b), url(c)]}))
    assert g.admin("/reload", "POST")[0] == 200
    # right after the reload: still down, no request reaches it
    assert healthy(g, "app", a) == 0
    before = served_by(a)
    assert [requests.get(g.url + "/app/%d" % i).status_code for i in range(9)] == [200] * 9
    assert served_by(a) == before
    wait_checked(g, "app", c)
    assert len(events(g, "endpoint_unhealthy")) == 1  # no verdict made again
    # kept endpoints keep one schedule: no second timer after the reload
    g.write_config(config({"app": [url(b), url(c)]}))
    assert g.admin("/reload", "POST")[0] == 200
    first_b, first_a = len(b.health_checks()), len(a.health_checks())
    time.sleep(10 * INTERVAL)
    assert len(b.health_checks()) - first_b <= 12
    assert len(a.health_checks()) - first_a <= 1  # removed: no longer checked
    # configured again, it starts over: unknown (in rotation) until the checks decide
    g.write_config(config({"app": [url(a), url(b)]}, health="{http: {path: /healthz, "
                          "interval: 5s, healthy_after: 1, unhealthy_after: 5}}"))
    assert g.admin("/reload", "POST")[0] == 200
    assert healthy(g, "app", a) == 1


def test_removing_health_puts_a_down_endpoint_back(gateway_for, endpoints):
    a, b = endpoints(2)
    g = gateway_for(config({"app": [url(a), url(b)]}))
    a.sick(True)
    wait_event(g, "endpoint_unhealthy", a)
    g.write_config(config({"app": [url(a), url(b)]}).replace(", health: %s" % HEALTH, ""))
    assert g.admin("/reload", "POST")[0] == 200
    assert healthy(g, "app", a) == 1


def test_readyz_names_an_upstream_whose_endpoints_are_all_down(gateway_for, endpoints):
    a, b = endpoints(2)
    g = gateway_for(config({"app": [url(a)], "other": [url(b)]}))
    wait_checked(g, "app", a)
    assert g.admin("/readyz") == (200, "ready\n")
    a.sick(True)
    wait_event(g, "endpoint_unhealthy", a)
    # Named, and still ready: every gateway sees the same outage, and failing readiness with it
    # would take them all out of their load balancer.
    status, body = g.admin("/readyz")
    assert status == 200 and body == "ready\nupstream app has no healthy endpoint\n", body
    a.sick(False)
    wait_event(g, "endpoint_healthy", a)
    assert g.admin("/readyz") == (200, "ready\n")


def test_a_check_sends_the_host_it_is_given(gateway_for, endpoints):
    (a,) = endpoints(1)
    g = gateway_for(config({"app": [url(a)]}, health=HEALTH.replace("path:", "host: app.internal, path:")))
    wait_checked(g, "app", a)
    assert set(a.health_checks()) == {("app.internal", "-")}


def test_expect_decides_which_statuses_pass(gateway_for, endpoints):
    (a,) = endpoints(1)
    g = gateway_for(config({"app": [url(a)]}, health=HEALTH.replace("path: /healthz", "path: /status/204, expect: [204]")))
    wait_checked(g, "app", a)
    g2 = gateway_for(config({"app": [url(a)]}, health=HEALTH.replace("path: /healthz", "path: /status/200, expect: [201-299, 204]")))
    down, _ = wait_event(g2, "endpoint_unhealthy", a)
    assert down["reason"] == "status 200"


def test_metrics_count_checks_and_their_time(gateway_for, endpoints):
    (a,) = endpoints(1)
    g = gateway_for(config({"app": [url(a)]}))
    wait_checked(g, "app", a, n=3)
    text = g.metrics()
    labels = '{upstream="app",endpoint="127.0.0.1:%d"}' % a.port
    assert "# TYPE gatehouse_upstream_health_check_duration_seconds summary" in text
    count = g.metric("gatehouse_upstream_health_check_duration_seconds_count" + labels)
    total = g.metric("gatehouse_upstream_health_check_duration_seconds_sum" + labels)
    assert count >= 3 and 0 < total < count * 0.15
    assert g.metric("gatehouse_upstream_endpoint_ejected" + labels) == 0
    assert "gatehouse_upstream_endpoint_healthy" + labels + " 1" in text


@pytest.fixture
def pki(tmp_path):
    ca = CertAuthority(str(tmp_path))
    ca.backend = ca.issue("backend", "backend.test", dns=["backend.test"], ips=["127.0.0.1"])
    ca.gateway = ca.issue("gateway", "gatehouse", client=True)
    return ca


def test_https_checks_use_the_upstreams_tls_and_client_certificate(gateway_for, endpoints, pki):
    (a,) = endpoints(1, tls=pki.backend, client_ca=pki.ca_file)
    ep = "https://127.0.0.1:%d" % a.port
    # server_name does not resolve: the check goes to the endpoint's address, with that name
    # for SNI and the certificate check
    tls = "{ca_file: %s, certificate: %s, private_key: %s, server_name: backend.test}" % (
        (pki.ca_file,) + pki.gateway)
    yaml = config({"app": [ep]}).replace("endpoints: [%s]" % ep,
                                         "endpoints: [%s], tls: %s" % (ep, tls))
    g = gateway_for(yaml)
    wait_checked(g, "app", a)
    assert ("127.0.0.1:%d" % a.port, "gatehouse") in a.health_checks()
    assert requests.get(g.url + "/app/x").status_code == 200


def test_https_checks_verify_the_endpoint(gateway_for, endpoints, pki, tmp_path):
    (a,) = endpoints(1, tls=pki.backend)
    (tmp_path / "other").mkdir()
    other = CertAuthority(str(tmp_path / "other"), name="another CA")
    ep = "https://127.0.0.1:%d" % a.port
    yaml = config({"app": [ep]}).replace("endpoints: [%s]" % ep, "endpoints: [%s], tls: "
                                         "{ca_file: %s}" % (ep, other.ca_file))
    g = gateway_for(yaml)
    down, _ = wait_event(g, "endpoint_unhealthy", a)
    assert down["reason"].startswith("tls: "), down
    assert a.health_checks() == []  # no request went to an endpoint that could not be trusted


BASE = """listeners: [{address: "127.0.0.1:1"}]
upstreams:
  app:
    endpoints: [http://127.0.0.1:1]
    health: %s
routes:
  - {name: r, match: {prefix: /}, auth: none, upstream: app}
"""


@pytest.mark.parametrize("health,message", [
    ("{}", "health takes exactly one of http and tcp"),
    ("{http: {}, tcp: {}}", "health takes exactly one of http and tcp"),
    ("{grpc: {}}", "unknown key 'grpc'"),
    ("{http: {path: healthz}}", "expected a path starting with '/'"),
    ("{http: {path: '/a b'}}", "expected a path starting with '/'"),
    ("{http: {interval: 1s, timeout: 1s}}", "timeout must be shorter than interval"),
    ("{tcp: {interval: 1s, timeout: 2s}}", "timeout must be shorter than interval"),
    ("{http: {expect: [200-99]}}", "'200-99': expected a status (200) or a range"),
    ("{http: {expect: ['2xx']}}", "'2xx': expected a status (200) or a range"),
    ("{http: {expect: [700]}}", "'700': expected a status (200) or a range"),
    ("{http: {expect: []}}", "between 1 and 16 statuses"),
    ("{http: {host: 'a b'}}", "expected a host[:port]"),
    ("{http: {healthy_after: 0}}", "healthy_after"),
    ("{tcp: {path: /x}}", "unknown key 'path'"),
    ("{http: {interval: 1s, jitter: 2s}}", "jitter must be at most interval"),
])
def test_configuration_errors(tmp_path, health, message):
    r = check_config(tmp_path, BASE % health)
    assert r.returncode != 0, r.stderr
    assert message in r.stderr, r.stderr
    assert re.search(r"c\.yaml:\d+:\d+: ", r.stderr), r.stderr


def test_a_valid_health_block_checks(tmp_path):
    good = "{http: {path: /healthz?full=1, host: app.internal, expect: [200, 204-299], " \
           "timeout: 1s, interval: 3s, jitter: 500ms, healthy_after: 1, unhealthy_after: 4}}"
    r = check_config(tmp_path, BASE % good)
    assert r.returncode == 0, r.stderr
    r = check_config(tmp_path, BASE % "{tcp: {}}")
    assert r.returncode == 0, r.stderr
