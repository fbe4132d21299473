"""A real OAuth2 token introspection endpoint (RFC 7662) for the tests: HTTPS with its own CA,
client credentials checked with HTTP Basic, a table of tokens and what to say about them, and
modes to answer slowly, with an error status or with garbage. It counts the calls."""
import base64
import http.server
import json
import tempfile
import threading
import time
import urllib.parse

from testenv.idp import _Server, make_ca_and_server_cert
import ssl


class IntrospectionServer:
    def __init__(self, port, client_id="gateway", client_secret="s3cret:with/odd chars"):
        self.port = port
        self.dir = tempfile.mkdtemp(prefix="gh-introspect-")
        self.ca_file, self.cert, self.key = make_ca_and_server_cert(self.dir)
        self.url = "https://127.0.0.1:%d/oauth2/introspect" % port
        self.client_id, self.client_secret = client_id, client_secret
        self.tokens = {}  # token -> the answer's members (active: true added)
        self.mode = "ok"
        self.delay = 0.0
        self.calls = 0
        self.unauthorized = 0
        self.lock = threading.Lock()
        self.server = None

    def _authorized(self, header):
        if not header or not header.startswith("Basic "):
            return False
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return (urllib.parse.unquote_plus(user), urllib.parse.unquote_plus(password)) == (
            self.client_id, self.client_secret)

    def _answer(self, form):
        token = form.get("token", [""])[0]
        if token in self.tokens:
            body = {"active": True}
            body.update(self.tokens[token])
            return body
        return {"active": False}

    def start(self):
        srv = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                with srv.lock:
                    srv.calls += 1
                if srv.delay:
                    time.sleep(srv.delay)
                if not srv._authorized(self.headers.get("Authorization")):
                    with srv.lock:
                        srv.unauthorized += 1
                    code, body = 401, b'{"error":"invalid_client"}'
                elif srv.mode == "status500":
                    code, body = 500, b'{"error":"server_error"}'
                elif srv.mode == "garbage":
                    code, body = 200, b"<html>maintenance</html>"
                else:
                    code, body = 200, json.dumps(srv._answer(form)).encode()
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        self.server = _Server(("127.0.0.1", self.port), Handler)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
