"""The layout rule (scripts/check_layers.sh): every dependency of src/ points down a floor and
no two folders depend on each other. It holds on the tree as it stands, and it fails on what
breaks it: an include of a higher floor, a call into a higher floor seen only in the objects'
symbols, and a circle between two folders of one floor."""
import os
import shutil
import subprocess

from testenv import ROOT

SCRIPT = os.path.join(ROOT, "scripts", "check_layers.py")
OBJS = os.path.join(ROOT, "build", "rel")


def check(src=None, objs=OBJS):
    cmd = ["/usr/bin/python3", SCRIPT, "--objs", objs]
    if src:
        cmd += ["--src", src]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def copy_src(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(os.path.join(ROOT, "src"), src)
    return src


def append(path, text):
    with open(path, "a", encoding="utf-8") as f:
        f.write(text)


def test_the_tree_holds():
    r = check()
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip() == "check_layers: 0 violation(s)"


def test_an_include_of_a_higher_floor_fails(tmp_path):
    src = copy_src(tmp_path)
    append(src / "core" / "arena.c", '#include "server/worker.h"\n')
    r = check(str(src))
    assert r.returncode == 1
    assert ("upward: src/core/arena.c (core, floor 0) includes src/server/worker.h "
            "(server, floor 6)") in r.stdout


def test_a_type_only_header_may_be_included_from_below(tmp_path):
    src = copy_src(tmp_path)
    append(src / "route" / "route.c", '#include "gate/stage-t.h"\n')
    r = check(str(src))
    assert r.returncode == 0, r.stdout


def test_a_call_into_a_higher_floor_fails(tmp_path):
    """No include names it: only the object's undefined symbol shows the call."""
    src = copy_src(tmp_path)
    planted = src / "core" / "planted.c"
    planted.write_text("struct gh_conn;\nvoid gh_conn_close(struct gh_conn *c);\n"
                       "void planted(struct gh_conn *c) { gh_conn_close(c); }\n")
    objs = tmp_path / "objs"
    shutil.copytree(os.path.join(OBJS, "src"), objs / "src")
    subprocess.run(["cc", "-c", str(planted), "-o", str(objs / "src" / "core" / "planted.o")],
                   check=True)
    r = check(str(src), str(objs))
    assert r.returncode == 1
    assert ("upward: src/core/planted.c (core, floor 0) calls gh_conn_close from "
            "src/http/conn.c (http, floor 5)") in r.stdout


def test_a_circle_between_folders_of_one_floor_fails(tmp_path):
    src = copy_src(tmp_path)
    append(src / "route" / "route.c", '#include "schema/schema.h"\n')
    append(src / "schema" / "schema_lint.c", '#include "route/route.h"\n')
    r = check(str(src))
    assert r.returncode == 1
    circles = [line for line in r.stdout.splitlines()
               if line.startswith("circle between folders:") and "route" in line]
    assert circles and "schema" in circles[0], r.stdout
