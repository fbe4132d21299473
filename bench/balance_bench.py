"""The balancing part of `make bench`: three endpoints, one of them 50 ms slower (a Python
endpoint that sleeps on that port, beside two nginx), behind one gateway balancing round robin
and one balancing least_request. Each round measures every request's latency from four
closed-loop connections (testenv/latency.py: wrk's figures are not per request) on both, and
the p99 of least_request is compared with round robin's within the round."""
import statistics

from testenv import EndpointProcess
from testenv.latency import closed_loop, percentile

CONNECTIONS = 4


def gatehouse_yaml(port, endpoints, policy):
    return """workers: 1
listeners: [{address: 127.0.0.1:%d}]
access_log: off
upstreams:
  app: {endpoints: [%s], balance: {policy: %s}}
routes:
  - {name: app, match: {prefix: /}, auth: none, upstream: app}
""" % (port, ", ".join("http://127.0.0.1:%d" % p for p in endpoints), policy)


def slow_endpoint():
    """The slow endpoint; the path to ask every endpoint for (only that one sleeps on it)."""
    e = EndpointProcess()
    return e, "/slow-on/%d/50" % e.port


def run(ports, path, rounds, seconds):
    """{policy: [(p99 ms, requests/s, errors), ...]} over rounds, the policies alternating."""
    out = {name: [] for name in ports}
    for r in range(rounds):
        order = list(ports) if r % 2 == 0 else list(reversed(list(ports)))
        for name in order:
            lat, statuses = closed_loop(ports[name], path, CONNECTIONS, seconds)
            errors = sum(n for status, n in statuses.items() if status != 200)
            out[name].append((percentile(lat, 99) * 1000, len(lat) / seconds, errors))
            print("balance round %d %-13s p99 %7.2f ms  %7.0f req/s  errors %d"
                  % ((r + 1, name) + out[name][-1]), flush=True)
    return out


def report(results, within_round):
    rr, lr = results["round_robin"], results["least_request"]
    ratio = within_round(results, "least_request", "round_robin", 0)
    med = lambda v, i: statistics.median(x[i] for x in v)
    errors = sum(x[2] for v in results.values() for x in v)
    return ["", "## Balancing around a slow endpoint",
            "",
            "Three endpoints, one answering 50 ms later than the others (`bench/balance_bench.py`),",
            "behind `balance: {policy: round_robin}` and `{policy: least_request}`; %d closed-loop" % CONNECTIONS,
            "connections each timing every request (wrk's latency figures are not per request).",
            "",
            "| policy | p99 latency | requests/s |", "|---|---:|---:|",
            "| round_robin | %.2f ms | %.0f |" % (med(rr, 0), med(rr, 1)),
            "| least_request | %.2f ms | %.0f |" % (med(lr, 0), med(lr, 1)),
            "",
            "| target | measured | goal | met |", "|---|---:|---:|:---:|",
            "| least_request p99 vs round_robin p99 | %.2fx | <= 0.50x | %s |"
            % (ratio, "yes" if ratio <= 0.5 else "no"),
            "", "Errors (non-200 responses) across the balancing runs: %d." % errors]
