#!/usr/bin/env bash
# scripts/test.sh: mxout's whole test suite, the one command CI runs (.ci/run) and the README shows.
#
#   bash scripts/test.sh
#
# Meant for Debian 12, as root or as a user with sudo (the test peers install Debian packages and start
# Postfix, Dovecot, NSD and Unbound on loopback; see test/peers/README.md). In order:
#   1. start the peers in the background into PEERS_DIR (default .state/peers in the checkout)
#   2. gofmt -l, go vet (with and without the integration tag)
#   3. go test ./...                       unit tests
#   4. go test -tags integration ./test/integration/...   against the peers (MXOUT_PEERS is exported)
#   5. every Fuzz* target for FUZZTIME (default 3s) each, one package at a time
#   6. stop the peers (EXIT trap, also on failure or Ctrl-C)
# The last line is "N passed, N failed": Go test results (--- PASS / --- FAIL lines, subtests and fuzz
# targets included), plus one failure for each step that failed without a failing test (gofmt, vet,
# a build error, peers that did not start). The exit status is 1 when anything failed.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
ROOT=$PWD
export PATH=$PATH:/usr/local/go/bin
export HOME=${HOME:-$(getent passwd "$(id -un)" | cut -d: -f6)}   # go needs it for its caches
FUZZTIME=${FUZZTIME:-3s}
LOGS=$(mktemp -d "${TMPDIR:-/tmp}/mxout-test.XXXXXX")
passed=0 failed=0 t_start=$SECONDS
timings=()

command -v go >/dev/null || { echo "test.sh: go not found (expected in /usr/local/go/bin)" >&2; exit 1; }

as_root() {  # as_root CMD...: run as root, through sudo when we are not root
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo env PEERS_MAIL_USER="$(id -un)" "$@"
  else echo "test.sh: the test peers need root or sudo" >&2; return 1; fi
}

open_to_all() {  # open_to_all DIR: true when DIR's parents can be entered by other users
  local d
  d=$(dirname "$1")
  while [ "$d" != / ]; do
    [[ $(stat -c %A "$d") == *[xt] ]] || return 1   # t: sticky and searchable (/tmp)
    d=$(dirname "$d")
  done
}

PEERS_DIR=${PEERS_DIR:-$ROOT/.state/peers}
mkdir -p "$PEERS_DIR"
if ! open_to_all "$PEERS_DIR"; then   # daemons drop root: e.g. a checkout under /root cannot host them
  echo "test.sh: $PEERS_DIR is not reachable by the peers' users; using a directory in /tmp instead"
  PEERS_DIR=$(mktemp -d /tmp/mxout-peers.XXXXXX)
fi
mkdir -p "$PEERS_DIR"
PEERS_DIR=$(cd "$PEERS_DIR" && pwd)
export MXOUT_PEERS=$PEERS_DIR

# Start the peers now, in the background, so apt and the daemons overlap with vet and the unit tests.
echo "== starting test peers in $PEERS_DIR (log: $LOGS/peers.log)"
as_root bash test/peers/up.sh "$PEERS_DIR" >"$LOGS/peers.log" 2>&1 &
up_pid=$!
cleanup() {
  wait "$up_pid" 2>/dev/null   # let a half-done start finish, so that stop.sh sees every PID file
  echo "== stopping the test peers"
  as_root bash test/peers/stop.sh "$PEERS_DIR" >"$LOGS/peers-stop.log" 2>&1 ||
    { echo "test.sh: stopping the peers needed SIGKILL:"; cat "$LOGS/peers-stop.log"; }
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP   # so that the EXIT trap runs when CI or a user interrupts us

note() {  # note NAME SECONDS: remember a step's duration for the summary
  timings+=("$(printf '%-36s %4d s' "$1" "$2")")
}

step() {  # step NAME CMD...: run a check that is not go test; a failure counts once
  local t0=$SECONDS
  echo "== $1"
  if "${@:2}"; then echo "   ok"; else echo "   FAILED: $1"; failed=$((failed + 1)); fi
  note "$1" $((SECONDS - t0))
}

gotest() {  # gotest NAME ARGS...: go test -v ARGS, counted; passing tests' chatter is not shown
  local name=$1 log=$LOGS/$1.log t0=$SECONDS rc p f b
  shift
  echo "== $name: go test $*"
  go test -v "$@" 2>&1 | tee "$log" |
    grep -vE '^[[:space:]]*(=== (RUN|PAUSE|CONT|NAME)|--- PASS|PASS$)'
  rc=${PIPESTATUS[0]}
  # A fuzz run can end with Go's own "context deadline exceeded" when -fuzztime runs out while a
  # worker is busy (minimizing, or a loaded machine): no failing input is written then. A real
  # failure always writes one, so only that case runs once more.
  if [ "$rc" -ne 0 ] && [ -n "${FUZZ_RETRY:-}" ] && grep -q 'context deadline exceeded' "$log" &&
    ! grep -q 'Failing input written' "$log"; then
    echo "   $name: Go's fuzzing deadline, no failing input: once more"
    go test -v "$@" 2>&1 | tee "$log" |
      grep -vE '^[[:space:]]*(=== (RUN|PAUSE|CONT|NAME)|--- PASS|PASS$)'
    rc=${PIPESTATUS[0]}
  fi
  p=$(grep -cE '^[[:space:]]*--- PASS' "$log")
  f=$(grep -cE '^[[:space:]]*--- FAIL' "$log")
  b=$(grep -cE '^FAIL[[:space:]].*\[(build|setup) failed\]' "$log")
  passed=$((passed + p))
  failed=$((failed + f + b))
  if [ "$rc" -ne 0 ] && [ $((f + b)) -eq 0 ]; then failed=$((failed + 1)); fi
  echo "   $name: $p passed, $((f + b)) failed (exit $rc)"
  note "$name" $((SECONDS - t0))
}

gofmt_clean() {
  local out files
  if ! mapfile -t files < <(git ls-files -co --exclude-standard '*.go' 2>/dev/null) || [ ${#files[@]} -eq 0 ]; then
    mapfile -t files < <(find . -name '*.go' -not -path './.state/*')   # not a git checkout
  fi
  [ ${#files[@]} -eq 0 ] && return 0   # gofmt without arguments would read stdin
  out=$(gofmt -l "${files[@]}")
  [ -z "$out" ] || { echo "   not gofmt-clean:"; sed 's/^/     /' <<<"$out"; return 1; }
}

fuzz_targets() {  # print "package FuzzName" for every fuzz target (go test -list prints names, then "ok pkg")
  go test -list '^Fuzz' ./... 2>&1 | awk '
    /^Fuzz/ { names[n++] = $1; next }
    /^ok[ \t]/ { for (i = 0; i < n; i++) print $2, names[i]; n = 0; next }
    /^(FAIL|\?)/ { n = 0 }'
}

step "gofmt -l" gofmt_clean
step "go vet" go vet ./...
step "go vet (integration tag)" go vet -tags integration ./test/integration/...
gotest unit ./...

t0=$SECONDS
echo "== waiting for the test peers"
if wait "$up_pid"; then
  cat "$LOGS/peers.log"
  note "peers up (waited)" $((SECONDS - t0))
  gotest integration -count=1 -timeout 10m -tags integration ./test/integration/...
else
  cat "$LOGS/peers.log"
  echo "   FAILED: the test peers did not start, so the integration tests could not run"
  failed=$((failed + 1))
fi

t0=$SECONDS
targets=$(fuzz_targets)
note "fuzz: list targets" $((SECONDS - t0))
echo "== fuzz smoke: $(grep -c . <<<"$targets") targets, $FUZZTIME each"
while read -r pkg name; do
  [ -n "$pkg" ] || continue
  FUZZ_RETRY=1 gotest "fuzz-${pkg##*/}-$name" -run '^$' -fuzz "^$name\$" -fuzztime "$FUZZTIME" "$pkg"
done <<<"$targets"

cleanup   # now, so that the count below stays the last line
trap - EXIT
echo "== timings"
printf '   %s\n' "${timings[@]}"
printf '   %-36s %4d s\n' "total" $((SECONDS - t_start))
echo "   logs: $LOGS"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
