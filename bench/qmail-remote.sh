#!/usr/bin/env bash
# bench/qmail-remote.sh [QMAIL_REMOTE_BINARY]: how fast mxout's qmail-remote delivers when it is used
# the way qmail-send uses it, one process per delivery.
#
# Postfix's smtp-sink (from the postfix package, installed here if missing; needs root for that) is
# started on a free port on 127.0.0.1, a QMAILHOME's control/smtproutes sends bench.example.test to
# it, and bench/qrload runs the binary with a 4 KB message and one recipient:
#   - SERIAL (500) deliveries in a row: milliseconds per delivery; target <= 4 ms
#   - PARALLEL (4000) deliveries, CONCURRENCY (20) at a time: deliveries per second; target >= 650/s
# Every delivery must end in a K report, or the script fails. Without an argument, ./cmd/qmail-remote
# is built into a temporary directory. The result table is printed and appended to bench/results/.
#
# The C reference, notqmail 1.08's qmail-remote, measured 44 ms per delivery and 435 deliveries/s on
# 2 cores in the same setup. It cannot be installed here, so this script only measures mxout; those
# two figures are quoted, not measured.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH=$PATH:/usr/local/go/bin
SERIAL=${SERIAL:-500} PARALLEL=${PARALLEL:-4000} CONCURRENCY=${CONCURRENCY:-20}
work=$(mktemp -d "${TMPDIR:-/tmp}/mxout-bench.XXXXXX")
sink=
cleanup() {
  [ -z "$sink" ] || kill "$sink" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

if [ $# -ge 1 ]; then
  bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
  built="given"
else
  # As README.md says to install it: a static binary (CGO_ENABLED=0) starts without the dynamic loader
  # and libc, which is most of a short-lived process's start-up cost (2.95 vs 3.7 ms of CPU, perf stat).
  CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$work/qmail-remote" ./cmd/qmail-remote
  bin=$work/qmail-remote
  built="built from ./cmd/qmail-remote at $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
fi
[ -x "$bin" ] || { echo "qmail-remote.sh: $bin is not an executable" >&2; exit 1; }
go build -o "$work/qrload" ./bench/qrload

. bench/lib.sh
need_postfix
start_sink

mkdir -p "$work/qmail/control"
echo bench-client.example.test >"$work/qmail/control/me"
echo bench-client.example.test >"$work/qmail/control/helohost"
echo "bench.example.test:127.0.0.1:$port" >"$work/qmail/control/smtproutes"
make_msg "$work/msg"

load() {  # load N C: run qrload and print its result line
  "$work/qrload" -bin "$bin" -msg "$work/msg" -n "$1" -c "$2" -env QMAILHOME="$work/qmail" \
    bench.example.test bench@example.org sink@bench.example.test
}
field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }
verdict() { awk -v a="$1" -v b="$3" "BEGIN { if (a $2 b) print \"met\"; else print \"MISSED\" }"; }

loadavg=$(cut -d' ' -f1-3 /proc/loadavg)   # other work on the machine skews everything: say so
load 20 1 >/dev/null   # warm-up: page cache, first exec
serial=$(load "$SERIAL" 1)
parallel=$(load "$PARALLEL" "$CONCURRENCY")
ms=$(field ms_per_delivery "$serial")
rate=$(field per_second "$parallel")

mkdir -p bench/results
{
  echo "mxout qmail-remote benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
  machine_lines
  echo "load:    $loadavg before, $(cut -d' ' -f1-3 /proc/loadavg) after (1, 5, 15 min; compare with the cores)"
  echo "binary:  $bin ($built)"
  echo "peer:    smtp-sink on 127.0.0.1:$port; message $(wc -c <"$work/msg") bytes, 1 recipient, one process per delivery"
  echo
  printf '| %-24s | %-40s | %-8s | %-6s | %-24s |\n' run result target status "notqmail 1.08 (quoted)"
  printf '|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..26})" "$(printf -- '-%.0s' {1..42})" \
    "$(printf -- '-%.0s' {1..10})" "$(printf -- '-%.0s' {1..8})" "$(printf -- '-%.0s' {1..26})"
  printf '| %-24s | %-40s | %-8s | %-6s | %-24s |\n' "$SERIAL in a row" \
    "$ms ms/delivery (p50 $(field p50_ms "$serial"), p99 $(field p99_ms "$serial"))" "<= 4 ms" \
    "$(verdict "$ms" '<=' 4)" "44 ms/delivery"
  printf '| %-24s | %-40s | %-8s | %-6s | %-24s |\n' "$PARALLEL, $CONCURRENCY at a time" \
    "$rate deliveries/s (p99 $(field p99_ms "$parallel") ms)" ">= 650/s" \
    "$(verdict "$rate" '>=' 650)" "435 deliveries/s"
  echo
  echo "raw: $serial"
  echo "raw: $parallel"
} | tee -a "bench/results/qmail-remote.txt"
