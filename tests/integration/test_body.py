"""Request bodies: size (413 before reading), content types (415), a JSON body validated against
the route's schema before anything goes upstream (400 with the errors), the JSON limits, the body
timeout, HTTP/2, and schemas refused by `check` where they are wrong."""
import json
import socket
import subprocess
import time

import requests

from testenv import BIN, raw_request

ORDER_SCHEMA = {
    "$defs": {"sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{4}$"}},
    "type": "object",
    "required": ["id", "items"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "note": {"type": "string", "maxLength": 20},
        "priority": {"enum": ["low", "high"]},
        "items": {"type": "array", "minItems": 1, "maxItems": 5, "uniqueItems": True,
                  "items": {"type": "object", "required": ["sku", "qty"],
                            "properties": {"sku": {"$ref": "#/$defs/sku"},
                                           "qty": {"type": "integer", "minimum": 1, "maximum": 99}}}},
    },
}


def config(tmp_path, upstream, body="{schema: %s, max_bytes: 4k, format_assertion: true, timeout: 2s}"):
    (tmp_path / "order.json").write_text(json.dumps(ORDER_SCHEMA))
    return """
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]}
routes:
  - name: orders
    match: {path: /orders, methods: [POST]}
    auth: none
    upstream: app
    body: %s
  - name: uploads
    match: {prefix: /uploads}
    auth: none
    upstream: app
    body: {content_types: [image/*, application/pdf], max_bytes: 1k, timeout: 1s}
""" % (upstream.port, body % (tmp_path / "order.json") if "%s" in body else body)


GOOD = {"id": "7f1c8e2a-3b4d-4c5e-8f9a-0b1c2d3e4f5a", "items": [{"sku": "ABC-1234", "qty": 2}]}


def test_a_valid_body_is_forwarded_with_its_length(gateway_for, upstream, tmp_path):
    gw = gateway_for(config(tmp_path, upstream))
    body = json.dumps(GOOD).encode()
    r = requests.post(gw.url + "/orders", data=body, headers={"Content-Type": "application/json; charset=utf-8"})
    assert r.status_code == 200
    method, path, headers, seen = upstream.requests[-1]
    assert seen == body and headers["content-length"] == str(len(body))
    # A chunked body is read whole and goes on with a Content-Length.
    r = requests.post(gw.url + "/orders", data=iter([body[:10], body[10:]]),
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 200 and upstream.requests[-1][3] == body
    assert upstream.requests[-1][2]["content-length"] == str(len(body))
    assert "transfer-encoding" not in upstream.requests[-1][2]


def test_schema_errors_are_listed_and_nothing_is_forwarded(gateway_for, upstream, tmp_path):
    gw = gateway_for(config(tmp_path, upstream))
    bad = {"id": "not-a-uuid", "items": [{"sku": "abc", "qty": 0}, {"sku": "abc", "qty": 0}],
           "extra": True, "note": "x" * 30}
    r = requests.post(gw.url + "/orders", json=bad)
    assert r.status_code == 400 and r.headers["Content-Type"] == "application/problem+json"
    doc = r.json()
    assert doc["type"] == "urn:gatehouse:problem:schema-validation-failed"
    errors = {(e["instance_path"], e["schema_path"]) for e in doc["errors"]}
    assert ("/id", "#/properties/id/format") in errors
    assert ("/items/0/qty", "#/properties/items/items/properties/qty/minimum") in errors
    assert ("/items/0/sku", "#/$defs/sku/pattern") in errors
    assert ("/items", "#/properties/items/uniqueItems") in errors
    assert ("/note", "#/properties/note/maxLength") in errors
    assert ("/extra", "#/additionalProperties") in errors
    assert 1 <= len(doc["errors"]) <= 10 and all(e["message"] for e in doc["errors"])
    assert upstream.requests == []
    line = gw.access_lines(1)[-1]
    assert line["reason"] == "schema-validation-failed" and line["status"] == 400
    assert "/" in line["detail"]


def test_json_limits_and_malformed_bodies(gateway_for, upstream, tmp_path):
    gw = gateway_for(config(tmp_path, upstream, "{schema: %s, max_depth: 8, max_string_bytes: 64}"))
    cases = [b'{"id": "x", ', b'{"id": "a", "id": "b", "items": []}', b"[" * 9 + b"]" * 9,
             b'{"note": "' + b"x" * 65 + b'"}', b"\xff\xfe", b'{"id": 1} trailing']
    for i, body in enumerate(cases):
        r = requests.post(gw.url + "/orders", data=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and r.json()["type"].endswith("invalid-json"), body
        assert gw.access_lines(i + 1)[i]["reason"] == "invalid-json"
    assert upstream.requests == []


def test_content_types_and_sizes(gateway_for, upstream, tmp_path):
    gw = gateway_for(config(tmp_path, upstream))
    r = requests.post(gw.url + "/orders", data=json.dumps(GOOD), headers={"Content-Type": "text/plain"})
    assert r.status_code == 415 and r.json()["type"].endswith("unsupported-media-type")
    assert requests.post(gw.url + "/uploads/a", data=b"GIF89a", headers={"Content-Type": "image/gif"}).status_code == 200
    assert requests.post(gw.url + "/uploads/a", data=b"%PDF", headers={"Content-Type": "Application/PDF"}).status_code == 200
    r = requests.post(gw.url + "/uploads/a", data=b"<x/>", headers={"Content-Type": "text/html"})
    assert r.status_code == 415
    r = requests.post(gw.url + "/uploads/a", data=b"x", headers={"Content-Type": ""})
    assert r.status_code == 415
    assert requests.get(gw.url + "/uploads/a").status_code == 200  # no body: nothing to judge
    # Too large from its Content-Length: refused before the body is sent.
    out = raw_request(gw.port, b"POST /uploads/a HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                               b"Content-Length: 2000\r\n\r\n", timeout=3)
    assert out.startswith(b"HTTP/1.1 413") and b"body.max_bytes" in out and out.closed
    # Too large as it streams.
    r = requests.post(gw.url + "/uploads/a", data=iter([b"x" * 800, b"x" * 800]), headers={"Content-Type": "image/png"})
    assert r.status_code == 413
    assert [m for m, *_ in upstream.requests] == ["POST", "POST", "GET"]  # the two that passed, the GET


def test_a_stalled_body_times_out(gateway_for, upstream, tmp_path):
    gw = gateway_for(config(tmp_path, upstream))
    with socket.create_connection(("127.0.0.1", gw.port)) as s:
        s.sendall(b"POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
        s.settimeout(15)
        start = time.time()
        out = s.recv(4096)
    assert out.startswith(b"HTTP/1.1 408") and 1.5 < time.time() - start < 6
    assert b"body.timeout" in out and upstream.requests == []


def test_bodies_on_http2(gateway_for, upstream, tmp_path):
    gw = gateway_for(config(tmp_path, upstream), listener_extra=", h2c: true")
    url = "http://127.0.0.1:%d/orders" % gw.port
    ok = subprocess.run(["curl", "-sS", "--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_code}",
                         "-H", "Content-Type: application/json", "--data-binary", json.dumps(GOOD), url],
                        capture_output=True, text=True).stdout
    assert ok == "200" and upstream.requests[-1][3] == json.dumps(GOOD).encode()
    bad = subprocess.run(["curl", "-sS", "--http2-prior-knowledge", "-H", "Content-Type: application/json",
                          "--data-binary", '{"id": 5}', url], capture_output=True, text=True).stdout
    assert json.loads(bad)["type"].endswith("schema-validation-failed")


def test_schemas_that_check_refuses(tmp_path):
    for schema, message in [
        ('{"properties": {"qty": {"minimum": "one"}}}', "#/properties/qty/minimum: expected a number"),
        ('{"type": "objekt"}', "#/type: unknown type"),
        ('{"pattern": "(["}', "#/pattern: not a usable regular expression"),
        ('{"$ref": "#/$defs/missing"}', "a $ref to nothing"),
        ('{"$ref": "https://example.com/other.json"}', "outside the file"),
        ('{"type": "object",\n "required": ["a",]}', "s.json:2:"),
        ('{"a": 1, "a": 2}', "duplicate object key"),
        ('{"not": ' * 200 + "{}" + "}" * 200, "nested more than 128 deep"),
    ]:
        (tmp_path / "s.json").write_text(schema)
        p = tmp_path / "c.yaml"
        p.write_text("listeners: [{address: 127.0.0.1:1}]\n"
                     "routes: [{name: r, match: {prefix: /}, auth: none, respond: {},\n"
                     "          body: {schema: s.json}}]\n")
        out = subprocess.run([BIN, "check", "-c", str(p)], capture_output=True, text=True)
        assert out.returncode != 0 and message in out.stderr and "c.yaml:3:" in out.stderr, (schema, out.stderr)
    p.write_text("listeners: [{address: 127.0.0.1:1}]\n"
                 "routes: [{name: r, match: {prefix: /}, auth: none, respond: {}, body: {content_types: [json]}}]\n")
    out = subprocess.run([BIN, "check", "-c", str(p)], capture_output=True, text=True)
    assert out.returncode != 0 and "'json' is not a media type" in out.stderr


def test_validated_routes_take_at_most_a_mebibyte_by_default(gateway_for, upstream, tmp_path):
    gw = gateway_for(config(tmp_path, upstream, "{schema: %s}"))
    out = raw_request(gw.port, b"POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                               b"Content-Length: 1048577\r\n\r\n", timeout=3)
    assert out.startswith(b"HTTP/1.1 413") and b"body.max_bytes" in out and out.closed
    assert upstream.requests == []


def test_catastrophic_patterns_are_bounded(gateway_for, upstream, tmp_path):
    """200 strings against ^(a|aa)+$, each failing at its last character, once blocked a worker
    for seconds: the body is refused within the matching budget with the reason, nothing is
    forwarded, and the worker goes on serving. check warns of the pattern at its place."""
    (tmp_path / "s.json").write_text(json.dumps(
        {"type": "array", "items": {"type": "string", "pattern": "^(a|aa)+$"}}))
    text = """
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]}
routes:
  - name: words
    match: {path: /words, methods: [POST]}
    auth: none
    upstream: app
    body: {schema: %s, max_bytes: 64k}
""" % (upstream.port, tmp_path / "s.json")
    gw = gateway_for(text)
    start = time.monotonic()
    r = requests.post(gw.url + "/words", json=["a" * 39 + "!"] * 200)
    took = time.monotonic() - start
    assert r.status_code == 400 and r.json()["type"].endswith("schema-validation-failed")
    assert took < 1.0, took
    errors = r.json()["errors"]
    assert errors[0]["schema_path"] == "#/items/pattern"
    assert errors[0]["message"] == "the pattern could not be evaluated within the matching budget"
    assert "matching budget" in gw.access_lines(1)[-1]["detail"]
    assert upstream.requests == []
    assert requests.post(gw.url + "/words", json=["aaaa", "a"]).status_code == 200
    p = tmp_path / "c.yaml"
    p.write_text("listeners: [{address: 127.0.0.1:1}]\n" + text)
    out = subprocess.run([BIN, "check", "-c", str(p)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "c.yaml:10:20: warning: routes[0].body.schema:" in out.stderr + out.stdout and "#/items/pattern: a pattern that can take exponential time" in out.stderr + out.stdout


def test_a_pattern_that_needs_a_deep_match_stack_still_matches(gateway_for, upstream, tmp_path):
    """A long string against a pattern whose match outgrows the 32 KiB of machine stack that
    compiled matching starts on is matched on a stack of its own, not refused."""
    (tmp_path / "s.json").write_text(json.dumps({"type": "string", "pattern": "^(a|b)*$"}))
    gw = gateway_for("""
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]}
routes:
  - {name: ab, match: {path: /ab, methods: [POST]}, auth: none, upstream: app,
     body: {schema: %s, max_bytes: 64k}}
""" % (upstream.port, tmp_path / "s.json"))
    assert requests.post(gw.url + "/ab", json="ab" * 2000).status_code == 200
    r = requests.post(gw.url + "/ab", json="ab" * 2000 + "c")
    assert r.status_code == 400 and r.json()["errors"][0]["schema_path"] == "#/pattern"


def test_a_validated_body_is_utf8_whatever_its_charset_says(gateway_for, upstream, tmp_path):
    """The schema judged the bytes as UTF-8: a body declared in another charset (UTF-7 turns
    "+ACI-" into a quote, so a string hides members) is refused before it is read; charset=utf-8
    in any case or quoted, and no charset at all, go on."""
    gw = gateway_for(config(tmp_path, upstream))
    body = json.dumps(GOOD)
    for ct in ("application/json; charset=utf-7", "application/json;charset=UTF-16",
               'application/json; charset="iso-8859-1"', "application/json; q=1; charset=latin1"):
        r = requests.post(gw.url + "/orders", data=body, headers={"Content-Type": ct})
        assert r.status_code == 415 and r.json()["type"].endswith("unsupported-media-type"), ct
    assert upstream.requests == []
    for ct in ("application/json; charset=UTF-8", 'application/json; charset="utf-8"', "application/json;v=1"):
        assert requests.post(gw.url + "/orders", data=body, headers={"Content-Type": ct}).status_code == 200, ct
    assert len(upstream.requests) == 3
    # Routes that only name their types do not read the body: their parameters stay unjudged.
    assert requests.post(gw.url + "/uploads/a", data=b"x", headers={"Content-Type": "image/png; charset=utf-7"}).status_code == 200
