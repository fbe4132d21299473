"""gatehouse probe --only webhooks, live, with the providers' secrets given by --hmac-secret: against
Gatehouse every case passes for each scheme (github, stripe, slack, generic); a tolerance of a day
fails HOOK-005 by id; a naive proxy that forwards whatever comes fails every case; without a
secret the cases skip and say which option gives it."""
import subprocess

from testenv import BIN, free_port
from testenv.probe import run_probe
from test_probe_paths import NaiveProxy

CASES = ["HOOK-%03d" % i for i in range(1, 9)]
SECRETS = {"github": "github-webhook-secret-0123456789", "stripe": "whsec_0123456789abcdefstripe",
           "slack": "8f742231b10e8888abcd99yyyzzz85a5", "generic": "generic-shared-secret-0123456789"}


def config(tmp_path, upstream_port, stripe_tolerance="5m"):
    for name, value in SECRETS.items():
        (tmp_path / name).write_text(value + "\n")
    return """
identity:
  hmac:
    github: {scheme: github, secrets: ["${file:%(d)s/github}"]}
    stripe: {scheme: stripe, secrets: ["${file:%(d)s/stripe}"], tolerance: %(tol)s}
    slack: {scheme: slack, secrets: ["${file:%(d)s/slack}"]}
    generic: {scheme: generic, secrets: ["${file:%(d)s/generic}"], header: X-Hook-Signature,
              timestamp_header: X-Hook-Timestamp, tolerance: 1m}
upstreams:
  app: {endpoints: [http://127.0.0.1:%(port)d]}
routes:
  - {name: github, match: {path: /hooks/github, methods: [POST]}, auth: {hmac: github}, upstream: app}
  - {name: stripe, match: {path: /hooks/stripe, methods: [POST]}, auth: {hmac: stripe}, upstream: app}
  - {name: slack, match: {path: /hooks/slack, methods: [POST]}, auth: {hmac: slack}, upstream: app}
  - {name: generic, match: {path: /hooks/generic, methods: [POST]}, auth: {hmac: generic}, upstream: app}
""" % {"d": tmp_path, "port": upstream_port, "tol": stripe_tolerance}


def probe(url, config_file, tmp_path, held):
    """Live against url with the secrets of the providers held, or self-test (url None: the probe
    starts the gateway and holds every secret)."""
    live = ["--target", url, "--profile", "full"] if url else []
    args = [*live, "-c", str(config_file), "--only", "webhooks"]
    for name in held:
        args += ["--hmac-secret", "%s=%s" % (name, tmp_path / name)]
    verdicts, report, _ = run_probe(*args, timeout=60)
    assert sorted(verdicts) == CASES, report
    return verdicts, report


def test_every_scheme_holds(gateway_for, upstream, tmp_path):
    gw = gateway_for(config(tmp_path, upstream.port))
    # github first (stripe where a timestamp is signed), and github signed with stripe's secret.
    verdicts, text = probe(gw.url, gw.config, tmp_path, ["github", "stripe"])
    assert all(v[0] == "pass" for v in verdicts.values()), text
    assert "for github signed with stripe's secret" in verdicts["HOOK-007"][1]
    assert "X-Hub-Signature: sha1=" in verdicts["HOOK-008"][1]
    # slack (which has no retired form here) and generic with its own headers.
    verdicts, text = probe(gw.url, gw.config, tmp_path, ["slack", "generic"])
    assert all(v[0] == "pass" for v in verdicts.values()), text
    assert "HMAC-SHA1" in verdicts["HOOK-008"][1]  # generic's route, picked for a retired form
    # What the upstream received: only correctly signed requests, each body once.
    bodies = [body for _, _, _, body in upstream.requests]
    assert bodies and len(bodies) == len(set(bodies))
    assert not any(b"Probe" in body for body in bodies)  # the edited body never went on


def test_a_day_of_tolerance_fails_hook_005(gateway_for, upstream, tmp_path):
    gw = gateway_for(config(tmp_path, upstream.port, stripe_tolerance="24h"))
    verdicts, text = probe(gw.url, gw.config, tmp_path, ["stripe"])
    assert verdicts["HOOK-005"][0] == "fail", text
    assert "identity.hmac.stripe.tolerance" in verdicts["HOOK-005"][1]
    assert verdicts["HOOK-004"][0] == "pass", text  # beyond the (long) tolerance is still refused
    assert verdicts["HOOK-006"][0] == "pass", text


def test_a_naive_proxy_fails_every_case(upstream, tmp_path):
    """A proxy that forwards whatever comes (the routes' auth.hmac unread): every case fails, and
    the upstream receives the edited, unsigned, stale, replayed and foreign-signed deliveries."""
    naive = NaiveProxy(upstream.port)
    try:
        conf = tmp_path / "naive.yaml"
        conf.write_text("listeners: [{address: 127.0.0.1:%d}]\n" % naive.port + config(tmp_path, upstream.port))
        verdicts, text = probe("http://127.0.0.1:%d" % naive.port, conf, tmp_path, ["github", "stripe"])
        assert all(v[0] == "fail" for v in verdicts.values()), text
        assert verdicts["HOOK-006"][1].startswith("the same correctly signed webhook sent a second time")
        bodies = [body for _, _, _, body in upstream.requests]
        assert any(b"Probe" in body for body in bodies)  # the body edited after signing
        assert len(bodies) > len(set(bodies))  # the replay
    finally:
        naive.close()


def test_without_the_secret_the_cases_say_which_option_gives_it(gateway_for, upstream, tmp_path):
    gw = gateway_for(config(tmp_path, upstream.port))
    verdicts, text = probe(gw.url, gw.config, tmp_path, [])
    for case in CASES:
        assert verdicts[case] == ("skip", "the probe holds no secret for github (self-test, or "
                                          "--hmac-secret github=FILE)"), text
    assert upstream.requests == []


def test_self_test_holds_the_secrets_itself(upstream, tmp_path):
    conf = tmp_path / "gatehouse.yaml"
    conf.write_text("listeners: [{address: 127.0.0.1:8080}]\n" + config(tmp_path, upstream.port))
    verdicts, text = probe(None, conf, tmp_path, [])
    assert all(v[0] == "pass" and v[1].endswith("nothing forwarded") for v in verdicts.values()), text


def test_hmac_secret_names_a_provider_and_a_readable_file(tmp_path):
    conf = tmp_path / "gatehouse.yaml"
    conf.write_text("listeners: [{address: 127.0.0.1:8080}]\n" + config(tmp_path, free_port()))
    for arg, said in (("nope=%s" % (tmp_path / "github"), "no identity.hmac provider has that name"),
                      ("github=%s" % (tmp_path / "missing"), "cannot read a secret"),
                      ("github", "takes PROVIDER=FILE")):
        out = subprocess.run([BIN, "probe", "--target", "http://127.0.0.1:9", "-c", str(conf),
                              "--hmac-secret", arg], capture_output=True, text=True, timeout=30)
        assert out.returncode == 2 and said in out.stderr, (arg, out.stderr)
    out = subprocess.run([BIN, "probe", "-c", str(conf), "--hmac-secret", "github=%s" % (tmp_path / "github")],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "are for --target" in out.stderr
