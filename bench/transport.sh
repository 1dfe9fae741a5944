#!/usr/bin/env bash
# bench/transport.sh: mxout transport against Postfix's own load generator, side by side.
#
# Postfix's smtp-sink (package postfix; installed here if missing, as root) runs on a free port of
# 127.0.0.1. In one run, alternately:
#   - N (20000) messages of 4 KB with 1 recipient: `mxout transport -c 20` (jobs on stdin, -F to the
#     sink) and `smtp-source -s 20 -d` (20 sessions, the same message file, connections kept);
#   - the same with 10 recipients per message.
# For each it prints messages/s, CPU microseconds per message (user+system of the sending process,
# from /usr/bin/time) and peak RSS, and the ratio mxout/smtp-source. Targets (issue 7, 2 cores):
# at least 1.75x smtp-source with 1 recipient and 1.5x with 10; CPU at most 25 us per message.
#
#   LONG=1000000 bash bench/transport.sh   # also: one run of LONG messages, RSS sampled every second
#
# Results are printed and appended to bench/results/transport.txt.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH=$PATH:/usr/local/go/bin:/usr/sbin
N=${N:-20000} CONC=${CONC:-20} LONG=${LONG:-0}
work=$(mktemp -d "${TMPDIR:-/tmp}/mxout-bench.XXXXXX")
sink=
cleanup() {
  [ -z "$sink" ] || kill "$sink" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
. bench/lib.sh
need_postfix
[ -x /usr/bin/time ] || { [ "$(id -u)" = 0 ] && apt-get install -y -q time >/dev/null; }
[ -x /usr/bin/time ] || { echo "transport.sh: /usr/bin/time is missing (package time)" >&2; exit 1; }

CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$work/mxout" ./cmd/mxout
make_msg "$work/msg"
start_sink

jobs() {  # jobs COUNT RCPTS: JSON-lines jobs, all for the same message file
  awk -v n="$1" -v r="$2" -v f="$work/msg" 'BEGIN {
    for (i = 0; i < n; i++) {
      rc = ""
      for (j = 0; j < r; j++) rc = rc (j ? "," : "") "\"u" j "@bench.example.test\""
      printf "{\"id\":\"%d\",\"sender\":\"bench@example.org\",\"recipients\":[%s],\"file\":\"%s\"}\n", i, rc, f
    }
  }'
}

measure() {  # measure NAME CMD...: run, print "NAME seconds cpu_seconds max_rss_kb"
  local name=$1 out
  shift
  /usr/bin/time -o "$work/time" -f '%e %U %S %M' "$@" >"$work/$name.out" 2>"$work/$name.err"
  read -r e u s m <"$work/time"
  echo "$name $e $(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }') $m"
}

run_mxout() {  # run_mxout RCPTS
  jobs "$N" "$1" >"$work/jobs"
  measure "mxout-$1" "$work/mxout" transport -c "$CONC" -F "[127.0.0.1]:$port" -h bench.example.test <"$work/jobs"
  local bad
  bad=$(awk -F'\t' '$3 != "ok"' "$work/mxout-$1.out" | wc -l)
  [ "$bad" = 0 ] || { echo "transport.sh: $bad recipients not ok:" >&2; head -3 "$work/mxout-$1.out" >&2; exit 1; }
}

run_source() {  # run_source RCPTS
  measure "source-$1" smtp-source -s "$CONC" -m "$N" -d -r "$1" -F "$work/msg" -M bench.example.test \
    -f bench@example.org -t u@bench.example.test "127.0.0.1:$port"
}

loadavg=$(cut -d' ' -f1-3 /proc/loadavg)
run_mxout 1 >/dev/null   # warm-up: page cache, first exec
rows=()
for r in 1 10; do
  for round in 1 2; do   # alternate, so a change in machine load hits both alike
    rows+=("$(run_mxout "$r")" "$(run_source "$r")")
  done
done

long=""
if [ "$LONG" -gt 0 ]; then
  jobs "$LONG" 1 >"$work/jobs-long"
  "$work/mxout" transport -c "$CONC" -F "[127.0.0.1]:$port" -h bench.example.test <"$work/jobs-long" \
    >/dev/null 2>"$work/long.err" &
  pid=$!
  samples=()
  while kill -0 "$pid" 2>/dev/null; do
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
    [ -n "$rss" ] && samples+=("$rss")
    sleep 1
  done
  wait "$pid"
  long="RSS (KiB) every second over $LONG messages: ${samples[*]}"
fi

mkdir -p bench/results
{
  echo "mxout transport benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
  machine_lines
  echo "load:    $loadavg before, $(cut -d' ' -f1-3 /proc/loadavg) after (1, 5, 15 min; compare with the cores)"
  echo "peer:    smtp-sink on 127.0.0.1:$port; $N messages of $(wc -c <"$work/msg") bytes; $CONC connections each"
  echo
  printf '| %-22s | %10s | %12s | %10s |\n' run "msgs/s" "CPU us/msg" "peak RSS"
  printf '|%s|%s|%s|%s|\n' "------------------------" "------------" "--------------" "------------"
  for row in "${rows[@]}"; do
    read -r name e cpu m <<<"$row"
    awk -v n="$name" -v e="$e" -v c="$cpu" -v m="$m" -v N="$N" \
      'BEGIN { printf "| %-22s | %10.0f | %12.1f | %7.1f MiB |\n", n, N / e, c * 1e6 / N, m / 1024 }'
  done
  echo
  for r in 1 10; do
    awk -v r="$r" -v N="$N" '
      $1 == "mxout-" r  { mx += N / $2; nm++ }
      $1 == "source-" r { so += N / $2; ns++ }
      END { printf "ratio, %s recipient(s): mxout/smtp-source = %.2fx (target %s)\n", r, (mx / nm) / (so / ns), (r == 1 ? "1.75x" : "1.5x") }
    ' <(printf '%s\n' "${rows[@]}")
  done
  [ -z "$long" ] || echo "$long"
} | tee -a bench/results/transport.txt
