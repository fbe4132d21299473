"""The effective configuration: `gatehouse check --print` and admin GET /config show every key
with its value or its default, secrets as their references, key material redacted, paths
absolute; what they print loads again to the same configuration hash."""
import json
import os
import re
import subprocess
import urllib.request

import pytest
import yaml

from testenv import BIN, ROOT, Gateway
from test_docs import EXAMPLES, example_folder

# Values that must never be printed, wherever they come from.
ENV_SECRET = "env-S3CRET-never-shown-7d41c0ffee5e11a9b2"
FILE_SECRET = "file-S3CRET-never-shown-0b6a9e2f44c1d7e3aa"
HEADER_SECRET = "Bearer hdr-S3CRET-never-shown-91f2"

SECRETS = """\
listeners: [{address: 127.0.0.1:18080}]
identity:
  jwt:
    sessions:
      issuer: https://sessions.example.com
      audiences: [api]
      algorithms: [HS256]
      secret: ${file:session.key}
    inline:
      issuer: https://inline.example.com
      audiences: [api]
      algorithms: [ES256]
      jwks: '%s'
  hmac:
    hooks: {scheme: github, secrets: ["${env:GH_PRINT_SECRET}"]}
  api_keys:
    partners: {keys_file: keys/partners.keys}
upstreams:
  app: {endpoints: ["http://127.0.0.1:18081"]}
routes:
  - name: hooks
    match: {path: /hooks, methods: [POST]}
    auth: {hmac: hooks}
    upstream: app
    headers: {request: {set: {Authorization: "%s", X-Team: payments}}}
  - name: me
    match: {path: /me}
    auth: {jwt: sessions}
    upstream: app
"""


def check(path, *extra, env=None):
    return subprocess.run([BIN, "check", str(path)] + list(extra), capture_output=True,
                          text=True, env=env)


def printed(path, env=None):
    """check --print on path: the printed configuration and its hash (from its first line)."""
    p = check(path, "--print", env=env)
    assert p.returncode == 0, p.stderr
    first = p.stdout.splitlines()[0]
    m = re.fullmatch(r"# config hash ([0-9a-f]{64})", first)
    assert m, first
    return p.stdout, m.group(1)


def public_jwks():
    return open(os.path.join(ROOT, "examples", "keys", "dev.jwks.json")).read().strip()


@pytest.fixture
def secrets_config(tmp_path):
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "partners.keys").write_text("sha256:%s acme\n" % ("ab" * 32))
    (tmp_path / "session.key").write_text(FILE_SECRET + "\n")
    path = tmp_path / "gatehouse.yaml"
    path.write_text(SECRETS % (json.dumps(json.loads(public_jwks())), HEADER_SECRET))
    return path, dict(os.environ, GH_PRINT_SECRET=ENV_SECRET)


def test_check_print_shows_defaults_and_only_yaml_on_stdout(tmp_path):
    path = tmp_path / "g.yaml"
    path.write_text("listeners: [{address: 127.0.0.1:18080}]\n"
                    "routes: [{name: r, match: {prefix: /}, auth: none, respond: {status: 204}}]\n")
    p = check(path, "--print")
    assert p.returncode == 0, p.stderr
    assert "ok (1 listeners" in p.stderr  # the verdict goes beside, not into, the YAML
    conf = yaml.safe_load(p.stdout)
    assert conf["drain_timeout"] == "30s"
    assert conf["workers"] == "auto"
    assert conf["access_log"] == "stdout"
    assert conf["listeners"][0]["headers_with_underscores"] == "drop"
    assert conf["paths"]["encoded_slash"] == "reject"  # a section not written, with its defaults
    assert conf["routes"][0]["respond"] == {"status": 204, "body": ""}
    # -c FILE prints the same; `run` takes no --print.
    assert subprocess.run([BIN, "check", "-c", str(path), "--print"], capture_output=True,
                          text=True).stdout == p.stdout
    r = subprocess.run([BIN, "run", str(path), "--print"], capture_output=True, text=True)
    assert r.returncode == 2 and "unexpected argument '--print'" in r.stderr


def test_check_print_refuses_a_broken_file_with_its_errors(tmp_path):
    path = tmp_path / "g.yaml"
    path.write_text("listeners: [{address: 127.0.0.1:18080}]\nroutes: []\ndrain_timeout: soon\n")
    p = check(path, "--print")
    assert p.returncode == 1 and p.stdout == ""
    assert "drain_timeout" in p.stderr


def test_secrets_are_shown_as_references_never_their_values(secrets_config):
    path, env = secrets_config
    out, _ = printed(path, env)
    conf = yaml.safe_load(out)
    for value in (ENV_SECRET, FILE_SECRET, HEADER_SECRET, HEADER_SECRET.split()[1]):
        assert value not in out
    jwt = conf["identity"]["jwt"]
    # A reference to a file names it absolute, as it is read.
    assert jwt["sessions"]["secret"] == "${file:%s}" % (path.parent / "session.key")
    assert conf["identity"]["hmac"]["hooks"]["secrets"] == ["${env:GH_PRINT_SECRET}"]
    # Key material written inline is redacted, a credential set on requests too; a header that
    # is no credential is shown.
    jwks = json.dumps(json.loads(public_jwks()))
    assert jwt["inline"]["jwks"] == "<redacted %d bytes>" % len(jwks)
    assert json.loads(public_jwks())["keys"][0]["x"] not in out
    request = conf["routes"][0]["headers"]["request"]["set"]
    assert request["Authorization"] == "<redacted %d bytes>" % len(HEADER_SECRET)
    assert request["X-Team"] == "payments"
    # Paths are absolute.
    assert conf["identity"]["api_keys"]["partners"]["keys_file"] == str(path.parent / "keys" / "partners.keys")


def round_trip(path, env, tmp_path):
    """Prints path, then the printed file: both load, print the same and have the same hash."""
    first, first_hash = printed(path, env)
    again = tmp_path / "printed.yaml"
    again.write_text(first)
    second, second_hash = printed(again, env)
    assert second == first
    assert second_hash == first_hash
    return first


@pytest.mark.parametrize("index", range(len(EXAMPLES)))
def test_documented_examples_print_and_load_back_the_same(index, tmp_path):
    path, env = example_folder(tmp_path, index)
    if "jwks: '" in EXAMPLES[index] or "jwks: {" in EXAMPLES[index]:
        # Inline keys are redacted: the printed file cannot load them, the rest is shown.
        out, _ = printed(path, env)
        assert "<redacted" in out
        return
    out = round_trip(path, env, tmp_path)
    assert "<redacted" not in out


def test_the_demo_config_prints_and_loads_back_the_same(tmp_path):
    subprocess.run([os.path.join(ROOT, "scripts", "demo-cert.sh")], check=True)
    out = round_trip(os.path.join(ROOT, "examples", "gatehouse.yaml"), None, tmp_path)
    assert "keys_file: %s/examples/keys/partners.keys" % os.path.realpath(ROOT) in out


def test_the_hash_is_the_effective_configurations(tmp_path):
    """Comments, spacing, flow or block style and key order leave the hash as it is; a value
    changes it."""
    a, b, c = tmp_path / "a.yaml", tmp_path / "b.yaml", tmp_path / "c.yaml"
    a.write_text("listeners: [{address: 127.0.0.1:18080}]\n"
                 "routes: [{name: r, match: {prefix: /}, auth: none, respond: {status: 204}}]\n")
    b.write_text("# the same, written otherwise\nroutes:\n  - name: r\n    auth: none\n"
                 "    respond: {status: 204}\n    match:\n      prefix: /\n"
                 "listeners:\n  - address: 127.0.0.1:18080\n")
    c.write_text(a.read_text().replace("204", "200"))
    assert printed(a)[1] == printed(b)[1] != printed(c)[1]


def test_admin_config_is_what_check_print_shows(secrets_config):
    path, env = secrets_config
    os.environ["GH_PRINT_SECRET"] = ENV_SECRET  # the gateway's environment
    try:
        with Gateway(path.read_text().split("\n", 1)[1].replace("keys/partners.keys",
                                                                str(path.parent / "keys" / "partners.keys"))
                     .replace("${file:session.key}", "${file:%s}" % (path.parent / "session.key"))) as gw:
            url = "http://127.0.0.1:%d/config" % gw.admin_port
            with urllib.request.urlopen(url, timeout=10) as r:
                body = r.read().decode()
                assert r.status == 200
                assert r.headers["Content-Type"] == "application/yaml"
                config_hash = r.headers["Gatehouse-Config-Hash"]
            expected, expected_hash = printed(gw.config, dict(os.environ))
            assert body == expected
            assert config_hash == expected_hash
            for value in (ENV_SECRET, FILE_SECRET, HEADER_SECRET):
                assert value not in body
            assert gw.admin("/config", method="POST")[0] == 405
    finally:
        del os.environ["GH_PRINT_SECRET"]
