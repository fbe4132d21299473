"""An upstream endpoint in a process of its own, so that a test can kill it (SIGKILL) and start
it again on the same port. Every request is written to its log file (one line: method, path,
X-Request-Id) and flushed before it is answered, so the log survives the kill.

  GET  /healthz        200 "ok", or 503 while the file <log>.sick exists: not in the log, but
                       one line (its Host, and the client certificate's subject CN or "-") in
                       <log>.health
  any  /slow/<ms>...   waits, then 200
  any  /status/<n>...  answers n
  any  /ok-on/<port>   200 on that port, 503 on the others
  any  /slow-on/<port>/<ms>  waits on that port only, then 200
  anything else        200 "ok <port>"

Run: python3 -m testenv.endpoint_proc PORT LOGFILE [CERT KEY [CLIENT_CA]]
(with CERT and KEY it serves HTTPS; with CLIENT_CA it requires a client certificate)
"""
import os
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # The head and the body leave in two writes: with Nagle on, the second waits for the
    # gateway's delayed ACK (40 ms), which would drown the latencies balancing tests measure.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        path = self.path
        if path == "/healthz":
            self._count_check()
            sick = os.path.exists(self.server.log_path + ".sick")
            return self._answer(503 if sick else 200, b"sick" if sick else b"ok")
        with self.server.log_lock:
            self.server.log.write("%s %s %s\n" % (self.command, path,
                                                   self.headers.get("X-Request-Id", "-")))
            self.server.log.flush()
        if path.startswith("/slow/"):
            time.sleep(int(path.split("/")[2].split("?")[0]) / 1000.0)
        if path.startswith("/slow-on/"):
            _, _, port, ms = path.split("/")[:4]
            if int(port) == self.server.server_port:
                time.sleep(int(ms) / 1000.0)
        if path.startswith("/status/"):
            return self._answer(int(path.split("/")[2].split("?")[0]), b"status")
        if path.startswith("/ok-on/"):
            ok = int(path.split("/")[2]) == self.server.server_port
            return self._answer(200 if ok else 503, b"ok" if ok else b"unavailable")
        self._answer(200, b"ok %d" % self.server.server_port)

    def _count_check(self):
        subject = "-"
        if isinstance(self.connection, ssl.SSLSocket):
            cert = self.connection.getpeercert() or {}
            for rdn in cert.get("subject", ()):
                for key, value in rdn:
                    if key == "commonName":
                        subject = value
        with self.server.log_lock:
            with open(self.server.log_path + ".health", "a") as f:
                f.write("%s %s\n" % (self.headers.get("Host", "-"), subject))

    def _answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = _serve


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


def main():
    port, log_path = int(sys.argv[1]), sys.argv[2]
    server = Server(("127.0.0.1", port), Handler)
    server.log_path = log_path
    server.log = open(log_path, "a")
    server.log_lock = threading.Lock()
    if len(sys.argv) > 4:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[3], sys.argv[4])
        if len(sys.argv) > 5:
            ctx.load_verify_locations(sys.argv[5])
            ctx.verify_mode = ssl.CERT_REQUIRED
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
