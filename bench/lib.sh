# bench/lib.sh: what the benchmark scripts share. Source it after setting $work (a temporary
# directory the caller removes) and cd'ing to the repository root.

# need_postfix: smtp-sink and smtp-source come with Debian's postfix package; install it if
# missing (root only).
need_postfix() {
  command -v smtp-sink >/dev/null && command -v smtp-source >/dev/null && return 0
  [ "$(id -u)" = 0 ] || { echo "bench: smtp-sink missing; run as root to install postfix" >&2; exit 1; }
  . test/peers/lib.sh
  peers_install postfix
}

# start_sink [ARGS...]: start smtp-sink on a free port of 127.0.0.1 with extra ARGS; sets $sink
# (its PID) and $port. smtp-sink refuses to keep root privileges, so it runs as nobody then.
start_sink() {
  local user=() banner
  [ "$(id -u)" = 0 ] && user=(-u nobody)
  for _ in $(seq 20); do
    port=$((20000 + RANDOM % 30000))
    smtp-sink "${user[@]}" "$@" 127.0.0.1:"$port" 1000 >"$work/sink.log" 2>&1 &
    sink=$!
    for _ in $(seq 50); do
      kill -0 "$sink" 2>/dev/null || break   # e.g. the port was taken: try another one
      banner=$(timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port && head -c 3 <&3" 2>/dev/null || true)
      [ "$banner" = 220 ] && return 0
      sleep 0.1
    done
    kill "$sink" 2>/dev/null || true
    wait "$sink" 2>/dev/null || true
  done
  echo "bench: could not start smtp-sink; last log:" >&2
  cat "$work/sink.log" >&2
  return 1
}

# make_msg FILE: a 4096-byte message with LF line ends.
make_msg() {
  {
    printf 'Date: Sun, 22 Nov 2026 10:00:00 +0000\nFrom: <bench@example.org>\nTo: <sink@bench.example.test>\n'
    printf 'Subject: mxout benchmark\nMessage-ID: <bench@example.org>\n\n'
  } >"$1"
  while [ "$(wc -c <"$1")" -lt 4096 ]; do
    printf '%s\n' "The quick brown fox jumps over the lazy dog, 0123456789 ABCDEFGHIJKLMNOPQRSTUVWXYZ." >>"$1"
  done
  truncate -s 4095 "$1" && echo >>"$1"
}

# machine_lines: the facts every result table starts with.
machine_lines() {
  local cpu
  cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
  echo "machine: $(nproc) cores, ${cpu:-unknown CPU}, $(awk '/^MemTotal:/ {printf "%.0f", $2 / 1048576}' /proc/meminfo) GiB, Linux $(uname -r)"
  echo "go:      $(go version | cut -d' ' -f3-)"
}
