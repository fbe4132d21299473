"""Failover: a 20 s GET load over three endpoints, one of them killed (SIGKILL) half way, through
Gatehouse, HAProxy (`check inter 1s fall 2 rise 2`, `retries 2`, `option redispatch`) and nginx
(`max_fails=1 fail_timeout=5s`, `proxy_next_upstream error timeout`). Each proxy gets three
endpoints of its own (nginx processes on the client's core), started fresh for its run. What
counts: the requests the client saw fail (non-2xx answers and socket errors), and p99."""
import os
import re
import signal
import subprocess
import time

SECONDS = int(os.environ.get("BENCH_FAILOVER_SECONDS", "20"))


def endpoint_server(port, body):
    """An endpoint: an nginx server block answering 200 with body."""
    return """
  server { listen 127.0.0.1:%d; location / { return 200 "%s"; } }""" % (port, body)


def gatehouse_yaml(port, eps, health):
    return """workers: 1
listeners: [{address: 127.0.0.1:%d}]
access_log: off
upstreams:
  app:
    endpoints: [%s]
    max_concurrency: 10000
%sroutes:
  - {name: app, match: {prefix: /}, auth: none, upstream: app}
""" % (port, ", ".join("http://127.0.0.1:%d" % p for p in eps), health)


def haproxy_cfg(preamble, port, eps):
    servers = "".join("  server s%d 127.0.0.1:%d check inter 1s fall 2 rise 2\n" % (i, p)
                      for i, p in enumerate(eps))
    return preamble + """frontend fe
  bind 127.0.0.1:%d
  default_backend be
backend be
  http-reuse always
  balance roundrobin
  retries 2
  option redispatch
%s""" % (port, servers)


def nginx_proxy_body(port, eps):
    servers = " ".join("server 127.0.0.1:%d max_fails=1 fail_timeout=5s;" % p for p in eps)
    return """
  upstream app { %s keepalive 64; }
  server { listen 127.0.0.1:%d; location / { proxy_pass http://app; proxy_http_version 1.1;
           proxy_set_header Connection ""; proxy_next_upstream error timeout; } }""" % (servers, port)


def parse(out):
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    p99_ms = float(p99.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    failed = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sock.groups())) if sock else 0)
    return rps, p99_ms, failed


def run_one(name, url, endpoints, client_cpu, connections):
    """The load on url for SECONDS, endpoints[1] killed half way; (req/s, p99 ms, failed)."""
    wrk = subprocess.Popen(client_cpu + ["wrk", "-t1", "-c%d" % connections, "-d%ds" % SECONDS,
                                         "--latency", url], stdout=subprocess.PIPE, text=True)
    time.sleep(SECONDS / 2)
    endpoints[1].send_signal(signal.SIGKILL)
    out = wrk.communicate()[0]
    v = parse(out)
    print("failover %-9s %9.0f req/s  p99 %.2f ms  failed %d" % ((name,) + v), flush=True)
    return v


def report(res):
    gh, ha = res["gatehouse"], res["haproxy"]
    lines = ["", "## Failover",
             "",
             "A %d s GET load (`bench/failover_bench.py`, wrk, 50 connections) through each proxy to" % SECONDS,
             "three endpoints of its own, the second killed with SIGKILL half way. HAProxy: `check inter",
             "1s fall 2 rise 2`, `retries 2`, `option redispatch`; nginx: `max_fails=1 fail_timeout=5s`,",
             "`proxy_next_upstream error timeout`; Gatehouse: its defaults (`retry` on connect failure and",
             "reset, `outlier` ejection) with an HTTP health check every second.",
             "",
             "| proxy | req/s | p99 | failed requests |",
             "|---|---:|---:|---:|"]
    for name in ("gatehouse", "haproxy", "nginx"):
        rps, p99, failed = res[name]
        lines.append("| %s | %.0f | %.2f ms | %d |" % (name, rps, p99, failed))
    lines += ["",
              "| target | measured | goal | met |",
              "|---|---:|---:|:---:|",
              "| Gatehouse failed GETs | %d | 0 | %s |" % (gh[2], "yes" if gh[2] == 0 else "no"),
              "| Gatehouse p99 vs HAProxy's | %.2f ms vs %.2f ms | <= | %s |"
              % (gh[1], ha[1], "yes" if gh[1] <= ha[1] else "no")]
    return lines


# Gatehouse's active health check in this run, as HAProxy's `check inter 1s fall 2 rise 2`.
HEALTH = "    health: {http: {path: /, interval: 1s, timeout: 500ms, healthy_after: 2, unhealthy_after: 2}}\n"


def health_pair_yaml(port, eps, with_checks):
    """Plain proxying to three endpoints, with or without active checks (the health figure)."""
    fast = HEALTH.replace("interval: 1s, timeout: 500ms", "interval: 200ms, timeout: 100ms")
    return gatehouse_yaml(port, eps, fast if with_checks else "")


def health_report(res, within_round):
    ratio = within_round(res, "checked", "unchecked", 3, invert=True)
    from measures import cpu, rate
    return ["", "## Active health checks",
            "",
            "One gateway proxying to three endpoints (one nginx listening on three ports), with HTTP",
            "health checks of each endpoint every 200 ms (five times the rate of the failover run), and",
            "the same without checks; runs alternate within each round.",
            "",
            "| gateway | req/s | CPU per request |",
            "|---|---:|---:|",
            "| with checks | %.0f | %.2f us |" % (rate(res["checked"]), cpu(res["checked"])),
            "| without | %.0f | %.2f us |" % (rate(res["unchecked"]), cpu(res["unchecked"])),
            "",
            "| target | measured | goal | met |",
            "|---|---:|---:|:---:|",
            "| with checks vs without (CPU per request) | %.3fx | >= 0.98x | %s |" % (ratio, "yes" if ratio >= 0.98 else "no")]
