"""Refusals made by a stage after it waited (a body read whole, a key refetch, an introspection or
policy call, a Redis answer): many requests wait at once and are then refused together, so that
requests freed by their refusal outnumber the worker's spare arena chunks (256). Each refusal is
answered after the stage has returned; nothing reads a request it has freed. Run against the
sanitizer build, a read of freed memory fails the test (the gateway's stderr is checked on
exit); every build checks that all the answers are right."""
import hashlib
import json
import socket
import time

from cryptography.hazmat.primitives.asymmetric import ec

from testenv import free_port
from testenv.idp import IdP
from testenv.introspection import IntrospectionServer
from testenv.redis import Redis
from testenv.tokens import ec_jwk, sign, token_claims
from test_policy import PolicyServer

N = 300  # more than the worker's 256 spare arena chunks
AUD = "orders-api"


def open_all(port, first_bytes):
    """N connections, each having sent first_bytes(i); all open at once."""
    socks = []
    for i in range(N):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.sendall(first_bytes(i))
        socks.append(s)
    return socks


def statuses(socks):
    """The status of each connection's answer (read until the gateway closes it)."""
    out = []
    for s in socks:
        data = b""
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                data += b
        except (socket.timeout, ConnectionResetError):
            pass
        s.close()
        out.append(int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0)
    return out


def access_reasons(gw, n):
    return [line.get("reason") for line in gw.access_lines(n, timeout=10)]


def test_schema_bodies_sent_after_the_head_are_refused_together(gateway_for, upstream, tmp_path):
    (tmp_path / "s.json").write_text(json.dumps({"type": "object", "required": ["id"]}))
    gw = gateway_for("""
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]}
routes:
  - {name: orders, match: {path: /orders}, auth: none, upstream: app, body: {schema: %s}}
""" % (upstream.port, tmp_path / "s.json"))
    body = b'{"name": "no id"}'
    head = (b"POST /orders HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body))
    socks = open_all(gw.port, lambda i: head)
    time.sleep(0.5)  # every request is read and waits for its body
    for s in socks:
        s.sendall(body)
    assert statuses(socks) == [400] * N
    assert access_reasons(gw, N).count("schema-validation-failed") == N
    assert not upstream.requests


def test_hmac_bodies_sent_after_the_head_are_refused_together(gateway_for, upstream, tmp_path):
    (tmp_path / "secret").write_text("a-shared-secret-0123456789")
    gw = gateway_for("""
identity:
  hmac:
    hooks: {scheme: github, secrets: ["${file:%s}"]}
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]}
routes:
  - {name: hooks, match: {path: /hooks}, auth: {hmac: hooks}, upstream: app}
""" % (tmp_path / "secret", upstream.port))
    body = b'{"event": "push"}'
    head = (b"POST /hooks HTTP/1.1\r\nHost: t\r\nX-Hub-Signature-256: sha256=" + b"0" * 64 +
            b"\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body))
    socks = open_all(gw.port, lambda i: head)
    time.sleep(0.5)
    for s in socks:
        s.sendall(body)
    assert statuses(socks) == [401] * N
    assert access_reasons(gw, N).count("invalid-signature") == N
    assert not upstream.requests


def test_requests_refused_after_waiting_for_a_key_refetch(gateway_for):
    keys = {k: ec.generate_private_key(ec.SECP256R1()) for k in ("k1", "k2")}
    with IdP(free_port()) as idp:
        idp.keys = [ec_jwk(keys["k1"], "k1")]
        idp.start()
        gw = gateway_for("""
identity:
  jwt:
    corp: {issuer: %s, audiences: [%s], algorithms: [ES256], jwks_uri: %s, ca_file: %s,
           min_refresh_interval: 1s, refresh_interval: 10m, fetch_timeout: 5s}
routes:
  - {name: orders, match: {prefix: /orders}, auth: {jwt: corp}, respond: {status: 200}}
""" % (idp.issuer, AUD, idp.jwks_uri, idp.ca_file))
        deadline = time.time() + 10
        while gw.admin("/readyz")[0] != 200 and time.time() < deadline:
            time.sleep(0.05)
        # A key the set does not hold: each request waits for the refetch (slow), then is
        # refused because the refetched set still lacks it.
        idp.mode, idp.slow_seconds = "slow", 2.5
        time.sleep(1.1)  # past min_refresh_interval
        tok = sign(keys["k2"], "k2", "ES256", token_claims(idp.issuer, AUD))
        req = ("GET /orders HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n"
               "Connection: close\r\n\r\n" % tok).encode()
        socks = open_all(gw.port, lambda i: req)
        assert statuses(socks) == [401] * N
        assert access_reasons(gw, N).count("invalid-token") == N


def test_requests_refused_after_one_introspection_call(gateway_for, monkeypatch):
    with IntrospectionServer(free_port()) as idp:
        idp.delay = 2.0  # every request joins the one call in flight
        idp.start()
        monkeypatch.setenv("INTROSPECTION_SECRET", idp.client_secret)
        gw = gateway_for("""
identity:
  introspection:
    corp: {url: "%s", client_id: %s, client_secret: "${env:INTROSPECTION_SECRET}", ca_file: %s,
           issuer: https://login.test, audiences: [%s], timeout: 5s, negative_ttl: 0s}
routes:
  - {name: orders, match: {prefix: /orders}, auth: {introspection: corp}, respond: {status: 200}}
""" % (idp.url, idp.client_id, idp.ca_file, AUD))
        req = (b"GET /orders HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer tok-unknown\r\n"
               b"Connection: close\r\n\r\n")
        socks = open_all(gw.port, lambda i: req)
        assert statuses(socks) == [401] * N
        assert idp.calls == 1
        assert access_reasons(gw, N).count("invalid-token") == N


def test_requests_refused_after_one_policy_call(gateway_for, tmp_path):
    (tmp_path / "keys").write_text("sha256:%s acme\n" % hashlib.sha256(b"k1").hexdigest())
    opa = PolicyServer()
    opa.delay = 2.0  # every request joins the one call in flight
    try:
        gw = gateway_for("""
identity:
  api_keys:
    partners: {keys_file: %s, header: X-Api-Key}
policies:
  orders:
    external: {url: "http://127.0.0.1:%d/v1/data/allow", timeout: 5s, deny_cache_ttl: 0s}
routes:
  - {name: any, match: {prefix: /}, auth: {api_key: partners, policy: orders}, respond: {status: 204}}
""" % (tmp_path / "keys", opa.port))
        req = b"GET /deny/x HTTP/1.1\r\nHost: t\r\nX-Api-Key: k1\r\nConnection: close\r\n\r\n"
        socks = open_all(gw.port, lambda i: req)
        codes = statuses(socks)
    finally:
        opa.close()
    assert codes == [403] * N, sorted(set(codes))
    assert access_reasons(gw, N).count("policy-denied") == N


def test_requests_refused_after_a_redis_answer(gateway_for):
    redis = Redis().start()
    try:
        gw = gateway_for("""
stores:
  redis: {address: 127.0.0.1:%d, timeout: 5s, on_failure: deny}
rate_limits:
  one: {key: route, rate: 1/m, burst: 1, store: redis}
routes:
  - {name: r, match: {prefix: /}, auth: none, rate_limit: one, respond: {status: 204}}
""" % redis.port)
        req = b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        # Redis stopped while the requests come: every one waits for its answer, then all but
        # the first are refused from the answers' callbacks.
        redis.proc.send_signal(19)  # SIGSTOP
        try:
            socks = open_all(gw.port, lambda i: req)
            time.sleep(0.5)
        finally:
            redis.proc.send_signal(18)  # SIGCONT
        codes = statuses(socks)
    finally:
        redis.stop()
    assert sorted(codes) == [204] + [429] * (N - 1), sorted(set(codes))
    assert access_reasons(gw, N).count("rate-limited") == N - 1
