"""routes[].listeners: a route served only on the listeners it names (by name, or by address),
over HTTP/1.1 and HTTP/2, across reloads; configuration errors at their line."""
import signal
import time

import requests

from testenv import check_config, free_port, wait_port

ROUTES = """
upstreams:
  app: {endpoints: [http://127.0.0.1:%d]}
routes:
  - name: internal
    match: {prefix: /internal}
    listeners: [local]
    auth: none
    upstream: app
  - name: everywhere
    match: {prefix: /}
    auth: none
    upstream: app
"""


def start(gateway_for, upstream, routes=ROUTES, extra=""):
    local = free_port()
    g = gateway_for(routes % upstream.port, listener_extra=", name: public",
                    more_listeners=["{name: local, address: 127.0.0.1:%d%s}" % (local, extra)])
    wait_port(local)
    return g, "http://127.0.0.1:%d" % local


def test_a_route_is_served_only_on_its_listeners(gateway_for, upstream):
    g, local = start(gateway_for, upstream)
    r = requests.get(local + "/internal/echo")
    assert r.status_code == 200 and "path=/internal/echo" in r.text
    # On the public listener the internal route does not exist: the next route takes it.
    r = requests.get(g.url + "/internal/echo")
    assert r.status_code == 200
    lines = g.access_lines(2)
    assert [l["route"] for l in lines] == ["internal", "everywhere"]
    assert requests.get(g.url + "/echo").status_code == 200


def test_without_another_route_the_other_listener_answers_404(gateway_for, upstream):
    routes = ROUTES.replace("""  - name: everywhere
    match: {prefix: /}
    auth: none
    upstream: app
""", "")
    g, local = start(gateway_for, upstream, routes)
    assert requests.get(local + "/internal/echo").status_code == 200
    r = requests.get(g.url + "/internal/echo")
    assert r.status_code == 404
    assert r.headers["Content-Type"] == "application/problem+json"
    assert r.json()["type"] == "urn:gatehouse:problem:no-route"
    assert [r[1] for r in upstream.requests] == ["/internal/echo"]  # the refused one went nowhere


def test_http2_streams_follow_their_connections_listener(gateway_for, upstream):
    import h2.connection
    import h2.events
    import socket
    g, local = start(gateway_for, upstream, ROUTES.replace("""  - name: everywhere
    match: {prefix: /}
    auth: none
    upstream: app
""", ""), extra=", h2c: true")
    port = int(local.rsplit(":", 1)[1])
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    conn = h2.connection.H2Connection()
    conn.initiate_connection()
    conn.send_headers(1, [(":method", "GET"), (":scheme", "http"), (":authority", "x"),
                          (":path", "/internal/echo")], end_stream=True)
    sock.sendall(conn.data_to_send())
    status = None
    while status is None:
        for ev in conn.receive_data(sock.recv(65536)):
            if isinstance(ev, h2.events.ResponseReceived):
                status = dict(ev.headers)[b":status"]
        sock.sendall(conn.data_to_send())
    sock.close()
    assert status == b"200"


def test_a_reload_moves_a_route_between_listeners(gateway_for, upstream):
    g, local = start(gateway_for, upstream)
    g.write_config((ROUTES % upstream.port).replace("listeners: [local]", "listeners: [public]"))
    g.signal(signal.SIGHUP)
    deadline = time.time() + 5
    while time.time() < deadline and g.metric('gatehouse_reloads_total{result="success"}') < 1:
        time.sleep(0.05)
    assert g.metric('gatehouse_reloads_total{result="success"}') == 1
    requests.get(g.url + "/internal/echo")
    requests.get(local + "/internal/echo")
    assert [l["route"] for l in g.access_lines(2)] == ["internal", "everywhere"]


def test_listener_names_and_bindings_are_checked(tmp_path):
    base = "listeners:\n  - {name: public, address: 127.0.0.1:8080}\n  - {address: 127.0.0.1:8081}\n"
    route = "routes:\n  - {name: r, match: {prefix: /}, listeners: %s, auth: none, respond: {status: 204}}\n"
    p = check_config(tmp_path, base + route % "[public, \"127.0.0.1:8081\"]")
    assert p.returncode == 0, p.stderr
    p = check_config(tmp_path, base + route % "[publik]")
    assert p.returncode == 1
    assert "c.yaml:5:47: routes[0].listeners[0]: no listener is named 'publik'; did you mean 'public'?" in p.stderr, p.stderr
    p = check_config(tmp_path, base + route % "[]")
    assert p.returncode == 1 and "routes[0].listeners: between 1 and 16 listeners" in p.stderr
    p = check_config(tmp_path, "listeners:\n  - {name: a, address: 127.0.0.1:8080}\n"
                     "  - {name: a, address: 127.0.0.1:8081}\n" + route % "[a]")
    assert p.returncode == 1 and "c.yaml:3:5: listeners[1]: the name 'a' is also listeners[0]'s" in p.stderr
    p = check_config(tmp_path, "listeners:\n  - {name: \"a b\", address: 127.0.0.1:8080}\n" + route % "[a]")
    assert p.returncode == 1 and "listeners[0].name: names use letters" in p.stderr
