"""Header hygiene: spoofed client-describing headers never reach the upstream (unless a trusted
proxy sent them), headers only the gateway sets are dropped on every route, the operator's
request and response rules (global, then the route's), response hardening and HSTS, on HTTP/1.1
and HTTP/2, and the configuration rules."""
import subprocess

import requests

from conftest import api_key_identity, upstream_lines
from testenv import BIN

SPOOFED = {
    "X-Forwarded-For": "6.6.6.6", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil",
    "X-Forwarded-Port": "1", "X-Forwarded-Prefix": "/admin", "Forwarded": "for=6.6.6.6",
    "X-Real-IP": "6.6.6.6", "X-Client-IP": "6.6.6.6", "True-Client-IP": "6.6.6.6",
    "CF-Connecting-IP": "6.6.6.6", "X-Original-URL": "/admin", "X-Rewrite-URL": "/admin",
    "X-Override-URL": "/admin", "X-HTTP-Method-Override": "DELETE",
    "X-HTTP-Method": "DELETE", "X-Method-Override": "DELETE", "Client-Cert": ":AAAA:",
    "Client-Cert-Chain": ":AAAA:", "X-Request-Id": "spoofed", "X-Partner": "acme",
}

ROUTES = """routes:
  - {name: partners, match: {prefix: /partners}, auth: {api_key: partners}, forward: {api_key_client: X-Partner}, upstream: app}
  - {name: public, match: {prefix: /}, auth: none, upstream: app}
"""


def routes(tmp_path, upstream, extra=""):
    return api_key_identity(tmp_path, upstream.port) + ROUTES + extra


CLIENT = [("User-Agent", requests.utils.default_user_agent()), ("Accept-Encoding", "gzip, deflate"),
          ("Accept", "*/*")]


def test_spoofed_headers_never_reach_the_upstream(gateway_for, upstream, tmp_path):
    gw = gateway_for(routes(tmp_path, upstream))
    assert requests.get(gw.url + "/x", headers=SPOOFED).status_code == 200
    host = "127.0.0.1:%d" % gw.port
    assert upstream_lines(upstream) == [("Host", host)] + CLIENT + [
        ("X-Forwarded-For", "127.0.0.1"), ("X-Forwarded-Proto", "http"), ("X-Forwarded-Host", host),
        ("X-Request-Id", "*"), ("traceparent", "*")]
    assert upstream.lines_named("X-Request-Id") != ["spoofed"]
    # The API key route sets X-Partner itself; a client cannot, on that route or any other.
    assert requests.get(gw.url + "/partners", headers={"X-API-Key": "k1", "X-Partner": "globex"}).status_code == 200
    assert upstream_lines(upstream) == [("Host", host)] + CLIENT + [
        ("X-Forwarded-For", "127.0.0.1"), ("X-Forwarded-Proto", "http"), ("X-Forwarded-Host", host),
        ("X-Request-Id", "*"), ("traceparent", "*"), ("X-Partner", "acme")]


def test_a_trusted_proxy_may_pass_them_on(gateway_for, upstream, tmp_path):
    gw = gateway_for(routes(tmp_path, upstream, "trusted_proxies: [127.0.0.1]\n"))
    assert requests.get(gw.url + "/x", headers=SPOOFED).status_code == 200
    passed = [(k, v) for k, v in SPOOFED.items()
              if k not in ("X-Forwarded-For", "Client-Cert", "Client-Cert-Chain", "X-Request-Id", "X-Partner")]
    # Still only the gateway's: the client certificate and what it verified; the proxy's
    # X-Forwarded-For gets the proxy's address appended, its request id is kept.
    assert upstream_lines(upstream, masked=("traceparent",)) == [("Host", "127.0.0.1:%d" % gw.port)] + CLIENT + passed + [
        ("X-Forwarded-For", "6.6.6.6, 127.0.0.1"), ("X-Request-Id", "spoofed"), ("traceparent", "*")]


RULES = """
headers:
  request: {remove: [X-Debug, X-Env], set: {X-Gateway: edge-1, X-Env: prod}, add: {X-Trace: global}}
  response: {remove: [X-Backend], set: {X-Frame-Options: DENY, X-Env: prod}}
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]}
routes:
  - name: special
    match: {prefix: /special}
    auth: none
    upstream: app
    headers:
      request: {set: {X-Env: staging}, remove: [X-Trace]}
      response: {remove: [X-Frame-Options], add: {Cache-Control: private}}
  - {name: direct, match: {prefix: /direct}, auth: none, respond: {status: 200, body: ok}}
  - {name: app, match: {prefix: /}, auth: none, upstream: app}
"""


def test_request_rules_global_then_route(gateway_for, upstream):
    gw = gateway_for(RULES % upstream.port)
    sent = {"X-Debug": "1", "X-Env": "client", "X-Gateway": "client", "X-Keep": "yes"}
    assert requests.get(gw.url + "/x", headers=sent).status_code == 200
    raw = upstream.requests[-1][2]
    assert "x-debug" not in raw and raw["x-env"] == "prod" and raw["x-gateway"] == "edge-1"
    assert raw["x-trace"] == "global" and raw["x-keep"] == "yes"
    assert requests.get(gw.url + "/special", headers=sent).status_code == 200
    raw = upstream.requests[-1][2]
    assert raw["x-env"] == "staging" and "x-trace" not in raw and raw["x-gateway"] == "edge-1"


def test_response_rules_and_hardening(gateway_for, upstream):
    gw = gateway_for(RULES % upstream.port)
    r = requests.get(gw.url + "/with-headers?Server=Apache/2.4&X-Powered-By=PHP/8&X-Backend=b7"
                     "&X-Frame-Options=ALLOW&X-Content-Type-Options=sniff&X-Other=kept")
    assert r.status_code == 200
    for gone in ("Server", "X-Powered-By", "X-Backend"):
        assert gone not in r.headers, gone
    assert r.headers["X-Frame-Options"] == "DENY" and r.headers["X-Env"] == "prod"
    assert r.headers["X-Content-Type-Options"] == "nosniff" and r.headers["X-Other"] == "kept"
    assert "Strict-Transport-Security" not in r.headers  # a plain listener
    r = requests.get(gw.url + "/special/with-headers?X-Frame-Options=SAMEORIGIN")
    assert "X-Frame-Options" not in r.headers and r.headers["Cache-Control"] == "private"
    # The gateway's own answers carry the rules too: a direct response and a refusal.
    r = requests.get(gw.url + "/direct")
    assert r.headers["X-Frame-Options"] == "DENY" and r.headers["X-Content-Type-Options"] == "nosniff"
    r = requests.get(gw.url + "/x%00")
    assert r.status_code == 400 and r.headers["Cache-Control"] == "no-store"
    assert r.headers["X-Frame-Options"] == "DENY" and r.headers["X-Content-Type-Options"] == "nosniff"


def test_rules_on_http2_streams(gateway_for, upstream):
    gw = gateway_for(RULES % upstream.port, listener_extra=", h2c: true")
    out = subprocess.run(["curl", "-sS", "-i", "--http2-prior-knowledge",
                          "http://127.0.0.1:%d/with-headers?Server=x&X-Backend=y&X-Other=z" % gw.port],
                         capture_output=True).stdout
    assert out.startswith(b"HTTP/2 200") and b"\r\nx-other: z\r\n" in out, out
    assert b"server:" not in out and b"x-backend" not in out
    assert b"x-frame-options: DENY" in out and b"x-content-type-options: nosniff" in out


def test_hsts_on_tls_listeners(gateway_for, upstream, tmp_path):
    from testenv.certs import CertAuthority
    ca = CertAuthority(str(tmp_path))
    cert = ca.issue("server", "localhost", dns=["localhost"], ips=["127.0.0.1"])
    gw = gateway_for(RULES % upstream.port, tls="{certificate: %s, private_key: %s}" % cert)
    r = requests.get("https://localhost:%d/with-headers?Strict-Transport-Security=max-age=1" % gw.port,
                     verify=ca.ca_file)
    assert r.headers["Strict-Transport-Security"] == "max-age=31536000"
    r = requests.get("https://localhost:%d/x%%00" % gw.port, verify=ca.ca_file)
    assert r.status_code == 400 and r.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_hardening_and_hsts_can_be_turned_off(gateway_for, upstream, tmp_path):
    from testenv.certs import CertAuthority
    ca = CertAuthority(str(tmp_path))
    cert = ca.issue("server", "localhost", dns=["localhost"], ips=["127.0.0.1"])
    gw = gateway_for("headers: {hardening: false}\n" + routes(tmp_path, upstream),
                     tls="{certificate: %s, private_key: %s}" % cert)
    r = requests.get("https://localhost:%d/with-headers?Server=Apache" % gw.port, verify=ca.ca_file)
    assert r.headers["Server"] == "Apache" and "X-Content-Type-Options" not in r.headers
    assert "Strict-Transport-Security" not in r.headers
    gw2 = gateway_for("headers: {hsts: 'max-age=600; includeSubDomains'}\n" + routes(tmp_path, upstream),
                      tls="{certificate: %s, private_key: %s}" % cert)
    r = requests.get("https://localhost:%d/x" % gw2.port, verify=ca.ca_file)
    assert r.headers["Strict-Transport-Security"] == "max-age=600; includeSubDomains"
    assert r.headers["X-Content-Type-Options"] == "nosniff"


def check(tmp_path, text):
    p = tmp_path / "c.yaml"
    p.write_text("listeners: [{address: 127.0.0.1:1}]\n" + text +
                 "routes: [{name: r, match: {prefix: /}, auth: none, respond: {}}]\n")
    return subprocess.run([BIN, "check", "-c", str(p)], capture_output=True, text=True)


def test_configuration_rules(tmp_path):
    for text, message in [
        ("headers: {request: {set: {Host: x}}}\n", "'Host' cannot be changed"),
        ("headers: {request: {remove: [X-Forwarded-For]}}\n", "'X-Forwarded-For' cannot be changed"),
        ("headers: {request: {set: {X_Forwarded_For: x}}}\n", "'X_Forwarded_For' cannot be changed"),
        ("headers: {request: {add: {Client_Cert: x}}}\n", "'Client_Cert' cannot be changed"),
        ("headers: {response: {set: {Content-Length: '1'}}}\n", "'Content-Length' cannot be changed"),
        ("headers: {response: {remove: [X-Request-Id]}}\n", "'X-Request-Id' cannot be changed"),
        ("headers: {response: {set: {'Bad Name': x}}}\n", "'Bad Name' is not a header name"),
        ("headers: {response: {set: {X-A: \"a\\nb\"}}}\n", "no control characters"),
        ("headers: {response: {set: [X-A]}}\n", "expected a mapping of header names to values"),
        ("headers: {hsts: forever}\n", "expected off or a Strict-Transport-Security value"),
        ("headers: {response: {remove: [%s]}}\n" % ", ".join("X-%d" % i for i in range(33)), "at most 32 entries"),
        ("headers: {reponse: {}}\n", "unknown key 'reponse'"),
    ]:
        out = check(tmp_path, text)
        assert out.returncode != 0 and message in out.stderr, (text, out.stderr)
        assert "c.yaml:2:" in out.stderr, out.stderr


def test_listener_method_allow_list(gateway_for, upstream, tmp_path):
    gw = gateway_for(routes(tmp_path, upstream), listener_extra=", methods: [GET, POST]")
    assert requests.get(gw.url + "/x").status_code == 200
    assert requests.head(gw.url + "/x").status_code == 200  # GET brings HEAD
    for method in ("PUT", "DELETE", "TRACE", "PROPFIND"):
        r = requests.request(method, gw.url + "/x")
        assert r.status_code == 405 and r.headers["Allow"] == "GET, HEAD, POST", method
        assert r.json()["type"] == "urn:gatehouse:problem:method-not-allowed"
    assert [m for m, *_ in upstream.requests] == ["GET", "HEAD"]
    line = gw.access_lines(6)[-1]
    assert line["reason"] == "method-not-allowed" and line["detail"] == "the listener does not accept this method"
    # By default the seven are accepted and TRACE is not.
    plain = gateway_for(routes(tmp_path, upstream))
    assert requests.request("TRACE", plain.url + "/x").status_code == 405
    assert requests.request("OPTIONS", plain.url + "/x").status_code == 200
    assert check(tmp_path, "").returncode == 0
    p = tmp_path / "m.yaml"
    listener = "listeners: [{address: 127.0.0.1:1, methods: [GET, TRACE]}]"
    p.write_text(listener + "\nroutes: [{name: r, match: {prefix: /}, auth: none, respond: {}}]\n")
    out = subprocess.run([BIN, "check", "-c", str(p)], capture_output=True, text=True)
    want = "m.yaml:1:%d: listeners[0].methods[1]: TRACE is never accepted" % (listener.index("TRACE") + 1)
    assert out.returncode != 0 and want in out.stderr, out.stderr
