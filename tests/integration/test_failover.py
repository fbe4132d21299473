"""Retries and passive outlier ejection, with real endpoints in processes of their own that the
tests kill: a dead endpoint costs the client nothing on GET, is taken out of rotation after
consecutive failures, and no more than max_ejection_percent of an upstream is ever taken out;
a POST the dead endpoint had received fails and is never sent twice; retries stay within the
retry budget."""
import datetime
import json
import threading
import time
from collections import Counter

import pytest
import requests

from conftest import proxy_yaml
from testenv import accept_forever, free_port, listening_socket, wait_for


def events(g, name):
    return [json.loads(l) for l in g.event_lines() if '"event":"%s"' % name in l]


def test_a_dead_endpoint_costs_no_get_and_is_ejected(gateway_for, endpoints):
    a, b = endpoints(2)
    dead = free_port()
    g = gateway_for(proxy_yaml([a, dead, b]))
    statuses = [requests.get(g.url + "/x/%d" % i).status_code for i in range(30)]
    assert statuses == [200] * 30
    # Three consecutive connection failures take it out; none is tried after that.
    assert g.metric('gatehouse_upstream_requests_total{upstream="app",result="connect_failed"}') == 3
    assert g.metric('gatehouse_upstream_ejections_total{upstream="app"}') == 1
    assert g.metric('gatehouse_upstream_retries_total{upstream="app"}') == 3
    ejected = events(g, "endpoint_ejected")
    assert len(ejected) == 1 and ejected[0]["endpoint"] == "127.0.0.1:%d" % dead, ejected
    lines = g.access_lines(30)
    assert sorted(Counter(l["attempts"] for l in lines).items()) == [(1, 27), (2, 3)]
    assert len(a.log_lines()) + len(b.log_lines()) == 30


def test_a_killed_endpoint_under_load_fails_no_get(gateway_for, endpoints):
    eps = endpoints(3)
    g = gateway_for(proxy_yaml(eps), workers=2)
    failures, done, stop = [], [0], threading.Event()

    def client():
        with requests.Session() as s:
            while not stop.is_set():
                try:
                    r = s.get(g.url + "/load")
                    if r.status_code != 200:
                        failures.append(r.status_code)
                except requests.RequestException as e:
                    failures.append(repr(e))
                done[0] += 1

    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    killed_at = time.time()
    eps[1].kill()
    time.sleep(2.0)
    stop.set()
    for t in threads:
        t.join()
    assert failures == [] and done[0] > 100, (failures[:10], done[0])
    ejected = events(g, "endpoint_ejected")
    assert [e["endpoint"] for e in ejected] == ["127.0.0.1:%d" % eps[1].port], ejected
    at = datetime.datetime.strptime(ejected[0]["ts"], "%Y-%m-%dT%H:%M:%S.%fZ")
    at = at.replace(tzinfo=datetime.timezone.utc).timestamp()
    assert at - killed_at < 1.0, at - killed_at


def test_a_post_the_killed_endpoint_received_fails_and_is_never_sent_again(gateway_for, endpoints):
    eps = endpoints(3)
    g = gateway_for(proxy_yaml(eps))
    results = {}

    def post(i):
        results[i] = requests.post(g.url + "/slow/1500/%d" % i, data=b"x" * 10).status_code

    threads = [threading.Thread(target=post, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    wait_for(lambda: all(len(e.log_lines()) == 1 for e in eps), "each endpoint has its POST")
    eps[0].kill()
    for t in threads:
        t.join()
    assert sorted(results.values()) == [200, 200, 502], results
    posts = [l for e in eps for l in e.log_lines() if l[0] == "POST"]
    assert len(posts) == 3 and len({l[2] for l in posts}) == 3, posts


def test_a_bodiless_post_is_not_sent_twice_either(gateway_for, endpoints):
    eps = endpoints(2)
    g = gateway_for(proxy_yaml(eps))
    got = {}
    t = threading.Thread(target=lambda: got.setdefault("r", requests.post(g.url + "/slow/1500")))
    t.start()
    wait_for(lambda: sum(len(e.log_lines()) for e in eps) == 1, "the POST arrived")
    victim = [e for e in eps if e.log_lines()][0]
    victim.kill()
    t.join()
    assert got["r"].status_code == 502
    assert sum(len(e.log_lines()) for e in eps) == 1


def test_a_get_the_killed_endpoint_received_is_tried_again(gateway_for, endpoints):
    eps = endpoints(2)
    g = gateway_for(proxy_yaml(eps))
    got = {}
    t = threading.Thread(target=lambda: got.setdefault("r", requests.get(g.url + "/slow/1500/g")))
    t.start()
    wait_for(lambda: sum(len(e.log_lines()) for e in eps) == 1, "the GET arrived")
    [victim] = [e for e in eps if e.log_lines()]
    [other] = [e for e in eps if e is not victim]
    victim.kill()
    t.join()
    assert got["r"].status_code == 200
    assert other.log_lines()[0][:2] == ["GET", "/slow/1500/g"]
    assert g.access_lines(1)[-1]["attempts"] == 2


def test_application_errors_do_not_eject(gateway_for, endpoints):
    """An attacker who finds a URL that makes every backend answer 500 cannot take them out."""
    eps = endpoints(3)
    g = gateway_for(proxy_yaml(eps))
    for _ in range(30):
        assert requests.get(g.url + "/status/500").status_code == 500
    assert g.metric('gatehouse_upstream_ejections_total{upstream="app"}') == 0
    for _ in range(6):
        requests.get(g.url + "/spread")
    assert all(any(l[1] == "/spread" for l in e.log_lines()) for e in eps)


def test_application_errors_eject_when_configured(gateway_for, endpoints):
    eps = endpoints(3)
    g = gateway_for(proxy_yaml(eps, upstream_extra=", outlier: {application_errors: true}"))
    for _ in range(30):
        requests.get(g.url + "/status/500")
    assert g.metric('gatehouse_upstream_ejections_total{upstream="app"}') == 1


def test_never_more_than_max_ejection_percent_are_ejected(gateway_for):
    dead = [free_port() for _ in range(4)]
    g = gateway_for(proxy_yaml(dead, upstream_extra=", retry: {attempts: 1}"))
    for _ in range(40):
        assert requests.get(g.url + "/").status_code == 502
    assert g.metric('gatehouse_upstream_ejections_total{upstream="app"}') == 2  # 50 % of 4
    assert len(events(g, "endpoint_ejected")) == 2


def test_a_retry_with_no_endpoint_left_says_so(gateway_for):
    """Each failed try ejects its endpoint and, with panic_threshold 0, the retry finds none in
    rotation: the answer is 503 upstream-unavailable, and it and the log line say why."""
    dead = [free_port() for _ in range(2)]
    g = gateway_for(proxy_yaml(dead, upstream_extra=", retry: {attempts: 3}, panic_threshold: 0, "
                               "outlier: {consecutive_failures: 1, max_ejection_percent: 100}"))
    r = requests.get(g.url + "/x")
    assert r.status_code == 503 and r.headers["Content-Type"] == "application/problem+json"
    body = r.json()
    assert body["type"] == "urn:gatehouse:problem:upstream-unavailable", body
    assert body["detail"] == "no endpoint of the upstream is available", body
    line = g.access_lines(1)[0]
    assert (line["reason"], line["attempts"]) == ("upstream-unavailable", 2), line
    assert line["detail"] == "no endpoint of the upstream is available", line


def test_a_503_is_retried_only_where_the_route_says_so(gateway_for, endpoints):
    a, b = endpoints(2)
    route_retry = "    retry: {on: [connect-failure, reset, 503]}\n"
    g = gateway_for(proxy_yaml([a, b], route_retry))
    for _ in range(6):
        assert requests.get(g.url + "/ok-on/%d" % b.port).status_code == 200
    # A POST was received and answered: it is not sent again.
    assert requests.post(g.url + "/ok-on/%d" % b.port, data=b"x").status_code in (200, 503)
    g2 = gateway_for(proxy_yaml([a, b]))
    assert sorted(requests.get(g2.url + "/ok-on/%d" % b.port).status_code
                  for _ in range(4)) == [200, 200, 503, 503]


def test_per_try_timeout_moves_a_get_to_another_endpoint(gateway_for, endpoints):
    a, b = endpoints(2)
    g = gateway_for(proxy_yaml([a, b], upstream_extra=", retry: {per_try_timeout: 300ms, on: [timeout]}"))
    for _ in range(4):
        started = time.time()
        assert requests.get(g.url + "/slow-on/%d/3000" % a.port).status_code == 200
        assert time.time() - started < 1.5
    retried = [l for l in g.access_lines(4) if l["attempts"] == 2]
    assert retried and all(l["upstream"] == "127.0.0.1:%d" % b.port for l in retried)
    assert g.metric('gatehouse_upstream_requests_total{upstream="app",result="timeout"}') == len(retried)


class ResettingUpstream:
    """Accepts, holds each connection hold_s, then closes it without answering; counts them."""

    def __init__(self, hold_s):
        self.sock, self.port = listening_socket(backlog=512)
        self.count = 0
        self.lock = threading.Lock()
        self.hold_s = hold_s
        self.closing = False
        accept_forever(self.sock, self._accepted, lambda: self.closing)

    def _accepted(self, c):
        with self.lock:
            self.count += 1
        threading.Timer(self.hold_s, c.close).start()

    def close(self):
        self.closing = True
        self.sock.close()


def test_retries_stay_within_the_budget(gateway_for):
    """Every endpoint fails: 50 concurrent GETs, 3 attempts each, would be 150 tries; the budget
    (retries in a second at most 20 % of the 50 requests, plus 3) lets 13 through in each second
    the 0.9 s of tries touch: at most two."""
    ups = [ResettingUpstream(0.3) for _ in range(2)]
    try:
        g = gateway_for(proxy_yaml(ups, upstream_extra=", retry: {attempts: 3}, "
                                                 "outlier: {consecutive_failures: 0}"))
        barrier = threading.Barrier(50)
        statuses = []

        def get():
            barrier.wait()
            statuses.append(requests.get(g.url + "/").status_code)

        threads = [threading.Thread(target=get) for _ in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert statuses == [502] * 50
        tries = sum(u.count for u in ups)
        assert 50 <= tries <= 50 + 2 * 13, tries
        assert g.metric('gatehouse_upstream_retries_denied_total{upstream="app"}') >= 24
    finally:
        for u in ups:
            u.close()


@pytest.mark.parametrize("extra,message", [
    (", retry: {on: [connect-failure, sometimes]}", "retry.on[1]"),
    (", retry: {attempts: 9}", "retry.attempts"),
    (", outlier: {max_ejection_percent: 101}", "outlier.max_ejection_percent"),
    (", outlier: {base_ejection_time: 20s, max_ejection_time: 5s}", "max_ejection_time"),
    (", panic_threshold: 200", "panic_threshold"),
    (", retry: {budget: {percent: 300}}", "retry.budget.percent"),
])
def test_bad_resilience_settings_fail_check(tmp_path, extra, message):
    from testenv import check_config
    r = check_config(tmp_path, "listeners: [{address: 127.0.0.1:8080}]\n"
                     + proxy_yaml(9001, upstream_extra=extra))
    assert r.returncode != 0 and message in r.stderr and "c.yaml:" in r.stderr, r.stderr


REPLAY = "    body: {buffer_before_upstream: 64k}\n    retry: {non_idempotent: true, replay_body: true}\n"
# The resetting endpoint stays in rotation, and the budget lets every retry through.
KEEP_TRYING = ", outlier: {consecutive_failures: 0}, retry: {budget: {min: 50}}"


def test_a_buffered_body_is_sent_again_where_the_route_says_replay_body(gateway_for, upstream):
    dead = ResettingUpstream(0.2)
    try:
        g = gateway_for(proxy_yaml([dead.port, upstream.port], REPLAY, KEEP_TRYING))
        sent = [("p%d" % i).encode() * (1000 + i) for i in range(4)]
        for body in sent:
            assert requests.post(g.url + "/orders", data=body).status_code == 200
        chunked = b"chunked-" * 300
        r = requests.post(g.url + "/orders", data=iter([chunked[:1000], chunked[1000:]]))
        assert r.status_code == 200
        # Each body reached the live endpoint once and whole; the resetting one had its share.
        assert sorted(q[3] for q in upstream.requests) == sorted(sent + [chunked])
        assert dead.count >= 2
        lines = g.access_lines(5)
        assert sorted(l["attempts"] for l in lines).count(2) == dead.count
        assert [h for h in upstream.header_lines[-1] if h[0] == "Content-Length"] == \
            [("Content-Length", str(len(chunked)))]  # read whole, it goes with its length
    finally:
        dead.close()


def test_a_body_too_long_to_hold_is_never_sent_twice(gateway_for, upstream):
    dead = ResettingUpstream(0.2)
    try:
        g = gateway_for(proxy_yaml([dead.port, upstream.port], REPLAY, KEEP_TRYING))
        statuses = [requests.post(g.url + "/orders", data=b"x" * 100000).status_code
                    for _ in range(4)]
        assert sorted(statuses) == [200, 200, 502, 502], statuses
        assert len(upstream.requests) == 2 and dead.count == 2
        assert all(l["attempts"] == 1 for l in g.access_lines(4))
    finally:
        dead.close()


def test_replay_body_needs_a_body_read_before_the_upstream(tmp_path):
    from testenv import check_config
    r = check_config(tmp_path, "listeners: [{address: 127.0.0.1:1}]\n" + proxy_yaml(
        9, "    retry: {non_idempotent: true, replay_body: true}\n"))
    assert r.returncode != 0
    assert "c.yaml:10:12: routes[0].retry: replay_body sends again a body read before the " \
           "upstream" in r.stderr, r.stderr
