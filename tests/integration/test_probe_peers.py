"""gatehouse probe in live mode against other gateways set up the naive way: HAProxy verifying
JWTs as its documentation's first jwt_verify example does (the signature and alg only), and
nginx letting any Authorization header through. The probe must find each planted weakness by
its case id; and against a sound Gatehouse with --profile safe it must send only GET, HEAD and
OPTIONS, within its caps (counted at the upstream)."""
import json
import os
import shutil
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from testenv import Upstream, free_port, wait_port
from testenv.probe import run_probe
from testenv.tokens import ec_jwk

ISSUER = "https://idp.probe.test"
AUDIENCE = "orders-api"
CI = os.environ.get("CI") == "true"


def api_config(tmp_path, upstream_port):
    """The API the peers front, described as Gatehouse would serve it: what the probe aims at."""
    key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (tmp_path / "pub.pem").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    (tmp_path / "k.json").write_text(json.dumps({"keys": [ec_jwk(key, "k1")]}))
    cfg = tmp_path / "api.yaml"
    cfg.write_text("""
listeners: [{address: 127.0.0.1:%d}]
identity:
  jwt:
    corp: {issuer: %s, audiences: [%s], algorithms: [ES256], jwks_file: %s, max_lifetime: 1h}
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]}
routes:
  - name: orders
    match: {path: /orders, methods: [GET]}
    auth: {jwt: corp}
    upstream: app
""" % (free_port(), ISSUER, AUDIENCE, tmp_path / "k.json", upstream_port))
    return cfg


def probe(target, cfg, tmp_path, *extra):
    verdicts, _, doc = run_probe("--target", target, "-c", str(cfg), "--quiet", *extra)
    return {r["id"]: r for r in doc["results"]}, doc


def need(tool):
    path = shutil.which(tool) or shutil.which("/usr/sbin/" + tool)
    if not path:
        if CI:
            pytest.fail("%s is missing (scripts/deps.sh installs it)" % tool)
        pytest.skip("%s is not installed" % tool)
    return path


@pytest.fixture
def upstream():
    with Upstream(free_port()) as u:
        yield u


@pytest.fixture
def haproxy(tmp_path, upstream):
    exe = need("haproxy")
    port = free_port()
    conf = tmp_path / "haproxy.cfg"
    conf.write_text("""
defaults
  mode http
  timeout connect 5s
  timeout client 10s
  timeout server 10s
frontend api
  bind 127.0.0.1:%d
  http-request set-var(txn.bearer) http_auth_bearer
  http-request set-var(txn.jwt_alg) var(txn.bearer),jwt_header_query('$.alg')
  http-request deny unless { var(txn.jwt_alg) -m str "ES256" }
  http-request deny unless { var(txn.bearer),jwt_verify(txn.jwt_alg,"%s") -m int 1 }
  default_backend app
backend app
  server s1 127.0.0.1:%d
""" % (port, tmp_path / "pub.pem", upstream.port))
    proc = subprocess.Popen([exe, "-f", str(conf), "-db"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        wait_port(port)
        yield port
    finally:
        proc.terminate()
        proc.wait(5)


@pytest.fixture
def nginx(tmp_path, upstream):
    exe = need("nginx")
    port = free_port()
    (tmp_path / "nginx").mkdir()
    conf = tmp_path / "nginx" / "nginx.conf"
    conf.write_text("""
daemon off;
worker_processes 1;
pid %(dir)s/nginx.pid;
error_log %(dir)s/error.log;
events {}
http {
  access_log off;
  client_body_temp_path %(dir)s/body;
  proxy_temp_path %(dir)s/proxy;
  fastcgi_temp_path %(dir)s/fastcgi;
  uwsgi_temp_path %(dir)s/uwsgi;
  scgi_temp_path %(dir)s/scgi;
  server {
    listen 127.0.0.1:%(port)d;
    location / {
      if ($http_authorization = "") { return 401; }
      proxy_pass http://127.0.0.1:%(up)d;
    }
  }
}
""" % {"dir": tmp_path / "nginx", "port": port, "up": upstream.port})
    proc = subprocess.Popen([exe, "-p", str(tmp_path / "nginx"), "-c", str(conf)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_port(port)
        yield port
    finally:
        proc.terminate()
        proc.wait(5)


def verdicts(results, ids):
    return {i: results[i]["verdict"] for i in ids}


@pytest.fixture
def api(tmp_path, upstream):
    return api_config(tmp_path, upstream.port)


def test_the_probe_finds_what_the_naive_haproxy_setup_lets_through(api, haproxy, tmp_path):
    results, _ = probe("http://127.0.0.1:%d" % haproxy, api, tmp_path,
                       "--signing-key", str(tmp_path / "key.pem"), "--kid", "k1", "--only", "tokens")
    # Planted: exp, iss, aud and the token's lifetime are never checked.
    assert verdicts(results, ["TOK-013", "TOK-016", "TOK-017", "TOK-026"]) == {
        "TOK-013": "fail", "TOK-016": "fail", "TOK-017": "fail", "TOK-026": "fail"}, results
    # What the example does check holds: alg none, a cut signature, an edited payload.
    assert verdicts(results, ["TOK-001", "TOK-003", "TOK-004"]) == {
        "TOK-001": "pass", "TOK-003": "pass", "TOK-004": "pass"}
    assert "reached the upstream" in results["TOK-013"]["why"] or "answered 200" in results["TOK-013"]["why"]


def test_the_probe_finds_what_the_naive_nginx_setup_lets_through(api, nginx, tmp_path):
    results, _ = probe("http://127.0.0.1:%d" % nginx, api, tmp_path,
                       "--signing-key", str(tmp_path / "key.pem"), "--kid", "k1",
                       "--only", "tokens,information")
    # Planted: any Authorization header passes, and nginx names its version.
    assert verdicts(results, ["TOK-001", "TOK-003", "TOK-004", "TOK-013", "INFO-002"]) == {
        "TOK-001": "fail", "TOK-003": "fail", "TOK-004": "fail", "TOK-013": "fail", "INFO-002": "fail"}
    assert "nginx/" in results["INFO-002"]["why"]


def test_live_safe_profile_sends_only_safe_methods_within_its_caps(tmp_path, upstream, gateway_for):
    cfg = api_config(tmp_path, upstream.port)
    text = cfg.read_text().split("\n", 2)[2]  # the same API, on the gateway's own listener
    gw = gateway_for(text)
    results, doc = probe("http://127.0.0.1:%d" % gw.port, cfg, tmp_path,
                         "--signing-key", str(tmp_path / "key.pem"), "--kid", "k1",
                         "--max-requests", "120")
    assert doc["profile"] == "safe"
    assert all(r["verdict"] != "fail" for r in results.values()), \
        [(i, r["why"]) for i, r in results.items() if r["verdict"] == "fail"]
    methods = {m for (m, _, _, _) in upstream.requests}
    assert methods <= {"GET", "HEAD", "OPTIONS"}, methods
    used = doc["caps"]["requests"]
    assert used["used"] <= 120 and used["max"] == 120
    assert len(upstream.requests) <= used["used"]
    assert all(h.get("user-agent", "").startswith("gatehouse-probe/") for (_, _, h, _) in upstream.requests)
    skipped = [r for r in results.values() if r["verdict"] == "skip"]
    assert any("--profile full" in r["why"] or "self-test" in r["why"] for r in skipped)
