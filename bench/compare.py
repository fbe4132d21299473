#!/usr/bin/python3
"""`make bench-compare OLD=<rev> [NEW=<rev>]`: two builds of gatehouse side by side in one run.

Both builds get the same configurations, the same nginx upstream and the same client, for plain
proxying, JWT (one token reused, distinct tokens), TLS (keep-alive, full handshakes) and HTTP/2.
In every round each load runs on both builds back to back, the first build alternating (ABBA),
so drift of the machine hits both alike. NEW defaults to the working tree's build/rel/gatehouse.
Prints a Markdown section, or appends it to --out; progress goes to stderr."""
import argparse
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import jwt_bench
import run
import tls_bench
from measures import alternate, cpu, errors, rate

# An even number, so that each build runs first in as many rounds as the other.
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "10"))
TOLERANCE = 0.03
# Busier than this, the client's core sets the pace: requests/s no longer tell the builds apart
# and CPU per request is the figure that does.
SATURATED = 0.90
LABELS = {"plain": "plain proxying", "jwt-reused": "JWT, one token reused",
          "jwt-distinct": "JWT, distinct tokens (cache emptied)", "tls-keepalive": "TLS keep-alive",
          "h2": "HTTP/2 (h2load -c%d -m%d)" % (tls_bench.H2_CONNECTIONS, tls_bench.H2_STREAMS),
          "tls-full": "TLS full handshakes"}


def git(*args):
    r = subprocess.run(["git", "-C", run.ROOT] + list(args), capture_output=True, text=True)
    if r.returncode:
        sys.exit("bench: git %s: %s" % (" ".join(args), r.stderr.strip()))
    return r.stdout.strip()


def build(rev, d):
    """gatehouse built from a git revision in a scratch copy of its tree; returns the binary."""
    commit = git("rev-parse", "--verify", rev + "^{commit}")
    src = os.path.join(d, "src-" + commit[:12])
    os.makedirs(src)
    archive = subprocess.Popen(["git", "-C", run.ROOT, "archive", commit], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", src], stdin=archive.stdout, check=True)
    if archive.wait():
        sys.exit("bench: git archive %s failed" % rev)
    print("building %s (%s)" % (rev, commit[:12]), flush=True)
    # Not the caller's make: its jobserver and options are not this build's.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    if subprocess.run(["make", "-s", "-j2", "SAN=0", "build/rel/gatehouse"], cwd=src, env=env,
                      stdout=sys.stderr).returncode:
        sys.exit("bench: building %s failed" % rev)
    binary = os.path.join(d, "gatehouse-" + commit[:12])
    shutil.move(os.path.join(src, "build", "rel", "gatehouse"), binary)
    shutil.rmtree(src)
    return binary


def describe(rev):
    if rev:
        return "`%s` (%s)" % (git("rev-parse", "--short", rev + "^{commit}"), rev)
    dirty = subprocess.run(["git", "-C", run.ROOT, "diff", "--quiet", "HEAD"]).returncode != 0
    return "the working tree (`%s`%s)" % (git("rev-parse", "--short", "HEAD"),
                                          ", with uncommitted changes" if dirty else "")


def start_gateways(d, binaries, up_port, procs):
    """Each build's gateway for each configuration: {(build, configuration): (port, pid)}."""
    cert, key, _ = tls_bench.make_certificate(d)
    configs = {"plain": lambda port: run.plain_yaml(port, up_port),
               "jwt": lambda port: jwt_bench.gatehouse_yaml(d, port, up_port),
               "tls": lambda port: tls_bench.gatehouse_yaml(port, up_port, cert, key),
               "tls-full": lambda port: tls_bench.gatehouse_yaml(port, up_port, cert, key, tickets=False)}
    out = {}
    for name, binary in binaries.items():
        for config, text in configs.items():
            port = run.free_port()
            out[name, config] = port, run.start_gatehouse(d, name + "-" + config, text(port), port, procs,
                                                          binary).pid
    return out


def client_busy():
    """Busy and total time so far of the client's core (core 0, see run.CLIENT_CPU)."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu0 "):
                t = [int(x) for x in line.split()[1:9]]  # user .. steal; guest is inside user
                return sum(t) - t[3] - t[4], sum(t)
    return 0, 1


def loads(d, gateways, token):
    """(kind, function of a build's name returning a run with the client core's busy share last)."""
    bearer = ["-H", "Authorization: Bearer " + token]
    distinct = ["-s", os.path.join(d, "distinct.lua"), "--", os.path.join(d, "tokens.txt")]
    http = lambda port: "http://127.0.0.1:%d/" % port
    https = lambda port: "https://127.0.0.1:%d/" % port

    def emptied(port, pid):
        os.kill(pid, signal.SIGHUP)  # a new snapshot: an empty token cache, every token verified
        time.sleep(0.5)
        return run.wrk(http(port), pid, distinct)

    def on(config, measure):
        def load(name):
            before = client_busy()
            v = measure(*gateways[name, config])
            busy, total = (a - b for a, b in zip(client_busy(), before))
            return v + (busy / max(total, 1),)
        return load

    return [("plain", on("plain", lambda port, pid: run.wrk(http(port), pid))),
            ("jwt-reused", on("jwt", lambda port, pid: run.wrk(http(port), pid, bearer))),
            ("jwt-distinct", on("jwt", emptied)),
            ("tls-keepalive", on("tls", lambda port, pid: run.wrk(https(port), pid))),
            ("h2", on("tls", lambda port, pid: run.h2load(https(port), pid))),
            # last: the closed connections they leave behind would weigh on the next load
            ("tls-full", on("tls-full", lambda port, pid: run.wrk(https(port), pid, ["-H", "Connection: close"])))]


def report(res, old, new):
    rows, outside = [], []
    for kind, runs in res.items():
        rps_ratio = run.within_round(runs, "new", "old", 0)
        cpu_ratio = run.within_round(runs, "new", "old", 3)
        busy = statistics.median(x[4] for v in runs.values() for x in v)
        on_cpu = not run.CLIENT_CPU or busy >= SATURATED
        change = cpu_ratio - 1 if on_cpu else rps_ratio - 1
        failed = errors(runs)
        within = abs(change) <= TOLERANCE and not failed
        if not within:
            outside.append("%s %+.1f %%%s" % (kind, change * 100, ", %d errors" % failed if failed else ""))
        rows.append("| %s | %.0f | %.0f | %.3f | %.2f us | %.2f us | %.3f | %.0f %% | %s | %d | %s |"
                    % (LABELS[kind], rate(runs["old"]), rate(runs["new"]), rps_ratio, cpu(runs["old"]),
                       cpu(runs["new"]), cpu_ratio, busy * 100, "CPU per request" if on_cpu else "requests/s",
                       failed, "within 3 %" if within else "not within 3 %"))
    verdict = "within 3 %" if not outside else "not within 3 %% (%s)" % "; ".join(outside)
    return ["", "## NEW %s against OLD %s" % (new, old), "",
            "Produced by `make bench-compare` (bench/compare.py) on %s. Both builds run the" % run.machine(),
            "configurations of `make bench` (`workers: 1`, pinned to core 1) in front of one nginx upstream,",
            "with the same client (`wrk -t1 -c%d -d%ds`; h2load for HTTP/2) on core 0. %d round%s: in each,"
            % (run.CONNECTIONS, run.DURATION, ROUNDS, "s" * (ROUNDS != 1)),
            "every load runs on both builds back to back, the first build alternating (ABBA). Requests/s",
            "and CPU per request (the gateway process's user and system time from /proc, all its threads,",
            "divided by the requests it served) are medians over rounds; NEW/OLD ratios are medians of",
            "the ratios within each round. Where the client's core was busy %.0f %% or more, it set the"
            % (SATURATED * 100),
            "pace and the verdict judges CPU per request; elsewhere it judges requests/s.", "",
            "| load | OLD req/s | NEW req/s | NEW/OLD req/s | OLD CPU/req | NEW CPU/req | NEW/OLD CPU/req"
            " | client core busy | judged on | errors | verdict |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---|"] + rows + [
            "", "Verdict: %s." % verdict, ""]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", required=True, help="git revision of the build compared against")
    ap.add_argument("--new", help="git revision (default: the working tree's build/rel/gatehouse, built)")
    ap.add_argument("--out", help="append the Markdown section to this file instead of printing it")
    args = ap.parse_args()
    run.require("wrk", "h2load", "nginx")
    if not args.new and not os.path.exists(run.GATEHOUSE):
        sys.exit("bench: %s is missing: run make first" % run.GATEHOUSE)
    d = tempfile.mkdtemp(prefix="gh-compare-")
    procs = []
    try:
        with contextlib.redirect_stdout(sys.stderr):
            binaries = {"old": build(args.old, d), "new": build(args.new, d) if args.new else run.GATEHOUSE}
            up_port = run.start_upstream(d, procs)
            print("jwt: minting %d tokens" % jwt_bench.DISTINCT_TOKENS, flush=True)
            token = jwt_bench.prepare(d, binaries["new"])
            to_run = loads(d, start_gateways(d, binaries, up_port, procs), token)
            for _, load in to_run:
                for name in binaries:
                    load(name)  # warm up pools and caches
            res = alternate("compare", to_run, list(binaries), ROUNDS)
    finally:
        run.stop(procs)
        shutil.rmtree(d, ignore_errors=True)
    text = "\n".join(report(res, describe(args.old), describe(args.new)))
    if args.out:
        with open(args.out, "a") as f:
            f.write(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
