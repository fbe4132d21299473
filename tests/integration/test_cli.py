"""The command line: verbs, the configuration file given with -c or alone, help and version,
and a precise refusal (exit 2, usage on stderr) for what it does not know."""
import subprocess

import pytest

from testenv import BIN, ROOT

EXAMPLE = ROOT + "/examples/gatehouse.yaml"


def gatehouse(*args):
    return subprocess.run([BIN] + list(args), capture_output=True, text=True, timeout=20)


@pytest.mark.parametrize("flag", ["version", "--version", "-V"])
def test_version(flag):
    r = gatehouse(flag)
    assert (r.returncode, r.stdout.split()[0]) == (0, "gatehouse"), r


@pytest.mark.parametrize("args", [["check", "-c", EXAMPLE], ["check", "--config", EXAMPLE],
                                  ["check", EXAMPLE]])
def test_check_takes_the_file_with_or_without_c(args):
    r = gatehouse(*args)
    assert r.returncode == 0 and r.stdout.startswith(EXAMPLE + ": ok"), r


@pytest.mark.parametrize("verb", ["run", "check"])
def test_help_of_a_verb_is_usage_on_stdout(verb):
    r = gatehouse(verb, "--help")
    assert r.returncode == 0 and r.stdout.startswith("usage: gatehouse run") and not r.stderr, r


@pytest.mark.parametrize("args,message", [
    (["frobnicate"], "gatehouse: unknown verb 'frobnicate'"),
    (["frobnicate", "-c", EXAMPLE], "gatehouse: unknown verb 'frobnicate'"),
    (["check", "-c", EXAMPLE, "--strict"], "gatehouse check: unexpected argument '--strict'"),
    (["run", EXAMPLE, "other.yaml"], "gatehouse run: unexpected argument 'other.yaml'"),
    (["check"], "gatehouse check: -c FILE is required"),
])
def test_what_it_does_not_know_is_refused_with_usage(args, message):
    r = gatehouse(*args)
    assert r.returncode == 2 and r.stderr.startswith(message + "\n") and "usage:" in r.stderr, r
    assert r.stdout == ""


def test_a_folder_given_as_the_file_is_refused_as_such(tmp_path):
    r = gatehouse("check", str(tmp_path))
    assert r.returncode == 1
    assert r.stderr.startswith("%s:1:1: (file): cannot read: Is a directory" % tmp_path), r


def test_token_help_prints_usage_and_no_key():
    for args in (["token", "keygen", "--help"], ["token", "--help"], ["token", "mint", "-h"]):
        r = gatehouse(*args)
        assert r.returncode == 0 and r.stdout.startswith("usage: gatehouse token"), (args, r)
        assert "PRIVATE KEY" not in r.stdout


@pytest.mark.parametrize("args,message", [
    (["token", "keygen", "--bits", "2048"], "gatehouse token keygen: unknown option '--bits'"),
    (["token", "mint", "--key"], "gatehouse token mint: a value is missing after '--key'"),
    (["token", "jwks", "--key", "k.pem", "--iss", "x"], "gatehouse token jwks: unknown option '--iss'"),
    (["token", "frob"], "gatehouse token: unknown subcommand 'frob'"),
])
def test_token_refuses_what_it_does_not_know(args, message):
    r = gatehouse(*args)
    assert r.returncode == 2 and r.stderr.startswith(message + "\n") and r.stdout == "", r
