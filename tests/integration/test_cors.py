"""CORS at the edge: preflights answered before authentication (allowed ones with the grants,
refused ones with cors-refused and no CORS field), actual responses carrying the grant for
allowed origins only (proxied, direct and refusals), the upstream's own CORS fields replaced,
HTTP/2, and the configuration rules."""
import subprocess

import requests

from conftest import api_key_identity
from testenv import check_config

CONFIG = """routes:
  - name: orders
    match: {prefix: /orders, methods: [GET, POST, DELETE]}
    auth: {api_key: partners}
    upstream: app
    cors:
      origins: ["https://shop.example.com", "https://*.apps.example.com"]
      methods: [GET, POST]
      headers: [X-API-Key, Content-Type]
      expose_headers: [X-Request-Id]
      credentials: true
      max_age: 1h
  - name: public
    match: {prefix: /public}
    auth: none
    upstream: app
    cors: {origins: ["*"]}
  - {name: plain, match: {prefix: /}, auth: none, upstream: app}
"""


def gateway(gateway_for, upstream, tmp_path, **kw):
    return gateway_for(api_key_identity(tmp_path, upstream.port) + CONFIG, **kw)


def preflight(url, origin, method="POST", headers=None):
    h = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        h["Access-Control-Request-Headers"] = headers
    return requests.options(url, headers=h)


def test_preflights_are_answered_before_authentication(gateway_for, upstream, tmp_path):
    gw = gateway(gateway_for, upstream, tmp_path)
    r = preflight(gw.url + "/orders/7", "https://shop.example.com", "POST", "content-type, x-api-key")
    assert r.status_code == 204 and not r.content
    assert r.headers["Access-Control-Allow-Origin"] == "https://shop.example.com"
    assert r.headers["Access-Control-Allow-Methods"] == "GET, HEAD, POST"
    assert r.headers["Access-Control-Allow-Headers"] == "X-API-Key, Content-Type"
    assert r.headers["Access-Control-Allow-Credentials"] == "true"
    assert r.headers["Access-Control-Max-Age"] == "3600"
    assert "Origin" in r.headers["Vary"]
    r = preflight(gw.url + "/orders", "https://a.b.apps.example.com", "GET")
    assert r.status_code == 204 and r.headers["Access-Control-Allow-Origin"] == "https://a.b.apps.example.com"
    assert upstream.requests == []  # nothing forwarded, no key asked for


def test_refused_preflights_say_why_and_grant_nothing(gateway_for, upstream, tmp_path):
    gw = gateway(gateway_for, upstream, tmp_path)
    cases = [("https://evil.example", "POST", None, "Origin"),
             ("https://shop.example.com.evil.net", "POST", None, "Origin"),
             ("http://shop.example.com", "POST", None, "Origin"),
             ("https://apps.example.com", "GET", None, "Origin"),
             ("https://shop.example.com", "DELETE", None, "method"),
             ("https://shop.example.com", "POST", "x-secret", "header")]
    for i, (origin, method, headers, what) in enumerate(cases):
        r = preflight(gw.url + "/orders", origin, method, headers)
        assert r.status_code == 403, (origin, method)
        assert r.json()["type"] == "urn:gatehouse:problem:cors-refused" and what in r.json()["detail"]
        assert not any(k.lower().startswith("access-control-") for k in r.headers), r.headers
        assert gw.access_lines(i + 1)[i]["reason"] == "cors-refused"
    assert upstream.requests == []


def test_actual_responses_grant_allowed_origins_only(gateway_for, upstream, tmp_path):
    gw = gateway(gateway_for, upstream, tmp_path)
    good = {"Origin": "https://shop.example.com", "X-API-Key": "k1"}
    r = requests.get(gw.url + "/orders/with-headers?Access-Control-Allow-Origin=*", headers=good)
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == "https://shop.example.com"  # the upstream's replaced
    assert r.headers["Access-Control-Allow-Credentials"] == "true"
    assert r.headers["Access-Control-Expose-Headers"] == "X-Request-Id" and r.headers["Vary"] == "Origin"
    r = requests.get(gw.url + "/orders", headers={"Origin": "https://shop.example.com"})  # no key
    assert r.status_code == 401 and r.headers["Access-Control-Allow-Origin"] == "https://shop.example.com"
    r = requests.get(gw.url + "/orders", headers={"Origin": "https://evil.example", "X-API-Key": "k1"})
    assert r.status_code == 200 and "Access-Control-Allow-Origin" not in r.headers
    r = requests.get(gw.url + "/public", headers={"Origin": "https://anyone.example"})
    assert r.headers["Access-Control-Allow-Origin"] == "*" and "Vary" not in r.headers
    assert "Access-Control-Allow-Credentials" not in r.headers
    # A route without cors grants nothing and passes the upstream's fields on.
    r = requests.get(gw.url + "/x/with-headers?Access-Control-Allow-Origin=https://a.example",
                     headers={"Origin": "https://a.example"})
    assert r.headers["Access-Control-Allow-Origin"] == "https://a.example"
    r = preflight(gw.url + "/x", "https://a.example")
    assert r.status_code == 200 and upstream.requests[-1][0] == "OPTIONS"  # no cors: proxied


def test_cors_on_http2(gateway_for, upstream, tmp_path):
    gw = gateway(gateway_for, upstream, tmp_path, listener_extra=", h2c: true")
    out = subprocess.run(["curl", "-sS", "-i", "--http2-prior-knowledge", "-X", "OPTIONS",
                          "-H", "Origin: https://shop.example.com", "-H", "Access-Control-Request-Method: GET",
                          "http://127.0.0.1:%d/orders" % gw.port], capture_output=True).stdout
    assert out.startswith(b"HTTP/2 204") and b"access-control-allow-origin: https://shop.example.com" in out, out


def test_configuration_rules(tmp_path):
    for cors, message in [
        ("{origins: ['*'], credentials: true}", "origins '*' with credentials: true"),
        ("{origins: ['https://a.example/']}", "is not an origin"),
        ("{origins: ['a.example']}", "is not an origin"),
        ("{origins: []}", "at least one origin"),
        ("{methods: [GET]}", "required"),
        ("{origins: ['https://a.example'], methods: [TRACE]}", "TRACE is never accepted"),
        ("{origins: ['https://a.example'], headers: ['bad header']}", "is not a header name"),
        ("{origins: ['https://a.example'], max_age: 2d}", "max_age"),
    ]:
        out = check_config(tmp_path, "listeners: [{address: 127.0.0.1:1}]\n"
                           "routes: [{name: r, match: {prefix: /}, auth: none, respond: {}, cors: %s}]\n" % cors)
        assert out.returncode != 0 and message in out.stderr and "c.yaml:2:" in out.stderr, (cors, out.stderr)
