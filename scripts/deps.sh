#!/usr/bin/env bash
# Installs the Debian packages Gatehouse builds, tests and benchmarks with.
# Idempotent: with --check it only reports whether anything is missing (exit 1 if so).
set -euo pipefail

PACKAGES=(
  build-essential pkg-config
  libuv1-dev libyaml-dev libssl-dev libjansson-dev libcurl4-openssl-dev libhiredis-dev
  libnghttp2-dev libpcre2-dev libseccomp-dev libsystemd-dev
  libcmocka-dev
  clang libclang-rt-14-dev
  python3 python3-pytest python3-pytest-xdist python3-requests python3-yaml python3-jwt python3-cryptography python3-h2 python3-websockets
  curl wrk nghttp2-client haproxy nginx-light redis-server graphviz prometheus chromium
  debhelper lintian
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${1:-}" = "--check" ]; then
  [ ${#missing[@]} -eq 0 ] && exit 0
  echo "missing packages: ${missing[*]}" >&2
  exit 1
fi

[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
