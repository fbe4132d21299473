#!/usr/bin/env python3
"""Writes the probe's catalogue into docs/security.md between the probe-cases markers, from
`gatehouse probe --list-cases --format json`; with --check, fails when the file differs."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "security.md")
BEGIN = "<!-- probe-cases:"
END = "<!-- /probe-cases -->"


def table(binary):
    cases = json.loads(subprocess.run([binary, "probe", "--list-cases", "--format", "json"],
                                      check=True, capture_output=True, text=True).stdout)
    rows = ["| id | group | what is attempted | OWASP | CWE | severity | a holding gateway |",
            "|---|---|---|---|---|---|---|"]
    for c in cases:
        rows.append("| `%s` | %s | %s | %s | CWE-%d | %s | %s |" % (
            c["id"], c["group"], c["title"].replace("|", "\\|"), c["owasp"], c["cwe"], c["severity"],
            c["expect"].replace("|", "\\|")))
    return "%d cases.\n\n%s\n" % (len(cases), "\n".join(rows))


def main():
    binary = os.environ.get("GATEHOUSE_BIN", os.path.join(ROOT, "build", "rel", "gatehouse"))
    text = open(DOC).read()
    start = text.index(BEGIN)
    start = text.index("\n", start) + 1
    end = text.index(END)
    new = text[:start] + table(binary) + text[end:]
    if "--check" in sys.argv:
        if new != text:
            sys.exit("docs/security.md: the probe's cases are out of date: run scripts/probe_cases_md.py")
        return
    open(DOC, "w").write(new)


if __name__ == "__main__":
    main()
