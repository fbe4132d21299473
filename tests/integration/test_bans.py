"""Bans (bans:): a client banned through the admin API is refused before anything is done for
it (403 client-banned, or 429 with Retry-After), nothing reaches the upstream, the connection
closes; GET /bans lists it, DELETE /bans/{key} lifts it, a reload keeps it, it expires and
doubles on a repeat strike; the allow-list spares a client; `gatehouse bans` lists and lifts;
ban and unban security events and metrics; two gateways share bans through a real Redis, and
a Redis that goes away leaves the local bans enforced."""
import json
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request

import pytest
import requests

from conftest import api_key_identity, proxy_yaml
from testenv import BIN, check_config, wait_for
from testenv.redis import Redis

ME = "ip:127.0.0.1"


def admin_post(gw, doc):
    req = urllib.request.Request("http://127.0.0.1:%d/bans" % gw.admin_port, method="POST",
                                 data=json.dumps(doc).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def bans_of(gw):
    status, text = gw.admin("/bans")
    assert status == 200, text
    return json.loads(text)


def lift(gw, key):
    return gw.admin("/bans/" + urllib.parse.quote(key, safe=""), method="DELETE")


def sec_events(path):
    try:
        with open(path) as f:
            return [json.loads(l) for l in f if l.strip()]
    except FileNotFoundError:
        return []


def ban_yaml(upstream, tmp_path, bans="{}"):
    return proxy_yaml(upstream, extra="bans: %s\nsecurity_events: {file: %s}\n"
                      % (bans, tmp_path / "sec.log"))


def test_banned_client_refused_listed_and_lifted(gateway_for, upstream, tmp_path):
    gw = gateway_for(ban_yaml(upstream, tmp_path))
    assert requests.get(gw.url + "/a").status_code == 200
    seen = len(upstream.requests)
    status, doc = admin_post(gw, {"key": ME, "reason": "scraping the catalogue"})
    assert status == 201 and doc["seconds"] == 600 and doc["kind"] == "address"

    r = requests.get(gw.url + "/a")
    assert r.status_code == 403
    assert r.headers["Content-Type"] == "application/problem+json"
    assert r.headers["Connection"] == "close" and "Retry-After" not in r.headers
    body = r.json()
    assert body["type"] == "urn:gatehouse:problem:client-banned"
    assert body["detector"] == "admin" and 590 <= body["retry_after"] <= 600
    # Before routing too: a path with no route is refused the same, not 404.
    assert requests.get(gw.url + "/../nowhere").status_code in (400, 403)
    assert requests.post(gw.url + "/a", data=b"x" * 1000).status_code == 403
    assert len(upstream.requests) == seen  # nothing forwarded

    listed = bans_of(gw)
    assert listed["active"] == 1 and listed["truncated"] is False
    (b,) = listed["bans"]
    assert (b["key"], b["kind"], b["detector"], b["strikes"], b["origin"]) == \
        (ME, "address", "admin", 1, "local")
    assert b["reason"] == "scraping the catalogue" and 590 <= b["remaining_seconds"] <= 600
    line = gw.access_lines(4)[1]
    assert line["status"] == 403 and line["reason"] == "client-banned"
    assert gw.wait_metric("gatehouse_ban_refusals_total", 3) >= 3
    assert gw.metric("gatehouse_bans_active") == 1
    assert gw.metric('gatehouse_bans_total{detector="admin"}') == 1
    assert gw.metric('gatehouse_refusals_total{reason="client-banned"}') >= 3

    assert lift(gw, ME)[0] == 200
    assert requests.get(gw.url + "/a").status_code == 200
    assert lift(gw, ME)[0] == 404
    assert bans_of(gw)["active"] == 0
    wait_for(lambda: any(e["event.action"] == "unban" for e in sec_events(tmp_path / "sec.log")),
             "the unban event")
    events = sec_events(tmp_path / "sec.log")
    ban = [e for e in events if e["event.action"] == "ban"][0]
    assert ban["event.reason"] == "imposed" and ban["rule.name"] == "admin"
    assert ban["source.ip"] == "127.0.0.1"
    unban = [e for e in events if e["event.action"] == "unban"][0]
    assert unban["event.reason"] == "lifted"
    assert any(e["event.action"] == "banned-client-refused" for e in events)


def test_status_429_retry_after_expiry_and_doubling(gateway_for, upstream, tmp_path):
    gw = gateway_for(ban_yaml(upstream, tmp_path, "{status: 429, base: 1s, max: 2s}"))
    assert admin_post(gw, {"key": ME})[1]["seconds"] == 1
    r = requests.get(gw.url + "/a")
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    assert r.json()["type"] == "urn:gatehouse:problem:client-banned"
    wait_for(lambda: requests.get(gw.url + "/a").status_code == 200, "the ban's end", timeout=5)
    wait_for(lambda: any(e["event.reason"] == "expired" for e in sec_events(tmp_path / "sec.log")),
             "the expiry event")
    # The second strike lasts twice as long, then the maximum holds.
    assert admin_post(gw, {"key": ME})[1]["seconds"] == 2
    assert admin_post(gw, {"key": ME})[1]["seconds"] == 2
    assert bans_of(gw)["bans"][0]["strikes"] == 3


def test_ban_survives_reload(gateway_for, upstream, tmp_path):
    gw = gateway_for(ban_yaml(upstream, tmp_path))
    admin_post(gw, {"key": ME, "reason": "kept"})
    gw.write_config(ban_yaml(upstream, tmp_path, "{status: 429}"))
    gw.signal(signal.SIGHUP)
    wait_for(lambda: gw.metric('gatehouse_reloads_total{result="success"}') == 1, "the reload")
    r = requests.get(gw.url + "/a")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 590  # new status, same ban
    assert bans_of(gw)["bans"][0]["reason"] == "kept"


def test_identity_ban_and_allow_list(gateway_for, upstream, tmp_path):
    text = api_key_identity(tmp_path, upstream.port) + """
bans:
  allow: [127.0.0.0/8, "key:trusted-ci"]
routes:
  - {name: r, match: {prefix: /}, auth: {api_key: partners}, upstream: app}
"""
    gw = gateway_for(text)
    # The address is on the allow-list: not banned, and said so.
    status, doc = admin_post(gw, {"key": ME})
    assert status == 409 and "allow" in doc["detail"]
    assert admin_post(gw, {"key": "key:trusted-ci"})[0] == 409
    assert admin_post(gw, {"key": "key:acme", "detector": "stuffing"})[0] == 201
    r = requests.get(gw.url + "/a", headers={"X-Api-Key": "k1"})
    assert r.status_code == 403 and r.json()["detector"] == "stuffing"
    assert len(upstream.requests) == 0
    # Without the key the client is not that identity: its authentication is judged as ever.
    assert requests.get(gw.url + "/a").status_code == 401


def test_admin_bans_api_edges(gateway_for, upstream, tmp_path):
    gw = gateway_for(ban_yaml(upstream, tmp_path))
    assert admin_post(gw, {"key": ME, "duration": 30})[1]["seconds"] == 30
    assert admin_post(gw, {"kee": ME})[0] == 400
    assert admin_post(gw, {"key": "no-kind"})[0] == 400
    assert admin_post(gw, {"key": ME, "duration": -1})[0] == 400
    assert gw.admin("/bans/%zz", method="DELETE")[0] == 400
    assert gw.admin("/bans", method="PUT")[0] == 405
    # An unencoded key as listed works too (':' is allowed in a path).
    assert gw.admin("/bans/" + ME, method="DELETE")[0] == 200


def test_cli_list_and_lift(gateway_for, upstream, tmp_path):
    gw = gateway_for(ban_yaml(upstream, tmp_path))
    admin = ["--admin", "127.0.0.1:%d" % gw.admin_port]
    admin_post(gw, {"key": "sub:mallory", "reason": "walked ids", "detector": "bola"})
    r = subprocess.run([BIN, "bans", "list"] + admin, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "sub:mallory" in r.stdout and "bola" in r.stdout and "walked ids" in r.stdout
    r = subprocess.run([BIN, "bans", "list", "--json"] + admin, capture_output=True, text=True)
    assert json.loads(r.stdout)["bans"][0]["key"] == "sub:mallory"
    r = subprocess.run([BIN, "bans", "lift", "sub:mallory"] + admin, capture_output=True, text=True)
    assert r.returncode == 0 and "lifted sub:mallory" in r.stdout
    r = subprocess.run([BIN, "bans", "lift", "sub:mallory"] + admin, capture_output=True, text=True)
    assert r.returncode == 1 and "no active ban" in r.stderr
    r = subprocess.run([BIN, "bans", "drop"] + admin, capture_output=True, text=True)
    assert r.returncode == 2


@pytest.mark.parametrize("bans,posted,banned", [
    ("{}", "ip:::ffff:127.0.0.1", ME),  # the door reads a mapped address as the IPv4 one
    ("{ipv4_prefix: 24}", "ip:127.0.0.1", "ip:127.0.0.0/24"),
    ("{ipv4_prefix: 24}", "ip:127.0.0.9/32", "ip:127.0.0.0/24"),
])
def test_ban_by_hand_names_the_key_the_door_checks(gateway_for, upstream, tmp_path, bans, posted,
                                                   banned):
    gw = gateway_for(ban_yaml(upstream, tmp_path, bans))
    status, doc = admin_post(gw, {"key": posted})
    assert status == 201 and doc["banned"] == banned, doc
    assert requests.get(gw.url + "/a").status_code == 403
    assert [b["key"] for b in bans_of(gw)["bans"]] == [banned]
    assert lift(gw, posted)[0] == 200  # lifted by the name it was imposed under, too
    assert requests.get(gw.url + "/a").status_code == 200


@pytest.mark.parametrize("key", ["ip:127.0.0.0/24", "ip:127.000.0.1", "ip:localhost",
                                 "ip:2001:db8::/32"])
def test_ban_by_hand_refuses_an_address_key_that_names_no_client(gateway_for, upstream, tmp_path,
                                                                 key):
    gw = gateway_for(ban_yaml(upstream, tmp_path))
    status, doc = admin_post(gw, {"key": key})
    assert status == 400, doc
    assert bans_of(gw)["active"] == 0


def test_cli_list_columns_hold_the_longest_detector(gateway_for, upstream, tmp_path):
    gw = gateway_for(ban_yaml(upstream, tmp_path))
    admin_post(gw, {"key": "ip:198.51.100.7", "reason": "stuffed", "detector": "credential_stuffing",
                    "duration": 600})
    r = subprocess.run([BIN, "bans", "list", "--admin", "127.0.0.1:%d" % gw.admin_port],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    head, row = r.stdout.splitlines()[:2]
    # Each figure ends under the end of its heading, whatever the detector's name.
    for heading, figure in (("REMAINING", "s"), ("STRIKES", "1")):
        end = head.index(heading) + len(heading)
        assert row[end - 1] == figure and row[end] == " ", r.stdout


@pytest.mark.parametrize("bans,where,message", [
    ("{status: 401}", "3:16", "bans.status: expected one of: 403, 429"),
    ("{base: 2h, max: 1h}", "3:7", "bans: base (7200s) exceeds max (3600s)"),
    ("{allow: [10.0.0.0/33]}", "3:16", "bans.allow: expected an address or CIDR"),
    ("{allow: [nobody]}", "3:16", "bans.allow: expected an address or CIDR"),
    ("{max_entries: 0}", "3:21", "bans.max_entries: 0 is out of range"),
    ("{forget: 1h}", "3:8", "bans: unknown key 'forget'"),
])
def test_config_errors(tmp_path, bans, where, message):
    text = "listeners: [{address: 127.0.0.1:1}]\nroutes: [{name: r, match: {prefix: /}, " \
           "auth: none, respond: {status: 204}}]\nbans: %s\n" % bans
    r = check_config(tmp_path, text)
    assert r.returncode == 1
    assert "c.yaml:%s: %s" % (where, message) in r.stderr, r.stderr


def test_defaults_printed(tmp_path):
    text = "listeners: [{address: 127.0.0.1:1}]\nroutes: [{name: r, match: {prefix: /}, " \
           "auth: none, respond: {status: 204}}]\n"
    (tmp_path / "c.yaml").write_text(text)
    r = subprocess.run([BIN, "check", "-c", str(tmp_path / "c.yaml"), "--print"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "bans:\n  status: 403\n  base: 10m\n  max: 24h\n  forget_after: 24h\n" \
        "  max_entries: 100000\n" in r.stdout, r.stdout


@pytest.fixture
def redis():
    r = Redis().start()
    yield r
    r.stop()


def test_bans_shared_through_redis(gateway_for, upstream, redis, tmp_path):
    text = ban_yaml(upstream, tmp_path, "{sync_interval: 200ms}") + \
        "stores:\n  redis: {address: 127.0.0.1:%d, timeout: 200ms}\n" % redis.port
    a, b = gateway_for(text), gateway_for(text)
    # The first exchange says the bans are shared, not shared "again".
    wait_for(lambda: any('"event":"bans_store_up"' in l for l in a.event_lines()),
             "the bans_store_up event")
    (up,) = [json.loads(l) for l in a.event_lines() if '"event":"bans_store_up"' in l]
    assert up["message"] == "bans shared through Redis", up
    assert admin_post(a, {"key": ME, "reason": "from a", "detector": "tokens"})[0] == 201
    started = time.time()
    wait_for(lambda: requests.get(b.url + "/a").status_code == 403, "the ban at b", timeout=5)
    assert time.time() - started < 2
    (seen,) = bans_of(b)["bans"]
    assert seen["origin"] == "shared" and seen["detector"] == "tokens" and seen["reason"] == "from a"
    assert "from a" in redis.command("HGET", "gatehouse:bans", ME)
    # Lifted at b: lifted everywhere.
    assert lift(b, ME)[0] == 200
    wait_for(lambda: requests.get(a.url + "/a").status_code == 200, "the lift at a", timeout=5)
    # Redis gone: a ban imposed now holds locally, the failures are counted and logged.
    redis.stop()
    assert admin_post(a, {"key": ME})[0] == 201
    assert requests.get(a.url + "/a").status_code == 403
    assert a.wait_metric("gatehouse_bans_store_failures_total", 1) >= 1
    wait_for(lambda: any('"event":"bans_store_down"' in l for l in a.event_lines()),
             "the bans_store_down event")
    assert requests.get(b.url + "/a").status_code == 200


def test_address_prefix_behind_trusted_proxy(gateway_for, upstream, tmp_path):
    """The key is the client's address behind trusted proxies, cut to bans.ipv4_prefix, as the
    rate limiter's client_ip keys are."""
    text = ban_yaml(upstream, tmp_path, "{ipv4_prefix: 24}") + "trusted_proxies: [127.0.0.1]\n"
    gw = gateway_for(text)
    assert admin_post(gw, {"key": "ip:203.0.113.0/24"})[0] == 201
    fwd = lambda a: requests.get(gw.url + "/a", headers={"X-Forwarded-For": a}).status_code
    assert fwd("203.0.113.77") == 403
    assert fwd("198.51.100.1, 203.0.113.5") == 403  # walked from the right
    assert fwd("198.51.100.1") == 200
    assert fwd("::ffff:203.0.113.9") == 403  # an IPv4-mapped address is the IPv4 one
    assert requests.get(gw.url + "/a").status_code == 200  # the proxy itself is not banned


def test_ban_event_written_whatever_its_texts_hold(gateway_for, upstream, tmp_path):
    """A key and a reason of control bytes (six bytes each once escaped): the ban event is
    written with its texts cut and says so, rather than lost for its length."""
    gw = gateway_for(ban_yaml(upstream, tmp_path))
    key = "sub:" + "\x01" * 240
    assert admin_post(gw, {"key": key, "reason": "\x02" * 180})[0] == 201
    wait_for(lambda: any(e["event.action"] == "ban" for e in sec_events(tmp_path / "sec.log")),
             "the ban event")
    e = [e for e in sec_events(tmp_path / "sec.log") if e["event.action"] == "ban"][0]
    assert e["gatehouse.event.cut"] is True
    assert e["gatehouse.ban.key"] == key[:128] + "...[cut]"
    assert e["message"].startswith("\x02" * 128) and e["gatehouse.ban.kind"] == "subject"
