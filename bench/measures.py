"""What every part of the report reads from a list of runs: (requests/s, p99 ms, errors, proxy
CPU us per request) tuples."""
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
