"""gatehouse probe --only bodies, live against a gateway and a real upstream: against a route whose
schema closes its objects every case passes (and the upstream sees only the valid bodies the
cases start with); a schema that lets unknown properties through fails BODY-013 by id."""
import json

from testenv.probe import run_probe

CASES = ["BODY-%03d" % i for i in range(1, 16)]

SCHEMA = {"type": "object", "required": ["item", "qty"],
          "properties": {"item": {"type": "string", "maxLength": 64},
                         "qty": {"type": "integer", "minimum": 1, "maximum": 1000},
                         "note": {"type": "string"}}}


def config(tmp_path, upstream, closed=True, open_route=False):
    """The orders route validates with SCHEMA, closed or not; open_route adds a second validated
    route after it whose schema is open."""
    schema = dict(SCHEMA, additionalProperties=False) if closed else SCHEMA
    (tmp_path / "order.json").write_text(json.dumps(schema))
    (tmp_path / "profile.json").write_text(json.dumps({"type": "object", "required": ["name"],
                                                      "properties": {"name": {"type": "string"}}}))
    more = """  - name: profiles
    match: {path: /profiles, methods: [PUT]}
    auth: none
    upstream: app
    body: {schema: %s}
""" % (tmp_path / "profile.json") if open_route else ""
    return """
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]}
routes:
  - name: orders
    match: {path: /orders, methods: [POST]}
    auth: none
    upstream: app
    body: {content_types: [application/json], schema: %s, max_depth: 8}
  - {name: items, match: {prefix: /items, methods: [GET]}, auth: none, upstream: app}
%s""" % (upstream.port, tmp_path / "order.json", more)


def probe(gw, only="bodies", config_file=None):
    """Live against gw, or self-test of config_file (the probe starts the gateway itself)."""
    target = ["-c", str(config_file)] if config_file else ["--target", gw.url, "-c", gw.config, "--profile", "full"]
    verdicts, report, _ = run_probe(*target, "--only", only, timeout=60)
    return verdicts, report


def test_a_closed_schema_holds_against_every_case(gateway_for, upstream, tmp_path):
    gw = gateway_for(config(tmp_path, upstream))
    verdicts, text = probe(gw)
    assert sorted(verdicts) == CASES, text
    bad = {k: v for k, v in verdicts.items() if v[0] != "pass"}
    assert not bad, text
    # What reached the upstream: the valid bodies each case starts with, and the GET of BODY-014.
    for method, path, headers, body in upstream.requests:
        if method == "POST":
            assert json.loads(body) == {"item": "probe", "qty": 1}
        else:
            assert (method, body) == ("GET", b"")


def test_a_schema_open_to_unknown_properties_fails_mass_assignment(gateway_for, upstream, tmp_path):
    gw = gateway_for(config(tmp_path, upstream, closed=False))
    verdicts, text = probe(gw, "BODY-013,BODY-006")
    assert verdicts["BODY-013"][0] == "fail", text
    assert "role, is_admin and owner_id reached the upstream" in verdicts["BODY-013"][1]
    assert verdicts["BODY-006"][0] == "pass", text  # the rest still holds
    assert any(b"is_admin" in body for _, _, _, body in upstream.requests)


def test_each_schema_is_tried_and_the_open_one_is_named(gateway_for, upstream, tmp_path):
    gw = gateway_for(config(tmp_path, upstream, open_route=True))
    verdicts, text = probe(gw, "BODY-013")
    assert verdicts["BODY-013"][0] == "fail", text
    assert "reached the upstream of route profiles" in verdicts["BODY-013"][1]
    assert [(m, p) for m, p, _, b in upstream.requests if b"is_admin" in b] == [("PUT", "/profiles")]


def test_self_test_sees_nothing_of_the_attempts_reach_the_upstream(upstream, tmp_path):
    """Self-test: the probe's own recording upstream shows each refused attempt never arrived;
    an open schema lets the probe see the unknown fields arrive."""
    conf = tmp_path / "gatehouse.yaml"
    conf.write_text("listeners: [{address: 127.0.0.1:8080}]\n" + config(tmp_path, upstream))
    verdicts, text = probe(None, config_file=conf)
    assert sorted(verdicts) == CASES and all(v[0] == "pass" for v in verdicts.values()), text
    assert all(v[1].endswith("nothing forwarded") for v in verdicts.values()), text
    conf.write_text("listeners: [{address: 127.0.0.1:8080}]\n" + config(tmp_path, upstream, closed=False))
    verdicts, text = probe(None, "BODY-013", config_file=conf)
    assert verdicts["BODY-013"][0] == "fail", text
    assert upstream.requests == []  # self-test stands in for every upstream
