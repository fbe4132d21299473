"""Runs `gatehouse probe` and reads its JSON report."""
import json
import subprocess

from testenv import BIN


def run_probe(*args, timeout=240, cwd=None):
    """The probe with args (and --format json --fail-on none): ({case id: (verdict, why)}, the
    report as text for assertion messages, the JSON document)."""
    out = subprocess.run([BIN, "probe", *args, "--format", "json", "--fail-on", "none"],
                         capture_output=True, text=True, timeout=timeout, cwd=cwd)
    assert out.returncode == 0, out.stderr + out.stdout
    doc = json.loads(out.stdout)
    verdicts = {r["id"]: (r["verdict"], r["why"]) for r in doc["results"]}
    report = "\n".join("%s %s %s" % (r["id"], r["verdict"], r["why"]) for r in doc["results"])
    return verdicts, report + "\n" + out.stderr, doc
