"""The monitoring files shipped in contrib/: the Prometheus alerting rules load in promtool and
fire (or stay quiet) on the series their unit tests feed them, every metric and label the
rules and the Grafana dashboard query is one a running gateway exports (or, for features a
test cannot easily start, one docs/operations.md lists), and the dashboard is well-formed:
each panel has a datasource and a query, and each query is valid PromQL."""
import json
import os
import re
import shutil
import subprocess

import pytest
import requests
import yaml
from cryptography.hazmat.primitives.asymmetric import ec

from testenv import ROOT, Gateway, Upstream, free_port
from testenv.certs import CertAuthority
from testenv.idp import IdP
from testenv.redis import Redis
from testenv.tokens import ec_jwk, sign, token_claims

ALERTS = os.path.join(ROOT, "contrib", "prometheus", "alerts.yaml")
ALERTS_TEST = os.path.join(ROOT, "contrib", "prometheus", "alerts_test.yaml")
DASHBOARD = os.path.join(ROOT, "contrib", "grafana", "gatehouse.json")
OPERATIONS = os.path.join(ROOT, "docs", "operations.md")
AUD = "orders-api"

# A metric name in PromQL: gatehouse_ followed by name characters. Histogram and summary
# series (_bucket, _sum, _count) are checked under their family's name.
METRIC_NAME = re.compile(r"\bgatehouse_[a-zA-Z0-9_]+")
SERIES_SUFFIXES = ("_bucket", "_sum", "_count")


def promtool():
    """The promtool binary (Debian's prometheus package, scripts/deps.sh). On CI a missing
    promtool fails the test, elsewhere it skips it."""
    path = shutil.which("promtool")
    if path:
        return path
    if os.environ.get("CI") == "true":
        pytest.fail("promtool is missing: scripts/deps.sh installs Debian's prometheus package")
    pytest.skip("promtool is not installed (Debian's prometheus package, scripts/deps.sh)")


def run_promtool(*args):
    p = subprocess.run([promtool()] + list(args), capture_output=True, text=True, timeout=60,
                       cwd=os.path.dirname(ALERTS))
    return p.returncode, p.stdout + p.stderr


def alert_rules():
    with open(ALERTS) as f:
        doc = yaml.safe_load(f)
    return [r for g in doc["groups"] for r in g["rules"] if "alert" in r]


def dashboard():
    with open(DASHBOARD) as f:
        return json.load(f)


def panels(dash):
    """Every panel, those inside collapsed rows too; rows themselves are not panels."""
    out = []
    for p in dash["panels"]:
        if p.get("type") == "row":
            out.extend(p.get("panels", []))
        else:
            out.append(p)
    return out


def dashboard_exprs(dash):
    return [t["expr"] for p in panels(dash) for t in p.get("targets", []) if t.get("expr")]


def names_in(expr):
    """The metric families an expression queries."""
    return {family_of(name) for name in METRIC_NAME.findall(expr)}


def family_of(series_name):
    for suffix in SERIES_SUFFIXES:
        if series_name.endswith(suffix):
            return series_name[:-len(suffix)]
    return series_name


def exported_families(metrics_text):
    return set(re.findall(r"^# TYPE (gatehouse_[a-zA-Z0-9_]+) ", metrics_text, re.M))


def exported_labels(metrics_text):
    """family -> the label names its samples carry."""
    labels = {}
    for m in re.finditer(r"^(gatehouse_[a-zA-Z0-9_]+)(?:\{([^}]*)\})? ", metrics_text, re.M):
        names = set(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="', m.group(2) or ""))
        labels.setdefault(family_of(m.group(1)), set()).update(names)
    return labels


def documented_labels():
    """family -> the label names its row in docs/operations.md's metrics table names."""
    with open(OPERATIONS) as f:
        section = f.read().split("\n## Metrics\n", 1)[1].split("\n## ", 1)[0]
    labels = {}
    for line in section.splitlines():
        cells = line.split("|")
        if not line.startswith("| `gatehouse_") or len(cells) < 4:
            continue
        names = set(re.findall(r"`([a-z_]+)`", cells[3]))
        for family in re.findall(r"`(gatehouse_[a-z0-9_]+)`", cells[1]):
            labels[family] = names
    return labels


# Labels Prometheus adds to every series it scrapes, and those the queries make themselves.
TARGET_LABELS = {"job", "instance"}
MADE_LABELS = {"le", "class"}


def label_errors(expr, known):
    """Labels an expression selects or groups by that its metrics do not carry."""
    errors = []
    in_expr = set(TARGET_LABELS) | MADE_LABELS
    for m in re.finditer(r"(gatehouse_[a-zA-Z0-9_]+)\{([^}]*)\}", expr):
        family = family_of(m.group(1))
        allowed = known.get(family, set()) | TARGET_LABELS | ({"le"} if m.group(1).endswith("_bucket") else set())
        in_expr |= allowed
        for name in re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)", m.group(2)):
            if name not in allowed:
                errors.append("%s has no label %s" % (family, name))
    for m in re.finditer(r"\b(?:by|without)\s*\(([^)]*)\)", expr):
        for name in re.split(r"\s*,\s*", m.group(1).strip()):
            if name and name not in in_expr:
                errors.append("groups by %s, a label none of its metrics has" % name)
    return errors


# --- promtool -----------------------------------------------------------------------------

def test_the_alerting_rules_load_in_promtool():
    rc, out = run_promtool("check", "rules", ALERTS)
    assert rc == 0, out
    assert "SUCCESS: %d rules found" % len(alert_rules()) in out, out


def test_the_alerts_fire_on_failures_and_stay_quiet_on_healthy_series():
    rc, out = run_promtool("test", "rules", ALERTS_TEST)
    assert rc == 0, out
    assert "SUCCESS" in out, out


def test_every_alert_tells_the_on_call_engineer_what_and_where():
    rules = alert_rules()
    assert len(rules) >= 10
    with open(OPERATIONS) as f:
        headings = {anchor(l.lstrip("#").strip()) for l in f if l.startswith("#")}
    for r in rules:
        assert r.get("for"), r["alert"]
        assert r["labels"]["severity"] in ("warning", "critical"), r["alert"]
        assert r["annotations"]["summary"] and r["annotations"]["description"], r["alert"]
        links = re.findall(r"operations\.md#([a-z0-9-]+)", r["annotations"]["description"])
        assert links, "%s links no runbook" % r["alert"]
        for link in links:
            assert link in headings, "%s links #%s, not a heading of docs/operations.md" % (r["alert"], link)


def anchor(heading):
    """A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to '-'."""
    return re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")


# --- the dashboard ------------------------------------------------------------------------

def test_the_dashboard_parses_and_every_panel_has_a_datasource_and_a_query():
    dash = dashboard()
    assert dash["schemaVersion"] >= 36
    inputs = [i["name"] for i in dash["__inputs"] if i["type"] == "datasource"]
    assert inputs == ["DS_PROMETHEUS"]
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    assert {"instance", "route"} <= set(variables)
    ps = panels(dash)
    assert len(ps) >= 15
    ids = [p["id"] for p in ps]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    for p in ps:
        assert p.get("datasource", {}).get("uid") == "${DS_PROMETHEUS}", p["title"]
        targets = [t for t in p.get("targets", []) if t.get("expr")]
        assert targets, "panel %r has no query" % p["title"]
        for t in targets:
            assert t.get("datasource", {}).get("uid") == "${DS_PROMETHEUS}", p["title"]
            assert "$instance" in t["expr"] or "${instance" in t["expr"], (p["title"], t["expr"])


# --- every metric queried exists ----------------------------------------------------------

# Families a test cannot start cheaply (an external policy service, fault injection, DNS
# re-resolution): checked against the documented table instead.
DOCUMENTED_ONLY = {
    "gatehouse_policy_calls_total", "gatehouse_policy_cache_total",
    "gatehouse_policy_call_duration_seconds", "gatehouse_faults_injected_total",
    "gatehouse_dns_resolutions_total",
}


@pytest.fixture(scope="module")
def scraped(tmp_path_factory):
    """/metrics of a gateway with the features whose metrics the rules and dashboard query:
    a TLS listener, a JWT provider fetching its keys from a jwks_uri served here, an upstream
    with health checks and outlier detection, a rate limit kept in Redis, a WebSocket route;
    after a few requests went through each."""
    d = tmp_path_factory.mktemp("contrib")
    ca = CertAuthority(str(d))
    cert, key = ca.issue("api", "api.test", dns=["api.test"], ips=["127.0.0.1"])
    signing_key = ec.generate_private_key(ec.SECP256R1())
    redis = Redis().start()
    try:
        with IdP(free_port()) as idp, Upstream(free_port()) as up:
            idp.keys = [ec_jwk(signing_key, "k1")]
            idp.start()
            gw = Gateway(gateway_yaml(idp, up.port, redis.port),
                         tls="{certificate: %s, private_key: %s}" % (cert, key))
            try:
                exercise(gw, ca.ca_file, sign(signing_key, "k1", "ES256",
                                              token_claims(idp.issuer, AUD)))
                yield gw.metrics()
            finally:
                gw.__exit__(None, None, None)
    finally:
        redis.stop()


def gateway_yaml(idp, upstream_port, redis_port):
    return """
identity:
  jwt:
    corp: {issuer: %s, audiences: [%s], algorithms: [ES256], jwks_uri: %s, ca_file: %s}
stores:
  redis: {address: 127.0.0.1:%d, timeout: 500ms, on_failure: local}
rate_limits:
  per-client: {key: client_ip, rate: 100/s, burst: 100, store: redis}
upstreams:
  app:
    endpoints: [http://127.0.0.1:%d]
    health: {http: {path: /healthz, interval: 200ms, timeout: 150ms}}
    outlier: {consecutive_failures: 5}
routes:
  - name: orders
    match: {prefix: /orders}
    auth: {jwt: corp}
    rate_limit: per-client
    upstream: app
  - name: chat
    match: {prefix: /chat}
    auth: none
    websocket: {}
    upstream: app
""" % (idp.issuer, AUD, idp.jwks_uri, idp.ca_file, redis_port, upstream_port)


def exercise(gw, ca_file, token):
    """Requests that make the gateway count: one authenticated, one refused, one reload."""
    with requests.Session() as s:
        # verify per request: a session's own is overridden by REQUESTS_CA_BUNDLE.
        ok = s.get(gw.url + "/orders", headers={"Authorization": "Bearer " + token},
                   verify=ca_file, timeout=10)
        assert ok.status_code == 200, ok.text
        refused = s.get(gw.url + "/orders", verify=ca_file, timeout=10)
        assert refused.status_code == 401
    status, _ = gw.admin("/reload", "POST")
    assert status == 200
    gw.wait_metric('gatehouse_reloads_total{result="success"}', 1)
    gw.wait_metric('gatehouse_requests_total{route="orders",code="200"}', 1)


def queried_metrics():
    """(where, name) for every metric the rules and the dashboard query."""
    used = [("alerts.yaml: " + r["alert"], n) for r in alert_rules() for n in names_in(r["expr"])]
    dash = dashboard()
    used += [("gatehouse.json: " + e, n) for e in dashboard_exprs(dash) for n in names_in(e)]
    used += [("gatehouse.json: variable " + v["name"], n) for v in dash["templating"]["list"]
             for n in names_in(v.get("definition", ""))]
    return used


def test_every_queried_metric_is_exported_by_a_running_gateway_or_documented(scraped):
    exported = exported_families(scraped)
    documented = set(documented_labels())
    assert "gatehouse_jwks_age_seconds" in exported and "gatehouse_redis_up" in exported, \
        "the gateway did not start the features the check relies on"
    used = queried_metrics()
    assert used
    missing = [(where, n) for where, n in used
               if n not in exported and not (n in DOCUMENTED_ONLY and n in documented)]
    assert not missing, "\n".join("%s uses %s, which no gateway exports" % m for m in missing)


def test_every_label_queried_is_one_the_metric_carries(scraped):
    known = documented_labels()
    for family, names in exported_labels(scraped).items():
        known.setdefault(family, set()).update(names)
    exprs = [("alerts.yaml: " + r["alert"], r["expr"]) for r in alert_rules()]
    exprs += [("gatehouse.json", e) for e in dashboard_exprs(dashboard())]
    errors = ["%s: %s in %s" % (where, err, expr) for where, expr in exprs for err in label_errors(expr, known)]
    assert not errors, "\n".join(errors)


def test_the_dashboard_queries_are_valid_promql(tmp_path):
    """Each query, with Grafana's variables given values, loaded as a recording rule."""
    values = {"$__rate_interval": "5m", "$__range": "1h", "$instance": ".*", "$route": ".*"}
    rules = []
    for i, expr in enumerate(dashboard_exprs(dashboard())):
        for var, value in values.items():
            expr = expr.replace(var, value)
        rules.append({"record": "gatehouse:dashboard_query_%d" % i, "expr": expr})
    path = tmp_path / "dashboard_rules.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    rc, out = run_promtool("check", "rules", str(path))
    assert rc == 0, out


def test_the_rules_and_dashboard_cover_the_metrics_they_are_meant_to():
    alerts = {n for where, n in queried_metrics() if where.startswith("alerts.yaml")}
    panels_use = {n for where, n in queried_metrics() if where.startswith("gatehouse.json")}
    for name in ("gatehouse_tls_certificate_expiry_days", "gatehouse_jwks_age_seconds",
                 "gatehouse_jwks_keys", "gatehouse_redis_up", "gatehouse_refusals_total",
                 "gatehouse_upstream_endpoint_healthy", "gatehouse_upstream_endpoint_ejected",
                 "gatehouse_reloads_total", "gatehouse_access_log_dropped_total",
                 "gatehouse_requests_total"):
        assert name in alerts, name
    for name in ("gatehouse_requests_total", "gatehouse_request_duration_seconds",
                 "gatehouse_refusals_total", "gatehouse_auth_failures_total",
                 "gatehouse_rate_limit_decisions_total", "gatehouse_upstream_requests_total",
                 "gatehouse_upstream_retries_total", "gatehouse_upstream_ejections_total",
                 "gatehouse_upstream_endpoint_healthy", "gatehouse_tls_handshakes_total",
                 "gatehouse_tls_certificate_expiry_days", "gatehouse_jwks_age_seconds",
                 "gatehouse_jwks_keys", "gatehouse_redis_up", "gatehouse_redis_roundtrip_seconds",
                 "gatehouse_websocket_sessions_active", "gatehouse_reloads_total",
                 "gatehouse_config_info"):
        assert name in panels_use, name
