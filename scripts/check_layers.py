#!/usr/bin/python3
"""The layout rule of docs/architecture.md: floors, every dependency points down.

Reads two kinds of edge between the files of src/:
  - `#include "folder/file.h"` lines (an include of a type-only `-t.h` header is allowed
    across floors: it carries declarations, no calls);
  - symbols, from `nm` over the objects: a file that uses a symbol another file defines.
and fails on
  - an edge from a lower floor to a higher one (a lower floor reaches a higher one only
    through an interface type it owns, filled in by the higher floor);
  - a dependency circle between folders (two folders that use each other, however far round).

Usage: check_layers.py [--src DIR] [--objs DIR]   (objs: the build's mirror of src, build/rel)
Exit status 0 when the layout holds, 1 with one line per violation otherwise."""
import argparse
import os
import re
import subprocess
import sys

# Ground first. A folder not listed here is a violation of its own: every folder has a floor.
FLOORS = {
    "core": 0,
    "observe": 1,
    "wire": 2, "route": 2, "identity": 2, "schema": 2, "store": 2, "tls": 2,
    "config": 3,
    "gate": 4,
    "http": 5, "upstream": 5, "stages": 5,
    "server": 6,
    "main": 7, "audit": 7, "tools": 7, "probe": 7,
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def folder_of(rel):
    """The folder of a path relative to src/ (main.c is its own folder)."""
    return rel.split("/", 1)[0] if "/" in rel else os.path.splitext(rel)[0]


def sources(src):
    for dirpath, _, names in os.walk(src):
        for n in sorted(names):
            if n.endswith((".c", ".h")):
                full = os.path.join(dirpath, n)
                yield os.path.relpath(full, src), full


def include_edges(src):
    """(from file, to file) for every include of a project header that is not type-only."""
    edges = []
    for rel, full in sources(src):
        with open(full, encoding="utf-8") as f:
            text = f.read()
        for target in INCLUDE.findall(text):
            if target.endswith("-t.h") or "/" not in target:
                continue
            edges.append((rel, target, "include"))
    return edges


def symbol_edges(src, objs):
    """(from file, to file) for every symbol one object uses and another defines: one nm over
    every object, defined (T, D, B, R...) and undefined (U) global symbols."""
    files = {}
    for rel, _ in sources(src):
        if rel.endswith(".c"):
            obj = os.path.join(objs, "src", rel[:-2] + ".o")
            if os.path.exists(obj):
                files[obj] = rel
    if not files:
        return []
    out = subprocess.run(["nm", "-A", "-g"] + sorted(files), capture_output=True, text=True,
                         check=True).stdout
    owner, uses = {}, {}
    for line in out.splitlines():
        obj, _, rest = line.partition(":")
        fields = rest.split()
        if obj not in files or len(fields) < 2:
            continue
        kind, name = fields[-2], fields[-1]
        if kind == "U":
            uses.setdefault(files[obj], set()).add(name)
        elif kind not in ("w", "v"):
            owner[name] = files[obj]
    edges = []
    for rel, undefined in uses.items():
        for sym in sorted(undefined):
            if sym in owner and owner[sym] != rel:
                edges.append((rel, owner[sym], sym))
    return edges


def circles(graph):
    """Strongly connected components of more than one folder (Tarjan, iterative)."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(root):
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            node, it = work[-1]
            advanced = False
            for nxt in it:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter[0]
                    counter[0] += 1
                    stack.append(nxt)
                    on.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                    advanced = True
                    break
                if nxt in on:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    x = stack.pop()
                    on.discard(x)
                    comp.append(x)
                    if x == node:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))

    for n in sorted(graph):
        if n not in index:
            visit(n)
    return out


def check(src, objs):
    problems = []
    edges = include_edges(src) + (symbol_edges(src, objs) if objs else [])
    seen_folders = {folder_of(rel) for rel, _ in sources(src)}
    for f in sorted(seen_folders - set(FLOORS)):
        problems.append("src/%s: folder has no floor in scripts/check_layers.py" % f)
    graph, upward = {}, set()
    for a, b, why in edges:
        fa, fb = folder_of(a), folder_of(b)
        if fa == fb or fa not in FLOORS or fb not in FLOORS:
            continue
        graph.setdefault(fa, set()).add(fb)
        if FLOORS[fb] > FLOORS[fa]:
            key = (a, b, why)
            if key not in upward:
                upward.add(key)
                what = "includes" if why == "include" else "calls %s from" % why
                problems.append("upward: src/%s (%s, floor %d) %s src/%s (%s, floor %d)"
                                % (a, fa, FLOORS[fa], what, b, fb, FLOORS[fb]))
    for comp in circles(graph):
        problems.append("circle between folders: " + " <-> ".join(comp))
    return problems


def main():
    ap = argparse.ArgumentParser()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--src", default=os.path.join(root, "src"))
    ap.add_argument("--objs", default=os.path.join(root, "build", "rel"))
    args = ap.parse_args()
    objs = args.objs if os.path.isdir(os.path.join(args.objs, "src")) else None
    if objs is None:
        print("check_layers: no objects under %s: build first" % args.objs, file=sys.stderr)
        return 1
    problems = check(args.src, objs)
    for p in problems:
        print(p)
    print("check_layers: %d violation(s)" % len(problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
