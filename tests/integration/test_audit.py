"""`gatehouse audit`: every check fires on its fixture (at the marked line) and stays quiet on the
fixture that meets the same need safely; the reports match their golden files; SARIF, JSON, SVG;
exit codes; accepted risks; the shipped examples pass with --fail-on high."""
import json
import os
import re
import shutil
import subprocess

import pytest

from testenv import BIN, ROOT
from testenv.certs import CertAuthority, write_crl

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "audit")
CHECKS_DIR = os.path.join(HERE, "checks")
GOLDEN_DIR = os.path.join(HERE, "golden")
SECRETS = {"SECRET_64": "s" * 64, "SECRET_32": "t" * 32, "SECRET_20": "u" * 20,
           "GITHUB_WEBHOOK_SECRET": "w" * 40, "REDIS_PASSWORD": "r" * 24}


def catalog():
    out = subprocess.run([BIN, "audit", "--list-checks"], capture_output=True, text=True, check=True)
    rows = [line.split(None, 2) for line in out.stdout.splitlines()]
    return [(r[0], r[1], "refused when the configuration loads" in r[2]) for r in rows]


CATALOG = catalog()


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    """The files fixtures name: certificates, a CRL, a schema, API keys, secret files."""
    d = tmp_path_factory.mktemp("audit-kit")
    os.makedirs(d / "certs")
    ca = CertAuthority(str(d / "certs"))
    for stem, client in (("server", False), ("client", True)):
        cert, key = ca.issue(stem, "gatehouse.test", dns=["gatehouse.test"], client=client)
        os.rename(cert, str(d / "certs" / (stem + ".crt")))
        os.rename(key, str(d / "certs" / (stem + ".key")))
    shutil.copy(ca.ca_file, str(d / "certs" / "ca.crt"))
    write_crl(ca, str(d / "certs" / "crl.pem"), [])
    (d / "schema.json").write_text('{"type": "object"}')
    (d / "closed-schema.json").write_text('{"type": "object", "properties": {"qty": {"type": "integer"}},'
                                          ' "additionalProperties": false}')
    (d / "keys.txt").write_text("sha256:" + "ab" * 32 + " acme\n")
    for name, mode in (("secret.txt", 0o600), ("world-readable.secret", 0o644)):
        (d / name).write_text("r" * 24)
        os.chmod(str(d / name), mode)
    return d


def audit(kit, source, *args, name="c.yaml"):
    shutil.copy(source, str(kit / name))
    env = dict(os.environ, **SECRETS)
    return subprocess.run([BIN, "audit", "-c", name] + list(args), cwd=str(kit),
                          capture_output=True, text=True, env=env)


def marked_line(path, check):
    for number, line in enumerate(open(path), 1):
        if "# <- " + check in line:
            return number
    raise AssertionError("%s has no '# <- %s' marker" % (path, check))


def findings(kit, source):
    p = audit(kit, source, "--format", "json", "--fail-on", "none")
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)["findings"]


def test_the_catalog_has_enough_checks_with_stable_ids():
    ids = [c[0] for c in CATALOG]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"GH-[A-Z]+-\d{3}", i) for i in ids)
    assert len([c for c in CATALOG if not c[2]]) >= 25
    assert {c[1] for c in CATALOG} == {"high", "medium", "low"}


@pytest.mark.parametrize("check", [c[0] for c in CATALOG if not c[2]])
def test_check_triggers_at_its_line(check, kit):
    source = os.path.join(CHECKS_DIR, check + ".triggers.yaml")
    found = [f for f in findings(kit, source) if f["id"] == check]
    assert found, "%s did not fire on %s" % (check, source)
    line = marked_line(source, check)
    assert line in [f["line"] for f in found], (line, found)
    f = found[0]
    assert f["file"] == "c.yaml" and f["why"] and f["fix"] and f["message"] and f["severity"] in (
        "high", "medium", "low")


@pytest.mark.parametrize("check", [c[0] for c in CATALOG if not c[2]])
def test_check_stays_quiet_when_the_need_is_met(check, kit):
    source = os.path.join(CHECKS_DIR, check + ".passes.yaml")
    assert check not in [f["id"] for f in findings(kit, source)]


@pytest.mark.parametrize("check", [c[0] for c in CATALOG if c[2]])
def test_checks_enforced_at_load_refuse_the_configuration(check, kit):
    """These risks cannot be configured: the audit, like check, stops at the line (exit 2)."""
    source = os.path.join(CHECKS_DIR, check + ".triggers.yaml")
    p = audit(kit, source)
    assert p.returncode == 2
    assert "c.yaml:%d:" % marked_line(source, check) in p.stderr, p.stderr
    assert "does not load" in p.stderr and p.stdout == ""
    p = audit(kit, os.path.join(CHECKS_DIR, check + ".passes.yaml"), "--fail-on", "none")
    assert p.returncode == 0, p.stderr


def test_every_check_has_both_fixtures():
    names = set(os.listdir(CHECKS_DIR))
    expected = {c[0] + s for c in CATALOG for s in (".triggers.yaml", ".passes.yaml")}
    assert names == expected


def golden_config(kit):
    return audit(kit, os.path.join(GOLDEN_DIR, "gatehouse.yaml"), "--format", "json",
                 "--fail-on", "none", name="gatehouse.yaml")


@pytest.mark.parametrize("fmt,ext", [("text", "txt"), ("markdown", "md"), ("dot", "dot")])
def test_reports_match_their_golden_files(fmt, ext, kit):
    p = audit(kit, os.path.join(GOLDEN_DIR, "gatehouse.yaml"), "--format", fmt, "--fail-on", "none",
              name="gatehouse.yaml")
    assert p.returncode == 0, p.stderr
    golden = os.path.join(GOLDEN_DIR, "gatehouse." + ext)
    if os.environ.get("GH_UPDATE_GOLDEN") == "1":
        open(golden, "w").write(p.stdout)
    assert p.stdout == open(golden).read()


def test_exit_codes_follow_fail_on(kit):
    source = os.path.join(GOLDEN_DIR, "gatehouse.yaml")
    report = json.loads(golden_config(kit).stdout)
    s = report["summary"]
    assert s["high"] > 0 and s["medium"] > 0 and s["low"] > 0 and s["accepted"] > 0
    assert audit(kit, source, name="gatehouse.yaml").returncode == 1  # default: high
    assert audit(kit, source, "--fail-on", "none", name="gatehouse.yaml").returncode == 0
    assert audit(kit, os.path.join(CHECKS_DIR, "GH-IDP-005.triggers.yaml")).returncode == 0
    assert audit(kit, os.path.join(CHECKS_DIR, "GH-IDP-005.triggers.yaml"),
                 "--fail-on", "low").returncode == 1
    assert audit(kit, os.path.join(CHECKS_DIR, "GH-IDP-006.triggers.yaml"),
                 "--fail-on", "low").returncode == 1
    assert audit(kit, os.path.join(CHECKS_DIR, "GH-IDP-006.triggers.yaml"),
                 "--fail-on", "high").returncode == 0


def test_a_configuration_that_does_not_load_exits_2_with_checks_errors(kit, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("listeners:\n  - address: 127.0.0.1:8080\nroutes:\n  - name: x\n    match: {prefx: /}\n")
    p = subprocess.run([BIN, "audit", "-c", str(bad)], capture_output=True, text=True)
    c = subprocess.run([BIN, "check", "-c", str(bad)], capture_output=True, text=True)
    assert p.returncode == 2 and c.returncode == 1
    assert "bad.yaml:5:13: routes[0].match: unknown key 'prefx'; did you mean 'prefix'?" in p.stderr
    assert p.stdout == ""


def test_bad_arguments_exit_2(kit):
    source = os.path.join(CHECKS_DIR, "GH-HDR-001.passes.yaml")
    for args in (["--format", "pdf"], ["--fail-on", "critical"], ["--bogus", "x"], ["--format"]):
        p = audit(kit, source, *args)
        assert p.returncode == 2 and p.stderr, args
    p = subprocess.run([BIN, "audit"], capture_output=True, text=True)
    assert p.returncode == 2 and "-c FILE is required" in p.stderr


def test_accepted_risks_are_reported_and_do_not_fail(kit, tmp_path):
    source = tmp_path / "accept.yaml"
    text = open(os.path.join(CHECKS_DIR, "GH-AUTH-001.triggers.yaml")).read()
    source.write_text(text + "    audit:\n      accept: {GH-AUTH-001: \"public catalog, read-only\"}\n")
    p = audit(kit, str(source))
    assert p.returncode == 0, p.stdout
    assert re.search(r"^HIGH +GH-AUTH-001 +c\.yaml:\d+:\d+ +route orders +\(accepted\)$", p.stdout, re.M)
    assert "accepted: public catalog, read-only" in p.stdout
    sarif = json.loads(audit(kit, str(source), "--format", "sarif").stdout)
    result = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "GH-AUTH-001"][0]
    assert result["suppressions"] == [{"kind": "inSource", "status": "accepted",
                                       "justification": "public catalog, read-only"}]
    # A top-level acceptance covers every route; an id that names no check is pointed out.
    source.write_text(text + "audit:\n  accept:\n    GH-AUTH-001: \"demo environment only\"\n"
                      "    GH-AUTH-999: \"a typo that accepts nothing\"\n")
    p = audit(kit, str(source))
    assert p.returncode == 0
    assert "c.yaml:15:18: warning: audit.accept.GH-AUTH-999: no check has the id GH-AUTH-999" in p.stderr
    # A reason is required, and ids have their shape.
    source.write_text(text + "audit:\n  accept: {GH-AUTH-001: ok}\n")
    p = audit(kit, str(source))
    assert p.returncode == 2 and "c.yaml:13:25: audit.accept: say why" in p.stderr, p.stderr
    source.write_text(text + "audit:\n  accept: {AUTH-1: \"a reason long enough\"}\n")
    p = audit(kit, str(source))
    assert p.returncode == 2 and "'AUTH-1' is not a check id" in p.stderr


def test_sarif_is_2_1_0_with_rules_and_lines(kit):
    p = audit(kit, os.path.join(GOLDEN_DIR, "gatehouse.yaml"), "--format", "sarif", name="gatehouse.yaml")
    assert p.returncode == 1
    doc = json.loads(p.stdout)
    assert doc["version"] == "2.1.0" and "sarif-2.1.0" in doc["$schema"]
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [c[0] for c in CATALOG]
    for r in rules:
        assert r["shortDescription"]["text"] and r["fullDescription"]["text"] and r["help"]["text"]
        assert r["defaultConfiguration"]["level"] in ("error", "warning", "note")
        assert 0 < float(r["properties"]["security-severity"]) <= 10
    report = json.loads(golden_config(kit).stdout)
    assert len(run["results"]) == len(report["findings"])
    for res, f in zip(run["results"], report["findings"]):
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"] == f["id"]
        loc = res["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"] == "gatehouse.yaml"
        assert loc["region"] == {"startLine": f["line"], "startColumn": f["column"]}
        assert res["level"] == {"high": "error", "medium": "warning", "low": "note"}[f["severity"]]


def test_json_lists_entry_points_per_route_and_method(kit):
    report = json.loads(golden_config(kit).stdout)
    rows = [(e["route"], e["method"]) for e in report["entry_points"]]
    assert ("get-payment", "GET") in rows and ("get-payment", "HEAD") in rows
    assert ("create-payment", "POST") in rows and ("create-payment", "GET") not in rows
    pay = [e for e in report["entry_points"] if e["route"] == "create-payment"][0]
    assert pay["critical"] and pay["tags"] == ["money"] and pay["exposure"] == "public"
    assert "schema" in pay["body"] and "payments-write" in pay["rate_limits"]
    assert pay["upstream"].startswith("payments (plain HTTP")
    by_route = {e["route"]: e for e in report["entry_points"]}
    assert by_route["settlements"]["listeners"] == "partners"
    assert by_route["status"]["listeners"] == "public"
    assert by_route["get-payment"]["listeners"] == "public partners"
    edges = {(e["from"], e["to"]) for e in report["trust_boundaries"]["edges"]}
    assert ("listener_1", "route_6") in edges and ("gateway", "route_6") not in edges
    zones = {n["zone"] for n in report["trust_boundaries"]["nodes"]}
    assert {"internet", "partners", "gatehouse", "backends"} <= zones


def test_svg_is_rendered_by_graphviz(kit, tmp_path):
    if not shutil.which("dot"):
        pytest.fail("graphviz's dot is a test dependency (scripts/deps.sh)")
    out = tmp_path / "boundaries.svg"
    p = audit(kit, os.path.join(GOLDEN_DIR, "gatehouse.yaml"), "--format", "svg", "-o", str(out),
              "--fail-on", "none", name="gatehouse.yaml")
    assert p.returncode == 0, p.stderr
    svg = out.read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "create&#45;payment" in svg


def test_svg_without_graphviz_says_so(kit, tmp_path):
    env = dict(os.environ, PATH=str(tmp_path), **SECRETS)  # no dot on this PATH
    shutil.copy(os.path.join(CHECKS_DIR, "GH-HDR-001.passes.yaml"), str(kit / "c.yaml"))
    p = subprocess.run([BIN, "audit", "-c", "c.yaml", "--format", "svg"], cwd=str(kit),
                       capture_output=True, text=True, env=env)
    assert p.returncode == 2 and p.stdout == ""
    assert "not installed (apt-get install graphviz)" in p.stderr


def test_output_file(kit, tmp_path):
    out = tmp_path / "report.md"
    p = audit(kit, os.path.join(GOLDEN_DIR, "gatehouse.yaml"), "--format", "markdown", "-o", str(out),
              "--fail-on", "none", name="gatehouse.yaml")
    assert p.returncode == 0 and p.stdout == ""
    assert out.read_text() == open(os.path.join(GOLDEN_DIR, "gatehouse.md")).read()
    p = audit(kit, os.path.join(GOLDEN_DIR, "gatehouse.yaml"), "-o", str(tmp_path / "no" / "dir.txt"),
              name="gatehouse.yaml")
    assert p.returncode == 2 and "No such file or directory" in p.stderr


def test_the_shipped_examples_pass_fail_on_high():
    subprocess.run([os.path.join(ROOT, "scripts", "demo-cert.sh")], check=True)  # as make demo does
    examples = os.path.join(ROOT, "examples")
    for name in sorted(os.listdir(examples)):
        if not name.endswith(".yaml"):
            continue
        p = subprocess.run([BIN, "audit", "-c", name, "--fail-on", "high"], cwd=examples,
                           capture_output=True, text=True)
        assert p.returncode == 0, "%s:\n%s\n%s" % (name, p.stdout, p.stderr)


def test_security_md_maps_and_lists_every_check():
    doc = open(os.path.join(ROOT, "docs", "security.md")).read()
    out = subprocess.run([BIN, "audit", "--list-checks"], capture_output=True, text=True).stdout
    mapping = doc[doc.index("| risk | control | verified by |"):doc.index("### Every check")]
    for line in out.splitlines():
        check, severity, title = line.split(None, 2)
        title = title.replace(" (refused when the configuration loads)", "")
        assert "| `%s` | %s | %s |" % (check, severity, title) in doc, check
        assert "`%s`" % check in mapping, check


def test_security_md_gives_each_check_its_owasp_entry_and_cwe(kit):
    """The table of every check carries the catalogue's OWASP API Security Top 10 2023 entry and
    CWE, as SARIF's rules and the JSON findings do."""
    doc = open(os.path.join(ROOT, "docs", "security.md")).read()
    p = audit(kit, os.path.join(CHECKS_DIR, "GH-HDR-001.passes.yaml"), "--format", "sarif")
    rules = json.loads(p.stdout)["runs"][0]["tool"]["driver"]["rules"]
    assert len(rules) == len(CATALOG)
    for r in rules:
        owasp, cwe = r["properties"]["owasp"], r["properties"]["cwe"]
        assert re.fullmatch(r"API(10|[1-9]):2023", owasp) and re.fullmatch(r"CWE-\d+", cwe), r["id"]
        assert "external/cwe/cwe-%s" % cwe[4:] in r["properties"]["tags"]
        row = [line for line in doc.splitlines() if line.startswith("| `%s` |" % r["id"])]
        assert row and "| %s | %s |" % (owasp, cwe) in row[0], r["id"]
    f = findings(kit, os.path.join(CHECKS_DIR, "GH-AUTHZ-005.triggers.yaml"))
    assert {(x["owasp"], x["cwe"]) for x in f if x["id"] == "GH-AUTHZ-005"} == {("API1:2023", "CWE-639")}


LONG = "a-route-whose-name-goes-on-past-any-column-a-table-gives-it"  # names stop at 64


def long_names_config(tmp_path):
    """Long route names, scopes, claims, paths, limits and tags, on three listeners."""
    scopes = ", ".join("organisation-administration:write-everything-%d" % i for i in range(4))
    text = """
listeners:
  - {name: the-public-listener-with-a-very-long-name, address: 0.0.0.0:8443,
     tls: {certificate: certs/server.crt, private_key: certs/server.key}}
  - {name: the-partner-listener-with-a-name-just-as-long, address: 10.1.2.3:9443,
     tls: {certificate: certs/server.crt, private_key: certs/server.key}}
  - {name: local, address: 127.0.0.1:8080}
upstreams:
  a-backend-with-a-name-that-does-not-stop-anywhere-soon: {endpoints: ["http://10.0.0.5:9000"]}
identity:
  jwt:
    an-identity-provider-whose-name-is-long-too:
      issuer: https://idp.example.com
      audiences: [api]
      algorithms: [ES256]
      jwks_uri: https://idp.example.com/keys
rate_limits:
  a-rate-limit-named-at-length-for-every-caller: {key: jwt.sub, rate: 100/s, burst: 200}
routes:
  - name: %(long)s
    match: {path: "/organisations/{organisation}/departments/{department}/employees/{employee}/payslips/{payslip}", methods: [GET, POST, PUT, PATCH, DELETE]}
    auth:
      jwt: an-identity-provider-whose-name-is-long-too
      scopes: [%(scopes)s]
      claims: {organisation_identifier_claim_with_a_long_name: "{path.organisation}"}
    rate_limit: a-rate-limit-named-at-length-for-every-caller
    body: {max_bytes: 64k, content_types: [application/json, application/merge-patch+json], schema: schema.json}
    upstream: a-backend-with-a-name-that-does-not-stop-anywhere-soon
    tags: [money, pii, admin]
  - name: %(long)s-2
    match: {host: "*.tenants.of.a.very.long.domain.name.example.com", prefix: /x}
    auth: none
    upstream: a-backend-with-a-name-that-does-not-stop-anywhere-soon
""" % {"long": LONG, "scopes": scopes}
    path = tmp_path / "long.yaml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("which", ["golden", "long"])
def test_every_line_of_the_text_report_fits_120_columns(which, kit, tmp_path):
    if which == "golden":
        p = audit(kit, os.path.join(GOLDEN_DIR, "gatehouse.yaml"), "--fail-on", "none",
                  name="gatehouse.yaml")
    else:
        p = audit(kit, long_names_config(tmp_path), "--fail-on", "none")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    too_wide = [line for line in lines if len(line) > 120]
    assert not too_wide, "\n".join(too_wide)
    assert not [line for line in lines if line != line.rstrip()]
    table = lines[lines.index(next(l for l in lines if l.startswith("Entry points"))) + 1]
    for column in ("ROUTE", "METHODS", "PATH", "AUTH", "AUTHZ", "RATE LIMITS", "BODY"):
        assert column in table, table
    if which == "long":  # wrapped, not cut: each cell whole once its column's pieces are joined
        cells = table_cells(lines)
        route = cells[0]
        assert route["ROUTE"] == LONG + "*" and route["METHODS"] == "GETHEADPOSTPUTPATCHDELETE"
        assert route["PATH"] == ("/organisations/{organisation}/departments/{department}/employees/"
                                 "{employee}/payslips/{payslip}")
        assert "organisation-administration:write-everything-3" in route["AUTHZ"]
        assert "organisation_identifier_claim_with_a_long_name" in route["AUTHZ"]
        assert cells[1]["METHODS"] == "any"
        assert "Not shown for width:" in p.stdout


def table_cells(lines):
    """The entry-point table's rows, each a mapping of heading to its cell with the spaces taken
    out (a row starts where the ROUTE column has text; its cells go on under their headings)."""
    start = next(i for i, l in enumerate(lines) if l.startswith("Entry points")) + 1
    heads = [(m.start(), m.group(0)) for m in re.finditer(r"[A-Z]+(?: [A-Z]+)*", lines[start])]
    rows = []
    for line in lines[start + 1:]:
        if not line or line.startswith(("* critical", "Not shown")):
            break
        if line[0] != " ":
            rows.append({h: "" for _, h in heads})
        for k, (at, h) in enumerate(heads):
            end = heads[k + 1][0] if k + 1 < len(heads) else len(line)
            rows[-1][h] += line[at:end].replace(" ", "")
    return rows


def test_a_route_on_loopback_listeners_only_is_not_called_reachable_off_loopback(kit, tmp_path):
    source = tmp_path / "loopback.yaml"
    source.write_text("""listeners:
  - {name: local, address: 127.0.0.1:8081}
upstreams:
  app: {endpoints: ["http://127.0.0.1:9000"]}
routes:
  - name: payouts
    match: {prefix: /payouts, methods: [GET]}
    auth: none
    upstream: app
    tags: [money]
""")
    p = audit(kit, str(source), "--fail-on", "none")
    assert p.returncode == 0, p.stderr
    assert "GH-AUTH-001" in p.stdout and "loopback listeners only" in p.stdout
    assert "off loopback" not in p.stdout, p.stdout
    report = json.loads(audit(kit, str(source), "--format", "json", "--fail-on", "none").stdout)
    f = [x for x in report["findings"] if x["id"] == "GH-AUTH-001"]
    assert len(f) == 1 and f[0]["severity"] == "medium"
    assert "off loopback" not in f[0]["title"] + f[0]["message"] + f[0]["why"]


def named_checks(text):
    """The check ids a table cell names, a range `GH-X-001` … `GH-X-004` counted whole."""
    ids = set(re.findall(r"`(GH-[A-Z]+-\d{3})`", text))
    for prefix, first, last in re.findall(r"`(GH-[A-Z]+)-(\d{3})` … `GH-[A-Z]+-(\d{3})`", text):
        ids |= {"%s-%03d" % (prefix, n) for n in range(int(first), int(last) + 1)}
    return ids


def test_security_md_covers_the_owasp_top_10_and_rfc_8725_with_the_catalogue(kit):
    """Every OWASP API Security Top 10 2023 entry and every practice of RFC 8725 section 3 has its
    row; the rows name only checks that exist, and each check is named in the row of its entry."""
    doc = open(os.path.join(ROOT, "docs", "security.md")).read()
    start = doc.index("## Coverage: OWASP API Security Top 10 2023 and RFC 8725")
    section = doc[start:doc.index("\n## ", start + 1)]
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| (API\d+:2023|3\.\d+) .*$", section, re.M)}
    assert set(rows) == {"API%d:2023" % n for n in range(1, 11)} | {"3.%d" % n for n in range(1, 13)}
    ids = {c[0] for c in CATALOG}
    assert named_checks(section) <= ids, named_checks(section) - ids
    for prefix in ("TOK", "AUTHZ", "LIM", "FRM", "PATH", "HDR", "BODY", "CORS", "TLS", "INFO", "HOOK"):
        assert re.search(r"\| [^|]*\b%s\b" % prefix, section), prefix
    p = audit(kit, os.path.join(CHECKS_DIR, "GH-HDR-001.passes.yaml"), "--format", "sarif")
    for rule in json.loads(p.stdout)["runs"][0]["tool"]["driver"]["rules"]:
        assert rule["id"] in named_checks(rows[rule["properties"]["owasp"]]), rule["id"]
