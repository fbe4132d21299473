"""The observability part of `make bench`: what the security event stream at 100 % of requests
costs, beside plain proxying in the same gateway (a critical route logs every request to the
event file; a plain route beside it logs nothing); what tracing costs with a live OTLP receiver
at ratio 0.1 and 1.0; what the anomaly detectors cost, with local state and with Redis."""
import os

from measures import alternate, cpu, errors, rate


def events_yaml(d, port, up_port):
    return """workers: 1
listeners: [{address: 127.0.0.1:%d}]
access_log: off
security_events: {file: %s}
upstreams:
  app: {endpoints: [http://127.0.0.1:%d], max_concurrency: 10000}
routes:
  - {name: critical, match: {prefix: /critical}, auth: none, critical: true, upstream: app}
  - {name: plain, match: {prefix: /}, auth: none, upstream: app}
""" % (port, os.path.join(d, "security-events.jsonl"), up_port)


def run_events(wrk, port, pid, rounds):
    """Returns {"events": {"plain": runs, "critical": runs}}."""
    paths = {"plain": "/", "critical": "/critical"}
    return alternate("events", [("events", lambda name: wrk("http://127.0.0.1:%d%s" % (port, paths[name]), pid))],
                     ["plain", "critical"], rounds)


def report(res, within_round):
    ev = res["events"]
    ratio = within_round(ev, "critical", "plain", 0)
    cpu_ratio = within_round(ev, "plain", "critical", 3)
    return ["", "## Security events",
            "",
            "One gateway, two routes to the same upstream: a critical route (`critical: true`), whose every",
            "request is a line in the security event file, and a plain route beside it that writes none",
            "(`bench/observe_bench.py`).",
            "",
            "| route | req/s | proxy CPU per request |", "|---|---:|---:|",
            "| plain | %.0f | %.2f us |" % (rate(ev["plain"]), cpu(ev["plain"])),
            "| critical, every request to the event file | %.0f | %.2f us |" % (rate(ev["critical"]), cpu(ev["critical"])),
            "",
            "| target | measured | goal | met |", "|---|---:|---:|:---:|",
            "| event stream at 100 %% vs plain (req/s) | %.2fx | >= 0.90x | %s |" % (ratio, "yes" if ratio >= 0.9 else "no"),
            "| the same, judged on CPU per request (plain / critical) | %.2fx | >= 0.90x | %s |"
            % (cpu_ratio, "yes" if cpu_ratio >= 0.9 else "no"),
            "", "Errors (non-2xx or socket errors) across these runs: %d." % errors(ev)]


DETECTORS = ("error_rate", "enumeration", "credential_stuffing", "token_sharing", "rate_spike",
             "unusual_method")
DETECTORS_OFF = "anomaly: {detectors: {%s}}\n" % ", ".join("%s: {mode: off}" % d for d in DETECTORS)


def gateway_yaml(port, up_port, extra):
    """One worker, one route with a path parameter (the enumeration detector counts its values),
    and extra top-level sections."""
    return """workers: 1
listeners: [{address: 127.0.0.1:%d}]
access_log: off
upstreams:
  app: {endpoints: [http://127.0.0.1:%d], max_concurrency: 10000}
routes:
  - {name: items, match: {path: "/items/{id}"}, auth: none, upstream: app%s}
%s""" % (port, up_port, extra.get("route", ""), extra.get("top", ""))


def tracing_yaml(ratio, receiver_port):
    return "tracing: {sampling: {ratio: %s}, exporter: {endpoint: http://127.0.0.1:%d}}\n" % (
        ratio, receiver_port)


REDIS_LIMIT = {"route": ", rate_limit: per-ip",
               "top": """stores:
  redis: {address: 127.0.0.1:%d}
rate_limits:
  per-ip: {key: client_ip, rate: 1000000/s, burst: 1000000, store: redis}
"""}


def variants(receiver_port, redis_port, admin_ports):
    """name -> extra sections. `plain` has every detector off and no tracing; the others add one
    thing each. `redis-limit` is plain with a Redis rate limit; `redis-detect` adds the
    detectors sharing their distinct counts through the same Redis."""
    limit_top = REDIS_LIMIT["top"] % redis_port
    return {
        "plain": {"top": DETECTORS_OFF},
        "trace-0.1": {"top": DETECTORS_OFF + tracing_yaml("0.1", receiver_port)
                      + admin_yaml(admin_ports["trace-0.1"])},
        "trace-1.0": {"top": DETECTORS_OFF + tracing_yaml("1.0", receiver_port)
                      + admin_yaml(admin_ports["trace-1.0"])},
        "detect": {"top": ""},
        "redis-limit": {"route": REDIS_LIMIT["route"], "top": limit_top + DETECTORS_OFF},
        "redis-detect": {"route": REDIS_LIMIT["route"], "top": limit_top + "anomaly: {store: redis}\n"},
    }


def receiver_server(port):
    """An nginx server block taking OTLP/HTTP posts: the body read and dropped, 200 answered."""
    return """
  server { listen 127.0.0.1:%d; client_max_body_size 64m;
           location / { return 200 "{}"; } }""" % port


def admin_yaml(port):
    return "admin: {address: 127.0.0.1:%d}\n" % port


def span_counts(admin_port):
    """(exported, dropped) spans, from the gateway's metrics."""
    import urllib.request
    text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % admin_port, timeout=10).read().decode()
    total = lambda name: sum(float(l.rsplit(" ", 1)[1]) for l in text.splitlines() if l.startswith(name))
    return int(total("gatehouse_trace_spans_exported_total")), int(total("gatehouse_trace_spans_dropped_total"))


def run_variants(wrk, ports, pids, rounds):
    """Returns {"local": {peer: runs}, "redis": {peer: runs}}: each group alternates within a
    round, the same URL on every gateway."""
    def load(name):
        return wrk("http://127.0.0.1:%d/items/42" % ports[name], pids[name])
    local = alternate("observe", [("local", load)], ["plain", "trace-0.1", "trace-1.0", "detect"], rounds)
    redis = alternate("observe", [("redis", load)], ["redis-limit", "redis-detect"], rounds)
    return {"local": local["local"], "redis": redis["redis"]}


def variants_report(res, within_round, spans):
    """spans: {variant: (exported, dropped)} read after the runs."""
    loc, red = res["local"], res["redis"]
    rows, targets = [], []
    for name, what in (("plain", "plain proxying, detectors off, no tracing"),
                       ("trace-0.1", "tracing, ratio 0.1, spans exported"),
                       ("trace-1.0", "tracing, ratio 1.0, spans exported"),
                       ("detect", "all six detectors on (mode log), local state")):
        rows.append("| %s | %.0f | %.2f us |" % (what, rate(loc[name]), cpu(loc[name])))
    for name, what in (("redis-limit", "a Redis rate limit, detectors off"),
                       ("redis-detect", "the same Redis limit, detectors on, `anomaly.store: redis`")):
        rows.append("| %s | %.0f | %.2f us |" % (what, rate(red[name]), cpu(red[name])))
    for label, group, name, base, goal in (
            ("tracing at ratio 0.1 vs plain", loc, "trace-0.1", "plain", 0.95),
            ("tracing at ratio 1.0 vs plain", loc, "trace-1.0", "plain", 0.85),
            ("all detectors, local state, vs plain", loc, "detect", "plain", 0.95),
            ("all detectors with Redis vs the same Redis limit", red, "redis-detect", "redis-limit", 0.90)):
        r = within_round(group, name, base, 0)
        c = within_round(group, base, name, 3)
        targets.append("| %s (req/s) | %.2fx | >= %.2fx | %s |" % (label, r, goal, "yes" if r >= goal else "no"))
        targets.append("| the same, judged on CPU per request | %.2fx | >= %.2fx | %s |"
                       % (c, goal, "yes" if c >= goal else "no"))
    return (["", "## Tracing and anomaly detection",
             "",
             "One gateway per variant, the same route with a path parameter (`/items/{id}`, which the",
             "enumeration detector counts) and upstream; an nginx on the client's core takes the OTLP/HTTP",
             "exports, a `redis-server` there holds the Redis limit and the detectors' shared counts",
             "(`bench/observe_bench.py`). Spans exported (dropped) over the tracing runs: ratio 0.1 %d (%d),"
             % spans["trace-0.1"], "ratio 1.0 %d (%d)." % spans["trace-1.0"],
             "",
             "| variant | req/s | proxy CPU per request |", "|---|---:|---:|"] + rows +
            ["", "| target | measured | goal | met |", "|---|---:|---:|:---:|"] + targets +
            ["", "Errors (non-2xx or socket errors) across these runs: %d." % errors(loc, red)])
