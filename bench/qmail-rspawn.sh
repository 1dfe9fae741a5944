#!/usr/bin/env bash
# bench/qmail-rspawn.sh: mxout's qmail-rspawn (deliveries in one process, kept connections, recipient
# batching) against the process-per-delivery path (qmail-remote, one process per delivery, as the
# reference qmail-rspawn runs it), both driven as qmail-send drives them.
#
# Postfix's smtp-sink (installed if missing; root for that) runs on a free port of 127.0.0.1, started
# afresh for every run with -c, so that its counters give the TCP connections (sess) and the SMTP
# transactions (mesg) of that run. A QMAILHOME's control/smtproutes sends bench.example.test to it. The
# message is 4 KB. Two workloads of 2,000 deliveries, one recipient per request, at one destination:
#   A = 2,000 messages x 1 recipient      B = 20 messages x 100 recipients
# - qmail-rspawn: bench/rsload, a fake qmail-send, with 20 and then 100 deliveries in flight (and
#   control/concurrencyremote saying so, as qmail-send reads it too);
# - qmail-remote: bench/qrload, 2,000 processes, 20 at a time (what qmail-send does through the
#   reference spawner: one qmail-remote per recipient, so A and B are the same work for it).
# Printed: deliveries/s, CPU per delivery (of the spawner, or of the qmail-remote processes; the
# drivers and the sink are not counted), connections and transactions. Every delivery must end in K.
# As root the spawner runs as nobody (it refuses root), which then owns the queue's messages.
#
# The C reference (notqmail 1.08: qmail-rspawn + qmail-remote) cannot be installed here: its figures
# are quoted from docs/benchmarks.md (435 deliveries/s, 20 at a time, one connection and one
# transaction per delivery), not measured.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH=$PATH:/usr/local/go/bin
REF_RATE=${REF_RATE:-435}   # notqmail 1.08, deliveries/s, 20 at a time (quoted)
work=$(mktemp -d "${TMPDIR:-/tmp}/mxout-bench.XXXXXX")
chmod 755 "$work"           # the spawner runs as another user
sink=
cleanup() {
  [ -z "$sink" ] || kill "$sink" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

if [ "$(id -u)" = 0 ]; then quser=nobody; else quser=$(id -un); fi
# As README.md says to install them: static binaries.
CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.queueUser=$quser" -o "$work/qmail-rspawn" ./cmd/qmail-rspawn
CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$work/qmail-remote" ./cmd/qmail-remote
go build -o "$work/rsload" ./bench/rsload
go build -o "$work/qrload" ./bench/qrload
chmod 755 "$work"/qmail-rspawn

. bench/lib.sh
need_postfix
make_msg "$work/msg"
chmod 644 "$work/msg"

# home NAME CONCURRENCY: a QMAILHOME routing bench.example.test to the current sink.
home() {
  local h=$work/$1
  rm -rf "$h"
  mkdir -p "$h/control"
  echo bench-client.example.test >"$h/control/me"
  echo bench-client.example.test >"$h/control/helohost"
  echo "bench.example.test:127.0.0.1:$port" >"$h/control/smtproutes"
  echo "$2" >"$h/control/concurrencyremote"
  chmod -R a+rX "$h"
  echo "$h"
}
counters() {  # the sink's last "sess=N quit=N mesg=N" line, as "SESS MESG"
  tr '\r' '\n' <"$work/sink.log" | sed -n 's/.*sess=\([0-9]*\) quit=[0-9]* mesg=\([0-9]*\).*/\1 \2/p' | tail -1
}
field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }

# measure LABEL COMMAND...: run one workload against a fresh sink; prints "LABEL RESULTLINE sess=N mesg=N"
measure() {
  local label=$1 before after out
  shift
  start_sink -c
  before=$(counters); before=${before:-0 0}
  out=$("$@")
  sleep 0.5   # the sink counts a session when it ends
  after=$(counters)
  kill "$sink"; wait "$sink" 2>/dev/null || true; sink=
  echo "$label $out sess=$(( ${after% *} - ${before% *} )) mesg=$(( ${after#* } - ${before#* } ))"
}
rspawn() {  # rspawn MESSAGES RCPTS INFLIGHT
  local h
  h=$(home "rs-$1-$3" "$3")
  "$work/rsload" -bin "$work/qmail-rspawn" -home "$h" -msg "$work/msg" -messages "$1" -rcpts "$2" -c "$3" \
    $([ "$(id -u)" = 0 ] && echo -user nobody) bench.example.test
}
remote() {  # remote N INFLIGHT
  local h
  h=$(home "qr" "$2")
  "$work/qrload" -bin "$work/qmail-remote" -msg "$work/msg" -n "$1" -c "$2" -env QMAILHOME="$h" \
    bench.example.test bench@example.org sink@bench.example.test
}

loadavg=$(cut -d' ' -f1-3 /proc/loadavg)   # other work on the machine skews everything: say so
runs=()
runs+=("$(measure "A rspawn-20" rspawn 2000 1 20)")
runs+=("$(measure "A rspawn-100" rspawn 2000 1 100)")
runs+=("$(measure "A remote-20" remote 2000 20)")
runs+=("$(measure "B rspawn-20" rspawn 20 100 20)")
runs+=("$(measure "B rspawn-100" rspawn 20 100 100)")
runs+=("$(measure "B remote-20" remote 2000 20)")

mkdir -p bench/results
{
  echo "mxout qmail-rspawn benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
  machine_lines
  echo "load:    $loadavg before, $(cut -d' ' -f1-3 /proc/loadavg) after (1, 5, 15 min; compare with the cores)"
  echo "peer:    smtp-sink on 127.0.0.1; message $(wc -c <"$work/msg") bytes; 2,000 deliveries per run, one destination"
  echo "         A = 2,000 messages x 1 recipient, B = 20 messages x 100 recipients; one recipient per request"
  echo
  printf '| %-2s | %-34s | %-12s | %-9s | %-11s | %-12s | %-16s |\n' wl path deliveries/s "x notqmail" "CPU ms/dlv" connections transactions
  printf '|%s|%s|%s|%s|%s|%s|%s|\n' ---- "$(printf -- '-%.0s' {1..36})" -------------- ----------- ------------- -------------- ------------------
  for r in "${runs[@]}"; do
    read -r wl path rest <<<"$r"
    case $path in
      rspawn-*) name="qmail-rspawn, ${path#rspawn-} in flight" ;;
      remote-*) name="qmail-remote processes, ${path#remote-} at a time" ;;
    esac
    rate=$(field per_second "$rest")
    printf '| %-2s | %-34s | %-12s | %-9s | %-11s | %-12s | %-16s |\n' "$wl" "$name" "$rate" \
      "$(awk -v a="$rate" -v b="$REF_RATE" 'BEGIN { printf "%.1fx", a / b }')" \
      "$(field cpu_ms_per_delivery "$rest")" "$(field sess "$rest")" "$(field mesg "$rest")"
  done
  echo "notqmail 1.08 (quoted, not measured): $REF_RATE deliveries/s, 2,000 connections and 2,000 transactions per workload"
  echo "targets (issue 8): A >= 3x, B >= 5x deliveries/s; >= 10x fewer connections (<= 200); B >= 5x fewer transactions (<= 400)"
  echo
  for r in "${runs[@]}"; do echo "raw: $r"; done
} | tee -a bench/results/qmail-rspawn.txt
