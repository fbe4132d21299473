"""The anomaly detectors, evaluated: a scripted benign mix (clients browsing and paging, a few
honest 404s, 401s after a token expired) with attacks injected (credential stuffing, id
enumeration, scraping at a steady rate, one token from many addresses, a burst of TRACE and
PROPFIND, forced browsing, a rate spike), every detector in mode ban. From the security event
stream: the time each attack took to be detected (target 30 s); from the event stream and the
ban table: the benign clients flagged and banned (target none). Clients are told apart by their
verified subject or by the address a trusted proxy (the test) writes in X-Forwarded-For.
Windows are short (seconds) so that the run takes about twenty seconds of real time;
docs/security.md gives the figures this test prints."""
import collections
import datetime
import json
import os
import time

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec

from testenv import BIN, raw_request
from testenv.tokens import ec_jwk, sign, token_claims

ISS, AUD = "https://idp.test", "api"
TARGET_S = 30.0

DETECTORS = """
anomaly:
  max_clients: 1024
  detectors:
    error_rate: {mode: ban, window: 10s, min_errors: 15, z_score: 4}
    enumeration: {mode: ban, window: 10s, max_distinct: 30, max_refused: 20}
    credential_stuffing: {mode: ban, window: 30s, max_credentials: 5, max_addresses: 5}
    token_sharing: {mode: ban, window: 30s, max_addresses: 4}
    rate_spike: {mode: ban, window: 2s, min_requests: 40, z_score: 6, warmup_windows: 3}
    unusual_method: {mode: ban, window: 10s, max_requests: 3}
"""


@pytest.fixture(scope="module")
def key():
    return ec.generate_private_key(ec.SECP256R1())


def config(tmp_path, key, upstream_port, events, detectors=DETECTORS):
    (tmp_path / "k.json").write_text(json.dumps({"keys": [ec_jwk(key, "k1")]}))
    return """
security_events: {file: %s, max_per_second: 1000}
trusted_proxies: [127.0.0.1]
identity:
  jwt:
    corp: {issuer: %s, audiences: [%s], algorithms: [ES256], jwks_file: %s}
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]}
routes:
  - name: item
    match: {path: "/items/{id}"}
    auth: {jwt: corp}
    upstream: app
  - name: items
    match: {path: /items}
    auth: {jwt: corp}
    upstream: app
  - name: catalog
    match: {path: "/catalog/{sku}"}
    auth: none
    upstream: app
  - name: home
    match: {path: /}
    auth: none
    upstream: app
%s""" % (events, ISS, AUD, tmp_path / "k.json", upstream_port, detectors)


@pytest.fixture
def gw(gateway_for, upstream, key, tmp_path):
    events = tmp_path / "security.log"
    g = gateway_for(config(tmp_path, key, upstream.port, events), workers=2)
    g.security = str(events)
    return g


def events_of(g):
    if not os.path.exists(g.security):
        return []
    with open(g.security) as f:
        return [json.loads(l) for l in f.read().splitlines() if l.strip()]


def anomalies(g):
    return [e for e in events_of(g) if e["event.action"] == "anomaly-detected"]


def stamp(e):
    return datetime.datetime.fromisoformat(e["@timestamp"].replace("Z", "+00:00")).timestamp()


class Actor:
    """One client of the script: who it is (its token's subject, its address), what it sends
    (step(k) for its k-th turn) and how often."""

    def __init__(self, name, addr, every, step, benign=True, start=0.0, stop=None):
        self.name, self.addr, self.every, self.step = name, addr, every, step
        self.benign, self.start, self.stop = benign, start, stop
        self.turns, self.next = 0, start
        self.session = requests.Session()
        self.statuses = collections.Counter()

    def send(self, g, method, path, headers=None, addr=None):
        h = {"X-Forwarded-For": addr or self.addr}
        h.update(headers or {})
        r = self.session.request(method, g.url + path, headers=h, timeout=5)
        self.statuses[r.status_code] += 1
        return r


def bearer(key, sub, **claims):
    return {"Authorization": "Bearer " + sign(key, "k1", "ES256",
                                              token_claims(ISS, AUD, sub=sub, **claims))}


def benign_clients(key):
    """Five people browsing: a page of the list now and then, items from a small set, an
    honest 404 every few seconds; one of them carries on with a token that expired and gets
    401s until it takes a new one."""
    actors = []
    for i, sub in enumerate(["alice", "bob", "carol", "dave", "erin"]):
        token = bearer(key, sub)
        expired = bearer(key, sub, iat=int(time.time()) - 900, exp=int(time.time()) - 300)

        def step(k, g, a, token=token, expired=expired, i=i):
            if a.name == "erin" and 16 <= k < 19:
                a.send(g, "GET", "/items/%d" % (k % 7), expired)  # 401: the token expired
            elif k % 10 == 9:
                a.send(g, "GET", "/no-such-page-%d" % k)  # an honest 404
            elif k % 4 == 0:
                a.send(g, "GET", "/items?page=%d" % (k // 4 % 5), token)
            else:
                a.send(g, "GET", "/items/%d" % ((k * 3 + i) % 12), token)
        actors.append(Actor(sub, "10.1.0.%d" % (i + 1), 0.25 + 0.05 * i, step))
    # a visitor without an account, paging the public catalogue
    actors.append(Actor("visitor", "10.1.0.9", 0.4,
                        lambda k, g, a: a.send(g, "GET", "/catalog/sku-%d" % (k % 8))))
    return actors


def attackers(key):
    """Each attack: its name, the actor that carries it, and what identifies it in an event."""
    shared = bearer(key, "shared-user")

    def stuffing(k, g, a):  # a new stolen or guessed token each time
        a.send(g, "GET", "/items/1", bearer(key, "victim-%d" % k, exp=int(time.time()) - 400))

    def enumeration(k, g, a):
        a.send(g, "GET", "/items/%d" % (1000 + k), a.token)

    def scraping(k, g, a):
        a.send(g, "GET", "/catalog/sku-%d" % (5000 + k))

    def sharing(k, g, a):
        a.send(g, "GET", "/items/%d" % (k % 3), shared, addr="192.0.2.%d" % (10 + k % 8))

    def methods(k, g, a):
        a.send(g, "TRACE" if k % 2 == 0 else "PROPFIND", "/")

    def forced_browsing(k, g, a):  # guessing paths: /admin, /.git/config, /backup.zip...
        a.send(g, "GET", "/guess-%d" % k)

    def spike(k, g, a):  # a steady client that suddenly sends 25 times as fast
        if time.time() - a.born >= 9.0 and a.every > 0.02:
            a.every, a.attack_began = 0.02, time.time()
        a.send(g, "GET", "/catalog/sku-%d" % (k % 4))

    bursty = Actor("spike", "203.0.113.40", 0.5, spike, False, start=0.0)
    bursty.born = time.time()
    enum = Actor("enumeration", "10.2.0.2", 0.1, enumeration, False, start=5.0)
    enum.token = bearer(key, "mallory")
    return [
        ("credential stuffing", Actor("stuffing", "203.0.113.10", 0.2, stuffing, False, 3.0),
         "credential_stuffing", "ip:203.0.113.10"),
        ("id enumeration", enum, "enumeration", "sub:mallory"),
        ("scraping at a steady rate", Actor("scraping", "203.0.113.20", 0.25, scraping, False, 4.0),
         "enumeration", "ip:203.0.113.20"),
        ("token used from many addresses", Actor("sharing", "192.0.2.10", 0.3, sharing, False, 7.0),
         "token_sharing", "sub:shared-user"),
        ("TRACE/PROPFIND burst", Actor("methods", "198.51.100.7", 0.2, methods, False, 9.0, 10.5),
         "unusual_method", "ip:198.51.100.7"),
        ("forced browsing (404s)", Actor("browsing", "203.0.113.30", 0.1, forced_browsing, False, 6.0),
         "error_rate", "ip:203.0.113.30"),
        ("rate spike", bursty, "rate_spike", "ip:203.0.113.40"),
    ]


BENIGN_KEYS = {"sub:alice", "sub:bob", "sub:carol", "sub:dave", "sub:erin", "ip:10.1.0.1",
               "ip:10.1.0.2", "ip:10.1.0.3", "ip:10.1.0.4", "ip:10.1.0.5", "ip:10.1.0.9"}


def replay(g, actors, attacks, duration):
    """Runs the script for duration seconds; an attacker stops once detected. Returns when each
    actor began (wall clock)."""
    t0 = time.time()
    began = {}
    detected = set()
    while time.time() - t0 < duration:
        now = time.time() - t0
        found = {(e["rule.id"], e["gatehouse.anomaly.key"]) for e in anomalies(g)}
        for a in actors:
            if now < a.next or (a.stop and now > a.stop) or a.name in detected:
                continue
            began.setdefault(a.name, time.time())
            a.step(a.turns, g, a)
            a.turns += 1
            a.next += a.every
        for _, actor, detector, who in attacks:
            if (detector, who) in found:
                detected.add(actor.name)
        time.sleep(0.01)
    return began


def test_attacks_are_detected_within_target_and_no_benign_client_is_flagged(gw, key):
    benign = benign_clients(key)
    attacks = attackers(key)
    began = replay(gw, benign + [a for _, a, _, _ in attacks], attacks, 24.0)
    events = anomalies(gw)
    for e in events:
        print("detected:", e["rule.id"], e["gatehouse.anomaly.key"], "-", e["event.reason"])
    report = []
    for name, actor, detector, who in attacks:
        hits = [e for e in events if e["rule.id"] == detector and e["gatehouse.anomaly.key"] == who]
        assert hits, (name, events)
        took = stamp(hits[0]) - getattr(actor, "attack_began", began[actor.name])
        report.append((name, detector, took))
        assert took <= TARGET_S, (name, took)
    flagged = {e["gatehouse.anomaly.key"] for e in events} & BENIGN_KEYS
    flagged |= {e["user.id"] for e in events if e["user.id"] in
                ("alice", "bob", "carol", "dave", "erin")}
    seen = sum((a.statuses for a in benign), collections.Counter())
    # the benign mix is what it claims: mostly answered, some honest 404s and expired-token 401s
    assert seen[200] > 300 and seen[404] >= 10 and seen[401] == 3, seen
    print("ANOMALY-FIGURE benign requests: %d (%s)" % (sum(seen.values()), dict(seen)))
    for name, detector, took in report:
        print("ANOMALY-FIGURE | %s | %s | %.1f s |" % (name, detector, took))
    print("ANOMALY-FIGURE benign clients flagged: %d of %d" % (len(flagged), len(benign)))
    assert not flagged, [e for e in events if e["gatehouse.anomaly.key"] in BENIGN_KEYS]
    # every detection is an ECS alert naming its detector, counted in the metrics
    for e in events:
        assert e["event.kind"] == "alert" and e["rule.ruleset"] == "anomaly"
        assert e["gatehouse.anomaly.mode"] == "ban"
    _, text = gw.admin("/metrics")
    assert 'gatehouse_anomaly_detections_total{detector="enumeration",mode="ban"}' in text
    # in mode ban, every attacker is banned and no benign client is
    status, text = gw.admin("/bans")
    assert status == 200, text
    listed = json.loads(text)
    banned = {b["key"] for b in (listed.get("bans", listed) if isinstance(listed, dict) else listed)}
    assert {who for _, _, _, who in attacks} <= banned, banned
    print("ANOMALY-FIGURE benign clients banned: %d of %d" % (len(banned & BENIGN_KEYS), len(benign)))
    assert not banned & BENIGN_KEYS, banned


def test_check_reports_anomaly_errors_at_their_place(tmp_path):
    import subprocess
    path = tmp_path / "bad.yaml"
    path.write_text("""listeners: [{address: 127.0.0.1:8080}]
anomaly:
  max_clients: 10
  detectors:
    enumeration: {mode: block, max_distinct: 0}
    token_sharing: {max_adresses: 3}
  allow: [10.0.0.0/8, ""]
routes:
  - {name: hello, match: {path: /hello}, auth: none, respond: {status: 200}}
""")
    p = subprocess.run([BIN, "check", "-c", str(path)], capture_output=True, text=True)
    assert p.returncode == 1
    f = str(path)
    for line in (f + ":3:16: anomaly.max_clients: 10 is out of range [64, 1048576]",
                 f + ":5:25: anomaly.detectors.enumeration.mode: expected one of: off, log, ban",
                 f + ":5:46: anomaly.detectors.enumeration.max_distinct: 0 is out of range",
                 f + ":6:21: anomaly.detectors.token_sharing: unknown key 'max_adresses'; "
                     "did you mean 'max_addresses'?",
                 f + ':7:23: anomaly.allow[1]: expected an address, a CIDR or a subject, not ""'):
        assert line in p.stderr, p.stderr
    # unwritten, every detector is on in mode log with its defaults
    path.write_text("""listeners: [{address: 127.0.0.1:8080}]
routes:
  - {name: hello, match: {path: /hello}, auth: none, respond: {status: 200}}
""")
    p = subprocess.run([BIN, "check", "-c", str(path), "--print"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    printed = p.stdout[p.stdout.index("anomaly:"):]
    for detector in ("error_rate", "enumeration", "credential_stuffing", "token_sharing",
                     "rate_spike", "unusual_method"):
        assert "    %s:\n      mode: log\n" % detector in printed, printed
    assert "max_clients: 8192" in printed


@pytest.fixture
def redis():
    from testenv.redis import Redis
    r = Redis().start()
    yield r
    r.stop()


def shared_config(tmp_path, key, upstream_port, redis_port, events, store):
    return config(tmp_path, key, upstream_port, events, detectors="""
stores:
  redis: {address: 127.0.0.1:%d, timeout: 200ms}
anomaly:
  store: %s
  detectors:
    token_sharing: {window: 1m, max_addresses: 4}
    enumeration: {window: 1m, max_distinct: 20}
""" % (redis_port, store))


@pytest.mark.parametrize("store", ["redis", "local"])
def test_gateways_sharing_redis_count_together(gateway_for, upstream, key, tmp_path, redis, store):
    """Two gateways, each seeing half of an attack: a token from four addresses (two through
    each), twenty ids walked (ten through each). With store: redis the counts add up and each
    attack is reported once, by one gateway; with store: local neither gateway sees enough."""
    gws = []
    for i in range(2):
        d = tmp_path / ("g%d" % i)
        d.mkdir()
        g = gateway_for(shared_config(d, key, upstream.port, redis.port, d / "security.log", store))
        g.security = str(d / "security.log")
        gws.append(g)
    shared = bearer(key, "shared-user")
    walker = bearer(key, "mallory")
    s = requests.Session()
    for i in range(4):
        r = s.get(gws[i % 2].url + "/items/1", timeout=5,
                  headers=dict(shared, **{"X-Forwarded-For": "192.0.2.%d" % (10 + i)}))
        assert r.status_code == 200
    for i in range(20):
        r = s.get(gws[i % 2].url + "/items/%d" % (100 + i), timeout=5,
                  headers=dict(walker, **{"X-Forwarded-For": "10.9.0.1"}))
        assert r.status_code == 200
    time.sleep(0.5)
    found = [(e["rule.id"], e["gatehouse.anomaly.key"]) for g in gws for e in anomalies(g)]
    if store == "local":
        assert found == []
    else:
        assert sorted(found) == [("enumeration", "sub:mallory"),
                                 ("token_sharing", "sub:shared-user")], found


def test_with_redis_down_the_local_table_judges(gateway_for, upstream, key, tmp_path, redis):
    redis.stop()
    g = gateway_for(shared_config(tmp_path, key, upstream.port, redis.port,
                                  tmp_path / "security.log", "redis"))
    g.security = str(tmp_path / "security.log")
    shared = bearer(key, "shared-user")
    s = requests.Session()
    for i in range(6):
        assert s.get(g.url + "/items/1", timeout=5, headers=dict(
            shared, **{"X-Forwarded-For": "192.0.2.%d" % (10 + i)})).status_code == 200
        time.sleep(0.1)
    time.sleep(0.3)
    assert [(e["rule.id"], e["gatehouse.anomaly.key"]) for e in anomalies(g)] == \
        [("token_sharing", "sub:shared-user")]


def command_calls(redis, name):
    """How many times the server ran a command (INFO commandstats)."""
    for line in redis.command("INFO", "commandstats").splitlines():
        if line.startswith("cmdstat_%s:" % name):
            return int(line.split("calls=")[1].split(",")[0])
    return 0


def test_shared_counts_name_the_script_by_its_digest(gateway_for, upstream, key, tmp_path, redis):
    """Each shared count is an EVALSHA: the script's text goes only when the server lacks it
    (its first call, and again after SCRIPT FLUSH, when the counting carries on)."""
    g = gateway_for(shared_config(tmp_path, key, upstream.port, redis.port,
                                  tmp_path / "security.log", "redis"))
    g.security = str(tmp_path / "security.log")
    s = requests.Session()
    for round_ in range(2):
        token = bearer(key, "shared-%d" % round_)
        for i in range(5):
            assert s.get(g.url + "/items/1", timeout=5, headers=dict(
                token, **{"X-Forwarded-For": "192.0.2.%d" % (10 + i)})).status_code == 200
            time.sleep(0.05)
        if round_ == 0:
            redis.command("SCRIPT", "FLUSH")
    time.sleep(0.3)
    assert sorted(e["gatehouse.anomaly.key"] for e in anomalies(g)
                  if e["rule.id"] == "token_sharing") == ["sub:shared-0", "sub:shared-1"]
    # token_sharing: ten new addresses; enumeration: /items/1 once per subject, its repeats not
    # sent again (they cannot move the count)
    assert 12 <= command_calls(redis, "evalsha") <= 14
    assert 2 <= command_calls(redis, "eval") <= 8  # once per NOSCRIPT (a command pipelined)


def test_mode_ban_bans_the_client_at_the_door(gateway_for, upstream, key, tmp_path):
    """A detector in mode ban hands the client to the ban table: its next request is refused
    (403 client-banned), the ban lists the detector and its reason, others pass."""
    events = tmp_path / "security.log"
    g = gateway_for(config(tmp_path, key, upstream.port, events, detectors="""
bans: {ipv4_prefix: 24}
anomaly:
  detectors:
    unusual_method: {mode: ban, max_requests: 3}
"""))
    g.security = str(events)
    s = requests.Session()
    scanner = {"X-Forwarded-For": "198.51.100.7"}
    for method in ("TRACE", "PROPFIND", "TRACE"):
        assert s.request(method, g.url + "/", headers=scanner, timeout=5).status_code == 405
    r = s.get(g.url + "/", headers=scanner, timeout=5)
    assert r.status_code == 403, r.text
    assert r.json()["type"] == "urn:gatehouse:problem:client-banned"
    # the ban names the client as the door checks it: its address under the bans' prefix
    assert s.get(g.url + "/", headers={"X-Forwarded-For": "198.51.100.8"}, timeout=5).status_code == 403
    assert s.get(g.url + "/", headers={"X-Forwarded-For": "198.51.101.8"}, timeout=5).status_code == 200
    status, text = g.admin("/bans")
    assert status == 200, text
    listed = json.loads(text)
    listed = listed.get("bans", listed) if isinstance(listed, dict) else listed
    ban = [b for b in listed if b["key"] == "ip:198.51.100.0/24"]
    assert ban and ban[0]["detector"] == "unusual_method", listed
    assert "unusual_method: 3 requests" in ban[0]["reason"]
    deadline = time.time() + 5
    while not anomalies(g) and time.time() < deadline:
        time.sleep(0.05)
    e = [e for e in anomalies(g) if e["rule.id"] == "unusual_method"]
    assert len(e) == 1 and e[0]["gatehouse.anomaly.mode"] == "ban"
    assert e[0]["gatehouse.anomaly.key"] == "ip:198.51.100.0/24"


def test_a_detection_is_written_whatever_the_client_wrote(gateway_for, upstream, key, tmp_path):
    """Free text that escapes to six bytes a byte (bytes past ASCII, as \\u00XX): here an
    X-Forwarded-For element that is no address (the client, as the trusted peer passed it on),
    in source.ip and the key. The anomaly-detected event is written, not lost for its length."""
    events = tmp_path / "security.log"
    g = gateway_for(config(tmp_path, key, upstream.port, events, detectors="""
anomaly:
  detectors:
    unusual_method: {window: 1m, max_requests: 3}
"""))
    g.security = str(events)
    client = b"\xff" * 185  # "ip:" and these fit a client key (192 bytes)
    for _ in range(3):
        raw_request(g.port, b"TRACE /catalog/1 HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: " + client +
                    b"\r\nConnection: close\r\n\r\n")
    time.sleep(0.3)
    found = anomalies(g)
    assert [e["rule.id"] for e in found] == ["unusual_method"], found
    # the key lists as text (bytes that are no UTF-8 as '?', store/bans.h); source.ip carries
    # the bytes as they came, escaped
    assert found[0]["gatehouse.anomaly.key"] == "ip:" + "?" * 185
    ip = found[0]["source.ip"].replace("...[cut]", "")
    assert ip and set(ip) == {"\xff"}, ip
