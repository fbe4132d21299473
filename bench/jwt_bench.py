"""The JWT part of `make bench`: a route with ES256 validation, iss/aud/exp checks and one claim
forwarded, beside HAProxy 2.6 doing jwt_verify with the same key and checks. Two loads: one token
reused by every connection, and a distinct token on every request."""
import os
import subprocess
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
import jwt as pyjwt

ISS, AUD = "https://bench.gatehouse.local", "bench-api"
DISTINCT_TOKENS = int(os.environ.get("BENCH_JWT_TOKENS", "150000"))

LUA = """
local tokens = {}
local i = 0
function init(args)
  for line in io.lines(args[1]) do tokens[#tokens + 1] = "Bearer " .. line end
end
function request()
  i = i + 1
  if i > #tokens then i = 1 end
  return wrk.format(nil, nil, {["Authorization"] = tokens[i]})
end
"""


def prepare(d, gatehouse_bin):
    """Key, JWK set, public PEM for HAProxy, one reusable token and a file of distinct ones."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    with open(os.path.join(d, "bench.pem"), "wb") as f:
        f.write(pem)
    with open(os.path.join(d, "bench.pub.pem"), "wb") as f:
        f.write(key.public_key().public_bytes(serialization.Encoding.PEM,
                                              serialization.PublicFormat.SubjectPublicKeyInfo))
    jwks = subprocess.run([gatehouse_bin, "token", "jwks", "--key", os.path.join(d, "bench.pem"),
                           "--kid", "bench"], capture_output=True, check=True).stdout
    with open(os.path.join(d, "bench.jwks.json"), "wb") as f:
        f.write(jwks)
    now = int(time.time())

    def token(i):
        return pyjwt.encode({"iss": ISS, "aud": AUD, "sub": "user-%d" % i, "scope": "bench", "iat": now,
                             "exp": now + 7200},
                            key, algorithm="ES256", headers={"kid": "bench"})

    with open(os.path.join(d, "tokens.txt"), "w") as f:
        for i in range(DISTINCT_TOKENS):
            f.write(token(i) + "\n")
    with open(os.path.join(d, "distinct.lua"), "w") as f:
        f.write(LUA)
    return token(-1)


def gateway_head(d, port, up_port):
    """One worker, the bench provider and the upstream: what every JWT gateway of the run has."""
    return """workers: 1
listeners: [{address: 127.0.0.1:%d}]
access_log: off
identity:
  jwt:
    bench: {issuer: %s, audiences: [%s], algorithms: [ES256], jwks_file: %s}
upstreams:
  app: {endpoints: [http://127.0.0.1:%d], max_concurrency: 10000}
""" % (port, ISS, AUD, os.path.join(d, "bench.jwks.json"), up_port)


def gatehouse_yaml(d, port, up_port):
    return gateway_head(d, port, up_port) + """routes:
  - {name: app, match: {prefix: /}, auth: {jwt: bench}, forward: {claims: {sub: X-User-Id}}, upstream: app}
"""


# The part of an HAProxy configuration every benchmark run shares: one thread, keep-alive.
HAPROXY_PREAMBLE = """global
  nbthread 1
  maxconn 8000
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option http-keep-alive
"""


def haproxy_cfg(d, port, up_port):
    return HAPROXY_PREAMBLE + """frontend fe
  bind 127.0.0.1:%d
  http-request set-var(txn.bearer) http_auth_bearer
  http-request set-var(txn.alg) var(txn.bearer),jwt_header_query('$.alg')
  http-request deny deny_status 401 unless { var(txn.alg) -m str ES256 }
  http-request deny deny_status 401 unless { var(txn.bearer),jwt_payload_query('$.iss') -m str %s }
  http-request deny deny_status 401 unless { var(txn.bearer),jwt_payload_query('$.aud') -m str %s }
  http-request set-var(txn.exp) var(txn.bearer),jwt_payload_query('$.exp','int')
  http-request set-var(txn.now) date()
  http-request deny deny_status 401 if { var(txn.exp),sub(txn.now) -m int lt 0 }
  http-request deny deny_status 401 unless { var(txn.bearer),jwt_verify(txn.alg,"%s") -m int 1 }
  http-request set-header X-User-Id %%[var(txn.bearer),jwt_payload_query('$.sub')]
  default_backend be
backend be
  http-reuse always
  server s1 127.0.0.1:%d
""" % (port, ISS, AUD, os.path.join(d, "bench.pub.pem"), up_port)
