"""The observability part of `make bench`: what the security event stream at 100 % of requests
costs, beside plain proxying in the same gateway (a critical route logs every request to the
event file; a plain route beside it logs nothing)."""
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
            "", "Errors (non-2xx or socket errors) across these runs: %d." % errors(res)]
