"""gatehouse probe --only cors, live against a gateway: a route that lists its pages' exact origins
(with credentials) and a route without CORS pass every case; origins: ["*"] on a route whose
callers authenticate fails CORS-001, and a wildcard host with credentials fails CORS-010."""

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from conftest import jwt_identity
from testenv.probe import run_probe

ISS, AUD = "https://issuer.example.com", "orders-api"
CASES = ["CORS-%03d" % i for i in range(1, 11)]
SOUND = """{origins: ["https://shop.example.com"], methods: [GET], headers: [Authorization],
            credentials: true, max_age: 10m}"""


def config(tmp_path, upstream, cors, more=""):
    key = ec.generate_private_key(ec.SECP256R1())
    pem = tmp_path / "signing.pem"
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    return jwt_identity(tmp_path, key, ISS, AUD, upstream.port) + """
routes:
  - name: orders
    match: {prefix: /orders, methods: [GET, POST]}
    auth: {jwt: corp}
    upstream: app
    cors: %s
%s  - {name: plain, match: {prefix: /, methods: [GET]}, auth: none, upstream: app}
""" % (cors, more), pem


def probe(gw, pem, only="cors", config_file=None):
    """Live against gw with the signing key, or self-test of config_file."""
    target = (["-c", str(config_file)] if config_file else
              ["--target", gw.url, "-c", gw.config, "--profile", "full", "--signing-key", str(pem), "--kid", "k1"])
    verdicts, report, _ = run_probe(*target, "--only", only, timeout=60)
    return verdicts, report


def test_exact_origins_hold_against_every_case(gateway_for, upstream, tmp_path):
    yaml, pem = config(tmp_path, upstream, SOUND)
    gw = gateway_for(yaml)
    verdicts, text = probe(gw, pem)
    assert sorted(verdicts) == CASES, text
    assert verdicts["CORS-010"] == ("skip", "no route allows a wildcard origin (https://*.example.com) "
                                            "with credentials"), text
    bad = {k: v for k, v in verdicts.items() if k != "CORS-010" and v[0] != "pass"}
    assert not bad, text
    # The method asked for is one the route takes and its cors leaves out: the CORS refusal.
    assert verdicts["CORS-006"][1].startswith("a preflight for POST, which cors.methods leaves out, got no grant (403)")


def test_any_origin_on_an_authenticated_route_fails_cors_001(gateway_for, upstream, tmp_path):
    yaml, pem = config(tmp_path, upstream, '{origins: ["*"], methods: [GET]}')
    gw = gateway_for(yaml)
    verdicts, text = probe(gw, pem)
    assert verdicts["CORS-001"][0] == "fail", text
    assert "Access-Control-Allow-Origin: * for https://evil.probe.invalid" in verdicts["CORS-001"][1]
    assert verdicts["CORS-003"][0] == "fail", text  # null is any origin too
    assert verdicts["CORS-002"][0] == "pass", text  # the route without cors grants nothing


def test_a_wildcard_host_with_credentials_fails_cors_010(gateway_for, upstream, tmp_path):
    yaml, pem = config(tmp_path, upstream, """{origins: ["https://shop.example.com", "https://*.example.com"],
            methods: [GET], credentials: true}""")
    gw = gateway_for(yaml)
    verdicts, text = probe(gw, pem)
    assert verdicts["CORS-010"][0] == "fail", text
    assert "https://probe-takeover.example.com" in verdicts["CORS-010"][1]
    # Look-alikes outside the domain are still refused; those inside are CORS-010's finding.
    assert verdicts["CORS-004"] == ("pass", "look-alikes of https://shop.example.com (suffix, prefix) got no grant"), text
    assert verdicts["CORS-005"][0] == "pass", text


def test_self_test_agrees(upstream, tmp_path):
    yaml, pem = config(tmp_path, upstream, SOUND)
    conf = tmp_path / "gatehouse.yaml"
    conf.write_text("listeners: [{address: 127.0.0.1:8080}]\n" + yaml)
    verdicts, text = probe(None, pem, config_file=conf)
    assert all(v[0] == "pass" for k, v in verdicts.items() if k != "CORS-010"), text
    yaml, pem = config(tmp_path, upstream, '{origins: ["*"], methods: [GET]}')
    conf.write_text("listeners: [{address: 127.0.0.1:8080}]\n" + yaml)
    verdicts, text = probe(None, pem, "CORS-001", config_file=conf)
    assert verdicts["CORS-001"][0] == "fail", text


def test_without_a_configuration_the_origins_no_one_may_have_are_still_tried(gateway_for, upstream, tmp_path):
    yaml, _ = config(tmp_path, upstream, SOUND)
    gw = gateway_for(yaml)
    verdicts, _, _ = run_probe("--target", gw.url, "--path", "/plain", "--only", "cors", timeout=60)
    assert verdicts["CORS-001"][0] == verdicts["CORS-003"][0] == "pass", verdicts
    assert verdicts["CORS-002"] == ("pass", "GET /plain answered https://evil.probe.invalid with no CORS grant (200)")
    assert verdicts["CORS-004"] == ("skip", "needs the configuration (-c FILE) to know the origins a route allows")


def test_every_cors_route_is_tried_with_the_evil_origin(gateway_for, upstream, tmp_path):
    """The first CORS route holds; a second one open to any origin is found and named."""
    yaml, pem = config(tmp_path, upstream, SOUND, more="""  - name: reports
    match: {prefix: /reports, methods: [GET]}
    auth: {jwt: corp}
    upstream: app
    cors: {origins: ["*"]}
""")
    gw = gateway_for(yaml)
    _, _, doc = run_probe("--target", gw.url, "-c", gw.config, "--signing-key", str(pem), "--kid", "k1",
                          "--only", "CORS-001", timeout=60)
    (result,) = doc["results"]
    assert (result["verdict"], result["route"]) == ("fail", "reports"), result
