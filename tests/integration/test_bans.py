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
    # Something else than a gateway's admin listener answers 200: said, not an empty list.
    r = subprocess.run([BIN, "bans", "list", "--admin", "127.0.0.1:%d" % upstream.port],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "something else than its bans" in r.stderr, (r.stdout, r.stderr)


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


@pytest.mark.parametrize("key", ["ip:127.0.0.0/24", "ip:2001:db8::/32"])
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


def resp(port, *args):
    """One command in RESP, arguments as bytes (a NUL or bytes that are no UTF-8 included): the
    first line of the answer."""
    out = b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(out)
        return s.recv(4096).split(b"\r\n")[0]


def test_hostile_key_and_reason_listed_everywhere(gateway_for, upstream, tmp_path):
    """A key of quotes, backslashes, newlines and escape sequences, and a reason longer than kept
    in a script with more than one byte to a character: GET /bans and /stats list the ban, its
    event is written, `gatehouse bans list` sends the terminal no control character, the key
    lifts as listed."""
    gw = gateway_for(ban_yaml(upstream, tmp_path))
    key = "sub:" + '"\\\n\x1b[2J\x01\x7f\u0085' * 30  # 300 bytes of UTF-8: too long
    assert admin_post(gw, {"key": key})[0] == 503
    key = key[:150]
    reason = "\u00e9" * 150 + "\x1b]0;owned\x07"
    status, doc = admin_post(gw, {"key": key, "reason": reason, "detector": "bo\"la"})
    assert status == 201 and doc["banned"] == key
    (b,) = bans_of(gw)["bans"]
    assert b["key"] == key and b["reason"] == "\u00e9" * 95 and b["detector"] == "bo_la"
    status, text = gw.admin("/stats")
    assert status == 200 and json.loads(text)["bans"][0]["key"] == key
    wait_for(lambda: any(e["event.action"] == "ban" for e in sec_events(tmp_path / "sec.log")),
             "the ban event")
    (ev,) = [e for e in sec_events(tmp_path / "sec.log") if e["event.action"] == "ban"]
    # events write texts byte for byte (each byte its own character), as the access log does
    as_bytes = lambda text: text.encode().decode("latin-1")  # noqa: E731
    assert ev["gatehouse.ban.key"] == as_bytes(key)
    assert ev["message"].startswith(as_bytes("\u00e9" * 64))
    assert ev["user.id"] == as_bytes(key[4:]) and "gatehouse.event.cut" not in ev  # it fits whole
    # The longest key there is, every byte escaped six-fold: the event still fits its line.
    long_key = "sub:" + "\x01" * (255 - 4)
    assert admin_post(gw, {"key": long_key, "reason": "\x02" * 300})[0] == 201
    wait_for(lambda: any(e.get("gatehouse.ban.key", "").startswith("sub:\x01")
                         for e in sec_events(tmp_path / "sec.log")), "the long key's ban event")
    (lev,) = [e for e in sec_events(tmp_path / "sec.log")
              if e.get("gatehouse.ban.key", "").startswith("sub:\x01")]
    assert lev["gatehouse.event.cut"] is True and lev["gatehouse.ban.key"].endswith("...[cut]")
    admin = ["--admin", "127.0.0.1:%d" % gw.admin_port]
    r = subprocess.run([BIN, "bans", "list"] + admin, capture_output=True)
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert "bo_la" in out and "\u00e9" * 95 in out
    assert not any(c < " " and c != "\n" or c == "\x7f" or "\x80" <= c <= "\x9f" for c in out), out
    assert lift(gw, key)[0] == 200 and lift(gw, long_key)[0] == 200
    assert bans_of(gw)["active"] == 0


def test_admin_lift_paths(gateway_for, upstream, tmp_path):
    gw = gateway_for(ban_yaml(upstream, tmp_path))
    for path, want in [("/bans/", 404), ("/bans/%00", 400), ("/bans/%zz", 400), ("/bans/%4", 400),
                       ("/bans/sub%3A%FF", 400), ("/bans/sub%3A%C0%AF", 400),
                       ("/bans/sub%3A" + "a" * 300, 400), ("/bans/sub:a/b", 404),
                       ("/bans/sub:nobody", 404)]:
        assert gw.admin(path, method="DELETE")[0] == want, path
    assert gw.admin("/bans/sub:a?x=1", method="DELETE")[0] == 404
    # The problem's detail quotes the parser, cut to its buffer: never inside a character.
    for pad in ("", "a"):
        status, doc = admin_post(gw, {"key": ME, pad + "\u00e9" * 100: 1})
        assert status == 400 and "left unpacked" in doc["detail"]


def test_address_keys_as_a_request_gets_them(gateway_for, upstream, tmp_path):
    """An operator bans an address as written anywhere (IPv4-mapped, a host in an IPv6 /64, a
    host in a cut IPv4 range): the ban holds on a request from it, and lifts as written."""
    gw = gateway_for(ban_yaml(upstream, tmp_path))
    status, doc = admin_post(gw, {"key": "ip:::ffff:127.0.0.1"})
    assert status == 201 and doc["banned"] == ME
    assert requests.get(gw.url + "/a").status_code == 403
    assert bans_of(gw)["bans"][0]["key"] == ME
    assert lift(gw, "ip:::ffff:127.0.0.1")[0] == 200
    assert requests.get(gw.url + "/a").status_code == 200
    status, doc = admin_post(gw, {"key": "ip:2001:db8:1:2::7"})
    assert status == 201 and doc["banned"] == "ip:2001:db8:1:2::/64"  # bans.ipv6_prefix
    assert lift(gw, "ip:2001:db8:1:2::9")[0] == 200
    text = ban_yaml(upstream, tmp_path, "{ipv4_prefix: 24}")
    gw = gateway_for(text)
    assert admin_post(gw, {"key": "ip:127.0.0.0/16"})[0] == 400  # wider than a client
    status, doc = admin_post(gw, {"key": "ip:127.0.0.1"})
    assert status == 201 and doc["banned"] == "ip:127.0.0.0/24"
    assert requests.get(gw.url + "/a").status_code == 403


def test_malformed_shared_entries(gateway_for, upstream, redis, tmp_path):
    """Fields of gatehouse:bans that no gateway wrote ban nobody, crash nothing, and deleting
    them deletes no other: a NUL inside a key, bytes that are no UTF-8, numbers out of range, a
    ban for ever, an end before its start."""
    text = ban_yaml(upstream, tmp_path, "{sync_interval: 100ms}") + \
        "stores:\n  redis: {address: 127.0.0.1:%d, timeout: 200ms}\n" % redis.port
    now = int(time.time())
    good = b"%d|%d|1|tokens|shared" % (now + 600, now)
    h = b"gatehouse:bans"
    resp(redis.port, b"HSET", h, b"sub:peer", good)
    resp(redis.port, b"HSET", h, ME.encode() + b"\x00junk", good)
    resp(redis.port, b"HSET", h, b"sub:other\x00junk", b"not a ban")
    resp(redis.port, b"HSET", h, b"sub:\xff\xfe", good)
    resp(redis.port, b"HSET", h, b"sub:forever", b"9223372036854775807|0|1|d|r")
    resp(redis.port, b"HSET", h, b"sub:huge", b"99999999999999999999999|0|1|d|r")
    resp(redis.port, b"HSET", h, b"sub:neg", b"-5|-10|1|d|r")
    resp(redis.port, b"HSET", h, b"sub:late", b"%d|%d|1|d|r" % (now + 600, now + 700))
    resp(redis.port, b"HSET", h, b"sub:strikes", b"%d|%d|-1|d|r" % (now + 600, now))
    resp(redis.port, b"HSET", h, b"sub:other", good)
    gw = gateway_for(text)
    wait_for(lambda: bans_of(gw)["active"] == 2, "the shared bans learnt")
    time.sleep(0.5)  # a few more reads
    assert sorted(b["key"] for b in bans_of(gw)["bans"]) == ["sub:other", "sub:peer"]
    assert requests.get(gw.url + "/a").status_code == 200  # the NUL key names nobody
    fields = resp(redis.port, b"HEXISTS", h, b"sub:other")
    assert fields == b":1"  # the malformed "sub:other\0junk" deleted nothing else
    assert resp(redis.port, b"HEXISTS", h, b"sub:forever") == b":0"  # malformed: deleted
    assert gw.proc.poll() is None


def test_lift_while_a_read_is_in_flight(gateway_for, upstream, tmp_path):
    """A lift made while the shared hash's read is on its way: the answer still holds the ban
    (the deletion goes after it), and must not bring it back."""
    redis = Redis()
    redis.args += ["--enable-debug-command", "yes"]
    redis.start()
    try:
        text = ban_yaml(upstream, tmp_path, "{sync_interval: 100ms}") + \
            "stores:\n  redis: {address: 127.0.0.1:%d, timeout: 3s}\n" % redis.port
        gw = gateway_for(text)
        assert admin_post(gw, {"key": ME})[0] == 201
        wait_for(lambda: resp(redis.port, b"HEXISTS", b"gatehouse:bans", ME.encode()) == b":1",
                 "the ban in Redis")
        time.sleep(0.3)
        import threading
        sleeper = threading.Thread(target=resp, args=(redis.port, b"DEBUG", b"SLEEP", b"1.5"))
        sleeper.start()
        time.sleep(0.4)  # the gateway's next read waits behind the sleep
        assert lift(gw, ME)[0] == 200
        refused, end = 0, time.time() + 2.5
        while time.time() < end:
            refused += requests.get(gw.url + "/a").status_code == 403
            time.sleep(0.02)
        sleeper.join()
        assert refused == 0
        bans = [e for e in sec_events(tmp_path / "sec.log") if e["event.action"] == "ban"]
        assert len(bans) == 1 and bans[0]["gatehouse.ban.origin"] == "local"
        assert resp(redis.port, b"HEXISTS", b"gatehouse:bans", ME.encode()) == b":0"
    finally:
        redis.stop()
