"""The body part of `make bench`: a POST of a 1 KiB JSON body to one gateway, on a route that
validates it against a schema of fifteen keywords and on the same route without the schema,
alternating within each round."""
import json
import os

from measures import cpu, errors, rate

SCHEMA = {
    "type": "object",
    "required": ["id", "customer", "items"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "customer": {"type": "object", "required": ["email"],
                     "properties": {"email": {"type": "string", "maxLength": 254, "format": "email"},
                                    "name": {"type": "string", "minLength": 1}}},
        "priority": {"enum": ["low", "normal", "high"]},
        "note": {"type": "string", "maxLength": 200},
        "items": {"type": "array", "minItems": 1, "maxItems": 50, "uniqueItems": True,
                  "items": {"type": "object", "required": ["sku", "qty"],
                            "properties": {"sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{4}$"},
                                           "qty": {"type": "integer", "minimum": 1, "maximum": 999},
                                           "price": {"type": "number", "exclusiveMinimum": 0,
                                                     "multipleOf": 0.01}}}},
    },
}


def body():
    doc = {"id": "7f1c8e2a-3b4d-4c5e-8f9a-0b1c2d3e4f5a",
           "customer": {"email": "ada@example.com", "name": "Ada Lovelace"},
           "priority": "normal", "note": "leave at the door", "items": []}
    i = 0
    while len(json.dumps(doc)) < 1024 - 50:
        doc["items"].append({"sku": "ABC-%04d" % i, "qty": 1 + i % 7, "price": 12.5})
        i += 1
    text = json.dumps(doc)
    return text + " " * (1024 - len(text))


def prepare(d):
    """The schema file and a wrk script that POSTs the body; returns the wrk arguments."""
    with open(os.path.join(d, "order.schema.json"), "w") as f:
        json.dump(SCHEMA, f)
    with open(os.path.join(d, "post.lua"), "w") as f:
        f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                "wrk.body = %s\n" % json.dumps(body()))
    return ["-s", os.path.join(d, "post.lua")]


def gatehouse_yaml(d, port, up_port):
    return """workers: 1
listeners: [{address: 127.0.0.1:%d}]
access_log: off
upstreams:
  app: {endpoints: [http://127.0.0.1:%d], max_concurrency: 10000}
routes:
  - {name: validated, match: {prefix: /validated}, auth: none, upstream: app,
     body: {schema: %s, content_types: [application/json], max_bytes: 64k}}
  - {name: plain, match: {prefix: /plain}, auth: none, upstream: app}
""" % (port, up_port, os.path.join(d, "order.schema.json"))


def run(wrk, args, port, pid, rounds):
    out = {"validated": [], "plain": []}
    for name in out:
        wrk("http://127.0.0.1:%d/%s" % (port, name), pid, args)  # warm up
    for r in range(rounds):
        for name in (["validated", "plain"] if r % 2 == 0 else ["plain", "validated"]):
            out[name].append(wrk("http://127.0.0.1:%d/%s" % (port, name), pid, args))
            v = out[name][-1]
            print("body round %d %-9s %9.0f req/s  errors %d  cpu %.2f us/req" % (r + 1, name, v[0], v[2], v[3]),
                  flush=True)
    return out


def report(res, within_round):
    ratio = within_round(res, "validated", "plain", 0)
    return ["", "## Request bodies",
            "",
            "One gateway, a POST of a 1 KiB JSON order (`bench/body_bench.py`) on a route that reads it",
            "whole and validates it against a JSON Schema of fifteen keywords (type, required,",
            "additionalProperties, properties, format, maxLength, minLength, enum, minItems, maxItems,",
            "uniqueItems, items, pattern, minimum/maximum, exclusiveMinimum, multipleOf), and on the",
            "same route without the schema, which streams the body through.",
            "",
            "| route | req/s | gatehouse CPU per request |",
            "|---|---:|---:|",
            "| validated | %.0f | %.2f us |" % (rate(res["validated"]), cpu(res["validated"])),
            "| not validated | %.0f | %.2f us |" % (rate(res["plain"]), cpu(res["plain"])),
            "",
            "| target | measured | goal | met |",
            "|---|---:|---:|:---:|",
            "| validated vs not validated | %.2fx | >= 0.70x | %s |" % (ratio, "yes" if ratio >= 0.7 else "no"),
            "",
            "Errors (non-2xx or socket errors) across the body runs: %d." % errors(res)]
