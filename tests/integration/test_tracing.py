"""Trace context (W3C Trace Context, b3 single header): a trusted peer's traceparent is continued
(its trace id, a new span id, the caller's span as parent), anyone else's is replaced; a
malformed one starts a new trace and refuses nothing; tracestate goes on only beside a valid
traceparent and within its limits; the ids are in every access-log line and in the gateway's
problem documents, over HTTP/1.1 and HTTP/2; tracing's keys are judged with file:line:col."""
import json
import re
import subprocess

import pytest

from conftest import api_key_identity
from testenv import BIN, Gateway, Upstream, check_config, free_port, raw_request
from testenv.h2client import h2_request

T = "4bf92f3577b34da6a3ce929d0e0e4736"
P = "00f067aa0ba902b7"
TP = "00-%s-%s-01" % (T, P)
STATE = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"
HEX32, HEX16 = re.compile("^[0-9a-f]{32}$"), re.compile("^[0-9a-f]{16}$")


def config(upstream, tmp_path, tracing="", trusted=True):
    return api_key_identity(tmp_path, upstream.port) + """
%s%s
routes:
  - {name: secure, match: {prefix: /secure}, auth: {api_key: partners}, upstream: app}
  - {name: app, match: {prefix: /}, auth: none, upstream: app}
""" % ("trusted_proxies: [127.0.0.1/32]\n" if trusted else "", tracing)


@pytest.fixture(scope="module")
def up():
    with Upstream(free_port()) as u:
        yield u


def gateway(up, tmp_path_factory, tracing="", trusted=True):
    return Gateway(config(up, tmp_path_factory.mktemp("trace"), tracing, trusted),
                   listener_extra=", h2c: true")


@pytest.fixture(scope="module")
def trusted(up, tmp_path_factory):
    """127.0.0.1 is a trusted proxy; extract: trusted (the default); b3 as well as w3c."""
    with gateway(up, tmp_path_factory, "tracing: {propagation: [w3c, b3]}") as g:
        yield g


@pytest.fixture(scope="module")
def untrusted(up, tmp_path_factory):
    """No trusted proxy; every tracing key left to its default."""
    with gateway(up, tmp_path_factory, trusted=False) as g:
        yield g


def send(gw, fields, path="/echo"):
    """A GET with the given header lines; the status and the access-log line it made."""
    before = len(gw.access_lines())
    head = "GET %s HTTP/1.1\r\nHost: t\r\n" % path + "".join("%s: %s\r\n" % f for f in fields)
    raw = raw_request(gw.port, (head + "Connection: close\r\n\r\n").encode())
    return int(raw.split(b" ")[1]), gw.access_lines(before + 1)[before], raw


def sent_upstream(up, name):
    return up.lines_named(name)


def outgoing(up):
    """The one traceparent the upstream received, split: (version, trace, span, flags)."""
    values = sent_upstream(up, "traceparent")
    assert len(values) == 1, values
    return tuple(values[0].split("-"))


def assert_new_trace(up, line, refused_trace=T):
    version, trace, span, flags = outgoing(up)
    assert version == "00" and HEX32.match(trace) and HEX16.match(span) and flags == "01"
    assert trace != refused_trace and span != P
    assert (line["trace_id"], line["span_id"]) == (trace, span)
    assert "parent_span_id" not in line
    assert sent_upstream(up, "tracestate") == []


def test_a_trusted_peer_s_trace_is_continued_with_a_span_of_the_gateway_s(trusted, up):
    status, line, _ = send(trusted, [("traceparent", "00-%s-%s-00" % (T, P)), ("tracestate", STATE)])
    assert status == 200
    version, trace, span, flags = outgoing(up)
    assert (version, trace, flags) == ("00", T, "00")  # not sampled, as the caller said
    assert HEX16.match(span) and span != P and span != "0" * 16
    assert sent_upstream(up, "tracestate") == [STATE]
    assert (line["trace_id"], line["span_id"], line["parent_span_id"]) == (T, span, P)
    # Each request is a span of its own, in the same trace.
    _, line2, _ = send(trusted, [("traceparent", TP)])
    assert line2["trace_id"] == T and line2["span_id"] not in (span, P)


def test_an_untrusted_peer_s_trace_fields_are_replaced(untrusted, up):
    status, line, _ = send(untrusted, [("traceparent", TP), ("tracestate", STATE),
                                       ("b3", "%s-%s-1" % (T, P))])
    assert status == 200
    assert_new_trace(up, line)
    assert sent_upstream(up, "b3") == []  # b3 is not configured: none goes, the client's neither
    # A request without any trace field gets ids too.
    _, line, _ = send(untrusted, [])
    assert HEX32.match(line["trace_id"]) and HEX16.match(line["span_id"])
    assert outgoing(up)[1:3] == (line["trace_id"], line["span_id"])


def test_extract_never_and_always(up, tmp_path_factory):
    with gateway(up, tmp_path_factory, "tracing: {extract: never}") as g:
        status, line, _ = send(g, [("traceparent", TP), ("tracestate", STATE)])
        assert status == 200
        assert_new_trace(up, line)
    with gateway(up, tmp_path_factory, "tracing: {extract: always}", trusted=False) as g:
        _, line, _ = send(g, [("traceparent", TP), ("tracestate", STATE)])
        assert outgoing(up)[1] == T and line["parent_span_id"] == P
        assert sent_upstream(up, "tracestate") == [STATE]


MALFORMED = [
    [("traceparent", "00-%s-%s-01" % (T.upper(), P))],           # uppercase hex
    [("traceparent", "00-%s-%s-01" % (T, P.upper()))],
    [("traceparent", "00-%s-%s-01" % ("0" * 32, P))],            # all-zero trace id
    [("traceparent", "00-%s-%s-01" % (T, "0" * 16))],            # all-zero parent id
    [("traceparent", "00-%s-%s-01" % (T[:-1], P))],              # wrong lengths
    [("traceparent", "00-%s0-%s-01" % (T, P))],
    [("traceparent", "00-%s-%s-1" % (T, P))],
    [("traceparent", "00-%s-%s-01-extra" % (T, P))],             # version 00 has four fields
    [("traceparent", "ff-%s-%s-01" % (T, P))],                   # version ff is invalid
    [("traceparent", "0g-%s-%s-01" % (T, P))],
    [("traceparent", "00-%s-%s-0g" % (T, P))],
    [("traceparent", "cc-%s-%s-01x" % (T, P))],                  # a later version's flags end
    [("traceparent", TP), ("traceparent", TP)],                  # two: neither is believed
    [("traceparent", "00_%s_%s_01" % (T, P))],
]


@pytest.mark.parametrize("fields", MALFORMED)
def test_a_malformed_traceparent_starts_a_new_trace_and_refuses_nothing(trusted, up, fields):
    status, line, _ = send(trusted, fields + [("tracestate", STATE)])
    assert status == 200
    assert_new_trace(up, line)


def test_a_later_version_is_read_by_its_first_four_fields(trusted, up):
    _, line, _ = send(trusted, [("traceparent", "cc-%s-%s-03-what-the-future-holds" % (T, P))])
    # Only the sampled flag of a version the gateway does not know is taken; it sends 00.
    assert outgoing(up) == ("00", T, line["span_id"], "01")
    assert line["parent_span_id"] == P
    _, line, _ = send(trusted, [("traceparent", "01-%s-%s-00" % (T, P))])
    assert outgoing(up)[1] == T and outgoing(up)[3] == "00"


def members(n, width=1):
    return ",".join("k%d=%s" % (i, "v" * width) for i in range(n))


def test_tracestate_goes_on_only_within_its_limits(trusted, up):
    def state_sent(*lines):
        send(trusted, [("traceparent", TP)] + [("tracestate", l) for l in lines])
        assert outgoing(up)[1] == T
        return sent_upstream(up, "tracestate")

    assert state_sent(members(32)) == [members(32)]
    assert state_sent(members(33)) == []
    # 512 bytes at most.
    at_limit, over = "a=" + "v" * 256 + ",b=" + "v" * 251, "a=" + "v" * 256 + ",b=" + "v" * 252
    assert (len(at_limit), len(over)) == (512, 513)
    assert state_sent(at_limit) == [at_limit]
    assert state_sent(over) == []
    # Two lines are one list.
    assert state_sent("a=1", "b=2") == ["a=1,b=2"]
    assert state_sent(members(20), members(13).replace("k", "j")) == []
    # A member that is no key=value, an uppercase key, a key twice: the list is dropped.
    assert state_sent("a=1,nonsense") == []
    assert state_sent("Congo=1") == []
    assert state_sent("a=1,a=2") == []
    assert state_sent("tenant@sys=1, b=2 ,") == ["tenant@sys=1, b=2 ,"]
    assert state_sent(" , ") == []


def test_b3_in_and_out(trusted, up):
    # A b3 caller (no traceparent) is continued; the upstream gets both formats.
    _, line, _ = send(trusted, [("b3", "%s-%s-1" % (T, P))])
    span = line["span_id"]
    assert outgoing(up) == ("00", T, span, "01")
    assert sent_upstream(up, "b3") == ["%s-%s-1-%s" % (T, span, P)]
    # A 64-bit trace id is the 128-bit one with zeros in front; "0" is not sampled.
    _, line, _ = send(trusted, [("b3", "a3ce929d0e0e4736-%s-0-05e3ac9a4f6e3b90" % P)])
    assert outgoing(up) == ("00", "0" * 16 + "a3ce929d0e0e4736", line["span_id"], "00")
    assert line["parent_span_id"] == P
    # traceparent comes first; a malformed b3 is no context; a new trace has no parent in b3.
    send(trusted, [("b3", "%s-%s-1" % ("1" * 32, P)), ("traceparent", TP)])
    assert outgoing(up)[1] == T
    for bad in ["%s-%s-1" % (T.upper(), P), "%s-%s-x" % (T, P), "%s-%s" % (T[:20], P), "1",
                "%s-%s-1-%s" % (T, P, "0" * 16)]:
        _, line, _ = send(trusted, [("b3", bad)])
        assert outgoing(up)[1] != T and "parent_span_id" not in line, bad
        assert sent_upstream(up, "b3") == ["%s-%s-1" % (line["trace_id"], line["span_id"])]


def test_ids_in_the_log_and_the_problem_document_over_http1_and_http2(trusted):
    status, line, raw = send(trusted, [("traceparent", TP)], path="/secure")
    assert status == 401
    doc = json.loads(raw.partition(b"\r\n\r\n")[2])
    assert doc["trace_id"] == T == line["trace_id"] and HEX16.match(line["span_id"])
    before = len(trusted.access_lines())
    status, _, body = h2_request(trusted.port, [(":method", "GET"), (":scheme", "http"),
                                                (":path", "/secure"), (":authority", "t"),
                                                ("traceparent", TP)])
    line = trusted.access_lines(before + 1)[before]
    assert status == 401 and line["protocol"] == "h2"
    assert json.loads(body)["trace_id"] == T == line["trace_id"] and line["parent_span_id"] == P
    # A problem document of a new trace names the trace its log line does.
    status, _, body = h2_request(trusted.port, [(":method", "GET"), (":scheme", "http"),
                                                (":path", "/secure"), (":authority", "t")])
    line = trusted.access_lines(before + 2)[before + 1]
    assert json.loads(body)["trace_id"] == line["trace_id"] != T


def test_http2_passes_the_trace_upstream(trusted, up):
    status, _, _ = h2_request(trusted.port, [(":method", "GET"), (":scheme", "http"),
                                             (":path", "/echo"), (":authority", "t"),
                                             ("traceparent", TP), ("tracestate", "a=1")])
    assert status == 200
    assert outgoing(up)[1] == T and sent_upstream(up, "tracestate") == ["a=1"]


CHECKS = [
    ("tracing: {extract: sometimes}\n", "c.yaml:2:20:", "always, trusted, never"),
    ("tracing: {propagation: [w3c, zipkin]}\n", "c.yaml:2:30:", 'unknown format "zipkin"'),
    ("tracing: {propagation: [b3]}\n", "c.yaml:2:24:", "w3c is always propagated"),
    ("tracing: {propagation: [w3c, w3c]}\n", "c.yaml:2:30:", "w3c is listed twice"),
    ("tracing: {sample: 1}\n", "c.yaml:2:", "unknown key 'sample'"),
    # The gateway writes the upstream's trace fields itself: no header rule may.
    ("headers: {request: {set: {traceparent: x}}}\n", "c.yaml:2:", "sets this for the upstream itself"),
    ("headers: {request: {remove: [B3]}}\n", "c.yaml:2:", "sets this for the upstream itself"),
]


@pytest.mark.parametrize("tracing,where,message", CHECKS)
def test_tracing_keys_are_judged_with_their_place(tmp_path, tracing, where, message):
    text = "listeners: [{address: 127.0.0.1:8080}]\n" + tracing + \
        "routes:\n  - {name: r, match: {prefix: /}, auth: none, respond: {status: 204}}\n"
    p = check_config(tmp_path, text)
    assert p.returncode != 0 and message in p.stderr and where in p.stderr, p.stderr


def test_check_print_shows_the_defaults(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("listeners: [{address: 127.0.0.1:8080}]\n"
                    "routes:\n  - {name: r, match: {prefix: /}, auth: none, respond: {status: 204}}\n")
    out = subprocess.run([BIN, "check", "--print", "-c", str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert re.search(r"^tracing:\n  extract: trusted\n  propagation: w3c$", out.stdout, re.M), out.stdout
