#!/usr/bin/env bash
# A self-signed certificate for the demo's HTTPS listener (localhost, 127.0.0.1), made on this
# machine: build/demo/localhost.crt and .key. Made again when missing or within 14 days of its end.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=build/demo
CRT=$DIR/localhost.crt
KEY=$DIR/localhost.key
if [ -f "$CRT" ] && [ -f "$KEY" ] && openssl x509 -in "$CRT" -noout -checkend 1209600 >/dev/null 2>&1; then
    exit 0
fi
mkdir -p "$DIR"
umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 90 \
    -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$KEY" -out "$CRT" 2>/dev/null
chmod 644 "$CRT"
