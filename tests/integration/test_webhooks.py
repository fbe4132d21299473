"""Webhook signatures (identity.hmac): GitHub's documented example accepted once and refused as a
replay, Stripe and Slack signed as their documentation describes, a rotated secret, and every
refusal (missing, wrong, stale, malformed) with nothing forwarded; what the access log says; the
configuration rules."""
import hashlib
import hmac
import time

import requests

from testenv import check_config

GITHUB_SECRET = "It's a Secret to Everybody"  # GitHub's documented example
GITHUB_BODY = b"Hello, World!"
GITHUB_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def config(tmp_path, upstream):
    secrets = {"github": GITHUB_SECRET, "stripe": "whsec_0123456789abcdefstripe",
               "slack": "8f742231b10e8888abcd99yyyzzz85a5", "old": "the-secret-being-retired-0001",
               "generic": "generic-shared-secret-0123456789"}
    for name, value in secrets.items():
        (tmp_path / name).write_text(value)
    return """
identity:
  hmac:
    github: {scheme: github, secrets: ["${file:%(d)s/github}"]}
    stripe: {scheme: stripe, secrets: ["${file:%(d)s/stripe}"], tolerance: 5m}
    slack: {scheme: slack, secrets: ["${file:%(d)s/slack}", "${file:%(d)s/old}"]}
    generic: {scheme: generic, secrets: ["${file:%(d)s/generic}"], header: X-Hook-Signature,
              timestamp_header: X-Hook-Timestamp, tolerance: 1m}
upstreams:
  app: {endpoints: [http://127.0.0.1:%(port)d]}
routes:
  - {name: github, match: {path: /hooks/github}, auth: {hmac: github}, upstream: app}
  - {name: stripe, match: {path: /hooks/stripe}, auth: {hmac: stripe}, upstream: app}
  - {name: slack, match: {path: /hooks/slack}, auth: {hmac: slack}, upstream: app}
  - {name: generic, match: {path: /hooks/generic}, auth: {hmac: generic}, upstream: app}
""" % {"d": tmp_path, "port": upstream.port}, secrets


def sign(secret, text):
    return hmac.new(secret.encode(), text, hashlib.sha256).hexdigest()


def test_github_documented_example_and_replay(gateway_for, upstream, tmp_path):
    yaml, _ = config(tmp_path, upstream)
    gw = gateway_for(yaml)
    r = requests.post(gw.url + "/hooks/github", data=GITHUB_BODY, headers={"X-Hub-Signature-256": GITHUB_SIGNATURE})
    assert r.status_code == 200 and upstream.requests[-1][3] == GITHUB_BODY
    r = requests.post(gw.url + "/hooks/github", data=GITHUB_BODY, headers={"X-Hub-Signature-256": GITHUB_SIGNATURE})
    assert r.status_code == 401 and r.json()["type"].endswith("invalid-signature")
    assert gw.access_lines(2)[1]["detail"] == "a signature already used (a replay)"
    assert len(upstream.requests) == 1


def test_the_access_log_says_how_it_was_authenticated(gateway_for, upstream, tmp_path):
    """A route authenticated by a signature alone logs auth and auth_reason like every other
    authenticated route: its stage's log hook writes them."""
    yaml, _ = config(tmp_path, upstream)
    gw = gateway_for(yaml)
    requests.post(gw.url + "/hooks/github", data=GITHUB_BODY, headers={"X-Hub-Signature-256": GITHUB_SIGNATURE})
    requests.post(gw.url + "/hooks/github", data=GITHUB_BODY, headers={"X-Hub-Signature-256": "sha256=" + "0" * 64})
    ok, refused = gw.access_lines(2)
    assert ok["status"] == 200 and ok["auth"] == "ok" and ok["auth_reason"] is None, ok
    assert refused["status"] == 401 and refused["auth"] == "failed", refused
    assert refused["auth_reason"] == "the signature does not match", refused


def test_stripe_and_slack_as_documented(gateway_for, upstream, tmp_path):
    yaml, secrets = config(tmp_path, upstream)
    gw = gateway_for(yaml)
    ts = str(int(time.time()))
    body = b'{"id": "evt_1", "type": "payment_intent.succeeded"}'
    sig = sign(secrets["stripe"], ts.encode() + b"." + body)
    header = "t=%s,v1=%s,v1=%s,v0=%s" % (ts, "0" * 64, sig, "f" * 64)
    r = requests.post(gw.url + "/hooks/stripe", data=body, headers={"Stripe-Signature": header})
    assert r.status_code == 200 and upstream.requests[-1][3] == body
    form = b"token=xyzz0WbapA4vBCDEbOTEMBEP&team_id=T1DC2JH3J&command=%2Fweather&text=94070"
    for secret in ("slack", "old"):  # the retiring secret still verifies
        ts = str(int(time.time()) - (1 if secret == "old" else 0))
        sig = "v0=" + sign(secrets[secret], b"v0:" + ts.encode() + b":" + form)
        r = requests.post(gw.url + "/hooks/slack", data=form,
                          headers={"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig})
        assert r.status_code == 200, secret
    # A chunked body is signed over its bytes, and goes on with a Content-Length.
    ts = str(int(time.time()))
    body = b'{"chunked": true}'
    sig = sign(secrets["generic"], ts.encode() + b"." + body)
    r = requests.post(gw.url + "/hooks/generic", data=iter([body[:5], body[5:]]),
                      headers={"X-Hook-Signature": sig, "X-Hook-Timestamp": ts})
    assert r.status_code == 200 and upstream.requests[-1][3] == body
    assert upstream.requests[-1][2]["content-length"] == str(len(body))


def test_refusals(gateway_for, upstream, tmp_path):
    yaml, secrets = config(tmp_path, upstream)
    gw = gateway_for(yaml)
    now = int(time.time())
    body = b"payload"
    good = sign(secrets["generic"], str(now).encode() + b"." + body)
    cases = [
        ({}, "missing-signature", "no signature header"),
        ({"X-Hook-Signature": good}, "missing-signature", "no signed timestamp header"),
        ({"X-Hook-Signature": "sha256=" + "0" * 64, "X-Hook-Timestamp": str(now)}, "invalid-signature",
         "the signature does not match"),
        ({"X-Hook-Signature": good[:-2], "X-Hook-Timestamp": str(now)}, "invalid-signature",
         "a malformed signature header"),
        ({"X-Hook-Signature": sign(secrets["generic"], str(now - 600).encode() + b"." + body),
          "X-Hook-Timestamp": str(now - 600)}, "invalid-signature", "the signed timestamp is outside the tolerance"),
        ({"X-Hook-Signature": good, "X-Hook-Timestamp": "12x"}, "invalid-signature", "a malformed signed timestamp"),
        ({"X-Hook-Signature": sign(secrets["slack"], str(now).encode() + b"." + body), "X-Hook-Timestamp": str(now)},
         "invalid-signature", "the signature does not match"),
    ]
    for i, (headers, reason, detail) in enumerate(cases):
        r = requests.post(gw.url + "/hooks/generic", data=body, headers=headers)
        assert r.status_code == 401 and r.json()["type"].endswith(reason), (headers, r.text)
        line = gw.access_lines(i + 1)[i]
        assert line["reason"] == reason and line["detail"] == detail, line
    # The body was changed on the way: the signature no longer matches.
    r = requests.post(gw.url + "/hooks/generic", data=body + b"!",
                      headers={"X-Hook-Signature": good, "X-Hook-Timestamp": str(now)})
    assert r.status_code == 401
    assert upstream.requests == []
    r = requests.post(gw.url + "/hooks/generic", data=body, headers={"X-Hook-Signature": good, "X-Hook-Timestamp": str(now)})
    assert r.status_code == 200 and upstream.requests[-1][3] == body


def test_configuration_rules(tmp_path):
    (tmp_path / "short").write_text("too-short")
    for hmac_conf, message in [
        ("{scheme: github}", "secrets: required"),
        ("{scheme: github, secrets: [plain-inline-secret-value]}", "${env:NAME}"),
        ("{scheme: github, secrets: ['${file:%s/short}']}" % tmp_path, "at least 16 bytes"),
        ("{scheme: github, secrets: [], header: X-Sig}", "header is for generic"),
        ("{scheme: gitlab, secrets: []}", "scheme"),
        ("{scheme: generic, secrets: ['${file:%s/short}'], header: Authorization}", "other than Authorization"),
    ]:
        out = check_config(tmp_path, "listeners: [{address: 127.0.0.1:1}]\nidentity:\n  hmac:\n    h: %s\n"
                           "routes: [{name: r, match: {prefix: /}, auth: {hmac: h}, respond: {}}]\n" % hmac_conf)
        assert out.returncode != 0 and message in out.stderr and "c.yaml:4:" in out.stderr, (hmac_conf, out.stderr)
