#!/usr/bin/python3
"""The whole suite, as `make test` runs it: release build, the layout rule
(scripts/check_layers.sh), unit tests, integration tests, then both again under
AddressSanitizer + UndefinedBehaviorSanitizer, then each fuzz target for a short run. Prints
one closing line: `N passed, N failed, N skipped`, whatever happened before it (a step that
times out counts as a failure and the run goes on).

Counting. A cmocka test counts once. A unit test that runs an external suite (../shared/testdata)
prints `GH-CASES <suite> passed=N failed=N skipped=N`: its cases are counted instead of the one
cmocka test that ran them. A pytest test counts once; pytest skips are counted as skips. Under
CI=true a missing external suite is a failure (the unit tests fail themselves; the fuzz seeds are
checked here).

Budget, on 2 cores, 30 minutes for the whole run (about 20 now): the two builds, unit and
integration runs (the package built and compared with the release build among them) take about
14 minutes, the integration files two at a time (GH_TEST_WORKERS, 2: they mostly wait on sockets
and timers); fuzzing takes GH_FUZZ_SECONDS (20) per target and GH_FUZZ_H2_SECONDS (60) for
fuzz_h2: about 6 minutes for the thirteen targets (longer fuzzing runs: set the two variables).
A step that hangs is cut by its own timeout and counted as a failure."""
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fuzz_seeds  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FUZZ_SECONDS = int(os.environ.get("GH_FUZZ_SECONDS", "20"))
INTEGRATION_WORKERS = int(os.environ.get("GH_TEST_WORKERS", "2"))
FUZZ_SECONDS_FOR = {"h2": int(os.environ.get("GH_FUZZ_H2_SECONDS", "60"))}
IN_CI = os.environ.get("CI") == "true"
totals = {"passed": 0, "failed": 0, "skipped": 0}
failures = []

CASES = re.compile(r"^GH-CASES (\S+) passed=(\d+) failed=(\d+) skipped=(\d+)\s*$", re.M)


def count(ok, name, n=1):
    if ok:
        totals["passed"] += n
    else:
        totals["failed"] += n
        failures.append(name)


def skip(name, n=1):
    totals["skipped"] += n
    print("SKIPPED: %s" % name, flush=True)


def run(cmd, name, env=None, timeout=None, **kw):
    """The finished process, or None when it ran out of time (counted as a failure of name)."""
    print("+ " + " ".join(cmd), flush=True)
    try:
        return subprocess.run(cmd, cwd=ROOT, env=env, timeout=timeout, **kw)
    except subprocess.TimeoutExpired:
        count(False, "%s (timed out after %d s)" % (name, timeout))
        return None


def build(san):
    r = run(["make", "-s", "-j2", "SAN=%d" % san, "all", "unit"], "build SAN=%d" % san, timeout=1200)
    ok = r is not None and r.returncode == 0
    if r is not None:
        count(ok, "build SAN=%d" % san)
    return ok


def unit_counts(out, returncode):
    """(passed, failed, skipped) of one unit test binary's output."""
    def cm(word):  # cmocka pads each word to 8 columns: "[  PASSED  ] 3 test(s)."
        return sum(int(m) for m in re.findall(r"\[  %-8s\] (\d+) test" % word, out))
    p, f, s = cm("PASSED"), cm("FAILED"), cm("SKIPPED")
    if returncode != 0 and f == 0:
        f = 1  # crashed or a sanitizer report
    for _, cp, cf, cs in CASES.findall(out):
        cp, cf, cs = int(cp), int(cf), int(cs)
        # The suite's own cmocka test is replaced by its cases, from the bucket it ended in.
        if cf:
            f = max(f - 1, 0)
        elif cs and not cp:
            s = max(s - 1, 0)
        else:
            p = max(p - 1, 0)
        p, f, s = p + cp, f + cf, s + cs
    return p, f, s


def sanitizer_report(text):
    return "ERROR: AddressSanitizer" in text or "runtime error:" in text or "ERROR: LeakSanitizer" in text


def unit(build_dir, env):
    bins = sorted(f for f in os.listdir(os.path.join(ROOT, build_dir, "tests"))
                  if f.startswith("test_") and not f.endswith(".d"))
    for b in bins:
        path = os.path.join(build_dir, "tests", b)
        p = run([path], "%s (%s)" % (b, build_dir), env=env, timeout=600,
                capture_output=True, text=True, errors="replace")
        if p is None:
            continue
        out = p.stdout + p.stderr
        ok_n, bad_n, skip_n = unit_counts(out, p.returncode)
        if sanitizer_report(out):
            bad_n = max(bad_n, 1)  # a report is a failure even when the process exits 0
        if bad_n:
            sys.stdout.write(out[-6000:])
        for line in CASES.findall(out):
            print("  GH-CASES %s passed=%s failed=%s skipped=%s" % line, flush=True)
        count(True, b, ok_n)
        if bad_n:
            count(False, "%s (%s)" % (b, build_dir), bad_n)
        if skip_n:
            skip("%s (%s)" % (b, build_dir), skip_n)


def integration(binary, tag, env):
    xml = os.path.join(ROOT, "build", "pytest-%s.xml" % tag)
    # A report left by an earlier run must never be read as this run's.
    if os.path.exists(xml):
        os.unlink(xml)
    env = dict(env, GATEHOUSE_BIN=os.path.join(ROOT, binary))
    # Files in parallel (pytest-xdist), each file whole on one worker so that its module's
    # gateways and fixtures stay its own: the tests mostly wait on sockets and timers.
    r = run(["/usr/bin/python3", "-m", "pytest", "-q", "-p", "no:cacheprovider",
             "-n", str(INTEGRATION_WORKERS), "--dist", "loadfile",
             "--junitxml", xml, "tests/integration"], "pytest (%s)" % tag, env=env, timeout=1500)
    if r is None:
        return
    try:
        suites = ET.parse(xml).getroot()
    except (OSError, ET.ParseError):
        count(False, "pytest (%s) produced no report (exit %d)" % (tag, r.returncode))
        return
    suites = [suites] if suites.tag == "testsuite" else list(suites)
    total = sum(int(s.get("tests", 0)) for s in suites)
    bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    count(True, "pytest", total - bad - skipped)
    if bad:
        count(False, "pytest (%s)" % tag, bad)
    if skipped:
        skip("pytest (%s)" % tag, skipped)
    if total == 0:
        count(False, "pytest (%s) ran nothing" % tag)
    elif r.returncode != 0 and not bad:
        count(False, "pytest (%s) exited %d with no failed test" % (tag, r.returncode))


def seed(target):
    """The folder of seeds generated from the external suites for target, or None."""
    try:
        folder, missing = fuzz_seeds.generate(target, ROOT)
    except Exception as e:  # a seed generator that breaks fails the run, not the whole script
        count(False, "fuzz seeds for %s: %s" % (target, e))
        return None
    for suite in missing:
        if IN_CI:
            count(False, "fuzz seeds for %s: %s is missing (CI=true)" % (target, suite))
        else:
            skip("fuzz seeds for %s: %s is missing" % (target, suite))
    return folder


def fuzz_one(f):
    target = f[len("fuzz_"):]
    seconds = FUZZ_SECONDS_FOR.get(target, FUZZ_SECONDS)
    corpus = os.path.join("tests", "fuzz", "corpus", target)
    work = os.path.join("build", "fuzz", "corpus-" + target)
    os.makedirs(os.path.join(ROOT, work), exist_ok=True)
    args = [os.path.join("build", "fuzz", f), "-max_total_time=%d" % seconds,
            "-timeout=10", "-rss_limit_mb=2048", "-print_final_stats=1",
            "-artifact_prefix=build/fuzz/" + target + "-", work]
    if os.path.isdir(os.path.join(ROOT, corpus)):
        args.append(corpus)
    seeds = seed(target)
    if seeds:
        args.append(seeds)
    log = os.path.join(ROOT, "build", "fuzz", target + ".log")
    with open(log, "w") as out:
        r = run(args, "fuzz " + target, stdout=out, stderr=subprocess.STDOUT, timeout=seconds + 300)
    with open(log, errors="replace") as fl:
        lines = fl.read().splitlines()
    # The final statistics, or the crash report when there is one.
    tail = [l for l in lines if l.startswith(("stat::", "Done ", "==", "SUMMARY", "INFO: seed corpus"))]
    ok = r is not None and r.returncode == 0 and not sanitizer_report("\n".join(lines))
    print("\n".join((tail or lines)[-40:] if ok else lines[-80:]), flush=True)
    if r is not None:
        count(ok, "fuzz " + target)


def fuzz():
    r = run(["make", "-s", "-j2", "fuzz"], "fuzz build", timeout=1800)
    if r is None:
        return
    count(r.returncode == 0, "fuzz build")
    if r.returncode != 0:
        return
    for f in sorted(os.listdir(os.path.join(ROOT, "build", "fuzz"))):
        if f.startswith("fuzz_") and not f.endswith(".d") and "." not in f:
            fuzz_one(f)


def layers():
    """The layout rule over the release build's objects (scripts/check_layers.sh)."""
    r = run(["bash", "scripts/check_layers.sh"], "layers", timeout=300)
    if r is not None:
        count(r.returncode == 0, "layers (scripts/check_layers.sh)")


def steps():
    env = dict(os.environ)
    if build(0):
        layers()
        unit("build/rel", env)
        integration("build/rel/gatehouse", "rel", env)
    san_env = dict(env, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1",
                   UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1", GH_SANITIZED="1")
    if build(1):
        unit("build/san", san_env)
        integration("build/san/gatehouse", "san", san_env)
    fuzz()


def main():
    started = time.time()
    try:
        steps()
    except Exception as e:  # the closing line is printed whatever broke
        count(False, "run_tests.py: %s: %s" % (type(e).__name__, e))
    except KeyboardInterrupt:
        count(False, "run_tests.py: interrupted")
    print("\nsuite took %.0f s" % (time.time() - started))
    for f in failures:
        print("FAILED: " + f)
    print("%(passed)d passed, %(failed)d failed, %(skipped)d skipped" % totals)
    sys.exit(1 if totals["failed"] else 0)


if __name__ == "__main__":
    main()
