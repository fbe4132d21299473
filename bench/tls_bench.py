"""The TLS part of `make bench`: Gatehouse and HAProxy terminating TLS with the same ECDSA P-256
certificate in front of the same upstream. Keep-alive requests over TLS 1.3, full handshakes
(a new connection per request, no resumption: wrk keeps no sessions), and HTTP/2 (h2load, the
same connections and streams for both)."""
import os
import re
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "integration"))
from testenv.certs import CertAuthority  # noqa: E402

import jwt_bench  # noqa: E402


def make_certificate(d):
    """A CA and a server certificate for 127.0.0.1: paths of the PEM chain, the key, and both in
    one file (HAProxy's form)."""
    ca = CertAuthority(d, "bench CA")
    cert, key = ca.issue("bench-server", "127.0.0.1", dns=["localhost"], ips=["127.0.0.1"])
    combined = os.path.join(d, "bench-server-combined.pem")
    with open(combined, "w") as out:
        out.write(open(cert).read() + open(key).read())
    return cert, key, combined


def gatehouse_yaml(port, up_port, cert, key):
    return """workers: 1
listeners: [{address: 127.0.0.1:%d, tls: {certificate: %s, private_key: %s}}]
access_log: off
upstreams:
  app: {endpoints: [http://127.0.0.1:%d], max_concurrency: 10000}
routes:
  - {name: app, match: {prefix: /}, auth: none, upstream: app}
""" % (port, cert, key, up_port)


def haproxy_cfg(port, up_port, combined):
    return jwt_bench.HAPROXY_PREAMBLE + """frontend fe
  bind 127.0.0.1:%d ssl crt %s alpn h2,http/1.1 ssl-min-ver TLSv1.2
  default_backend be
backend be
  http-reuse always
  server s1 127.0.0.1:%d
""" % (port, combined, up_port)


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


def run(wrk, peers, rounds, h2=None):
    """peers: (name, port, pid). Alternating rounds of keep-alive, handshake and (with h2, a
    function running h2load on a URL and pid) HTTP/2 runs."""
    out = {"keepalive": {n: [] for n, _, _ in peers}, "handshakes": {n: [] for n, _, _ in peers},
           "h2": {n: [] for n, _, _ in peers}}
    for name, port, pid in peers:
        wrk("https://127.0.0.1:%d/" % port, pid)  # warm up
    for r in range(rounds):
        order = peers[r % 2:] + peers[:r % 2]
        for name, port, pid in order:
            out["keepalive"][name].append(wrk("https://127.0.0.1:%d/" % port, pid))
            out["handshakes"][name].append(wrk("https://127.0.0.1:%d/" % port, pid, ["-H", "Connection: close"]))
            if h2:
                out["h2"][name].append(h2("https://127.0.0.1:%d/" % port, pid))
        for kind in out:
            for name in [n for n in out[kind] if out[kind][n]]:
                v = out[kind][name][-1]
                print("tls round %d %-10s %-9s %9.0f req/s  errors %d  cpu %.2f us/req"
                      % (r + 1, kind, name, v[0], v[2], v[3]), flush=True)
    return out


def report(res, within_round):
    med = lambda v: statistics.median(x[0] for x in v)
    cpu = lambda v: statistics.median(x[3] for x in v)
    ka = within_round(res["keepalive"], "gatehouse", "haproxy", 0)
    hs = within_round(res["handshakes"], "gatehouse", "haproxy", 0)
    errors = sum(x[2] for kind in res.values() for v in kind.values() for x in v)
    k, h, two = res["keepalive"], res["handshakes"], res["h2"]
    h2_rows, h2_targets = [], []
    if two["gatehouse"]:
        h2r = within_round(two, "gatehouse", "haproxy", 0)
        h2_rows = ["| HTTP/2 (h2load -c%d -m%d) | %.0f | %.0f | %.2f us | %.2f us |"
                   % (H2_CONNECTIONS, H2_STREAMS, med(two["gatehouse"]), med(two["haproxy"]),
                      cpu(two["gatehouse"]), cpu(two["haproxy"]))]
        h2_targets = ["| HTTP/2 vs HAProxy | %.2fx | >= 1.00x | %s |" % (h2r, "yes" if h2r >= 1.0 else "no")]
    return ["", "## TLS",
            "",
            "Gatehouse and HAProxy terminating TLS with the same ECDSA P-256 certificate, one worker",
            "each, in front of the same upstream (`bench/tls_bench.py`). *Keep-alive*: TLS 1.3, the",
            "connections reused. *Handshakes*: `Connection: close` on every request, so every request",
            "is a full handshake (wrk keeps no sessions to resume). *HTTP/2*: h2load over TLS with ALPN",
            "h2, the same connections and concurrent streams for both; streams go to the upstream over",
            "HTTP/1.1 keep-alive.",
            "",
            "| load | gatehouse req/s | HAProxy req/s | gatehouse CPU per request | HAProxy CPU per request |",
            "|---|---:|---:|---:|---:|",
            "| keep-alive | %.0f | %.0f | %.2f us | %.2f us |" % (med(k["gatehouse"]), med(k["haproxy"]),
                                                             cpu(k["gatehouse"]), cpu(k["haproxy"])),
            "| full handshakes | %.0f | %.0f | %.2f us | %.2f us |" % (med(h["gatehouse"]), med(h["haproxy"]),
                                                                  cpu(h["gatehouse"]), cpu(h["haproxy"])),
            ] + h2_rows + [
            "",
            "| target | measured | goal | met |",
            "|---|---:|---:|:---:|",
            "| TLS keep-alive vs HAProxy | %.2fx | >= 1.00x | %s |" % (ka, "yes" if ka >= 1.0 else "no"),
            "| full handshakes vs HAProxy | %.2fx | >= 0.90x | %s |" % (hs, "yes" if hs >= 0.9 else "no"),
            ] + h2_targets + [
            "",
            "Errors (non-2xx or socket errors) across the TLS runs: %d." % errors]
