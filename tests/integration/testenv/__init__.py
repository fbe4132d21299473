"""Fixtures for integration tests: free ports, the real gatehouse binary started from inline
YAML, and real upstream HTTP servers. Everything listens on 127.0.0.1 only."""
import json
import os
import re
import signal
import socket
import struct
import subprocess
import tempfile
import textwrap
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BIN = os.environ.get("GATEHOUSE_BIN", os.path.join(ROOT, "build", "rel", "gatehouse"))
SANITIZED = os.environ.get("GH_SANITIZED") == "1"


# Under pytest-xdist, each worker takes ports of its own residue: a port one worker found free
# and has not bound yet is never the one another worker finds.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
_RESIDUE = int(_WORKER[2:]) % _WORKERS if _WORKER.startswith("gw") and _WORKER[2:].isdigit() else 0


def free_port():
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if (port >> 1) % _WORKERS == _RESIDUE:  # not port itself: Linux binds port 0 to odd ones
            return port


def listening_socket(backlog=16):
    """A bound, listening socket on a free loopback port, for hand-written upstreams."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(backlog)
    return srv, srv.getsockname()[1]


def accept_forever(sock, on_connection, closing=lambda: False):
    """Accepts on sock in a thread of its own until the socket closes (or closing() says so),
    handing each connection to on_connection: the accept loop of every hand-written upstream."""
    def loop():
        while not closing():
            try:
                c, _ = sock.accept()
            except OSError:
                return
            on_connection(c)
    threading.Thread(target=loop, daemon=True).start()


def serve_each(serve):
    """An on_connection for accept_forever that serves each connection in a thread of its own."""
    return lambda c: threading.Thread(target=serve, args=(c,), daemon=True).start()


class RecordingUpstream:
    """A bare TCP upstream that never answers: it keeps the bytes of each connection it accepts,
    in order, and whether the other side closed that connection (EOF)."""

    def __init__(self):
        self.sock, self.port = listening_socket()
        self.received = []  # one bytearray per accepted connection
        self.closed = []    # one threading.Event per accepted connection: set at EOF
        accept_forever(self.sock, self._accepted)

    def _accepted(self, c):
        data, eof = bytearray(), threading.Event()
        self.received.append(data)
        self.closed.append(eof)
        threading.Thread(target=self._read, args=(c, data, eof), daemon=True).start()

    @staticmethod
    def _read(c, data, eof):
        with c:
            try:
                while True:
                    b = c.recv(65536)
                    if not b:
                        break
                    data += b
            except OSError:
                pass
        eof.set()

    def ended_request(self, index=0, timeout=5.0):
        """Waits until the gateway closed connection index; what came on it as (head, body)."""
        wait_for(lambda: len(self.closed) > index, "connection %d to the upstream" % index, timeout)
        if not self.closed[index].wait(timeout):
            raise AssertionError("the gateway kept upstream connection %d open" % index)
        head, _, body = bytes(self.received[index]).partition(b"\r\n\r\n")
        return head, body

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def wait_for(predicate, what, timeout=15.0):
    """Waits until predicate() is true (polling), for events a test must see happen before its
    next step; fails with what after timeout seconds, a bound generous for the sanitized build."""
    deadline = time.time() + timeout
    while not predicate():
        if time.time() > deadline:
            raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(0.01)


def wait_port(port, timeout=10.0, proc=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("the process exited with %s before port %d opened" % (proc.returncode, port))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError("port %d did not open" % port)


class Gateway:
    """A running `gatehouse run` with its config, access log and event log."""

    def __init__(self, yaml_text, workers=1, tls=None, listener_extra="", more_listeners=(),
                 wrap=()):
        """tls: the listener's tls mapping as YAML flow text; the gateway then serves https.
        listener_extra: more keys of the listener (", h2c: true"); more_listeners: other
        listeners, each as YAML flow text; wrap: a command the gateway's runs under (it must
        exec it, so that signals reach the gateway)."""
        self.tls = tls
        self.listener_extra = listener_extra
        self.more_listeners = list(more_listeners)
        self.port = free_port()
        self.admin_port = free_port()
        self.dir = tempfile.mkdtemp(prefix="gh-")
        self.config = os.path.join(self.dir, "gatehouse.yaml")
        self.access = os.path.join(self.dir, "access.log")
        self.events = os.path.join(self.dir, "events.log")
        for attempt in range(3):
            self.write_config(yaml_text, workers)
            self.proc = subprocess.Popen(list(wrap) + [BIN, "run", "-c", self.config],
                                         stdout=open(self.access, "wb"), stderr=open(self.events, "wb"))
            if self._started(last=attempt == 2):
                break
            # Another process took a free port before the gateway bound it: other ports.
            self.port, self.admin_port = free_port(), free_port()
        wait_port(self.port, proc=self.proc)
        wait_port(self.admin_port, proc=self.proc)

    def _started(self, last, timeout=20.0):
        """Waits for the start event (every address is bound by then; a port that answers may
        be another process's). False when the gateway found a port taken and may try others."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            with open(self.events) as f:
                ev = f.read()
            if '"event":"start"' in ev:
                return True
            if self.proc.poll() is not None:
                if "Address already in use" in ev and not last:
                    return False
                raise RuntimeError("the gateway exited with %s before it started\n%s"
                                   % (self.proc.returncode, ev[-3000:]))
            time.sleep(0.02)
        raise RuntimeError("the gateway did not start within %.0f s" % timeout)

    def write_config(self, yaml_text, workers=1):
        text = textwrap.dedent(yaml_text)
        listener = "{address: 127.0.0.1:%d%s%s}" % (self.port, ", tls: %s" % self.tls if self.tls else "",
                                                 self.listener_extra)
        listeners = ", ".join([listener] + self.more_listeners)
        header = ("workers: %d\nlisteners: [%s]\n"
                  "admin: {address: 127.0.0.1:%d}\n" % (workers, listeners, self.admin_port))
        with open(self.config, "w") as f:
            f.write(header + text)

    @property
    def url(self):
        return "%s://127.0.0.1:%d" % ("https" if self.tls else "http", self.port)

    def admin(self, path, method="GET"):
        status, text, _ = self.admin_response(path, method)
        return status, text

    def admin_response(self, path, method="GET"):
        """The admin listener's answer: status, body text and headers."""
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.admin_port, path), method=method)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read().decode(), r.headers
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(), e.headers

    def metrics(self):
        status, text = self.admin("/metrics")
        assert status == 200
        return text

    def metric(self, name_and_labels):
        for line in self.metrics().splitlines():
            if line.startswith(name_and_labels + " "):
                return float(line.split()[-1])
        return 0.0

    def wait_metric(self, name_and_labels, value, timeout=15.0):
        """The metric once it reaches value (a worker counts a request as it finishes it, which
        may be just after the client has the response), or its last reading."""
        deadline = time.time() + timeout
        while True:
            got = self.metric(name_and_labels)
            if got >= value or time.time() > deadline:
                return got
            time.sleep(0.02)

    def access_lines(self, n=None, timeout=15.0):
        """The access log as parsed JSON lines; waits until at least n lines are there."""
        deadline = time.time() + timeout
        while True:
            with open(self.access) as f:
                lines = [json.loads(l) for l in f if l.strip()]
            if n is None or len(lines) >= n or time.time() > deadline:
                return lines
            time.sleep(0.05)

    def event_lines(self):
        with open(self.events) as f:
            return [l for l in f.read().splitlines() if l.strip()]

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def signal(self, sig):
        self.proc.send_signal(sig)

    def seconds_to_exit(self, timeout=15):
        """SIGTERM, then how long the process took to exit (at most timeout)."""
        started = time.time()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout)
        return time.time() - started

    def stop(self, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        rc = self.stop()
        with open(self.events) as f:
            ev = f.read()
        # A sanitizer report or a crash fails the test that ran the gateway.
        assert "ERROR: AddressSanitizer" not in ev and "runtime error:" not in ev, ev[-4000:]
        assert rc == 0, "gatehouse exited with %s\n%s" % (rc, ev[-2000:])


class RawReply(bytes):
    """What a raw connection read: the bytes, plus closed: whether the peer closed the connection
    (EOF or a reset) within the bound, rather than the bound running out first."""
    closed = False


def read_reply(s, timeout=5.0, until_close=True):
    """Reads from socket s until the peer closes, or (until_close false) until the first bytes;
    gives up after timeout seconds in all. A RawReply: closed tells which ended the reading."""
    deadline = time.time() + timeout
    chunks, closed = [], False
    try:
        while True:
            left = deadline - time.time()
            if left <= 0:
                break
            s.settimeout(left)
            b = s.recv(65536)
            if not b:
                closed = True
                break
            chunks.append(b)
            if not until_close:
                break
    except socket.timeout:
        pass
    except ConnectionResetError:
        closed = True
    out = RawReply(b"".join(chunks))
    out.closed = closed
    return out


def raw_request(port, data, timeout=5.0, read_until_close=True):
    """Sends bytes on a fresh connection and returns everything read until close or timeout, as a
    RawReply (reply.closed: the gateway closed the connection within timeout seconds)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        return read_reply(s, timeout, read_until_close)


def leave_with_reset(sock):
    """Closes sock with a reset (SO_LINGER 0): the client gone for good. (An end of file alone is
    a half-close, after which HTTP/1.1 lets a client still read its answer: its request goes on,
    as after any wait.)"""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def client_leaves_after(port, data, after):
    """A client that sends data on a new connection to port and leaves for good
    (leave_with_reset) after `after`: seconds, or a function that returns when it is time (a
    fault's delay has begun)."""
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(data)
    if callable(after):
        after()
    else:
        time.sleep(after)
    leave_with_reset(s)


def read_response(s, timeout=10.0):
    """One complete HTTP/1.1 response with a Content-Length body from socket s: (status, head
    bytes, body bytes), or (None, what was read, b"") when the peer closed or went silent first."""
    deadline = time.time() + timeout
    buf = b""
    while True:
        head, sep, rest = buf.partition(b"\r\n\r\n")
        if sep:
            m = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
            if len(rest) >= (int(m.group(1)) if m else 0):
                return int(head.split(b" ", 2)[1]), head, rest
        left = deadline - time.time()
        if left <= 0:
            return None, buf, b""
        s.settimeout(left)
        try:
            b = s.recv(65536)
        except (socket.timeout, ConnectionResetError):
            b = b""
        if not b:
            return None, buf, b""
        buf += b


from .upstream import Upstream  # noqa: E402,F401


def check_config(folder, text, name="c.yaml", wrap=()):
    """`gatehouse check` on text written to folder/name (under the command wrap, as Gateway's):
    the finished process (stderr holds the file:line:col diagnostics)."""
    path = os.path.join(str(folder), name)
    with open(path, "w") as f:
        f.write(text)
    return subprocess.run(list(wrap) + [BIN, "check", "-c", path], capture_output=True, text=True)


class EndpointProcess:
    """An upstream endpoint in its own process (testenv/endpoint_proc.py): killed with SIGKILL
    and started again on the same port by the test. log_lines() is what it received."""

    def __init__(self, port=None, log_path=None, tls=None, client_ca=None):
        """tls: (certificate, key) to serve HTTPS; client_ca: then require a client
        certificate signed by it."""
        self.port = port or free_port()
        self.log_path = log_path or tempfile.mktemp(prefix="gh-endpoint-%d-" % self.port)
        self.tls_args = list(tls or ()) + ([client_ca] if tls and client_ca else [])
        self.proc = None
        self.start()

    def start(self):
        here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        self.proc = subprocess.Popen(["/usr/bin/python3", "-m", "testenv.endpoint_proc",
                                      str(self.port), self.log_path] + self.tls_args, cwd=here,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert self.proc.stdout.readline().strip() == b"ready"

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def sick(self, on):
        if on:
            open(self.log_path + ".sick", "w").close()
        elif os.path.exists(self.log_path + ".sick"):
            os.unlink(self.log_path + ".sick")

    def log_lines(self):
        if not os.path.exists(self.log_path):
            return []
        with open(self.log_path) as f:
            return [l.split() for l in f.read().splitlines() if l.strip()]

    def health_checks(self):
        """The GET /healthz it received: (Host, client certificate CN or "-") each."""
        if not os.path.exists(self.log_path + ".health"):
            return []
        with open(self.log_path + ".health") as f:
            return [tuple(l.split()) for l in f.read().splitlines() if l.strip()]

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.kill()
        self.sick(False)
        for path in (self.log_path, self.log_path + ".health"):
            if os.path.exists(path):
                os.unlink(path)
