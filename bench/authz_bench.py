"""The authorization part of `make bench`: what scopes, a per-client rate limit and an external
policy with a warm decision cache cost on top of JWT validation, one token reused by every
connection. Routes of one gateway, beside the plain proxy of the same run."""
import http.server
import socketserver
import threading

import jwt_bench
from measures import errors, rate


class PolicyServer:
    """A policy that allows everything: with a warm cache it is asked once per question."""

    def __init__(self, port):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                body = b'{"result": {"allow": true}}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        self.server = Server(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def gatehouse_yaml(d, port, up_port, policy_port, redis_port):
    return jwt_bench.gateway_head(d, port, up_port) + """stores:
  redis: {address: 127.0.0.1:%d}
policies:
  allow-all:
    external: {url: "http://127.0.0.1:%d/v1/data/bench/allow", cache_ttl: 1h}
rate_limits:
  per-client: {key: jwt.sub, rate: 1000000/s, burst: 1000000}
  per-client-redis: {key: jwt.sub, rate: 1000000/s, burst: 1000000, store: redis}
routes:
  - name: scoped
    match: {prefix: /scoped}
    auth: {jwt: bench, scopes: [bench]}
    forward: {claims: {sub: X-User-Id}}
    upstream: app
  - name: limited
    match: {prefix: /limited}
    auth: {jwt: bench, scopes: [bench]}
    rate_limit: per-client
    forward: {claims: {sub: X-User-Id}}
    upstream: app
  - name: limited-redis
    match: {prefix: /limited-redis}
    auth: {jwt: bench, scopes: [bench]}
    rate_limit: per-client-redis
    forward: {claims: {sub: X-User-Id}}
    upstream: app
  - name: policy
    match: {prefix: /policy}
    auth: {jwt: bench, scopes: [bench], policy: allow-all}
    forward: {claims: {sub: X-User-Id}}
    upstream: app
""" % (redis_port, policy_port)


def run(d, wrk, token, gh_port, gh_pid, plain_port, plain_pid, rounds):
    """Returns {"plain", "limited", "scoped", "policy"}: lists of wrk results per round."""
    bearer = ["-H", "Authorization: Bearer " + token]
    names = ("limited", "limited-redis", "scoped", "policy")
    out = {name: [] for name in ("plain",) + names}
    for r in range(rounds):
        out["plain"].append(wrk("http://127.0.0.1:%d/" % plain_port, plain_pid, bearer))
        for name in names:
            out[name].append(wrk("http://127.0.0.1:%d/%s" % (gh_port, name), gh_pid, bearer))
        print("authz round %d: %s" % (r + 1, "  ".join("%s %.0f" % (k, v[-1][0]) for k, v in out.items())),
              flush=True)
    return out


def report(res, within_round):
    limit_vs_plain = within_round(res, "limited", "plain", 0)
    redis_vs_local = within_round(res, "limited-redis", "limited", 0)
    policy_vs_scoped = within_round(res, "policy", "scoped", 0)
    med = lambda k: rate(res[k])
    return ["", "## Authorization and rate limits",
            "",
            "The JWT route with a scope check and one per-client rate limit (`jwt.sub`, set high enough",
            "never to refuse, so every request takes the limiter's path), in the local store and in Redis",
            "(a `redis-server` on the client's core), and the same scope check",
            "with an external policy whose decision cache is warm, each beside what it is compared",
            "with; one token reused by every connection (`bench/authz_bench.py`).",
            "",
            "| route | req/s |", "|---|---:|",
            "| plain proxy | %.0f |" % med("plain"),
            "| JWT + scope | %.0f |" % med("scoped"),
            "| JWT + scope + local rate limit | %.0f |" % med("limited"),
            "| JWT + scope + Redis rate limit (local redis-server) | %.0f |" % med("limited-redis"),
            "| JWT + scope + policy (warm cache) | %.0f |" % med("policy"),
            "",
            "| target | measured | goal | met |", "|---|---:|---:|:---:|",
            "| JWT + scope + local limit vs plain proxy | %.2fx | >= 0.85x | %s |"
            % (limit_vs_plain, "yes" if limit_vs_plain >= 0.85 else "no"),
            "| Redis store vs local store | %.2fx | >= 0.60x | %s |"
            % (redis_vs_local, "yes" if redis_vs_local >= 0.6 else "no"),
            "| policy (warm cache) vs the same route without it | %.2fx | >= 0.80x | %s |"
            % (policy_vs_scoped, "yes" if policy_vs_scoped >= 0.8 else "no"),
            "", "Errors (non-2xx or socket errors) across these runs: %d." % errors(res)]
