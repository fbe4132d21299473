import collections
import hashlib
import json
import threading

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from testenv import EndpointProcess, Gateway, RecordingUpstream, Upstream, free_port, wait_for
from testenv.tokens import ec_jwk


@pytest.fixture
def upstream():
    with Upstream(free_port()) as u:
        yield u


@pytest.fixture
def endpoints():
    """Starts n endpoints, each in a process of its own (testenv.EndpointProcess, given kw);
    closes them after the test."""
    started = []

    def start(n, **kw):
        for _ in range(n):
            started.append(EndpointProcess(**kw))
        return started[-n:]

    yield start
    for e in started:
        e.close()


@pytest.fixture
def recording():
    """An upstream that answers nothing and keeps every byte it receives, per connection."""
    with RecordingUpstream() as u:
        yield u


ProbeKey = collections.namedtuple("ProbeKey", "pem jwks kid")


@pytest.fixture(scope="module")
def probe_key(tmp_path_factory):
    """An ES256 key for `gatehouse probe --signing-key`: its PEM, the JWKS a gateway's provider
    is given (jwks_file), and its kid."""
    d = tmp_path_factory.mktemp("probe-key")
    key = ec.generate_private_key(ec.SECP256R1())
    (d / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                  serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
    (d / "k.json").write_text(json.dumps({"keys": [ec_jwk(key, "k1")]}))
    return ProbeKey(d / "key.pem", d / "k.json", "k1")


@pytest.fixture
def gateway_for():
    """Starts gateways from YAML (listeners and admin are added); stops them after the test."""
    started = []

    def start(yaml_text, workers=1, tls=None, listener_extra="", more_listeners=()):
        g = Gateway(yaml_text, workers, tls, listener_extra, more_listeners)
        started.append(g)
        return g

    yield start
    for g in started:
        g.__exit__(None, None, None)


def endpoint_url(e):
    """An endpoint as the configuration names it: a port on 127.0.0.1, anything with a port (an
    EndpointProcess, an upstream), or a URL as it is."""
    if isinstance(e, str):
        return e
    return "http://127.0.0.1:%d" % (e if isinstance(e, int) else e.port)


def proxy_yaml(upstream, extra="", upstream_extra=""):
    """The upstream "app" and one route to it for every path, with no authentication. upstream:
    one endpoint or a list of them (endpoint_url); extra: more YAML after the route (its own
    keys, indented four, or more top-level sections); upstream_extra: more of app's mapping,
    from ", key: value"."""
    eps = upstream if isinstance(upstream, (list, tuple)) else [upstream]
    return """
upstreams:
  app: {endpoints: [%s]%s}
routes:
  - name: app
    match: {prefix: /}
    auth: none
    upstream: app
%s""" % (", ".join(endpoint_url(e) for e in eps), upstream_extra, extra)


def api_key_identity(tmp_path, upstream_port):
    """identity (an API key provider "partners" knowing the key "k1" of client "acme") and the
    upstream "app", for a configuration's routes to follow."""
    keys = tmp_path / "partners.keys"
    keys.write_text("sha256:%s acme\n" % hashlib.sha256(b"k1").hexdigest())
    return """
identity:
  api_keys:
    partners: {keys_file: %s}
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]}
""" % (keys, upstream_port)


def jwt_identity(tmp_path, key, issuer, audience, upstream_port):
    """identity (a JWT provider "corp" trusting the EC key as kid k1, ES256) and the upstream
    "app", for a configuration's routes to follow."""
    (tmp_path / "k.json").write_text(json.dumps({"keys": [ec_jwk(key, "k1")]}))
    return """
identity:
  jwt:
    corp: {issuer: %s, audiences: [%s], algorithms: [ES256], jwks_file: %s}
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]}
""" % (issuer, audience, tmp_path / "k.json", upstream_port)


def upstream_lines(upstream, request=-1, masked=("x-request-id", "traceparent")):
    """The header lines one request reached the upstream with, in order, repeated names kept;
    the values of the masked names (ids made per request) read "*"."""
    return [(k, "*" if k.lower() in masked else v) for k, v in upstream.header_lines[request]]


def request_in_flight(g, upstream, path):
    """A GET of path through g on a thread of its own, once the upstream has it (so that it is in
    flight): the thread and the dict whose "r" will hold the response."""
    result = {}
    t = threading.Thread(target=lambda: result.update(r=requests.get(g.url + path)))
    t.start()
    wait_for(lambda: any(r[1] == path for r in list(upstream.requests)),
             "the request to reach the upstream")
    return t, result
