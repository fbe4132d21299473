"""Spans over OTLP/HTTP JSON: a receiver written here decodes what the gateway POSTs to
/v1/traces (gzip, JSON) and records each batch. The server span's ids are the access log's, an
upstream try is a child span whose id the upstream gets as its parent, attributes follow the
semantic conventions, batches respect batch_size, sampling is parent-based with a ratio and
refusals are exported whatever it says, a 503 with Retry-After is tried again after it, a
stalled receiver costs dropped spans (counted), never a request, and a reload moves the export."""
import gzip
import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import api_key_identity
from testenv import Gateway, Upstream, free_port, raw_request
from testenv.certs import make_ca_and_server_cert

T = "4bf92f3577b34da6a3ce929d0e0e4736"
P = "00f067aa0ba902b7"


class Receiver:
    """An OTLP/HTTP collector: POST /v1/traces, JSON, gzip or not. answers: statuses (with
    headers) to give the next POSTs before 200s; stall: a delay before each answer."""

    def __init__(self, tls=None):
        """tls: (certificate, key) to serve HTTPS."""
        self.batches = []  # (time, headers, document)
        self.answers = []
        self.stall = 0.0
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if outer.stall:
                    time.sleep(outer.stall)
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                doc = json.loads(body)
                with outer.lock:
                    answer = outer.answers.pop(0) if outer.answers else (200, {})
                    if self.path == "/v1/traces" and answer[0] == 200:
                        outer.batches.append((time.time(), dict(self.headers), doc))
                    else:
                        outer.refused.append((time.time(), self.path, answer[0]))
                try:
                    self.send_response(answer[0])
                    for k, v in answer[1].items():
                        self.send_header(k, v)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")
                except OSError:
                    pass  # the gateway gave up waiting (a stalled receiver)

        self.refused = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.stall = 0.0
        self.server.shutdown()
        self.server.server_close()

    def spans(self):
        with self.lock:
            docs = [d for _, _, d in self.batches]
        out = []
        for d in docs:
            for rs in d["resourceSpans"]:
                for ss in rs["scopeSpans"]:
                    out.extend(ss["spans"])
        return out

    def wait_spans(self, pred, n=1, timeout=10.0):
        deadline = time.time() + timeout
        while True:
            got = [s for s in self.spans() if pred(s)]
            if len(got) >= n or time.time() > deadline:
                return got
            time.sleep(0.02)


def attrs(span):
    """A span's (or an event's) attributes as a dict; integers as ints."""
    out = {}
    for a in span["attributes"]:
        v = a["value"]
        out[a["key"]] = v["stringValue"] if "stringValue" in v else int(v["intValue"])
    return out


@pytest.fixture(scope="module")
def up():
    with Upstream(free_port()) as u:
        yield u


def config(tmp_path, up, receiver, exporter="", sampling="", endpoints=None):
    """Routes secure (API key), items (a template) and app, to up (or endpoints, with a retry on
    connect failures); the exporter to receiver (more of its keys from ", key: value")."""
    eps = endpoints or ["http://127.0.0.1:%d" % up.port]
    return api_key_identity(tmp_path, up.port).replace(
        "  app: {endpoints: [http://127.0.0.1:%d]}" % up.port,
        "  app: {endpoints: [%s], retry: {attempts: 2, on: [connect-failure]}}" % ", ".join(eps)) + """
trusted_proxies: [127.0.0.1/32]
tracing:
  enduser_id: true
  service_name: edge-gw
  sampling: {%s}
  exporter: {endpoint: "http://127.0.0.1:%d", interval: 50ms%s}
routes:
  - {name: secure, match: {prefix: /secure}, auth: {api_key: partners}, upstream: app}
  - {name: items, match: {path: "/items/{id}"}, auth: none, upstream: app}
  - {name: app, match: {prefix: /}, auth: none, upstream: app}
""" % (sampling, receiver.port, exporter)


def get(gw, path, fields=()):
    """A GET; its status and its access-log line."""
    before = len(gw.access_lines())
    head = "GET %s HTTP/1.1\r\nHost: api.example:8080\r\nUser-Agent: otlp-test/1\r\n" % path
    head += "".join("%s: %s\r\n" % f for f in fields)
    raw = raw_request(gw.port, (head + "Connection: close\r\n\r\n").encode())
    return int(raw.split(b" ")[1]), gw.access_lines(before + 1)[before]


@pytest.fixture(scope="module")
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(scope="module")
def gw(up, receiver, tmp_path_factory):
    """Sampling everything; gzip and a header; batches of at most 3 spans."""
    text = config(tmp_path_factory.mktemp("otlp"), up, receiver,
                  ", gzip: true, batch_size: 3, headers: [{name: X-Tenant, value: acme}]")
    with Gateway(text) as g:
        yield g


def by_id(receiver, span_id):
    got = receiver.wait_spans(lambda s: s["spanId"] == span_id)
    assert len(got) == 1, "span %s was not exported once" % span_id
    return got[0]


def test_server_span_is_the_logged_span_with_its_attributes(gw, receiver, up):
    status, line = get(gw, "/items/42?x=1")
    assert status == 200
    span = by_id(receiver, line["span_id"])
    assert span["traceId"] == line["trace_id"] and "parentSpanId" not in span
    assert span["kind"] == 2 and span["name"] == "GET /items/{id}"
    assert int(span["endTimeUnixNano"]) >= int(span["startTimeUnixNano"]) > 1.6e18
    a = attrs(span)
    assert a["http.request.method"] == "GET" and a["url.path"] == "/items/42"
    assert a["http.route"] == "/items/{id}" and a["http.response.status_code"] == 200
    assert a["server.address"] == "api.example" and a["client.address"] == "127.0.0.1"
    assert a["user_agent.original"] == "otlp-test/1" and a["gatehouse.route"] == "items"
    assert "enduser.id" not in a and span["status"].get("code", 0) == 0
    # the upstream try: a client span under the server span, the upstream's parent
    child = receiver.wait_spans(lambda s: s.get("parentSpanId") == span["spanId"])
    assert len(child) == 1 and child[0]["kind"] == 3 and child[0]["traceId"] == span["traceId"]
    ca = attrs(child[0])
    assert ca["http.response.status_code"] == 200 and ca["server.address"] == "127.0.0.1:%d" % up.port
    sent = up.lines_named("traceparent")[-1].split("-")
    assert sent[1:] == [line["trace_id"], child[0]["spanId"], "01"]


def test_resource_headers_and_gzip(gw, receiver):
    get(gw, "/plain")
    receiver.wait_spans(lambda s: True, n=2)
    _, headers, doc = receiver.batches[-1]
    assert headers["Content-Encoding"] == "gzip" and headers["X-Tenant"] == "acme"
    assert headers["Content-Type"] == "application/json"
    res = {a["key"]: a["value"]["stringValue"] for a in doc["resourceSpans"][0]["resource"]["attributes"]}
    assert res["service.name"] == "edge-gw" and "service.version" in res
    assert doc["resourceSpans"][0]["scopeSpans"][0]["scope"]["name"] == "gatehouse"


def test_service_name_of_the_longest_non_ascii(up, receiver, tmp_path):
    """A service name of 128 bytes past ASCII (42 CJK characters and two more bytes): six bytes
    a byte in the batch's head, which still fits; the exporter starts and names the service."""
    name = "\u65e5" * 42 + "\u00e9"
    assert len(name.encode()) == 128
    text = config(tmp_path, up, receiver).replace("service_name: edge-gw",
                                                  "service_name: \"%s\"" % name)
    with Gateway(text) as g:
        status, line = get(g, "/named")
        by_id(receiver, line["span_id"])
        doc = [d for _, _, d in receiver.batches
               if any(s["spanId"] == line["span_id"]
                      for s in d["resourceSpans"][0]["scopeSpans"][0]["spans"])][0]
        res = {a["key"]: a["value"]["stringValue"]
               for a in doc["resourceSpans"][0]["resource"]["attributes"]}
        assert res["service.name"].encode("latin-1") == name.encode()  # its bytes, each escaped


def test_refusal_is_the_span_status_and_an_event(gw, receiver):
    status, line = get(gw, "/secure/x")
    assert status == 401
    span = by_id(receiver, line["span_id"])
    assert span["status"]["code"] == 2 and span["status"]["message"] == line["reason"]
    event = span["events"][0]
    assert event["name"] == "gatehouse.refusal"
    assert attrs(event)["gatehouse.refusal.reason"] == line["reason"]
    assert attrs(span)["error.type"] == line["reason"]
    # no upstream try, no child span
    time.sleep(0.2)
    assert not [s for s in receiver.spans() if s.get("parentSpanId") == span["spanId"]]


def test_principal_and_client_behind_a_trusted_proxy(gw, receiver):
    status, line = get(gw, "/secure/x", [("X-Api-Key", "k1"), ("X-Forwarded-For", "203.0.113.9")])
    assert status == 200
    a = attrs(by_id(receiver, line["span_id"]))
    assert a["enduser.id"] == "acme" and a["client.address"] == "203.0.113.9"


def test_batches_hold_at_most_batch_size(gw, receiver):
    for i in range(5):
        get(gw, "/b/%d" % i)
    receiver.wait_spans(lambda s: attrs(s).get("url.path") == "/b/4")
    sizes = [sum(len(ss["spans"]) for rs in d["resourceSpans"] for ss in rs["scopeSpans"])
             for _, h, d in receiver.batches if h.get("X-Tenant") == "acme"]  # gw's own
    assert max(sizes) == 3, sizes


def test_incoming_sampled_parent_continued(gw, receiver, up):
    status, line = get(gw, "/in", [("traceparent", "00-%s-%s-01" % (T, P))])
    span = by_id(receiver, line["span_id"])
    assert span["traceId"] == T and span["parentSpanId"] == P
    assert span["flags"] & 0x301 == 0x301  # sampled, parent known to be remote


def test_retries_are_separate_attempts(up, receiver, tmp_path):
    dead = free_port()
    text = config(tmp_path, up, receiver,
                  endpoints=["http://127.0.0.1:%d" % dead, "http://127.0.0.1:%d" % up.port])
    with Gateway(text) as g:
        lines = [get(g, "/r/%d" % i)[1] for i in range(2)]
        line = [l for l in lines if l.get("attempts") == 2][0]
        server = by_id(receiver, line["span_id"])
        tries = receiver.wait_spans(lambda s: s.get("parentSpanId") == server["spanId"], n=2)
        assert len(tries) == 2
        failed = [t for t in tries if t["status"].get("code") == 2]
        assert len(failed) == 1 and attrs(failed[0])["server.address"] == "127.0.0.1:%d" % dead
        assert attrs(failed[0])["error.type"] == "connect_failed"


def test_ratio_zero_exports_refusals_and_sampled_parents(up, receiver, tmp_path):
    with Gateway(config(tmp_path, up, receiver, sampling="ratio: 0")) as g:
        status, ok_line = get(g, "/unsampled")
        assert status == 200
        assert up.lines_named("traceparent")[0].endswith("-00")  # the head decision goes on
        status, refused = get(g, "/secure/x")
        assert status == 401
        by_id(receiver, refused["span_id"])  # exported though unsampled
        status, parent = get(g, "/parent", [("traceparent", "00-%s-%s-01" % ("a" * 32, P))])
        by_id(receiver, parent["span_id"])  # the caller sampled it
        time.sleep(0.2)
        assert not [s for s in receiver.spans() if s["traceId"] == ok_line["trace_id"]]


def test_503_with_retry_after_is_tried_again(up, tmp_path):
    r = Receiver()
    r.answers = [(503, {"Retry-After": "1"})]
    try:
        with Gateway(config(tmp_path, up, r)) as g:
            status, line = get(g, "/later")
            span = by_id(r, line["span_id"])
            assert span["traceId"] == line["trace_id"]
            assert r.batches[0][0] - r.refused[0][0] >= 0.9  # waited as asked
            assert g.wait_metric("gatehouse_trace_spans_exported_total", 2) >= 2
            assert g.metric('gatehouse_trace_spans_dropped_total{reason="export_failed"}') == 0
    finally:
        r.close()


@pytest.mark.parametrize("wish", ["-1", "+0x1", "soon", "Thu, 01 Jan 1970 00:00:00 GMT"])
def test_retry_after_that_is_no_delay_takes_the_backoff(up, tmp_path, wish):
    """A negative, signed or unreadable Retry-After (or a date gone by) is no reason to wait
    longer than the backoff's first step (0.5 s): "-1" once meant the longest wait, 30 s."""
    r = Receiver()
    r.answers = [(503, {"Retry-After": wish})]
    try:
        with Gateway(config(tmp_path, up, r)) as g:
            status, line = get(g, "/soon")
            span = by_id(r, line["span_id"])
            assert span["traceId"] == line["trace_id"]
            assert r.batches[0][0] - r.refused[0][0] < 5
    finally:
        r.close()


def test_stalled_receiver_drops_and_counts(up, tmp_path):
    r = Receiver()
    r.stall = 2.0
    try:
        text = config(tmp_path, up, r, ", timeout: 300ms, queue_size: 4, batch_size: 2")
        with Gateway(text) as g:
            started = time.time()
            for i in range(20):
                assert get(g, "/s/%d" % i)[0] == 200
            assert time.time() - started < 5  # requests never wait for the exporter
            dropped = g.wait_metric('gatehouse_trace_spans_dropped_total{reason="queue_full"}', 1)
            assert dropped >= 20
            assert g.metric("gatehouse_trace_spans_exported_total") == 0
    finally:
        r.close()


def test_reload_moves_the_export(up, receiver, tmp_path):
    other = Receiver()
    try:
        with Gateway(config(tmp_path, up, receiver)) as g:
            status, line = get(g, "/before")
            by_id(receiver, line["span_id"])
            g.write_config(config(tmp_path, up, other,
                                  ", headers: [{name: X-Moved, value: 'yes'}]"))
            status, report = g.admin("/reload", "POST")
            assert status == 200, report
            status, line = get(g, "/after")
            by_id(other, line["span_id"])
            assert other.batches[-1][1]["X-Moved"] == "yes"
    finally:
        other.close()


def test_exporter_keys_are_checked(tmp_path):
    from testenv import check_config
    bad = """
listeners: [{address: 127.0.0.1:1}]
upstreams: {app: {endpoints: [http://127.0.0.1:2]}}
routes: [{name: a, match: {prefix: /}, auth: none, upstream: app}]
tracing:
  sampling: {ratio: 2}
  exporter: {endpoint: "udp://x", batch_size: 0, headers: [{name: "a b", value: v}]}
"""
    done = check_config(tmp_path, bad)
    rc, out = done.returncode, done.stderr
    assert "tracing.sampling.ratio: expected a number from 0 to 1" in out
    assert "tracing.exporter.endpoint: expected an http:// or https:// URL" in out
    assert "tracing.exporter.batch_size" in out
    assert "tracing.exporter.headers[0].name" in out
    assert ":6:" in out and ":7:" in out


def test_a_header_secret_that_does_not_resolve_is_one_error(tmp_path, monkeypatch):
    from testenv import check_config
    monkeypatch.delenv("GH_TEST_NO_SUCH_SECRET", raising=False)
    text = """
listeners: [{address: 127.0.0.1:1}]
upstreams: {app: {endpoints: [http://127.0.0.1:2]}}
routes: [{name: a, match: {prefix: /}, auth: none, upstream: app}]
tracing:
  exporter:
    endpoint: http://127.0.0.1:4318
    headers: [{name: Authorization, secret: "${env:GH_TEST_NO_SUCH_SECRET}"}]
"""
    done = check_config(tmp_path, text)
    assert done.returncode == 1
    assert "tracing.exporter.headers[0].secret: environment variable GH_TEST_NO_SUCH_SECRET " \
        "is not set" in done.stderr
    # The header has its secret: nothing else is wrong with it.
    assert "one of value or secret" not in done.stderr, done.stderr
    assert "c.yaml: 1 error" in done.stderr, done.stderr


def test_an_introspection_wait_is_a_child_span(receiver, tmp_path, monkeypatch):
    from testenv.introspection import IntrospectionServer
    with IntrospectionServer(free_port()) as idp:
        idp.tokens = {"tok-a": {"sub": "alice", "iss": "https://idp.test", "aud": "orders",
                                "exp": int(time.time()) + 300}}
        idp.start()
        monkeypatch.setenv("INTROSPECTION_SECRET", idp.client_secret)
        text = """
identity:
  introspection:
    corp: {url: "%s", client_id: %s, client_secret: "${env:INTROSPECTION_SECRET}",
           ca_file: %s, issuer: "https://idp.test", audiences: [orders]}
tracing:
  exporter: {endpoint: "http://127.0.0.1:%d", interval: 50ms}
routes:
  - {name: orders, match: {prefix: /orders}, auth: {introspection: corp}, respond: {status: 204}}
""" % (idp.url, idp.client_id, idp.ca_file, receiver.port)
        with Gateway(text) as g:
            status, line = get(g, "/orders", [("Authorization", "Bearer tok-a")])
            assert status == 204
            server = by_id(receiver, line["span_id"])
            waits = receiver.wait_spans(lambda s: s.get("parentSpanId") == server["spanId"])
            assert [w["name"] for w in waits] == ["introspection"]
            a = attrs(waits[0])
            assert a["gatehouse.wait.on"] == "corp" and a["http.response.status_code"] == 200
            assert int(waits[0]["startTimeUnixNano"]) >= int(server["startTimeUnixNano"])
            assert int(waits[0]["endTimeUnixNano"]) <= int(server["endTimeUnixNano"])


def test_the_exit_sends_what_is_queued(up, tmp_path):
    r = Receiver()
    try:
        g = Gateway(config(tmp_path, up, r, ", batch_size: 1000").replace("interval: 50ms",
                                                                           "interval: 60s"))
        with g:
            status, line = get(g, "/last")
            time.sleep(0.3)
            assert not r.spans()  # the batch waits for its interval
            assert g.seconds_to_exit() < 5
        assert [s["spanId"] for s in r.spans() if s["spanId"] == line["span_id"]]
    finally:
        r.close()


def test_https_collector_checked_against_ca_file(up, tmp_path):
    ca_file, cert, key = make_ca_and_server_cert(str(tmp_path))
    r = Receiver(tls=(cert, key))
    try:
        text = config(tmp_path, up, r, ", ca_file: %s" % ca_file).replace("http://127.0.0.1:%d\"" % r.port,
                                                                       "https://127.0.0.1:%d\"" % r.port)
        with Gateway(text) as g:
            status, line = get(g, "/tls")
            by_id(r, line["span_id"])
    finally:
        r.close()


def test_server_span_kept_whatever_the_client_wrote(up, receiver, tmp_path):
    """Texts that escape to six bytes a byte (bytes past ASCII), as long as a span takes them: a
    subject (enduser.id) and an address a trusted proxy passed on that is no address
    (client.address), beside a long user agent. The server span is exported, its texts cut,
    rather than lost for its length."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from conftest import jwt_identity
    from testenv.tokens import sign, token_claims
    key = ec.generate_private_key(ec.SECP256R1())
    text = jwt_identity(tmp_path, key, "https://idp.test", "api", up.port) + """
trusted_proxies: [127.0.0.1/32]
tracing:
  enduser_id: true
  exporter: {endpoint: "http://127.0.0.1:%d", interval: 50ms}
routes:
  - {name: app, match: {prefix: /}, auth: {jwt: corp}, upstream: app}
""" % receiver.port
    token = sign(key, "k1", "ES256", token_claims("https://idp.test", "api", sub="\xe9" * 300))
    with Gateway(text) as g:
        status, line = get(g, "/long", [("Authorization", "Bearer " + token),
                                        ("X-Forwarded-For", "\xff" * 1100),
                                        ("User-Agent", "\xe9" * 1100)])
        assert status == 200, line
        span = by_id(receiver, line["span_id"])
        a = attrs(span)
        # each byte escaped on its own: the UTF-8 of U+00FF reads back as its two bytes
        assert a["enduser.id"] == "\xc3\xa9" * 128 and a["client.address"] == "\xc3\xbf" * 128
        assert "user_agent.original" not in a
