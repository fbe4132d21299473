#!/usr/bin/python3
"""The whole suite, as `make test` runs it: release build, unit tests, integration tests, then
both again under AddressSanitizer + UndefinedBehaviorSanitizer, then each fuzz target for a short
run. Prints one closing line: `N passed, N failed`."""
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FUZZ_SECONDS = int(os.environ.get("GH_FUZZ_SECONDS", "60"))
passed = failed = 0
failures = []


def run(cmd, env=None, timeout=None):
    print("+ " + " ".join(cmd), flush=True)
    return subprocess.run(cmd, cwd=ROOT, env=env, timeout=timeout)


def count(ok, name, n=1):
    global passed, failed
    if ok:
        passed += n
    else:
        failed += n
        failures.append(name)


def build(san):
    r = run(["make", "-s", "-j2", "SAN=%d" % san, "all", "unit"])
    count(r.returncode == 0, "build SAN=%d" % san)
    return r.returncode == 0


def unit(build_dir, env):
    bins = sorted(f for f in os.listdir(os.path.join(ROOT, build_dir, "tests"))
                  if f.startswith("test_") and not f.endswith(".d"))
    for b in bins:
        path = os.path.join(build_dir, "tests", b)
        print("+ " + path, flush=True)
        p = subprocess.run([path], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        out = p.stdout + p.stderr
        ok_n = sum(int(m) for m in re.findall(r"\[  PASSED  \] (\d+) test", out))
        bad_n = sum(int(m) for m in re.findall(r"\[  FAILED  \] (\d+) test", out))
        if p.returncode != 0 and bad_n == 0:
            bad_n = 1  # crashed or a sanitizer report
        if bad_n or "ERROR: AddressSanitizer" in out or "runtime error:" in out:
            sys.stdout.write(out[-6000:])
        count(True, b, ok_n)
        if bad_n:
            count(False, "%s (%s)" % (b, build_dir), bad_n)


def integration(binary, tag, env):
    xml = os.path.join(ROOT, "build", "pytest-%s.xml" % tag)
    env = dict(env, GATEHOUSE_BIN=os.path.join(ROOT, binary))
    run(["/usr/bin/python3", "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "--junitxml", xml, "tests/integration"], env=env, timeout=1500)
    try:
        suites = ET.parse(xml).getroot()
        suites = [suites] if suites.tag == "testsuite" else list(suites)
        total = sum(int(s.get("tests", 0)) for s in suites)
        bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
        skipped = sum(int(s.get("skipped", 0)) for s in suites)
        count(True, "pytest", total - bad - skipped)
        if bad:
            count(False, "pytest (%s)" % tag, bad)
        if total == 0:
            count(False, "pytest (%s) ran nothing" % tag)
    except (OSError, ET.ParseError):
        count(False, "pytest (%s) produced no report" % tag)


def fuzz():
    r = run(["make", "-s", "-j2", "fuzz"])
    count(r.returncode == 0, "fuzz build")
    if r.returncode != 0:
        return
    for f in sorted(os.listdir(os.path.join(ROOT, "build", "fuzz"))):
        if not f.startswith("fuzz_") or f.endswith(".d"):
            continue
        target = f[len("fuzz_"):]
        corpus = os.path.join("tests", "fuzz", "corpus", target)
        work = os.path.join("build", "fuzz", "corpus-" + target)
        os.makedirs(os.path.join(ROOT, work), exist_ok=True)
        args = [os.path.join("build", "fuzz", f), "-max_total_time=%d" % FUZZ_SECONDS,
                "-timeout=10", "-rss_limit_mb=2048", "-print_final_stats=1",
                "-artifact_prefix=build/fuzz/" + target + "-", work]
        if os.path.isdir(os.path.join(ROOT, corpus)):
            args.append(corpus)
        print("+ " + " ".join(args), flush=True)
        log = os.path.join(ROOT, "build", "fuzz", target + ".log")
        with open(log, "w") as out:
            r = subprocess.run(args, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                               timeout=FUZZ_SECONDS + 120)
        with open(log) as f:
            lines = f.read().splitlines()
        # The final statistics, or the crash report when there is one.
        tail = [l for l in lines if l.startswith(("stat::", "Done ", "==", "SUMMARY"))]
        print("\n".join((tail or lines)[-40:] if r.returncode == 0 else lines[-80:]), flush=True)
        count(r.returncode == 0, "fuzz " + target)


def main():
    started = time.time()
    env = dict(os.environ)
    if build(0):
        unit("build/rel", env)
        integration("build/rel/gatehouse", "rel", env)
    san_env = dict(env, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1",
                   UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1", GH_SANITIZED="1")
    if build(1):
        unit("build/san", san_env)
        integration("build/san/gatehouse", "san", san_env)
    fuzz()
    print("\nsuite took %.0f s" % (time.time() - started))
    for f in failures:
        print("FAILED: " + f)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
