"""gatehouse probe, limits group (LIM-*), live against a running gateway: rate limits raced,
exhausted and escaped; request targets, heads, fields and bodies over their limits; a slow head
and a slow body. A sound configuration passes every case; limits keyed on what a client chooses
(a header, a per-token claim) fail the escape case that finds them."""
import re

import pytest

from testenv.probe import run_probe
from test_probe_paths import NaiveProxy

ISS, AUD = "https://issuer.probe.test", "probe-api"

CONFIG = """
limits: {head_timeout: 2s, body_rate_window: 1s, body_min_rate: 1k, body_deadline: 10s}
identity:
  jwt:
    corp: {issuer: %(iss)s, audiences: [%(aud)s], algorithms: [ES256], jwks_file: %(jwks)s}
upstreams:
  app: {endpoints: [http://127.0.0.1:%(port)d]}
rate_limits:
  per-client: {key: %(client_key)s, rate: 5/m}
  per-caller: {key: %(caller_key)s, rate: 5/m}
  bulk: {key: client_ip, rate: 1000/s}
routes:
  - name: public
    match: {host: api.probe.test, prefix: /public, methods: [GET]}
    auth: none
    rate_limit: per-client
    upstream: app
  - name: orders
    match: {path: /orders, methods: [GET]}
    auth: {jwt: corp}
    rate_limit: per-caller
    upstream: app
  - name: bulk
    match: {prefix: /bulk, methods: [GET]}
    auth: none
    rate_limit: bulk
    upstream: app
  - name: upload
    match: {path: /upload, methods: [POST]}
    auth: {jwt: corp}
    body: {max_bytes: 16k}
    upstream: app
"""


@pytest.fixture
def signing(probe_key):
    return probe_key.pem, probe_key.jwks

def start(gateway_for, upstream, signing, client_key="client_ip", caller_key="jwt.sub"):
    # Two workers: the race's connections land on both, and the limit must hold across them. h2c:
    # the streams of one HTTP/2 connection race too.
    return gateway_for(CONFIG % {"iss": ISS, "aud": AUD, "jwks": signing[1], "port": upstream.port,
                                 "client_key": client_key, "caller_key": caller_key}, workers=2,
                       listener_extra=", h2c: true")


def probe(g, signing, only="limits"):
    """Runs the probe live against g with g's own configuration: {case id: (verdict, why)} and
    the whole report."""
    verdicts, report, _ = run_probe("--target", g.url, "-c", g.config, "--profile", "full",
                                    "--signing-key", str(signing[0]), "--kid", "k1", "--only", only)
    return verdicts, report


def test_sound_configuration_holds(gateway_for, upstream, signing):
    g = start(gateway_for, upstream, signing)
    cases, text = probe(g, signing)
    assert len(cases) >= 12, text
    for case, (verdict, why) in cases.items():
        assert verdict == "pass", (case, verdict, why, text)
    # The race let through at most what the bucket held (5, one taken by the baseline).
    passed, sent = map(int, re.match(r"(\d+) of (\d+) parallel", cases["LIM-001"][1]).groups())
    assert 1 <= passed <= 5 and sent == 8, cases["LIM-001"]
    passed, sent = map(int, re.match(r"(\d+) of (\d+) streams", cases["LIM-002"][1]).groups())
    assert 1 <= passed <= 5 and sent == 8, cases["LIM-002"]
    # Each limit was exhausted in turn; the one too large to exhaust within the bound was left.
    assert "1 other limit held too; 1 over 200 a period not exhausted" in cases["LIM-003"][1], cases["LIM-003"]
    assert "refused with 414" in cases["LIM-008"][1]
    assert "refused with 431" in cases["LIM-009"][1] and "refused with 431" in cases["LIM-010"][1]
    assert "(413)" in cases["LIM-011"][1]
    assert "408" in cases["LIM-012"][1] or "closed" in cases["LIM-012"][1]


@pytest.mark.parametrize("header", ["X-Client-Id", "X-Forwarded-For"])
def test_limit_keyed_on_a_spoofable_header_is_escaped(gateway_for, upstream, signing, header):
    g = start(gateway_for, upstream, signing, client_key="header." + header)
    cases, text = probe(g, signing, "LIM-003,LIM-004")
    assert cases["LIM-003"][0] == "pass", text  # one value of the header is limited...
    verdict, why = cases["LIM-004"]
    assert verdict == "fail", text  # ...and a new value each request is a fresh bucket
    assert "passed (200)" in why and "fresh bucket" in why, why


def test_limit_keyed_on_a_per_token_claim_is_escaped(gateway_for, upstream, signing):
    g = start(gateway_for, upstream, signing, caller_key="jwt.jti")
    cases, text = probe(g, signing, "LIM-007")
    verdict, why = cases["LIM-007"]
    assert verdict == "fail", text
    assert "keyed on jti" in why and "does not hold" in why, why
    # The requests did go through: more than the limit's five reached the upstream.
    assert sum(1 for r in upstream.requests if r[1] == "/orders") > 5


def test_self_test_of_a_limit_keyed_on_a_spoofable_header(tmp_path, signing):
    """Self-test: the probe starts the gateway itself. The header-keyed limit is escaped there
    too; everything else holds (no h2c listener here: LIM-002 skips and says why)."""
    conf = tmp_path / "gatehouse.yaml"
    conf.write_text("listeners: [{address: 127.0.0.1:8080}]\n" + CONFIG % {
        "iss": ISS, "aud": AUD, "jwks": signing[1], "port": 9, "client_key": "header.X-Client-Id",
        "caller_key": "jwt.sub"})
    cases, text, _ = run_probe("-c", str(conf), "--only", "limits")
    for case, (verdict, why) in cases.items():
        if case == "LIM-002":
            assert verdict == "skip" and "does not speak HTTP/2" in why, why
        else:
            assert verdict == ("fail" if case == "LIM-004" else "pass"), (case, verdict, why, text)


def test_a_proxy_without_rate_limits_fails(upstream, signing, tmp_path):
    """Another gateway, live: one that forwards every request as it came. The configuration says
    which limits should hold; none does on the wire."""
    naive = NaiveProxy(upstream.port)
    try:
        cfg = tmp_path / "naive.yaml"
        cfg.write_text("listeners: [{address: 127.0.0.1:%d}]\n" % naive.port + CONFIG % {
            "iss": ISS, "aud": AUD, "jwks": signing[1], "port": upstream.port,
            "client_key": "client_ip", "caller_key": "jwt.sub"})

        class Target:
            url = "http://127.0.0.1:%d" % naive.port
            config = str(cfg)
        cases, text = probe(Target, signing, "LIM-001,LIM-003")
    finally:
        naive.close()
    assert cases["LIM-001"] == ("fail", "8 of 8 parallel requests in one bucket of limit per-caller passed; "
                                        "it allows 5 at once"), text
    assert cases["LIM-003"][0] == "fail" and "the limit does not hold" in cases["LIM-003"][1], text
