"""Rewrites toward the upstream: the Host it is sent (preserve, endpoint or a value, on the route
or its upstream) over HTTP/1.1 and HTTP/2, rewrite.prefix and rewrite.path with captures, the
query kept, traversal through captures and after a prefix refused with nothing forwarded, the
access log keeping the client's path beside the upstream's, and the configuration errors
`gatehouse check` reports at file:line:col. Assertions read the request line and Host line
the upstream received, byte for byte."""
import json

import pytest

from testenv import Upstream, check_config, free_port, raw_request
from testenv.h2client import h2_request


def config(port, other_port, paths=""):
    return """
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]}
  named: {endpoints: [http://127.0.0.1:%d], host: svc.internal:8080}
routes:
  - {name: preserve, match: {prefix: /preserve}, auth: none, upstream: app}
  - {name: endpoint, match: {prefix: /endpoint}, auth: none, upstream: app, rewrite: {host: endpoint}}
  - {name: value, match: {prefix: /value}, auth: none, upstream: app, rewrite: {host: backend.internal}}
  - {name: named, match: {prefix: /named}, auth: none, upstream: named}
  - {name: named-preserve, match: {prefix: /np}, auth: none, upstream: named, rewrite: {host: preserve}}
  - {name: slash, match: {prefix: /api/}, auth: none, upstream: app, rewrite: {prefix: /v2/}}
  - {name: bare, match: {prefix: /old}, auth: none, upstream: app, rewrite: {prefix: /new}}
  - {name: root, match: {prefix: /strip}, auth: none, upstream: app, rewrite: {prefix: /}}
  - {name: same, match: {prefix: /same}, auth: none, upstream: app, rewrite: {prefix: /same/}}
  - name: orders
    match: {path: "/users/{id}/orders/{order}"}
    auth: none
    upstream: app
    rewrite: {path: "/internal/v1/orders/{order}/of/{id}"}
  - {name: plain, match: {prefix: /plain}, auth: none, upstream: app}
%s""" % (port, other_port, paths)


@pytest.fixture
def other():
    with Upstream(free_port()) as u:
        yield u


def h1(gw, target, host=b"client.test"):
    head = b"GET " + target + b" HTTP/1.1\r\nHost: " + host + b"\r\nConnection: close\r\n\r\n"
    out = raw_request(gw.port, head)
    head, _, body = out.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def h2(gw, target, authority="client.test"):
    status, _, body = h2_request(gw.port, [(":method", "GET"), (":scheme", "http"), (":path", target),
                                           (":authority", authority)])
    return status, body


def first_lines(u):
    """The request line and the Host line the upstream received last, as bytes."""
    return b"\r\n".join(u.raw_heads[-1].split(b"\r\n")[:2])


@pytest.mark.parametrize("send", [h1, h2], ids=["http1", "h2"])
def test_host_modes(gateway_for, upstream, other, send):
    gw = gateway_for(config(upstream.port, other.port), listener_extra=", h2c: true")
    target = lambda p: p if send is h2 else p.encode()
    cases = [(upstream, "/preserve/x", b"Host: client.test"),
             (upstream, "/endpoint/x", b"Host: 127.0.0.1:%d" % upstream.port),
             (upstream, "/value/x", b"Host: backend.internal"),
             (other, "/named/x", b"Host: svc.internal:8080"),
             (other, "/np/x", b"Host: client.test")]
    for u, path, host in cases:
        status, _ = send(gw, target(path))
        assert status == 200, path
        assert first_lines(u) == b"GET " + path.encode() + b" HTTP/1.1\r\n" + host, path
        # The client's Host still reaches the upstream, where it belongs.
        assert u.lines_named("X-Forwarded-Host") == ["client.test"]


def test_prefix_rewrite_with_and_without_trailing_slash(gateway_for, upstream, other):
    gw = gateway_for(config(upstream.port, other.port))
    cases = [(b"/api", b"/v2/"), (b"/api/", b"/v2/"), (b"/api/users/7", b"/v2/users/7"),
             (b"/api/users?x=1&y=%41", b"/v2/users?x=1&y=%41"),
             (b"/old", b"/new"), (b"/old/", b"/new/"), (b"/old/a/b?q", b"/new/a/b?q"),
             (b"/strip", b"/"), (b"/strip/a", b"/a"), (b"/strip/?q=1", b"/?q=1"),
             (b"/API/x", None), (b"/oldie", None)]  # case and segments matter as they do for match
    for sent, seen in cases:
        n = len(upstream.requests)
        status, _ = h1(gw, sent)
        if seen is None:
            assert status == 404 and len(upstream.requests) == n, sent
            continue
        assert status == 200, sent
        assert first_lines(upstream) == b"GET " + seen + b" HTTP/1.1\r\nHost: client.test", sent


def test_path_template_fills_captures(gateway_for, upstream, other):
    gw = gateway_for(config(upstream.port, other.port), listener_extra=", h2c: true")
    cases = [("/users/42/orders/7", "/internal/v1/orders/7/of/42"),
             ("/users/42/orders/7?expand=items&a=%2F", "/internal/v1/orders/7/of/42?expand=items&a=%2F"),
             # captures as normalized: unreserved escapes decoded, the others upper-cased and kept
             ("/users/a%20b/orders/%7e", "/internal/v1/orders/~/of/a%20b"),
             ("/users/x%3fy%23z/orders/caf%c3%a9", "/internal/v1/orders/caf%C3%A9/of/x%3Fy%23z"),
             ("/users/./42/orders/../orders/7", "/internal/v1/orders/7/of/42")]
    for sent, seen in cases:
        for send in (h1, h2):
            status, _ = send(gw, sent.encode() if send is h1 else sent)
            assert status == 200, (sent, send)
            assert first_lines(upstream) == ("GET %s HTTP/1.1\r\nHost: client.test" % seen).encode(), sent


def refused(gw, upstream, target, status, reason):
    n = len(upstream.requests)
    got, body = h1(gw, target)
    assert got == status, target
    if reason:
        assert json.loads(body)["type"] == "urn:gatehouse:problem:" + reason, target
    assert len(upstream.requests) == n, target  # nothing forwarded


def test_traversal_cannot_leave_the_rewrite(gateway_for, upstream, other):
    # Encoded separators kept by the listener's path rules are still refused where a rewrite
    # would copy them under its prefix: a backend that decodes them would climb out of it.
    gw = gateway_for(config(upstream.port, other.port, "paths: {encoded_slash: keep, backslash: keep}\n"))
    for target in (b"/users/..%2F..%2Fadmin/orders/1", b"/users/1/orders/..%2f..%2f..%2fadmin",
                   b"/api/..%2Fadmin", b"/old/x/..%2F..%2F..%2Fadmin"):
        refused(gw, upstream, target, 400, "encoded-slash-in-path")
    for target in (b"/users/..%5C..%5Cadmin/orders/1", b"/api/..%5cadmin", b"/strip/..\\admin"):
        refused(gw, upstream, target, 400, "backslash-in-path")
    # Dot segments are resolved before routing: they leave the route, not the rewrite.
    for target in (b"/api/../admin", b"/api/%2e%2e/admin", b"/users/1/orders/../../../admin",
                   b"/users/%2e%2e/orders/1", b"/old/..", b"/users/.%2e/orders/1"):
        refused(gw, upstream, target, 404, "no-route")
    refused(gw, upstream, b"/../api/x", 400, "path-above-root")
    # The same escape on a route without a rewrite goes on as the listener's rules say.
    assert h1(gw, b"/plain/..%2Fx")[0] == 200
    assert first_lines(upstream) == b"GET /plain/..%2Fx HTTP/1.1\r\nHost: client.test"


def test_access_log_keeps_the_clients_path(gateway_for, upstream, other):
    gw = gateway_for(config(upstream.port, other.port))
    for target in (b"/api/users?x=1", b"/users/42/orders/7", b"/preserve/x", b"/same/x", b"/value/x"):
        assert h1(gw, target)[0] == 200
    lines = gw.access_lines(5)
    assert [(l["path"], l.get("upstream_path"), l["route"]) for l in lines] == [
        ("/api/users", "/v2/users", "slash"),
        ("/users/42/orders/7", "/internal/v1/orders/7/of/42", "orders"),
        ("/preserve/x", None, "preserve"),
        ("/same/x", None, "same"),  # a rewrite to the same path adds nothing
        ("/value/x", None, "value")]
    assert "upstream_path" not in lines[2] and "upstream_path" not in lines[3]


CHECK_BASE = """listeners: [{address: 127.0.0.1:1}]
upstreams:
  app: {endpoints: [http://127.0.0.1:2]%s}
routes:
  - name: r
    match: %s
    auth: none
    upstream: app
    rewrite: %s
"""

BAD = [
    ("{prefix: /a}", "{path: /b}", "", "c.yaml:9:21: routes[0].rewrite.path: rewrite.path fills"),
    ("{path: /a}", "{prefix: /b}", "", "c.yaml:9:23: routes[0].rewrite.prefix: rewrite.prefix replaces"),
    ('{path: "/u/{id}"}', '{path: "/x/{uid}"}', "", "c.yaml:9:21: routes[0].rewrite.path: '/x/{uid}': {uid} is not captured"),
    ("{path: /u}", '{path: "/x/{id}"}', "", "{id} is not captured by match.path '/u'"),
    ("{prefix: /a}", "{prefix: /b, path: /c}", "", "c.yaml:9:14: routes[0].rewrite: at most one of prefix and path"),
    ("{prefix: /a}", "{prefix: /b/../c}", "", "c.yaml:9:23: routes[0].rewrite.prefix: '/b/../c' is not canonical"),
    ("{prefix: /a}", "{prefix: /b/..}", "", "is not canonical"),
    ("{prefix: /a}", '{prefix: "/b/{x}"}', "", "a {param} must be a whole segment"),
    ("{prefix: /a}", "{prefix: b}", "", "'b' must start with /"),
    ("{prefix: /a}", "{prefix: /b%2F}", "", "a character a canonical path cannot hold"),
    ("{prefix: /a}", "{}", "", "c.yaml:9:14: routes[0].rewrite: at least one of prefix, path and host"),
    ("{prefix: /a}", "{host: 'a b'}", "", "c.yaml:9:21: routes[0].rewrite.host: 'a b': a character not allowed"),
    ("{prefix: /a}", "{host: 'h:99999'}", "", "routes[0].rewrite.host: 'h:99999': a port out of range"),
    ("{prefix: /a}", '{host: "h\\r\\nX-Evil: 1"}', "", "c.yaml:9:21: routes[0].rewrite.host: a control character at offset 1"),
    ("{prefix: /a}", "{host: ''}", "", "'': an empty host"),
    ("{prefix: /a}", "{hots: endpoint}", "", "unknown key 'hots'; did you mean 'host'?"),
    ("{prefix: /a}", "{host: endpoint}", ", host: 'x y'", "c.yaml:3:48: upstreams.app.host: 'x y': a character not allowed"),
]


def test_check_reports_bad_rewrites(tmp_path):
    ok = CHECK_BASE % (", host: endpoint", '{path: "/u/{id}/{n}"}', '{path: "/x/{n}/{id}/{n}", host: "[::1]:8443"}')
    p = check_config(tmp_path, ok)
    assert p.returncode == 0, p.stderr
    for match, rewrite, up, msg in BAD:
        p = check_config(tmp_path, CHECK_BASE % (up, match, rewrite))
        assert p.returncode == 1 and msg in p.stderr, (rewrite, p.stderr)
    text = ("listeners: [{address: 127.0.0.1:1}]\nroutes:\n"
            "  - {name: r, match: {prefix: /}, auth: none, respond: {}, rewrite: {prefix: /x}}\n")
    p = check_config(tmp_path, text)
    assert p.returncode == 1 and "c.yaml:3:69: routes[0].rewrite: rewrite applies to a route with an upstream" in p.stderr, p.stderr
