"""How runs are ordered, and what every part of the report reads from a list of runs:
(requests/s, p99 ms, errors, proxy CPU us per request) tuples."""
import statistics


def rate(runs):
    """The median requests per second."""
    return statistics.median(x[0] for x in runs)


def cpu(runs):
    """The median proxy CPU per request, in microseconds."""
    return statistics.median(x[3] for x in runs)


def errors(*groups):
    """Errors across every run of mappings name -> runs."""
    return sum(x[2] for g in groups for runs in g.values() for x in runs)


def alternate(label, loads, peers, rounds):
    """Rounds of loads, (kind, function of a peer's name returning a run): within a round each
    load runs on every peer back to back, the first peer rotating from round to round (ABBA for
    two), so the runs compared share the machine's state and its drift hits all peers alike.
    Returns {kind: {peer: [runs]}}."""
    out = {kind: {name: [] for name in peers} for kind, _ in loads}
    for r in range(rounds):
        for kind, load in loads:
            for name in peers[r % len(peers):] + peers[:r % len(peers)]:
                v = load(name)
                out[kind][name].append(v)
                print("%s round %d %-13s %-9s %9.0f req/s  errors %d  cpu %.2f us/req"
                      % (label, r + 1, kind, name, v[0], v[2], v[3]), flush=True)
    return out
