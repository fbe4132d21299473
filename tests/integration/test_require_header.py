"""require_header: a route serves only requests that carry the headers it names, non-empty;
any other is refused with 400 missing-required-header before authentication, nothing is
forwarded, and the reason is logged. A bad configuration fails check with its position."""
import requests

from testenv import check_config


def config(upstream_port):
    return """
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]}
routes:
  - name: tenants
    match: {prefix: /v1}
    require_header: {names: [X-Tenant-Id, X-Client-Version]}
    auth: none
    upstream: app
""" % upstream_port


def test_requests_without_the_headers_are_refused(gateway_for, upstream):
    gw = gateway_for(config(upstream.port))
    both = {"X-Tenant-Id": "t-1", "X-Client-Version": "3"}
    r = requests.get(gw.url + "/v1/orders", headers=both)
    assert r.status_code == 200
    assert upstream.requests[-1][2]["x-tenant-id"] == "t-1"
    refused = [{"X-Tenant-Id": "t-1"}, {"x-client-version": "3"}, {},
               {"X-Tenant-Id": "", "X-Client-Version": "3"}]
    for headers in refused:
        r = requests.get(gw.url + "/v1/orders", headers=headers)
        assert r.status_code == 400, headers
        assert r.headers["Content-Type"] == "application/problem+json"
        assert r.json()["type"] == "urn:gatehouse:problem:missing-required-header"
    assert len(upstream.requests) == 1
    lines = gw.access_lines(1 + len(refused))
    assert [l["reason"] for l in lines[1:]] == ["missing-required-header"] * len(refused)
    # Names match whatever their case.
    r = requests.get(gw.url + "/v1/orders", headers={"x-tenant-id": "t", "X-CLIENT-VERSION": "1"})
    assert r.status_code == 200


def test_bad_configuration_is_refused_with_its_position(tmp_path):
    for names, message in (("[]", "at least 1"), ('["X Tenant"]', "'X Tenant' is not a header name"),
                           ("X-Tenant", "expected a list")):
        text = ("listeners: [{address: 127.0.0.1:8080}]\nroutes:\n  - name: r\n"
                "    match: {prefix: /}\n    require_header: {names: %s}\n"
                "    auth: none\n    respond: {status: 204}\n" % names)
        p = check_config(tmp_path, text)
        assert p.returncode != 0 and message in p.stderr, p.stderr
        assert "c.yaml:5:" in p.stderr, p.stderr
    p = check_config(tmp_path, "listeners: [{address: 127.0.0.1:8080}]\nroutes:\n"
                     "  - name: r\n    match: {prefix: /}\n    require_headers: {names: [A]}\n"
                     "    auth: none\n    respond: {status: 204}\n")
    assert p.returncode != 0, p.stderr
    assert "unknown key 'require_headers'; did you mean 'require_header'?" in p.stderr, p.stderr
