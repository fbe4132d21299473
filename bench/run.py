#!/usr/bin/python3
"""`make bench`: Gatehouse beside HAProxy and nginx, one run, same upstream, same wrk client.

Each proxy gets one worker (gatehouse `workers: 1`, HAProxy `nbthread 1`, nginx
`worker_processes 1`), keep-alive on both sides, plain proxying. The upstream is nginx
returning a small static body. Rounds alternate between the proxies so that drift on the
machine hits all of them alike; the median round counts. Writes docs/benchmarks.md."""
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from testenv import free_port, wait_port  # noqa: E402  (one helper for tests and bench)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import authz_bench  # noqa: E402
import balance_bench  # noqa: E402
import body_bench  # noqa: E402
import failover_bench  # noqa: E402
import jwt_bench  # noqa: E402
import observe_bench  # noqa: E402
import tls_bench  # noqa: E402
import ws_bench  # noqa: E402
GATEHOUSE = os.path.join(ROOT, "build", "rel", "gatehouse")
DURATION = int(os.environ.get("BENCH_SECONDS", "5"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "9"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "50"))
IDLE_CONNECTIONS = 10000
BODY = "x" * 128


# The proxy under test gets core 1 to itself; client and upstream share core 0. Every peer runs
# under the same placement, so the proxy's own cost per request is what the numbers compare.
PROXY_CPU = ["taskset", "-c", "1"] if os.cpu_count() and os.cpu_count() > 1 else []
CLIENT_CPU = ["taskset", "-c", "0"] if PROXY_CPU else []


def start(cmd, port, cwd, cpu=None):
    cmd = (cpu if cpu is not None else PROXY_CPU) + cmd
    p = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=open(os.path.join(cwd, "stderr.log"), "ab"))
    wait_port(port)
    return p


def nginx_conf(d, name, body):
    path = os.path.join(d, name + ".conf")
    with open(path, "w") as f:
        f.write("""daemon off; master_process off; worker_processes 1; pid %s/%s.pid;
error_log %s/%s-error.log warn;
events { worker_connections 20000; }
http { access_log off; client_body_temp_path %s; proxy_temp_path %s; fastcgi_temp_path %s;
       uwsgi_temp_path %s; scgi_temp_path %s; keepalive_requests 1000000;
%s }
""" % (d, name, d, name, d, d, d, d, d, body))
    return path


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid):
    """User plus system CPU time of a process so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(url, pid, extra=()):
    before = cpu_seconds(pid)
    rps, p99, errors = run_wrk(url, extra)
    cpu = cpu_seconds(pid) - before
    return rps, p99, errors, cpu / (rps * DURATION) * 1e6


def run_wrk(url, extra=()):
    args = list(extra)
    script_args = []
    if "--" in args:  # arguments for the Lua script go after the URL
        cut = args.index("--")
        args, script_args = args[:cut], args[cut:]
    out = subprocess.run(CLIENT_CPU + ["wrk", "-t1", "-c%d" % CONNECTIONS, "-d%ds" % DURATION, "--latency"]
                         + args + [url] + script_args, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = "Socket errors" in out
    return rps, float(p99.group(1)) * scale, (int(errors.group(1)) if errors else 0) + socket_errors


def idle_connections_cost(port, pid, n):
    """Opens n keep-alive connections, each after one request, and returns the RSS growth."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, n + 1000)), hard))
    before = rss_kib(pid)
    socks = []
    req = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(req)
        socks.append(s)
        if len(socks) % 500 == 0:
            for t in socks[-500:]:
                t.recv(4096)
    for t in socks[len(socks) - len(socks) % 500:]:
        t.recv(4096)
    time.sleep(1)
    after = rss_kib(pid)
    for s in socks:
        s.close()
    return after - before


def require(*tools):
    for tool in tools:
        if not shutil.which(tool) and not os.path.exists("/usr/sbin/" + tool):
            sys.exit("bench: %s is missing (scripts/deps.sh installs it)" % tool)


def start_upstream(d, procs):
    """The nginx every proxy forwards to, on the client's core; returns its port."""
    port = free_port()
    procs.append(start(["/usr/sbin/nginx", "-c", nginx_conf(d, "upstream", """
  server { listen 127.0.0.1:%d; location / { return 200 "%s"; } }""" % (port, BODY))], port, d, cpu=CLIENT_CPU))
    return port


def plain_yaml(port, up_port):
    return """workers: 1
listeners: [{address: 127.0.0.1:%d}]
access_log: off
upstreams:
  app: {endpoints: [http://127.0.0.1:%d], max_concurrency: 10000}
routes:
  - {name: app, match: {prefix: /}, auth: none, upstream: app}
""" % (port, up_port)


def start_gatehouse(d, name, yaml_text, port, procs, binary=GATEHOUSE):
    """A gateway from its configuration text, written to gatehouse-<name>.yaml."""
    path = os.path.join(d, "gatehouse-%s.yaml" % name)
    with open(path, "w") as f:
        f.write(yaml_text)
    p = start([binary, "run", "-c", path], port, d)
    procs.append(p)
    return p


def stop(procs):
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()


def main():
    require("wrk", "haproxy", "nginx", "redis-server")
    d = tempfile.mkdtemp(prefix="gh-bench-")
    gh_port, ha_port, ng_port = free_port(), free_port(), free_port()
    procs = []
    try:
        up_port = start_upstream(d, procs)
        gh = start_gatehouse(d, "plain", plain_yaml(gh_port, up_port), gh_port, procs)
        time.sleep(0.5)
        idle_rss = rss_kib(gh.pid)
        with open(os.path.join(d, "haproxy.cfg"), "w") as f:
            f.write(jwt_bench.HAPROXY_PREAMBLE + """frontend fe
  bind 127.0.0.1:%d
  default_backend be
backend be
  http-reuse always
  server s1 127.0.0.1:%d
""" % (ha_port, up_port))
        procs.append(start(["/usr/sbin/haproxy", "-f", os.path.join(d, "haproxy.cfg")], ha_port, d))
        procs.append(start(["/usr/sbin/nginx", "-c", nginx_conf(d, "proxy", """
  upstream app { server 127.0.0.1:%d; keepalive 64; }
  server { listen 127.0.0.1:%d; location / { proxy_pass http://app; proxy_http_version 1.1;
           proxy_set_header Connection ""; } }""" % (up_port, ng_port))], ng_port, d))

        peers = [("gatehouse", gh_port, gh.pid), ("haproxy", ha_port, procs[2].pid),
                 ("nginx", ng_port, procs[3].pid)]
        results = {name: [] for name, _, _ in peers}
        for name, port, pid in peers:
            wrk("http://127.0.0.1:%d/" % port, pid)  # warm up pools and caches
        for r in range(ROUNDS):
            order = peers[r % 3:] + peers[:r % 3]  # nobody always runs first
            for name, port, pid in order:
                results[name].append(wrk("http://127.0.0.1:%d/" % port, pid))
                print("round %d %-9s %9.0f req/s  p99 %.2f ms  errors %d  cpu %.2f us/req"
                      % ((r + 1, name) + results[name][-1]), flush=True)
        idle_cost = idle_connections_cost(gh_port, gh.pid, IDLE_CONNECTIONS)
        print("jwt: minting %d tokens" % jwt_bench.DISTINCT_TOKENS, flush=True)
        token = jwt_bench.prepare(d, GATEHOUSE)
        jwt_results = bench_jwt(d, token, up_port, gh, gh_port, procs)
        authz_results = bench_authz(d, token, up_port, gh, gh_port, procs)
        tls_results = bench_tls(d, up_port, procs)
        body_results = bench_body(d, up_port, procs)
        balance_results = bench_balance(d, up_port, procs)
        failover_results = bench_failover(d, procs)
        health_results = bench_health(d, procs)
        ws_results = bench_websocket(d, procs)
        observe_results = bench_observe(d, up_port, procs)
        write_report(results, idle_rss, idle_cost, jwt_results, authz_results, tls_results, body_results,
                     failover_results, health_results, ws_results, balance_results, observe_results)
    finally:
        stop(procs)
        shutil.rmtree(d, ignore_errors=True)


def start_pair(d, name, gatehouse_yaml, haproxy_cfg, gh_port, ha_port, procs):
    """A gatehouse and a HAProxy for one comparison, from their configuration texts."""
    gh = start_gatehouse(d, name, gatehouse_yaml, gh_port, procs)
    path = os.path.join(d, "haproxy-%s.cfg" % name)
    with open(path, "w") as f:
        f.write(haproxy_cfg)
    ha = start(["/usr/sbin/haproxy", "-f", path], ha_port, d)
    procs.append(ha)
    return gh, ha


def bench_tls(d, up_port, procs):
    """Gatehouse and HAProxy terminating TLS with the same certificate, same upstream; a second
    pair with resumption off for full handshakes."""
    cert, key, combined = tls_bench.make_certificate(d)
    pairs = []
    for name, tickets in (("tls", True), ("tls-full", False)):
        gt_port, ht_port = free_port(), free_port()
        gt, ht = start_pair(d, name, tls_bench.gatehouse_yaml(gt_port, up_port, cert, key, tickets),
                            tls_bench.haproxy_cfg(ht_port, up_port, combined, tickets), gt_port, ht_port, procs)
        pairs.append([("gatehouse", gt_port, gt.pid), ("haproxy", ht_port, ht.pid)])
    return tls_bench.run(wrk, pairs[0], pairs[1], max(5, ROUNDS // 2), h2load)


def h2load(url, pid):
    return tls_bench.h2load(url, pid, cpu_seconds, DURATION, CLIENT_CPU)


def bench_balance(d, up_port, procs):
    """Round robin and least_request over two nginx endpoints and one 50 ms slower."""
    second = free_port()
    procs.append(start(["/usr/sbin/nginx", "-c", nginx_conf(d, "upstream2", """
  server { listen 127.0.0.1:%d; location / { return 200 "%s"; } }""" % (second, BODY))], second, d,
                       cpu=CLIENT_CPU))
    slow, path = balance_bench.slow_endpoint()
    try:
        ports = {}
        for policy in ("round_robin", "least_request"):
            ports[policy] = free_port()
            start_gatehouse(d, policy, balance_bench.gatehouse_yaml(ports[policy], [up_port, second, slow.port],
                                                                    policy), ports[policy], procs)
        return balance_bench.run(ports, path, max(3, ROUNDS // 3), DURATION)
    finally:
        slow.close()


def bench_body(d, up_port, procs):
    """A 1 KiB JSON POST validated against a schema, and the same POST not validated."""
    args = body_bench.prepare(d)
    port = free_port()
    gb = start_gatehouse(d, "body", body_bench.gatehouse_yaml(d, port, up_port), port, procs)
    return body_bench.run(wrk, args, port, gb.pid, max(3, ROUNDS // 3))


WS_ECHO = os.path.join(ROOT, "build", "bench", "ws_echo")


def bench_websocket(d, procs):
    """WebSocket echo through the gateway and direct; the echo server on the client's core."""
    echo_port, port = free_port(), free_port()
    procs.append(start([WS_ECHO, "server", str(echo_port)], echo_port, d, cpu=CLIENT_CPU))
    gw = start_gatehouse(d, "websocket", ws_bench.gatehouse_yaml(port, echo_port), port, procs)
    ha_port = free_port()
    path = os.path.join(d, "haproxy-websocket.cfg")
    with open(path, "w") as f:
        f.write(ws_bench.haproxy_cfg(jwt_bench.HAPROXY_PREAMBLE, ha_port, echo_port))
    ha = start(["/usr/sbin/haproxy", "-f", path], ha_port, d)
    procs.append(ha)
    peers = {"gatehouse": (port, gw.pid), "haproxy": (ha_port, ha.pid)}
    for p in peers.values():
        ws_bench.run_client(WS_ECHO, p[0], 1, CLIENT_CPU, "/ws")  # warm up
    return ws_bench.run(WS_ECHO, peers, echo_port, DURATION, max(3, ROUNDS // 2), CLIENT_CPU, cpu_seconds)


def bench_observe(d, up_port, procs):
    """The security event stream at 100 % of requests beside plain proxying; tracing with a live
    OTLP receiver; the anomaly detectors, local and with Redis."""
    port = free_port()
    ge = start_gatehouse(d, "events", observe_bench.events_yaml(d, port, up_port), port, procs)
    wrk("http://127.0.0.1:%d/critical" % port, ge.pid)  # warm up
    rounds = ROUNDS  # ratios of a few percent: as many rounds as the main comparison
    results = observe_bench.run_events(wrk, port, ge.pid, rounds)
    receiver, redis_port = free_port(), free_port()
    procs.append(start(["/usr/sbin/nginx", "-c", nginx_conf(d, "otlp-receiver", observe_bench.receiver_server(receiver))],
                       receiver, d, cpu=CLIENT_CPU))
    procs.append(start(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                        "--appendonly", "no"], redis_port, d, cpu=CLIENT_CPU))
    admin_ports = {"trace-0.1": free_port(), "trace-1.0": free_port()}
    ports, pids = {}, {}
    for name, extra in observe_bench.variants(receiver, redis_port, admin_ports).items():
        ports[name] = free_port()
        pids[name] = start_gatehouse(d, "observe-" + name, observe_bench.gateway_yaml(ports[name], up_port, extra),
                                     ports[name], procs).pid
        wrk("http://127.0.0.1:%d/items/1" % ports[name], pids[name])  # warm up
    results.update(observe_bench.run_variants(wrk, ports, pids, rounds))
    time.sleep(2)  # the last batches leave
    results["spans"] = {name: observe_bench.span_counts(p) for name, p in admin_ports.items()}
    return results


def bench_health(d, procs):
    """Plain proxying to three endpoints with and without active health checks."""
    eps = [free_port() for _ in range(3)]
    listens = " ".join("listen 127.0.0.1:%d;" % p for p in eps)
    procs.append(start(["/usr/sbin/nginx", "-c", nginx_conf(d, "upstream-three", """
  server { %s location / { return 200 "%s"; } }""" % (listens, BODY))], eps[0], d, cpu=CLIENT_CPU))
    gws = {}
    for name, checks in (("checked", True), ("unchecked", False)):
        port = free_port()
        gws[name] = (port, start_gatehouse(d, "health-" + name,
                                           failover_bench.health_pair_yaml(port, eps, checks), port, procs).pid)
    out = {name: [] for name in gws}
    for name, (port, pid) in gws.items():
        wrk("http://127.0.0.1:%d/" % port, pid)  # warm up
    for r in range(max(3, ROUNDS // 2)):
        for name in (["checked", "unchecked"] if r % 2 == 0 else ["unchecked", "checked"]):
            port, pid = gws[name]
            out[name].append(wrk("http://127.0.0.1:%d/" % port, pid))
            v = out[name][-1]
            print("health round %d %-9s %9.0f req/s  errors %d  cpu %.2f us/req" % (r + 1, name, v[0], v[2], v[3]),
                  flush=True)
    return out


def bench_failover(d, procs):
    """Each proxy in front of three fresh endpoints of its own, one killed half way."""
    out = {}
    for name in ("gatehouse", "haproxy", "nginx"):
        eps, port = [free_port() for _ in range(3)], free_port()
        endpoints = [start(["/usr/sbin/nginx", "-c", nginx_conf(d, "endpoint-%s-%d" % (name, i),
                                                               failover_bench.endpoint_server(p, BODY))],
                           p, d, cpu=CLIENT_CPU) for i, p in enumerate(eps)]
        if name == "gatehouse":
            proxy = start_gatehouse(d, "failover", failover_bench.gatehouse_yaml(port, eps, failover_bench.HEALTH),
                                    port, [])
        elif name == "haproxy":
            path = os.path.join(d, "haproxy-failover.cfg")
            with open(path, "w") as f:
                f.write(failover_bench.haproxy_cfg(jwt_bench.HAPROXY_PREAMBLE, port, eps))
            proxy = start(["/usr/sbin/haproxy", "-f", path], port, d)
        else:
            proxy = start(["/usr/sbin/nginx", "-c", nginx_conf(d, "proxy-failover",
                                                               failover_bench.nginx_proxy_body(port, eps))], port, d)
        try:
            time.sleep(2)  # health checks have a verdict
            out[name] = failover_bench.run_one(name, "http://127.0.0.1:%d/" % port, endpoints, CLIENT_CPU,
                                               CONNECTIONS)
        finally:
            stop(endpoints + [proxy])
    return out


def bench_authz(d, token, up_port, gh_plain, gh_plain_port, procs):
    """Scopes, a local rate limit and a warm-cached external policy on top of JWT validation."""
    policy_port, port, redis_port = free_port(), free_port(), free_port()
    policy = authz_bench.PolicyServer(policy_port)
    procs.append(start(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                        "--appendonly", "no"], redis_port, d, cpu=CLIENT_CPU))
    try:
        ga = start_gatehouse(d, "authz", authz_bench.gatehouse_yaml(d, port, up_port, policy_port, redis_port),
                             port, procs)
        for name in ("scoped", "limited", "limited-redis", "policy"):  # warm the caches
            wrk("http://127.0.0.1:%d/%s" % (port, name), ga.pid, ["-H", "Authorization: Bearer " + token])
        return authz_bench.run(d, wrk, token, port, ga.pid, gh_plain_port, gh_plain.pid, max(3, ROUNDS // 3))
    finally:
        policy.close()


def bench_jwt(d, token, up_port, gh_plain, gh_plain_port, procs):
    """Gatehouse with an ES256 route beside HAProxy's jwt_verify: one reused token, then a
    distinct token per request (the gateway's token cache is emptied by a reload before each
    of its runs, so every token is verified)."""
    gj_port, hj_port = free_port(), free_port()
    gj, hj = start_pair(d, "jwt", jwt_bench.gatehouse_yaml(d, gj_port, up_port),
                        jwt_bench.haproxy_cfg(d, hj_port, up_port), gj_port, hj_port, procs)
    bearer = ["-H", "Authorization: Bearer " + token]
    distinct = ["-s", os.path.join(d, "distinct.lua"), "--", os.path.join(d, "tokens.txt")]
    out = {"reused": {"gatehouse": [], "haproxy": [], "plain": []}, "distinct": {"gatehouse": [], "haproxy": []}}
    for r in range(max(3, ROUNDS // 3)):
        out["reused"]["gatehouse"].append(wrk("http://127.0.0.1:%d/" % gj_port, gj.pid, bearer))
        out["reused"]["haproxy"].append(wrk("http://127.0.0.1:%d/" % hj_port, hj.pid, bearer))
        out["reused"]["plain"].append(wrk("http://127.0.0.1:%d/" % gh_plain_port, gh_plain.pid, bearer))
        gj.send_signal(signal.SIGHUP)  # a new snapshot: an empty token cache
        time.sleep(0.5)
        out["distinct"]["gatehouse"].append(wrk("http://127.0.0.1:%d/" % gj_port, gj.pid, distinct))
        out["distinct"]["haproxy"].append(wrk("http://127.0.0.1:%d/" % hj_port, hj.pid, distinct))
        for kind in ("reused", "distinct"):
            for name, v in out[kind].items():
                print("jwt round %d %-8s %-9s %9.0f req/s  errors %d" % (r + 1, kind, name, v[-1][0], v[-1][2]),
                      flush=True)
    return out


def within_round(results, a, b, field, invert=False):
    """The median over rounds of a/b measured in the same round: machine drift between rounds
    cancels out because both peers ran under it."""
    ratios = [(y[field] / x[field]) if invert else (x[field] / y[field])
              for x, y in zip(results[a], results[b])]
    return statistics.median(ratios)


def jwt_report(jr):
    reused, distinct = jr["reused"], jr["distinct"]
    r_vs_h = within_round(reused, "gatehouse", "haproxy", 0)
    r_vs_plain = within_round(reused, "gatehouse", "plain", 0)
    d_vs_h = within_round(distinct, "gatehouse", "haproxy", 0)
    med = lambda v: statistics.median(x[0] for x in v)
    errors = sum(x[2] for k in (reused, distinct) for v in k.values() for x in v)
    return ["", "## JWT validation",
            "",
            "An ES256 route checking iss, aud and exp and forwarding `sub` as a header, beside HAProxy's",
            "`jwt_verify` with the same key and checks (`bench/jwt_bench.py`). *Reused*: every request carries",
            "the same token. *Distinct*: every request carries its own token (%d pre-minted), and the" % jwt_bench.DISTINCT_TOKENS,
            "gateway's token cache is emptied by a reload before each run, so every token is verified.",
            "",
            "| load | gatehouse req/s | HAProxy req/s | gatehouse plain proxy req/s |",
            "|---|---:|---:|---:|",
            "| reused token | %.0f | %.0f | %.0f |" % (med(reused["gatehouse"]), med(reused["haproxy"]), med(reused["plain"])),
            "| distinct tokens | %.0f | %.0f | |" % (med(distinct["gatehouse"]), med(distinct["haproxy"])),
            "",
            "| target | measured | goal | met |", "|---|---:|---:|:---:|",
            "| reused token vs HAProxy | %.2fx | >= 4.00x | %s |" % (r_vs_h, "yes" if r_vs_h >= 4 else "no"),
            "| reused token vs own plain proxy | %.2fx | >= 0.90x | %s |" % (r_vs_plain, "yes" if r_vs_plain >= 0.9 else "no"),
            "| distinct tokens vs HAProxy | %.2fx | >= 1.30x | %s |" % (d_vs_h, "yes" if d_vs_h >= 1.3 else "no"),
            "", "Errors (non-2xx or socket errors) across the JWT runs: %d." % errors]


def machine():
    """The date, the number of cores and the CPU model, for a report's first line."""
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = re.search(r"model name\s*:\s*(.*)", f.read()).group(1)
    except (OSError, AttributeError):
        pass
    return "%s, %d cores, %s" % (time.strftime("%Y-%m-%d"), os.cpu_count(), cpu)


def write_report(results, idle_rss, idle_cost, jwt_results=None, authz_results=None, tls_results=None,
                 body_results=None, failover_results=None, health_results=None, ws_results=None,
                 balance_results=None, observe_results=None):
    med = {name: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v),
                  sum(x[2] for x in v), statistics.median(x[3] for x in v))
           for name, v in results.items()}
    g, h, n = med["gatehouse"], med["haproxy"], med["nginx"]
    vs_h = within_round(results, "gatehouse", "haproxy", 0)
    vs_n = within_round(results, "gatehouse", "nginx", 0)
    p99_h = within_round(results, "gatehouse", "haproxy", 1)
    per_conn = idle_cost * 1024.0 / IDLE_CONNECTIONS
    rows = [
        ("throughput vs HAProxy", "%.2fx" % vs_h, ">= 1.00x", vs_h >= 1.0),
        ("throughput vs nginx", "%.2fx" % vs_n, ">= 1.15x", vs_n >= 1.15),
        ("p99 latency vs HAProxy", "%.2fx" % p99_h, "<= 1.10x", p99_h <= 1.10),
        ("idle RSS", "%.1f MiB" % (idle_rss / 1024.0), "<= 16 MiB", idle_rss <= 16 * 1024),
        ("10 000 idle keep-alive connections", "+%.1f MiB (%.0f bytes each)" % (idle_cost / 1024.0, per_conn),
         "<= 40 MiB", idle_cost <= 40 * 1024),
    ]
    lines = ["# Benchmarks", "",
             "Produced by `make bench` (bench/run.py) on %s." % machine(),
             "Gatehouse `workers: 1`, HAProxy `nbthread 1` and nginx `worker_processes 1` proxy to the same",
             "nginx upstream (a %d-byte body) with keep-alive on both sides; the client is `wrk -t1 -c%d -d%ds`," % (len(BODY), CONNECTIONS, DURATION),
             "all on 127.0.0.1. %d rounds alternate between the proxies (the first to run rotates);" % ROUNDS,
             "the first table shows medians over rounds, the ratios are medians of the ratios measured",
             "within each round, so that drift of the machine between rounds cancels out.",
             "The proxy under test is pinned to core 1, client and upstream to core 0 (taskset), the same",
             "placement for every peer, so the proxy's own cost per request is what is compared.", "",
             "| proxy | requests/s | p99 latency | proxy CPU per request | errors |",
             "|---|---:|---:|---:|---:|"]
    for name, v in (("gatehouse", g), ("haproxy", h), ("nginx", n)):
        lines.append("| %s | %.0f | %.2f ms | %.2f us | %d |" % (name, v[0], v[1], v[3], v[2]))
    lines += ["", "| target | measured | goal | met |", "|---|---:|---:|:---:|"]
    for name, val, goal, ok in rows:
        lines.append("| %s | %s | %s | %s |" % (name, val, goal, "yes" if ok else "no"))
    if jwt_results:
        lines += jwt_report(jwt_results)
    if authz_results:
        lines += authz_bench.report(authz_results, within_round)
    if tls_results:
        lines += tls_bench.report(tls_results, within_round)
    if body_results:
        lines += body_bench.report(body_results, within_round)
    if failover_results:
        lines += failover_bench.report(failover_results)
    if health_results:
        lines += failover_bench.health_report(health_results, within_round)
    if ws_results:
        lines += ws_bench.report(ws_results, statistics.median)
    if balance_results:
        lines += balance_bench.report(balance_results, within_round)
    if observe_results:
        lines += observe_bench.report(observe_results, within_round)
        lines += observe_bench.variants_report(observe_results, within_round, observe_results["spans"])
    lines += ["", "Proxy CPU per request is the proxy process's user and system time during a run divided by",
              "the requests it served: the cost that throughput reflects, unaffected by time the machine",
              "lends elsewhere. On two cores, client and upstream share one core; when a proxy is cheaper",
              "than they are together, that core sets the pace and throughput ratios understate the",
              "difference the CPU column shows. Ratios move by a few percent from run to run.", "",
              "Idle RSS is the gateway's resident memory after start with this configuration; the idle",
              "connection cost is the RSS growth after %d clients each sent one request and stayed" % IDLE_CONNECTIONS,
              "connected.", "",
              "Two builds of gatehouse are compared the same way by `make bench-compare OLD=<git rev>",
              "[NEW=<git rev>]` (`bench/compare.py`): OLD built from its revision, NEW the working tree's build",
              "unless given, both with the configurations above side by side on one upstream and one client",
              "(plain proxying, JWT with one token and with distinct tokens, TLS keep-alive and full handshakes,",
              "HTTP/2), every load on both builds back to back in each round, the first build alternating. It",
              "prints requests/s and CPU per request with NEW/OLD ratios and a verdict, within 3 % or not, judged",
              "on CPU per request where the client's core set the pace and on requests/s elsewhere; `OUT=file`",
              "appends the section to a file instead. It does not write this page.",
              ""]
    text = "\n".join(lines)
    with open(os.path.join(ROOT, "docs", "benchmarks.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
