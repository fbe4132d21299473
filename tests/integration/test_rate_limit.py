"""rate_limits with the local store: GCRA rate and burst held across workers, quotas per UTC
day, keys from claims, API keys, client addresses, headers and routes, shadow mode, the 429
answer with Retry-After and the RateLimit headers, state kept across a reload."""
import concurrent.futures
import json
import os
import signal
import subprocess
import time

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec

from testenv import BIN
from testenv.redis import Redis
from testenv.tokens import ec_jwk, sign, token_claims

ISS, AUD = "https://idp.test", "api"


@pytest.fixture(scope="module")
def key():
    return ec.generate_private_key(ec.SECP256R1())


def config(tmp_path, key, limits, routes):
    (tmp_path / "k.json").write_text(json.dumps({"keys": [ec_jwk(key, "k1")]}))
    return """
identity:
  jwt:
    corp: {issuer: %s, audiences: [%s], algorithms: [ES256], jwks_file: %s}
rate_limits:
%sroutes:
%s""" % (ISS, AUD, tmp_path / "k.json", limits, routes)


def bearer(key, sub):
    return {"Authorization": "Bearer " + sign(key, "k1", "ES256", token_claims(ISS, AUD, sub=sub))}


def test_rate_and_burst_hold_across_two_workers(gateway_for, tmp_path, key):
    gw = gateway_for(config(tmp_path, key, "  per-ip: {key: client_ip, rate: 20/s, burst: 10}\n",
                            "  - {name: r, match: {prefix: /}, auth: none, rate_limit: per-ip, respond: {status: 204}}\n"),
                     workers=2)

    def hammer(_):
        # A fresh connection every 0.2 s: the kernel spreads new connections over the workers'
        # listeners, so about 40 connections reach both workers in practice; the log shows it.
        codes = []
        end = time.time() + 2.0
        while time.time() < end:
            with requests.Session() as s:
                batch_end = min(end, time.time() + 0.2)
                while time.time() < batch_end:
                    codes.append(s.get(gw.url + "/x").status_code)
        return codes

    start = time.time()
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        codes = sum(pool.map(hammer, range(4)), [])
    elapsed = time.time() - start
    passed = codes.count(204)
    assert codes.count(429) > 0
    expected = 10 + 20 * elapsed
    assert abs(passed - expected) <= 0.1 * expected + 3, (passed, expected)
    assert gw.wait_metric('gatehouse_rate_limit_decisions_total{limit="per-ip",result="allowed"}',
                          passed, timeout=15) == passed
    # The limit held across workers only if both workers allowed requests from the one bucket.
    lines = gw.access_lines(len(codes), timeout=15)
    assert len(lines) == len(codes)
    assert {l["worker"] for l in lines if l["status"] == 204} == {0, 1}


def test_the_429_answer_and_its_headers(gateway_for, tmp_path, key):
    gw = gateway_for(config(tmp_path, key,
                            "  quiet: {key: route, rate: 2/m, burst: 2}\n"
                            "  loud: {key: route, rate: 100/s, headers: always}\n",
                            "  - {name: q, match: {prefix: /q}, auth: none, rate_limit: quiet, respond: {status: 204}}\n"
                            "  - {name: l, match: {prefix: /l}, auth: none, rate_limit: loud, respond: {status: 204}}\n"))
    ok = requests.get(gw.url + "/q")
    assert ok.status_code == 204 and "RateLimit" not in ok.headers  # headers: on_limit
    assert requests.get(gw.url + "/q").status_code == 204
    r = requests.get(gw.url + "/q")
    assert r.status_code == 429
    assert r.headers["Content-Type"] == "application/problem+json"
    assert r.json()["type"] == "urn:gatehouse:problem:rate-limited"
    assert 25 <= int(r.headers["Retry-After"]) <= 30  # one request every 30 s
    assert r.headers["RateLimit-Policy"] == '"quiet";q=2;w=60'
    assert r.headers["RateLimit"].startswith('"quiet";r=0;t=')
    line = gw.access_lines(3)[-1]
    assert (line["status"], line["reason"], line["rate_limit"]) == (429, "rate-limited", "quiet")
    ok = requests.get(gw.url + "/l")
    assert ok.headers["RateLimit-Policy"] == '"loud";q=100;w=1'
    assert ok.headers["RateLimit"] == '"loud";r=99;t=1'


def test_keys_separate_callers(gateway_for, tmp_path, key):
    gw = gateway_for(config(tmp_path, key,
                            "  per-user: {key: jwt.sub, rate: 1/m, burst: 1}\n"
                            "  per-tenant: {key: header.X-Tenant, rate: 1/m, burst: 2}\n",
                            "  - {name: u, match: {prefix: /u}, auth: {jwt: corp}, rate_limit: per-user, respond: {status: 204}}\n"
                            "  - {name: t, match: {prefix: /t}, auth: none, rate_limit: [per-tenant], respond: {status: 204}}\n"))
    assert requests.get(gw.url + "/u", headers=bearer(key, "alice")).status_code == 204
    assert requests.get(gw.url + "/u", headers=bearer(key, "alice")).status_code == 429
    assert requests.get(gw.url + "/u", headers=bearer(key, "bob")).status_code == 204
    for tenant in ("a", "b"):
        assert [requests.get(gw.url + "/t", headers={"X-Tenant": tenant}).status_code for _ in range(3)] == [204, 204, 429]
    # Without the header every request shares one bucket: no way around the limit.
    assert [requests.get(gw.url + "/t").status_code for _ in range(3)] == [204, 204, 429]


def test_a_daily_quota(gateway_for, tmp_path, key):
    gw = gateway_for(config(tmp_path, key, "  daily: {key: jwt.sub, rate: 100/s, quota: 3/day, headers: always}\n",
                            "  - {name: u, match: {prefix: /}, auth: {jwt: corp}, rate_limit: daily, respond: {status: 204}}\n"))
    h = bearer(key, "carol")
    codes = [requests.get(gw.url + "/", headers=h) for _ in range(4)]
    assert [r.status_code for r in codes] == [204, 204, 204, 429]
    r = codes[-1]
    assert r.json()["type"] == "urn:gatehouse:problem:quota-exceeded"
    to_midnight = 86400 - int(time.time()) % 86400
    assert abs(int(r.headers["Retry-After"]) - to_midnight) <= 2
    assert '"daily.quota";q=3;w=86400' in r.headers["RateLimit-Policy"]
    assert '"daily.quota";r=0;' in r.headers["RateLimit"]
    assert gw.metric('gatehouse_rate_limit_decisions_total{limit="daily",result="quota_exceeded"}') == 1


def test_shadow_mode_counts_without_refusing(gateway_for, tmp_path, key):
    gw = gateway_for(config(tmp_path, key, "  trial: {key: route, rate: 1/m, burst: 1, mode: shadow}\n",
                            "  - {name: r, match: {prefix: /}, auth: none, rate_limit: trial, respond: {status: 204}}\n"))
    assert [requests.get(gw.url + "/").status_code for _ in range(3)] == [204, 204, 204]
    lines = gw.access_lines(3)
    assert [l["rate_limit"] for l in lines] == [None, "shadow:trial", "shadow:trial"]
    assert gw.metric('gatehouse_rate_limit_decisions_total{limit="trial",result="shadow_limited"}') == 2


def test_every_listed_limit_must_pass_and_state_survives_a_reload(gateway_for, tmp_path, key):
    text = config(tmp_path, key,
                  "  wide: {key: route, rate: 100/m, burst: 100}\n"
                  "  narrow: {key: client_ip, rate: 2/m, burst: 2}\n",
                  "  - {name: r, match: {prefix: /}, auth: none, rate_limit: [wide, narrow], respond: {status: 204}}\n")
    gw = gateway_for(text)
    assert [requests.get(gw.url + "/").status_code for _ in range(3)] == [204, 204, 429]
    assert gw.access_lines(3)[-1]["rate_limit"] == "narrow"
    gw.write_config(text + "  - {name: other, match: {prefix: /other}, auth: none, respond: {status: 204}}\n")
    gw.signal(signal.SIGHUP)
    deadline = time.time() + 5
    while time.time() < deadline and requests.get(gw.url + "/other").status_code != 204:
        time.sleep(0.05)
    assert requests.get(gw.url + "/").status_code == 429  # the reload did not refill the bucket


def test_client_ip_behind_a_trusted_proxy(gateway_for, tmp_path, key):
    gw = gateway_for(config(tmp_path, key, "  per-ip: {key: client_ip, rate: 1/m, burst: 1}\n",
                            "  - {name: r, match: {prefix: /}, auth: none, rate_limit: per-ip, respond: {status: 204}}\n")
                     + "trusted_proxies: [127.0.0.1/32]\n")
    assert requests.get(gw.url + "/", headers={"X-Forwarded-For": "198.51.100.7"}).status_code == 204
    assert requests.get(gw.url + "/", headers={"X-Forwarded-For": "198.51.100.7"}).status_code == 429
    assert requests.get(gw.url + "/", headers={"X-Forwarded-For": "10.9.9.9, 198.51.100.8"}).status_code == 204


def test_rate_limit_configuration_rules(tmp_path):
    base = ("listeners: [{address: 127.0.0.1:1}]\n"
            "rate_limits:\n  l: %s\n"
            "routes: [{name: r, match: {prefix: /}, auth: none, rate_limit: %s, respond: {}}]\n")
    cases = [
        ("{key: route, rate: 10/x}", "l", "expected COUNT/s"),
        ("{key: route, rate: 0/s}", "l", "expected COUNT/s"),
        ("{key: route, rate: 2m/s}", "l", "more than a million a second"),
        ("{key: cookie.x, rate: 1/s}", "l", "use jwt.sub"),
        ("{key: route}", "l", "l.rate: required"),
        ("{key: route, rate: 1/s, quota: 5/week}", "l", "expected COUNT/day, COUNT/month"),
        ("{key: route, rate: 1/s, store: memcached}", "l", "store"),
        ("{key: jwt.sub, rate: 1/s}", "l", "its key jwt.sub needs a token"),
        ("{key: api_key, rate: 1/s}", "l", "its key api_key needs auth"),
        ("{key: route, rate: 1/s}", "nope", "no limit rate_limits.nope"),
    ]
    for limit, ref, want in cases:
        (tmp_path / "c.yaml").write_text(base % (limit, ref))
        r = subprocess.run([BIN, "check", "-c", str(tmp_path / "c.yaml")], capture_output=True, text=True)
        assert r.returncode == 1 and want in r.stderr, (want, r.stderr)


@pytest.mark.skipif(not os.environ.get("GH_SANITIZED"), reason="the test clock exists only in the test build")
@pytest.mark.parametrize("store", ["local", "redis"])
def test_a_quota_starts_over_in_the_next_window(gateway_for, tmp_path, key, monkeypatch, store):
    clock = tmp_path / "clock"
    clock.write_text("0")
    monkeypatch.setenv("GH_TEST_CLOCK_FILE", str(clock))
    redis = None
    stores = ""
    if store == "redis":
        redis = Redis().start()
        stores = "stores:\n  redis: {address: 127.0.0.1:%d}\n" % redis.port
    try:
        gw = gateway_for(stores + config(tmp_path, key, "  daily: {key: route, rate: 100/s, quota: 2/day, store: %s}\n" % store,
                                         "  - {name: r, match: {prefix: /}, auth: none, rate_limit: daily, respond: {status: 204}}\n"))
        assert [requests.get(gw.url + "/").status_code for _ in range(3)] == [204, 204, 429]
        clock.write_text(str(86400 - int(time.time()) % 86400 + 1))  # just past midnight UTC
        assert [requests.get(gw.url + "/").status_code for _ in range(3)] == [204, 204, 429]
    finally:
        if redis:
            redis.stop()


def test_a_client_behind_a_proxy_that_writes_ports_has_one_bucket(gateway_for, tmp_path, key):
    """Load balancers that write the client's port in X-Forwarded-For (and RFC 7239 nodes) give
    each connection of one client a new port: the bucket is the address's, whatever the port."""
    gw = gateway_for(config(tmp_path, key, "  per-ip: {key: client_ip, rate: 1/m, burst: 1}\n",
                            "  - {name: r, match: {prefix: /}, auth: none, rate_limit: per-ip, respond: {status: 204}}\n")
                     + "trusted_proxies: [127.0.0.1/32, 10.0.0.0/8]\n")
    assert requests.get(gw.url + "/", headers={"X-Forwarded-For": "198.51.100.7:40001"}).status_code == 204
    for hops in ("198.51.100.7:40002", "198.51.100.7", "1.2.3.4, 198.51.100.7:40003, 10.0.0.1:8080"):
        assert requests.get(gw.url + "/", headers={"X-Forwarded-For": hops}).status_code == 429, hops
    assert requests.get(gw.url + "/", headers={"X-Forwarded-For": "[2001:db8::1]:40001"}).status_code == 204
    assert requests.get(gw.url + "/", headers={"X-Forwarded-For": "[2001:db8::2]:40002"}).status_code == 429  # one /64
