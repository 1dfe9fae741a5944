#!/usr/bin/env bash
# scripts/demo.sh: the first command to try. Builds and runs "mxout demo", which needs neither root
# nor the test peers. Extra arguments are passed to "mxout demo".
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH=$PATH:/usr/local/go/bin
command -v go >/dev/null || { echo "demo.sh: go not found (expected in /usr/local/go/bin)" >&2; exit 1; }
exec go run ./cmd/mxout demo "$@"
