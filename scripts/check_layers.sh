#!/bin/bash
# The layout rule (docs/architecture.md, "Floors"): every dependency points down, and no two
# folders of src/ depend on each other. Reads #include lines and the symbols of the release
# build's objects (build it first); scripts/check_layers.py does the work.
set -euo pipefail
cd "$(dirname "$0")/.."
exec /usr/bin/python3 scripts/check_layers.py "$@"
