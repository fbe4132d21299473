#!/usr/bin/env bash
# `make demo`: starts the gateway on examples/gatehouse.yaml, whose routes answer by themselves
# (no backend to install), and shows what to try.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=build/rel/gatehouse
CONFIG=examples/gatehouse.yaml
scripts/demo-cert.sh
"$BIN" check -c "$CONFIG"
cat <<'TXT'

Gatehouse is starting on http://127.0.0.1:8080 and https://localhost:8443 (admin on
http://127.0.0.1:9901).
In another terminal, try:

  curl -i http://127.0.0.1:8080/healthz                       # a direct response
  curl -i http://127.0.0.1:8080/hello/world                   # a templated route
  curl -i --cacert build/demo/localhost.crt https://localhost:8443/hello/world  # the same over TLS
  curl -i -X POST http://127.0.0.1:8080/orders -d '{}'        # 201 from the demo backend
  curl -i http://127.0.0.1:8080/nowhere                       # 404 problem+json
  curl -i -X DELETE http://127.0.0.1:8080/healthz             # 405 with Allow
  curl -i 'http://127.0.0.1:8080/a/%2e%2e/%2e%2e/etc/passwd'  # 400: path climbs above the root
  printf 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n' \
    | curl -s telnet://127.0.0.1:8080                         # 400: request smuggling attempt
  curl -i http://127.0.0.1:8080/me                             # 401: this route needs a token
  TOKEN=$(build/rel/gatehouse token mint --key examples/keys/dev-es256.pem --kid dev-2026 \
            --iss https://demo.gatehouse.local --aud demo-api --sub alice)
  curl -i -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/me   # 200, verified
  curl -i -H "X-API-Key: demo-partner-key-7f3b9c1e" http://127.0.0.1:8080/partners/ping  # 200, API key
  curl -s http://127.0.0.1:9901/metrics | grep gatehouse_      # Prometheus metrics
  build/rel/gatehouse reload -c examples/gatehouse.yaml       # reload the configuration
  build/rel/gatehouse status -c examples/gatehouse.yaml       # version, uptime, upstream health
  build/rel/gatehouse audit -c examples/gatehouse.yaml        # entry points and weak spots
  build/rel/gatehouse audit -c examples/gatehouse.yaml --format svg -o /tmp/boundaries.svg

Each request prints one JSON access-log line below. Ctrl-C drains and stops the gateway.

TXT
exec "$BIN" run -c "$CONFIG"
