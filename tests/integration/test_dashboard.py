"""The admin dashboard: GET /stats (its JSON, behind admin.token), GET / with its script and
style (built in, under a strict Content-Security-Policy), and the page in a real browser:
headless Chromium loads it from a gateway under traffic, and the rendered DOM must show the
live figures. The screenshot is kept under tests/artifacts/ (ignored by git)."""
import json
import os
import re
import shutil
import subprocess
import time

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec

from testenv import Gateway, Upstream, free_port, wait_for
from testenv.certs import make_ca_and_server_cert
from testenv.idp import IdP
from testenv.tokens import ec_jwk

TOKEN = "dash-" + "y" * 27
ARTIFACTS = os.path.join(os.path.dirname(__file__), "..", "artifacts")
CHROMIUM = shutil.which("chromium")

CONFIG = """
identity:
  jwt:
    corp: {issuer: %(issuer)s, audiences: [api], algorithms: [ES256], jwks_uri: %(jwks)s,
           ca_file: %(ca)s, refresh_interval: 10m}
upstreams:
  app: {endpoints: [http://127.0.0.1:%(up)d]}
routes:
  - name: orders
    match: {prefix: /orders}
    auth: none
    upstream: app
  - name: payments
    match: {prefix: /payments}
    auth: {jwt: corp}
    upstream: app
"""


class DashGateway(Gateway):
    """A gateway whose admin listener wants TOKEN, with a second listener on TLS."""

    def write_config(self, yaml_text, workers=1):
        super().write_config(yaml_text, workers)
        with open(self.config) as f:
            text = f.read()
        token_file = os.path.join(self.dir, "admin.token")
        with open(token_file, "w") as f:
            f.write(TOKEN + "\n")
        os.chmod(token_file, 0o600)
        plain = "admin: {address: 127.0.0.1:%d}" % self.admin_port
        with open(self.config, "w") as f:
            f.write(text.replace(plain, plain[:-1] + ', token: "${file:%s}"}' % token_file))

    def stats(self, token=TOKEN):
        headers = {"Authorization": "Bearer " + token} if token else {}
        return requests.get("http://127.0.0.1:%d/stats" % self.admin_port, headers=headers,
                            timeout=10)


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    d = tmp_path_factory.mktemp("dash")
    _, cert, key = make_ca_and_server_cert(str(d))
    with Upstream(free_port()) as up, IdP(free_port()) as idp:
        idp.keys = [ec_jwk(ec.generate_private_key(ec.SECP256R1()), "k1")]
        idp.start()
        tls = "{address: 127.0.0.1:%d, tls: {certificate: %s, private_key: %s}}" % (
            free_port(), cert, key)
        g = DashGateway(CONFIG % {"issuer": idp.issuer, "jwks": idp.jwks_uri, "ca": idp.ca_file,
                                  "up": up.port}, workers=2, more_listeners=[tls])
        try:
            wait_for(lambda: g.stats().json()["jwks"][0]["keys"] == 1, "the key set's first fetch")
            time.sleep(1.1)  # a first sample of the totals, before the traffic the rates show
            for _ in range(12):
                assert requests.get(g.url + "/orders/1", timeout=10).status_code == 200
            for _ in range(5):
                assert requests.get(g.url + "/payments", timeout=10).status_code == 401
            yield g
        finally:
            g.__exit__(None, None, None)


def test_stats_document(gw):
    r = gw.stats()
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    s = r.json()
    assert s["ready"] is True and s["draining"] is False
    assert s["requests"]["total"] == 17 and s["requests"]["per_second"] > 0
    assert 0 < s["window_s"] <= 11
    assert s["refusals"]["total"] == 5 and s["refusals"]["per_second"] > 0
    [why] = s["refusals"]["by_reason"]
    assert (why["reason"], why["status"], why["total"]) == ("missing-token", 401, 5)
    routes = {r["route"]: r for r in s["top_routes"]}
    assert routes["orders"]["requests"] == 12 and routes["payments"]["client_errors"] == 5
    assert [r["route"] for r in s["top_routes"]][:2] == ["orders", "payments"]
    [client] = s["top_clients"]
    assert (client["client"], client["requests"], client["refused"]) == ("127.0.0.1", 17, 5)
    assert s["latency_ms"]["count"] == 17 and 0 < s["latency_ms"]["p50"] <= s["latency_ms"]["p99"]
    assert s["bans"] == []
    [app] = s["upstreams"]
    assert app["name"] == "app" and app["endpoints"][0]["health"] == "unknown"
    assert app["endpoints"][0]["ejected"] is False
    [cert] = s["certificates"]
    assert 80 < cert["days_left"] < 100 and cert["not_after"] > s["now"] and cert["certificate"]
    [corp] = s["jwks"]
    assert (corp["provider"], corp["keys"], corp["last_error"]) == ("corp", 1, "")
    assert 0 <= corp["age_s"] < 60


def test_stats_wants_the_token(gw):
    for token in (None, "wrong-" + TOKEN):
        r = gw.stats(token)
        assert r.status_code == 401
        assert r.headers["WWW-Authenticate"].startswith('Bearer realm="gatehouse-admin"')
        assert "requests" not in r.text


def test_page_and_its_policy(gw):
    base = "http://127.0.0.1:%d" % gw.admin_port
    bearer = {"Authorization": "Bearer " + TOKEN}
    # Admin authentication applies to the page as to the API; a browser is asked for Basic.
    for path in ("/", "/dashboard.js", "/dashboard.css"):
        r = requests.get(base + path, timeout=10)
        assert r.status_code == 401 and "Gatehouse" not in r.text, path
        assert r.raw.headers.getlist("WWW-Authenticate")[1] == \
            'Basic realm="gatehouse-admin", charset="UTF-8"'
    page = requests.get(base + "/", headers=bearer, timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"] == "text/html; charset=utf-8"
    csp = page.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives == {"default-src": "'none'", "script-src": "'self'", "style-src": "'self'",
                          "connect-src": "'self'", "img-src": "data:", "base-uri": "'none'",
                          "form-action": "'none'", "frame-ancestors": "'none'"}
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Cache-Control"] == "no-store"
    # Self-contained: nothing from elsewhere, no inline script or style for the policy to allow.
    assert not re.search(r"(https?:)?//[a-z]", page.text.replace("http://www.w3.org", ""))
    assert re.findall(r"<script[^>]*>", page.text) == ['<script src="/dashboard.js" defer>']
    assert "<style" not in page.text and " style=" not in page.text
    js = requests.get(base + "/dashboard.js", headers=bearer, timeout=10)
    css = requests.get(base + "/dashboard.css", auth=("admin", TOKEN), timeout=10)
    assert js.headers["Content-Type"] == "text/javascript; charset=utf-8" and "/stats" in js.text
    assert css.headers["Content-Type"] == "text/css; charset=utf-8"
    assert "innerHTML" not in js.text  # figures from outside go in as text


@pytest.fixture(scope="module")
def profile(tmp_path_factory):
    """A browser profile of the module's own: two runs of the suite at once share nothing."""
    return str(tmp_path_factory.mktemp("chromium-profile"))


def browser_url(gw):
    """The page's address with the token as Basic's password, as an operator's browser sends it
    once asked; the page's own requests (/stats) then carry it with no help from the script."""
    return "http://admin:%s@127.0.0.1:%d/" % (TOKEN, gw.admin_port)


def chromium(profile, url, *args):
    return subprocess.run([CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox",
                           "--no-first-run", "--disable-extensions", "--virtual-time-budget=5000",
                           "--user-data-dir=" + profile] + list(args) + [url],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.skipif(not CHROMIUM, reason="chromium is not installed (scripts/deps.sh)")
def test_browser_renders_live_figures(gw, profile):
    os.makedirs(ARTIFACTS, exist_ok=True)
    url = browser_url(gw)
    dom = chromium(profile, url, "--dump-dom").stdout

    def text_of(element_id):
        m = re.search(r'id="%s"[^>]*>(.*?)</' % element_id, dom, re.S)
        return m.group(1) if m else None

    assert text_of("state") == "ready", dom[:2000]
    assert text_of("requests-total") == "17 total"
    assert text_of("refusals-total") == "5 total"
    assert re.search(r"<td>orders</td><td class=\"num\">12</td>", dom)
    assert re.search(r"<td>missing-token</td><td>401</td>", dom)
    assert re.search(r"<td>127\.0\.0\.1</td><td class=\"num\">17</td>", dom)
    assert "<td>corp</td>" in dom and "no active ban" in dom
    assert 'id="error" class="bad" hidden' in dom
    # Under tests/artifacts/, one name per build run (the suite runs once per build).
    name = "dashboard-san.png" if os.environ.get("GH_SANITIZED") == "1" else "dashboard.png"
    shot = os.path.abspath(os.path.join(ARTIFACTS, name))
    chromium(profile, url, "--screenshot=" + shot, "--window-size=1400,1000", "--hide-scrollbars")
    assert os.path.getsize(shot) > 10000
    print("dashboard screenshot: " + shot)


@pytest.mark.skipif(not CHROMIUM, reason="chromium is not installed (scripts/deps.sh)")
def test_browser_without_the_token_sees_nothing(gw, profile):
    """Headless, no one answers the browser's Basic prompt: the browser is refused the page
    (the gateway says why) and shows nothing of it."""
    for url, reason in (("http://127.0.0.1:%d/" % gw.admin_port, "missing-token"),
                        ("http://admin:wrong@127.0.0.1:%d/" % gw.admin_port, "invalid-token")):
        seen = len(gw.event_lines())
        dom = chromium(profile, url, "--dump-dom").stdout
        assert "orders" not in dom and "<table" not in dom and "/dashboard.js" not in dom
        refused = [json.loads(l) for l in gw.event_lines()[seen:] if '"admin_refused"' in l]
        # (Chromium asks without credentials first, then with those of the address.)
        assert reason in {e["reason"] for e in refused if e["path"] == "/"}, refused


def admin(gw, method, path, **kw):
    return requests.request(method, "http://127.0.0.1:%d%s" % (gw.admin_port, path),
                            headers={"Authorization": "Bearer " + TOKEN}, timeout=10, **kw)


def test_ban_listed_then_lifted(gw, profile):
    """A ban imposed through the admin API shows in /stats and on the page with its lift button;
    the DELETE the button sends (the key as encodeURIComponent writes it) lifts it."""
    key = "sub:mallory/1 <b>"
    r = admin(gw, "POST", "/bans", json={"key": key, "reason": "walked ids", "detector": "bola",
                                          "duration": 600})
    assert r.status_code == 201, r.text
    s = gw.stats().json()
    assert s["bans_active"] == 1
    [ban] = s["bans"]
    assert (ban["key"], ban["detector"], ban["reason"]) == (key, "bola", "walked ids")
    assert ban["strikes"] == 1 and ban["remote"] is False
    assert 595 <= ban["until"] - s["now"] <= 600 and ban["since"] <= s["now"]
    if CHROMIUM:
        dom = chromium(profile, browser_url(gw), "--dump-dom").stdout
        assert "<td>sub:mallory/1 &lt;b&gt;</td><td>bola</td>" in dom, dom[:3000]
        assert re.search(r"<button[^>]*>lift</button>", dom, re.I) and "no active ban" not in dom
    r = admin(gw, "DELETE", "/bans/" + requests.utils.quote(key, safe="-_.!~*'()"))
    assert r.status_code == 200 and r.json()["lifted"] == key
    s = gw.stats().json()
    assert s["bans"] == [] and s["bans_active"] == 0
