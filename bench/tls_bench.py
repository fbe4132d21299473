"""The TLS part of `make bench`: Gatehouse and HAProxy terminating TLS with the same ECDSA P-256
certificate in front of the same upstream. Keep-alive requests over TLS 1.3; a new connection
per request, resumed (wrk offers the session ticket it got last time on the same connection
slot) and full (a second pair of servers with resumption off: no tickets, no session cache);
and HTTP/2 (h2load, the same connections and streams for both)."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "integration"))
from testenv.certs import CertAuthority  # noqa: E402

import jwt_bench  # noqa: E402
from measures import alternate, cpu, errors, rate  # noqa: E402


def make_certificate(d):
    """A CA and a server certificate for 127.0.0.1: paths of the PEM chain, the key, and both in
    one file (HAProxy's form)."""
    ca = CertAuthority(d, "bench CA")
    cert, key = ca.issue("bench-server", "127.0.0.1", dns=["localhost"], ips=["127.0.0.1"])
    combined = os.path.join(d, "bench-server-combined.pem")
    with open(combined, "w") as out:
        out.write(open(cert).read() + open(key).read())
    return cert, key, combined


def gatehouse_yaml(port, up_port, cert, key, tickets=True):
    return """workers: 1
listeners: [{address: 127.0.0.1:%d, tls: {certificate: %s, private_key: %s%s}}]
access_log: off
upstreams:
  app: {endpoints: [http://127.0.0.1:%d], max_concurrency: 10000}
routes:
  - {name: app, match: {prefix: /}, auth: none, upstream: app}
""" % (port, cert, key, "" if tickets else ", session_tickets: false", up_port)


def haproxy_cfg(port, up_port, combined, tickets=True):
    preamble = jwt_bench.HAPROXY_PREAMBLE
    if not tickets:  # no ticket, and no session cache to resume from either
        preamble = preamble.replace("global\n", "global\n  tune.ssl.cachesize 0\n", 1)
    return preamble + """frontend fe
  bind 127.0.0.1:%d ssl crt %s alpn h2,http/1.1 ssl-min-ver TLSv1.2%s
  default_backend be
backend be
  http-reuse always
  server s1 127.0.0.1:%d
""" % (port, combined, "" if tickets else " no-tls-tickets", up_port)


H2_CONNECTIONS, H2_STREAMS = 10, 10


def h2load(url, pid, cpu_seconds, seconds, client_cpu):
    """h2load for a duration: (requests/s, p99 placeholder 0, failures, proxy CPU us/request)."""
    before = cpu_seconds(pid)
    out = subprocess.run(client_cpu + ["h2load", "-t1", "-c%d" % H2_CONNECTIONS, "-m%d" % H2_STREAMS,
                                       "-D%d" % seconds, url], capture_output=True, text=True).stdout
    cpu = cpu_seconds(pid) - before
    rps = float(re.search(r"finished in [\d.]+s, ([\d.]+) req/s", out).group(1))
    done = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded", out)
    failed = int(done.group(1)) - int(done.group(2)) if done else 1
    return rps, 0.0, failed, cpu / max(rps * seconds, 1) * 1e6


KINDS = ("keepalive", "resumed", "full", "h2")


def run(wrk, peers, full_peers, rounds, h2):
    """peers, full_peers: (name, port, pid), the second pair with resumption off. Rounds of
    keep-alive, HTTP/2 (h2, a function running h2load on a URL and pid) and handshakes (resumed
    on peers, full on full_peers); the handshake runs leave thousands of closed connections
    behind: they come last."""
    close = ["-H", "Connection: close"]
    for name, port, pid in peers + full_peers:
        wrk("https://127.0.0.1:%d/" % port, pid)  # warm up
    on = {name: (port, pid) for name, port, pid in peers}
    full = {name: (port, pid) for name, port, pid in full_peers}
    url = lambda port: "https://127.0.0.1:%d/" % port
    loads = [("keepalive", lambda name: wrk(url(on[name][0]), on[name][1])),
             ("h2", lambda name: h2(url(on[name][0]), on[name][1])),
             ("resumed", lambda name: wrk(url(on[name][0]), on[name][1], close)),
             ("full", lambda name: wrk(url(full[name][0]), full[name][1], close))]
    return alternate("tls", loads, list(on), rounds)


def report(res, within_round):
    med = rate
    ratio = {kind: within_round(res[kind], "gatehouse", "haproxy", 0) for kind in KINDS}
    failed = errors(*res.values())
    labels = {"keepalive": "keep-alive", "resumed": "resumed handshakes", "full": "full handshakes",
              "h2": "HTTP/2 (h2load -c%d -m%d)" % (H2_CONNECTIONS, H2_STREAMS)}
    rows = ["| %s | %.0f | %.0f | %.2f us | %.2f us |"
            % (labels[k], med(res[k]["gatehouse"]), med(res[k]["haproxy"]), cpu(res[k]["gatehouse"]),
               cpu(res[k]["haproxy"])) for k in KINDS]
    goals = {"keepalive": ("TLS keep-alive", 1.0), "full": ("full handshakes", 0.9),
             "resumed": ("resumed handshakes", None), "h2": ("HTTP/2", 1.0)}
    targets = []
    for k in ("keepalive", "full", "resumed", "h2"):
        what, goal = goals[k]
        targets.append("| %s vs HAProxy | %.2fx | %s | %s |"
                       % (what, ratio[k], ">= %.2fx" % goal if goal else "(none)",
                          ("yes" if ratio[k] >= goal else "no") if goal else "-"))
    return ["", "## TLS",
            "",
            "Gatehouse and HAProxy terminating TLS with the same ECDSA P-256 certificate, one worker",
            "each, in front of the same upstream (`bench/tls_bench.py`). *Keep-alive*: TLS 1.3, the",
            "connections reused. *Handshakes*: `Connection: close` on every request, so every request",
            "is a new connection. wrk offers each new connection the session ticket the previous one",
            "on its slot received, so against the default configurations these are *resumed*",
            "handshakes; the *full* handshakes run against a second pair of servers with resumption",
            "off (`session_tickets: false`; HAProxy `no-tls-tickets` and `tune.ssl.cachesize 0`).",
            "*HTTP/2*: h2load over TLS with ALPN h2, the same connections and concurrent streams for",
            "both; streams go to the upstream over HTTP/1.1 keep-alive.",
            "",
            "| load | gatehouse req/s | HAProxy req/s | gatehouse CPU per request | HAProxy CPU per request |",
            "|---|---:|---:|---:|---:|",
            ] + rows + [
            "",
            "| target | measured | goal | met |",
            "|---|---:|---:|:---:|",
            ] + targets + [
            "",
            "Errors (non-2xx or socket errors) across the TLS runs: %d." % failed]
