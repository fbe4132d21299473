"""gatehouse probe, the verb: self-test of the example configuration in every format, the case
catalogue, --only, --fail-on and the exit codes, the caps, what a configuration that does not
load gets, and a self-test with client certificates where every TLS case runs."""
import json
import os
import socket
import subprocess
import xml.etree.ElementTree as ET

import pytest

from testenv import BIN, ROOT
from testenv.certs import CertAuthority, write_crl
from testenv.probe import run_probe

EXAMPLES = os.path.join(ROOT, "examples")
OWASP = {"API%d:2023" % i for i in range(1, 11)}
GROUPS = ["tokens", "authorization", "limits", "framing", "paths", "headers", "bodies", "cors",
          "tls", "information", "webhooks"]


def run(*args, cwd=EXAMPLES, timeout=300):
    return subprocess.run([BIN, "probe", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout)


@pytest.fixture(scope="module")
def demo_cert():
    subprocess.run(["bash", os.path.join(ROOT, "scripts", "demo-cert.sh")], check=True,
                   capture_output=True)


def test_list_cases_names_each_case_fully():
    p = run("--list-cases", "--format", "json")
    assert p.returncode == 0, p.stderr
    cases = json.loads(p.stdout)
    ids = [c["id"] for c in cases]
    assert len(ids) == len(set(ids))
    for c in cases:
        assert c["group"] in GROUPS, c
        assert c["owasp"] in OWASP, c
        assert c["cwe"] > 0 and c["title"] and c["expect"] and c["fix"], c
        assert c["severity"] in ("high", "medium", "low"), c
        assert c["id"].split("-")[0] in ("TOK", "AUTHZ", "LIM", "FRM", "PATH", "HDR", "BODY", "CORS",
                                         "TLS", "INFO", "HOOK"), c
    text = run("--list-cases").stdout.splitlines()
    assert len(text) == len(cases) and text[0].startswith(cases[0]["id"])


def test_list_cases_selects_by_group_its_prefix_or_an_id():
    """--only takes a group as the catalogue names it, the prefix of its ids (FRM, as the reports
    and docs name the group) or an id, in any case; --list-cases prints only text or JSON."""
    def ids(*only):
        p = run("--list-cases", "--format", "json", "--only", *only)
        assert p.returncode == 0, p.stderr
        return [c["id"] for c in json.loads(p.stdout)]
    framing = ids("framing")
    assert framing and all(i.startswith("FRM-") for i in framing)
    assert ids("FRM") == framing and ids("frm") == framing
    assert ids("hook-002,INFO") == ["INFO-%03d" % n for n in range(1, 8)] + ["HOOK-002"]
    bad = run("--list-cases", "--only", "FR")
    assert bad.returncode == 2 and "FR:" in bad.stderr
    md = run("--list-cases", "--format", "markdown")
    assert md.returncode == 2 and not md.stdout


def test_self_test_of_the_example_fails_nothing_in_every_format(demo_cert, tmp_path):
    """One run, its report in every format (--report): the same verdicts in each."""
    reports = ["--report", "%s=%s" % ("json", tmp_path / "report.json")]
    for fmt in ("sarif", "junit", "markdown"):
        reports += ["--report", "%s=%s" % (fmt, tmp_path / ("report." + fmt))]
    p = run("-c", "gatehouse.yaml", "--quiet", "-o", str(tmp_path / "report.text"), *reports)
    assert p.returncode == 0, (p.stderr, (tmp_path / "report.text").read_text())
    assert p.stderr == "", p.stderr  # --quiet: nothing on the terminal
    out = {fmt: (tmp_path / ("report." + fmt)).read_text()
           for fmt in ("text", "json", "sarif", "junit", "markdown")}
    doc = json.loads(out["json"])
    assert doc["mode"] == "self-test" and doc["profile"] == "full"
    assert doc["summary"]["fail"] == 0 and doc["summary"]["error"] == 0, \
        [(r["id"], r["why"]) for r in doc["results"] if r["verdict"] in ("fail", "error")]
    assert doc["summary"]["pass"] >= 30
    for r in doc["results"]:
        if r["verdict"] == "skip":
            assert r["why"], r
    sarif = json.loads(out["sarif"])
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"] == []
    assert sarif["runs"][0]["invocations"][0]["executionSuccessful"] is True
    suites = ET.fromstring(out["junit"])
    assert suites.tag == "testsuites" and suites.get("failures") == "0"
    assert int(suites.get("tests")) == len(doc["results"])
    assert "No failures" in out["text"] and max(len(l) for l in out["text"].splitlines()) <= 120
    assert out["markdown"].startswith("# gatehouse probe")


WEAK_ORDERS = """
listeners: [{address: 127.0.0.1:18080}]
upstreams:
  app: {endpoints: [http://127.0.0.1:18081]}
identity:
  jwt:
    corp: {issuer: https://idp.example, audiences: [orders], algorithms: [ES256],
           jwks_uri: https://idp.example/jwks.json}
routes:
  - name: orders
    match: {path: /orders, methods: [GET]}
    auth: {jwt: corp}
    upstream: app
"""


def test_only_picks_cases_and_results_name_the_route_and_its_line(tmp_path):
    """A provider whose key set is an https URL the machine cannot reach: in self-test the probe
    serves the keys itself. --only picks the cases asked for, each result names its route and the
    route's line; an --only naming no case is a usage error."""
    cfg = tmp_path / "g.yaml"
    cfg.write_text(WEAK_ORDERS)
    p = run("-c", str(cfg), "--only", "TOK-001,TOK-013", "--format", "json", cwd=str(tmp_path))
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert [r["id"] for r in doc["results"]] == ["TOK-001", "TOK-013"]
    assert all(r["verdict"] == "pass" and r["route"] == "orders" for r in doc["results"]), doc["results"]
    assert doc["results"][0]["line"] == 10  # the route's entry in the file
    bad = run("-c", str(cfg), "--only", "TOK-999", cwd=str(tmp_path))
    assert bad.returncode == 2 and "TOK-999" in bad.stderr


def test_caps_stop_the_run_and_say_so(tmp_path, demo_cert):
    p = run("-c", "gatehouse.yaml", "--only", "tokens", "--max-requests", "5", "--format", "json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["caps"]["requests"]["used"] <= 5 and doc["caps"]["requests"]["max"] == 5
    capped = [r for r in doc["results"] if r["verdict"] == "skip" and "request cap (5)" in r["why"]]
    assert capped, doc["results"]
    # The text report does not end on a bare "No failures": it lists the skipped cases by reason.
    text = run("-c", "gatehouse.yaml", "--only", "tokens", "--max-requests", "5").stdout
    assert "No failures among the cases that ran" in text, text
    listed = text[text.index("Skipped ("):]
    assert "request cap (5)" in listed and capped[0]["id"] in listed, text


def test_bad_configuration_and_arguments_exit_2(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("listeners: [{address: 127.0.0.1:1}]\nroutes: [{name: x, match: {prefx: /}}]\n")
    p = run("-c", str(cfg), cwd=str(tmp_path))
    assert p.returncode == 2 and "bad.yaml:2:" in p.stderr and "does not load" in p.stderr
    for args in (["--format", "yaml", "-c", str(cfg)], ["--fail-on", "urgent", "-c", str(cfg)],
                 ["--max-requests", "0", "-c", str(cfg)], ["--report", "pdf=x.pdf", "-c", str(cfg)],
                 ["--report", "json", "-c", str(cfg)], ["--bogus"], []):
        q = run(*args, cwd=str(tmp_path))
        assert q.returncode == 2, (args, q.stderr)
        assert "usage: gatehouse probe" in q.stderr
    ftp = run("--target", "ftp://x")
    assert ftp.returncode == 2 and "an http:// or https:// URL" in ftp.stderr
    assert run("--help").returncode == 0
    assert "--token" in run("--help").stdout
    # Nothing listens there: said once, before any case, instead of an error per case.
    refused = run("--target", "http://127.0.0.1:9", "--path", "/", "--format", "json")
    assert refused.returncode == 2 and refused.stdout == ""
    assert "cannot reach 127.0.0.1:9" in refused.stderr


MTLS = """
listeners:
  - address: 127.0.0.1:18443
    tls:
      certificate: /nonexistent/server.crt
      private_key: /nonexistent/server.key
      client_auth: optional
      client_ca: /nonexistent/ca.crt
      crl_file: /nonexistent/ca.crl
upstreams:
  app: {endpoints: [http://127.0.0.1:18081]}
routes:
  - name: partners
    match: {prefix: /partners}
    auth: {mtls: {subjects: ["CN=partner-a"]}}
    forward: {client_cert: true}
    upstream: app
"""


def test_tls_cases_against_a_listener_with_client_certificates(tmp_path):
    """The configuration's own CA and files are for loading only: the self-test gives the gateway
    the probe's CA, certificates and CRL, and attacks with certificates of its own."""
    ca = CertAuthority(str(tmp_path))
    cert, key = ca.issue("server", "localhost", dns=["localhost"])
    crl = write_crl(ca, str(tmp_path / "ca.crl"), [])
    cfg = tmp_path / "m.yaml"
    cfg.write_text(MTLS.replace("/nonexistent/server.crt", cert).replace("/nonexistent/server.key", key)
                   .replace("/nonexistent/ca.crt", ca.ca_file).replace("/nonexistent/ca.crl", crl))
    p = run("-c", str(cfg), "--only", "tls", "--format", "json", cwd=str(tmp_path))
    doc = json.loads(p.stdout)
    verdicts = {r["id"]: (r["verdict"], r["why"]) for r in doc["results"]}
    assert p.returncode == 0, (p.stderr, verdicts)
    for cid in ("TLS-004", "TLS-005", "TLS-006", "TLS-007", "TLS-008"):
        assert verdicts[cid][0] == "pass", (cid, verdicts[cid])


def test_the_catalogue_in_security_md_is_current():
    p = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "scripts", "probe_cases_md.py"), "--check"],
                       capture_output=True, text=True, env=dict(os.environ, GATEHOUSE_BIN=BIN))
    assert p.returncode == 0, p.stderr


def test_live_api_key_lets_the_cases_show_a_valid_request(tmp_path, gateway_for, upstream):
    """A route that takes only an API key: without --api-key no valid request can be shown and
    the cases that need one skip, saying so; with it they run."""
    from conftest import api_key_identity
    cfg = api_key_identity(tmp_path, upstream.port) + """
routes:
  - name: partners
    match: {prefix: /partners, methods: [GET]}
    auth: {api_key: partners}
    upstream: app
"""
    gw = gateway_for(cfg)
    without, report, _ = run_probe("--target", gw.url, "-c", gw.config, "--only", "HDR-006")
    assert without["HDR-006"][0] == "skip" and "refused too (401)" in without["HDR-006"][1], report
    with_key, report, _ = run_probe("--target", gw.url, "-c", gw.config, "--only", "HDR-006",
                                    "--api-key", "k1")
    assert with_key["HDR-006"][0] == "pass", report
    assert all(h.get("x-api-key") is None for (_, _, h, _) in upstream.requests)  # never forwarded
    assert run("-c", gw.config, "--api-key", "k1").returncode == 2  # live only


def test_self_test_keeps_the_security_event_file_of_the_deployment_untouched(tmp_path):
    events = tmp_path / "deployment" / "events.log"
    events.parent.mkdir()
    cfg = tmp_path / "g.yaml"
    cfg.write_text("""
listeners: [{address: 127.0.0.1:18090}]
security_events: {file: %s}
routes:
  - {name: all, match: {prefix: /}, auth: none, respond: {status: 204}}
""" % events)
    p = run("-c", str(cfg), "--only", "INFO-005", "--quiet", cwd=str(tmp_path))
    assert p.returncode == 0, p.stderr
    assert not events.exists()  # the run's events went to its own directory, now gone


def test_self_test_sends_nothing_to_the_collectors_of_the_deployment(tmp_path):
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    web = socket.socket()
    web.bind(("127.0.0.1", 0))
    web.listen(4)
    cfg = tmp_path / "g.yaml"
    cfg.write_text("""
listeners: [{address: 127.0.0.1:18091}]
security_events:
  syslog: {address: "udp://127.0.0.1:%d"}
  http: {url: "http://127.0.0.1:%d/ingest", interval: 10ms}
routes:
  - {name: all, match: {prefix: /}, auth: none, respond: {status: 204}}
""" % (rx.getsockname()[1], web.getsockname()[1]))
    p = run("-c", str(cfg), "--only", "INFO-005", "--quiet", cwd=str(tmp_path))
    assert p.returncode == 0, p.stderr
    rx.settimeout(0.5)
    with pytest.raises(socket.timeout):
        rx.recv(65536)
    web.settimeout(0.5)
    with pytest.raises(socket.timeout):
        web.accept()
    rx.close()
    web.close()


def test_self_test_detectors_in_mode_ban_only_log(tmp_path):
    """A deployment whose detectors ban: the self-test's attacks would ban the probe's own
    client after its first refusals, and every later case would be skipped (its valid request
    refused too); the run's detectors log instead, and the cases run."""
    cfg = tmp_path / "g.yaml"
    cfg.write_text("""
listeners: [{address: 127.0.0.1:18092}]
anomaly:
  detectors:
    error_rate: {mode: ban, min_errors: 1, z_score: 1}
    unusual_method: {mode: ban, max_requests: 1}
upstreams:
  app: {endpoints: ["http://127.0.0.1:1"]}
routes:
  - {name: all, match: {prefix: /}, auth: none, upstream: app}
""")
    p = run("-c", str(cfg), "--only", ",".join("FRM-%03d" % i for i in range(1, 11)),
            cwd=str(tmp_path))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "refused too" not in p.stdout, p.stdout
    framing = [l.split() for l in p.stdout.splitlines() if l.startswith("Framing")][0]
    assert int(framing[1]) >= 8 and int(framing[3]) == 0, p.stdout  # passed, none skipped
