"""auth: {introspection: NAME}: opaque tokens checked with a real RFC 7662 endpoint written for
the tests (HTTPS, client credentials). Only active tokens for the configured issuer and
audience pass; answers are cached (refusals briefly); transport errors are never cached and
answer 503; the worker never blocks, and concurrent requests with one token share one call."""
import concurrent.futures
import os
import socket
import subprocess
import time

import pytest
import requests

from testenv import BIN, free_port, wait_for
from testenv.introspection import IntrospectionServer

ISS, AUD = "https://login.example.test", "orders-api"


@pytest.fixture
def idp():
    with IntrospectionServer(free_port()) as s:
        now = int(time.time())
        s.tokens = {
            "tok-alice": {"sub": "alice", "client_id": "web", "iss": ISS, "aud": AUD, "exp": now + 300,
                          "scope": "orders:read"},
            "tok-other-api": {"sub": "bob", "iss": ISS, "aud": "billing-api", "exp": now + 300},
            "tok-other-iss": {"sub": "eve", "iss": "https://evil.test", "aud": AUD, "exp": now + 300},
            "tok-expired": {"sub": "carol", "iss": ISS, "aud": [AUD], "exp": now - 120},
        }
        yield s


def gateway_yaml(idp, upstream_port=None, **over):
    opts = {"url": idp.url, "client_id": idp.client_id, "client_secret": "${env:INTROSPECTION_SECRET}",
            "ca_file": idp.ca_file, "issuer": ISS, "audiences": "[%s]" % AUD, "timeout": "1s",
            "negative_ttl": "10s"}
    opts.update(over)
    lines = "".join("      %s: %s\n" % (k, v) for k, v in opts.items() if v is not None)
    action = "upstream: app" if upstream_port else 'respond: {status: 200, body: "ok\\n"}'
    ups = "upstreams:\n  app: {endpoints: [http://127.0.0.1:%d]}\n" % upstream_port if upstream_port else ""
    return """
identity:
  introspection:
    corp:
%s%sroutes:
  - name: orders
    match: {prefix: /orders}
    auth: {introspection: corp}
    forward: {claims: {sub: X-User, scope: X-Scope}}
    %s
""" % (lines, ups, action)


@pytest.fixture
def start(gateway_for, monkeypatch, idp):
    monkeypatch.setenv("INTROSPECTION_SECRET", idp.client_secret)
    return gateway_for


def get(gw, token, **kw):
    return requests.get(gw.url + "/orders", headers={"Authorization": "Bearer " + token}, timeout=10, **kw)


def test_an_active_token_passes_once_and_is_then_cached(start, idp, upstream):
    idp.start()
    gw = start(gateway_yaml(idp, upstream.port))
    r = requests.get(gw.url + "/orders", headers={"Authorization": "Bearer tok-alice", "X-User": "root"})
    assert r.status_code == 200, r.text
    h = upstream.requests[-1][2]
    assert (h["x-user"], h["x-scope"]) == ("alice", "orders:read")
    assert get(gw, "tok-alice").status_code == 200
    assert idp.calls == 1 and idp.unauthorized == 0
    line = gw.access_lines(2)[-1]
    assert (line["auth"], line["sub"], line["client_id"]) == ("ok", "alice", "web")
    assert gw.metric('gatehouse_token_cache_total{provider="corp",result="hit"}') == 1


@pytest.mark.parametrize("token,reason", [
    ("tok-unknown", "inactive"),
    ("tok-other-api", "aud_mismatch"),
    ("tok-other-iss", "iss_mismatch"),
    ("tok-expired", "expired"),
])
def test_refused_tokens_get_the_challenge_and_are_remembered_briefly(start, idp, token, reason):
    idp.start()
    gw = start(gateway_yaml(idp))
    for _ in range(2):
        r = get(gw, token)
        assert r.status_code == 401
        assert r.headers["WWW-Authenticate"].startswith('Bearer realm="corp", error="invalid_token"')
    assert idp.calls == 1  # the refusal was cached for negative_ttl
    assert [l["auth_reason"] for l in gw.access_lines(2)] == [reason, reason]


def test_a_provider_that_cannot_answer_gives_503_and_nothing_is_cached(start, idp):
    gw = start(gateway_yaml(idp))  # not listening yet
    r = get(gw, "tok-alice")
    assert r.status_code == 503
    assert r.json()["type"] == "urn:gatehouse:problem:identity-provider-unavailable"
    assert gw.access_lines(1)[-1]["auth_reason"] == "introspection_failed"
    assert any('"introspection_failed"' in e for e in gw.event_lines())
    idp.start()
    assert get(gw, "tok-alice").status_code == 200
    for mode in ("status500", "garbage"):
        idp.mode = mode
        assert get(gw, "tok-new-%s" % mode).status_code == 503
        idp.mode = "ok"
        idp.tokens["tok-new-%s" % mode] = dict(idp.tokens["tok-alice"])
        assert get(gw, "tok-new-%s" % mode).status_code == 200


def test_a_slow_provider_times_out_without_holding_the_worker(start, idp):
    # The provider takes 8 s, the gateway waits 4 s: a worker held by the call would answer the
    # other request only after 4 s; a free one answers at once (2.5 s allows for the sanitizer).
    idp.delay = 8
    idp.start()
    gw = start(gateway_yaml(idp, timeout="4s"))
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        slow = pool.submit(get, gw, "tok-alice")
        wait_for(lambda: idp.calls >= 1, "the introspection call to start")
        t0 = time.time()
        assert requests.get(gw.url + "/metrics-free-path").status_code == 404  # the worker is free
        assert time.time() - t0 < 2.5
        assert not slow.done()  # still waiting for the provider when the other was answered
        r = slow.result()
    assert r.status_code == 503


def test_concurrent_requests_with_one_token_share_one_call(start, idp):
    idp.delay = 0.5
    idp.start()
    gw = start(gateway_yaml(idp))
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        codes = list(pool.map(lambda _: get(gw, "tok-alice").status_code, range(20)))
    assert codes == [200] * 20
    assert idp.calls == 1


def test_calls_in_flight_are_bounded(start, idp):
    idp.delay = 1.0
    idp.start()
    gw = start(gateway_yaml(idp, max_in_flight=2, timeout="3s"))
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        codes = list(pool.map(lambda i: get(gw, "tok-x%d" % i).status_code, range(6)))
    assert codes.count(401) == 2 and codes.count(503) == 4  # inactive answers, then busy
    reasons = {l["auth_reason"] for l in gw.access_lines(6)}
    assert reasons == {"inactive", "introspection_busy"}


def test_a_client_that_leaves_while_waiting_does_no_harm(start, idp):
    idp.delay = 0.5
    idp.start()
    gw = start(gateway_yaml(idp))
    s = socket.create_connection(("127.0.0.1", gw.port))
    s.sendall(b"GET /orders HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer tok-alice\r\n\r\n")
    s.close()
    wait_for(lambda: idp.answered >= 1, "the provider to answer the abandoned call")
    assert get(gw, "tok-alice").status_code == 200  # the abandoned call's answer was cached
    assert idp.calls == 1


def test_introspection_configuration_rules(tmp_path):
    base = ("listeners: [{address: 127.0.0.1:1}]\n"
            "routes: [{name: r, match: {prefix: /}, auth: %s, respond: {}}]\n"
            "identity:\n  introspection:\n    p: {audiences: [a], client_id: gw, %s}\n"
            "  jwt:\n    j: {issuer: i, audiences: [a], algorithms: [ES256], jwks: '{\"keys\":[]}'}\n")
    cases = [
        ("{introspection: p}", "url: http://idp.test/introspect, client_secret: '${env:S}'",
         "tokens are sent over https"),
        ("{introspection: p}", "url: https://idp.test/introspect, client_secret: plain",
         "secrets are references"),
        ("{introspection: p}", "url: https://idp.test/introspect", "p.client_secret: required"),
        ("{introspection: p, jwt: j}", "url: https://idp.test/i, client_secret: '${env:S}'",
         "jwt or introspection, not both"),
        ("{introspection: q}", "url: https://idp.test/i, client_secret: '${env:S}'",
         "no provider identity.introspection.q"),
        ("{introspection: p}", "url: https://idp.test/i, client_secret: '${env:S}', max_in_flight: 0",
         "max_in_flight"),
    ]
    for auth, opts, want in cases:
        (tmp_path / "c.yaml").write_text(base % (auth, opts))
        r = subprocess.run([BIN, "check", "-c", str(tmp_path / "c.yaml")], capture_output=True,
                           text=True, env=dict(os.environ, S="x" * 32))
        assert r.returncode == 1 and want in r.stderr, (want, r.stderr)
