"""The canonical path end to end: the classic bypasses refused with their reason (nothing
forwarded, the connection closed), what the upstream receives for kept and decoded
constructs, case-insensitive routes, and malformed queries."""
import json
import subprocess

import pytest

from conftest import proxy_yaml
from testenv import BIN, raw_request


def get(port, target):
    out = raw_request(port, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, _, body = out.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), head, body


BYPASSES = [
    (b"/admin/../../etc/passwd", "path-above-root"),
    (b"/%2e%2e/admin", "path-above-root"),
    (b"/admin%2f", "encoded-slash-in-path"),
    (b"/admin%2F..%2Fx", "encoded-slash-in-path"),
    (b"/admin\\x", "backslash-in-path"),
    (b"/admin%5cx", "backslash-in-path"),
    (b"/admin;x/", "path-parameters"),
    (b"/public/..;/admin", "path-parameters"),
    (b"/admin%00", "control-character-in-path"),
    (b"/admin%0d%0aX:1", "control-character-in-path"),
    (b"/%c0%ae%c0%ae/admin", "invalid-utf8-in-path"),
    (b"/admin%zz", "bad-path"),
    (b"/admin?a=%zz", "bad-query"),
    (b"/admin?a=%00", "bad-query"),
]


@pytest.mark.parametrize("target,reason", BYPASSES)
def test_bypasses_are_refused_with_their_reason(gateway_for, upstream, target, reason):
    gw = gateway_for(proxy_yaml(upstream.port))
    status, head, body = get(gw.port, target)
    assert status == 400 and b"application/problem+json" in head
    assert json.loads(body)["type"] == "urn:gatehouse:problem:" + reason
    assert upstream.requests == []
    line = gw.access_lines(1)[-1]
    assert line["reason"] == reason and line["detail"] and line["target"] == target.decode()


def test_the_upstream_sees_the_canonical_path(gateway_for, upstream):
    gw = gateway_for(proxy_yaml(upstream.port))
    cases = [(b"/a/./b/../c//d?q=%41&x", "/a/c/d?q=%41&x"), (b"/%7euser/%2e/x%3fy", "/~user/x%3Fy"),
             (b"/caf%c3%a9", "/caf%C3%A9")]
    for i, (sent, seen) in enumerate(cases):
        assert get(gw.port, sent)[0] == 200
        assert upstream.requests[-1][1] == seen, (sent, upstream.requests[-1][1])
        assert gw.access_lines(i + 1)[i]["path"] == seen.split("?")[0]


def test_rules_keep_and_decode(gateway_for, upstream):
    gw = gateway_for(proxy_yaml(upstream.port) + """
paths: {encoded_slash: keep, backslash: decode, parameters: keep, invalid_utf8: keep, merge_slashes: false}
""")
    for sent, seen in [(b"/files/a%2fb", "/files/a%2Fb"),
                       (b"/win\\dir\\..\\x", "/win/x"),
                       (b"/a;jsessionid=1/b", "/a;jsessionid=1/b"),
                       (b"/%c0%ae", "/%C0%AE"),
                       (b"/a//b", "/a//b")]:
        assert get(gw.port, sent)[0] == 200, sent
        assert upstream.requests[-1][1] == seen, (sent, upstream.requests[-1][1])
    # What stays refused whatever the rules say.
    for sent, reason in [(b"/x/..;/admin", "path-parameters"), (b"/a%00", "control-character-in-path"),
                         (b"/..\\..\\x", "path-above-root")]:
        status, _, body = get(gw.port, sent)
        assert status == 400 and json.loads(body)["type"].endswith(reason), sent


def test_routes_match_on_the_canonical_path(gateway_for, upstream):
    gw = gateway_for("""
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]}
routes:
  - {name: admin, match: {prefix: /admin}, auth: none, respond: {status: 403, body: "admin"}}
  - {name: api, match: {prefix: /api, case_insensitive: true}, auth: none, respond: {status: 200, body: "api"}}
  - {name: rest, match: {prefix: /}, auth: none, upstream: app}
""" % upstream.port)
    for target in [b"/admin", b"//admin", b"/./admin", b"/x/../admin", b"/%61dmin", b"/admin/"]:
        status, _, body = get(gw.port, target)
        assert (status, body) == (403, b"admin"), target
    assert get(gw.port, b"/Admin")[0] == 200  # case is significant by default: not the admin route
    assert upstream.requests[-1][1] == "/Admin"
    for target in [b"/API/v1", b"/Api", b"/api"]:
        status, _, body = get(gw.port, target)
        assert (status, body) == (200, b"api"), target
    assert gw.access_lines(10)[9]["route"] == "api"  # ten requests logged, the last to the api route


def test_bad_paths_in_configuration(tmp_path):
    p = tmp_path / "c.yaml"
    paths = "paths: {encoded_slash: allow, parameters: decode}"
    routes = "routes: [{name: r, match: {prefix: /, case_insensitive: maybe}, auth: none, respond: {}}]"
    p.write_text("listeners: [{address: 127.0.0.1:1}]\n%s\n%s\n" % (paths, routes))
    out = subprocess.run([BIN, "check", "-c", str(p)], capture_output=True, text=True)
    assert out.returncode != 0
    assert "c.yaml:2:%d: paths.encoded_slash:" % (paths.index("allow") + 1) in out.stderr, out.stderr
    assert "c.yaml:2:%d: paths.parameters:" % (paths.index("decode") + 1) in out.stderr, out.stderr
    assert "c.yaml:3:%d: routes[0].match.case_insensitive:" % (routes.index("maybe") + 1) in out.stderr
