import hashlib

import pytest

from testenv import Gateway, RecordingUpstream, Upstream, free_port


@pytest.fixture
def upstream():
    with Upstream(free_port()) as u:
        yield u


@pytest.fixture
def recording():
    """An upstream that answers nothing and keeps every byte it receives, per connection."""
    with RecordingUpstream() as u:
        yield u


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


def proxy_yaml(upstream_port, extra="", upstream_extra=""):
    return """
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]%s}
routes:
  - name: app
    match: {prefix: /}
    auth: none
    upstream: app
%s""" % (upstream_port, upstream_extra, extra)


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
