"""Fields a CGI-style backend (WSGI, PHP, Rack) would turn into dangerous variables never reach
the upstream: Proxy becomes HTTP_PROXY, the proxy the backend's own HTTP client uses ("httpoxy"),
so it is dropped from every request, a trusted proxy's too, over HTTP/1.1 and HTTP/2, while the
request itself goes through."""
from conftest import proxy_yaml
from testenv import raw_request
from testenv.h2client import h2_request


def test_proxy_field_never_reaches_the_upstream(gateway_for, upstream):
    gw = gateway_for(proxy_yaml(upstream.port) + "trusted_proxies: [127.0.0.1/32]\n",
                     listener_extra=", h2c: true")
    for name in ("Proxy", "proxy", "PROXY"):
        raw = raw_request(gw.port, ("GET /a HTTP/1.1\r\nHost: t\r\n%s: http://127.0.0.1:1/\r\n"
                                    "Connection: close\r\n\r\n" % name).encode())
        assert raw.startswith(b"HTTP/1.1 200"), raw[:100]
        assert upstream.lines_named("Proxy") == [], name
    status, _, _ = h2_request(gw.port, [(":method", "GET"), (":scheme", "http"), (":path", "/b"),
                                        (":authority", "t"), ("proxy", "http://127.0.0.1:1/")])
    assert status == 200
    assert upstream.requests[-1][1] == "/b" and upstream.lines_named("Proxy") == []
