"""A real OAuth2 token introspection endpoint (RFC 7662) for the tests: HTTPS with its own CA,
client credentials checked with HTTP Basic, a table of tokens and what to say about them, and
modes to answer slowly, with an error status or with garbage. It counts the calls."""
import base64
import http.server
import json
import threading
import time
import urllib.parse

from testenv.idp import TlsServer, reply


class IntrospectionServer(TlsServer):
    def __init__(self, port, client_id="gateway", client_secret="s3cret:with/odd chars"):
        super().__init__(port, "gh-introspect-")
        self.url = "https://127.0.0.1:%d/oauth2/introspect" % port
        self.client_id, self.client_secret = client_id, client_secret
        self.tokens = {}  # token -> the answer's members (active: true added)
        self.mode = "ok"
        self.delay = 0.0
        self.calls = 0
        self.answered = 0  # calls whose answer has been written
        self.unauthorized = 0
        self.lock = threading.Lock()

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
                reply(self, code, body)
                with srv.lock:
                    srv.answered += 1

            def log_message(self, *args):
                pass

        return self.serve(Handler)
