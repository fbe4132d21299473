"""A real identity provider for the tests: an HTTPS server (its own CA, made at test time) that
serves an OpenID Connect discovery document and a JWK set, and can rotate keys, go down, and
answer slowly, with garbage, with an error status or with 10 MB. It counts what it served."""
import http.server
import json
import socketserver
import ssl
import tempfile
import threading
import time

from testenv.certs import make_ca_and_server_cert


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def reply(handler, code, body, headers=()):
    """Answers a request with a JSON body; a client that went away (a size cap or a timeout in
    the gateway) is what some tests want, so a broken pipe is not an error."""
    try:
        handler.send_response(code)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)
    except OSError:
        pass


class TlsServer:
    """An HTTPS server on 127.0.0.1:port with a CA made for it (ca_file), serving a handler
    class on threads."""

    def __init__(self, port, prefix):
        self.port = port
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.ca_file, self.cert, self.key = make_ca_and_server_cert(self.dir)
        self.server = None

    def serve(self, handler):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        self.server = _Server(("127.0.0.1", self.port), handler)
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


class IdP(TlsServer):
    """mode: "ok", "garbage", "huge", "slow", "status500" or "hmac" (a set publishing a secret)."""

    def __init__(self, port, issuer=None):
        super().__init__(port, "gh-idp-")
        self.url = "https://127.0.0.1:%d" % port
        self.issuer = issuer or self.url
        self.keys = []
        self.mode = "ok"
        self.slow_seconds = 3.0
        self.max_age = None
        self.hits = {}
        self.lock = threading.Lock()

    @property
    def jwks_uri(self):
        return self.url + "/jwks.json"

    def hit_count(self, path="/jwks.json"):
        with self.lock:
            return self.hits.get(path, 0)

    def _body(self, path):
        if path == "/.well-known/openid-configuration":
            return 200, json.dumps({"issuer": self.issuer, "jwks_uri": self.jwks_uri}).encode()
        if path != "/jwks.json":
            return 404, b"{}"
        if self.mode == "garbage":
            return 200, b"<html>this is not a key set</html>"
        if self.mode == "huge":
            return 200, b'{"keys":[' + b" " * (10 * 1024 * 1024) + b"]}"
        if self.mode == "status500":
            return 500, b'{"error":"down for maintenance"}'
        if self.mode == "hmac":
            return 200, json.dumps({"keys": [{"kty": "oct", "kid": "s", "k": "c2VjcmV0" * 8}]}).encode()
        if self.mode == "slow":
            time.sleep(self.slow_seconds)
        return 200, json.dumps({"keys": list(self.keys)}).encode()

    def start(self):
        idp = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                with idp.lock:
                    idp.hits[self.path] = idp.hits.get(self.path, 0) + 1
                code, body = idp._body(self.path)
                cache = [] if idp.max_age is None else [("Cache-Control", "public, max-age=%d" % idp.max_age)]
                reply(self, code, body, cache)

            def log_message(self, *args):
                pass

        return self.serve(Handler)
