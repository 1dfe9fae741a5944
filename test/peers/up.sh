#!/usr/bin/env bash
# up.sh STATE_DIR: start all of mxout's test peers under STATE_DIR and wait until each one answers:
# postfix.sh first (it makes STATE_DIR/tls, which dns.sh hashes into TLSA records, qmtp.sh's
# stunnel presents and mtasts.sh signs its certificate with), then lmtp.sh, dns.sh, qmtp.sh,
# mtasts.sh and postfix-pipe.sh (which builds mxout and relays to postfix.sh's peer) side by side.
# Each script's output goes to
# STATE_DIR/logs/<name>.out and is shown when it fails. Peers already running from STATE_DIR are
# restarted; a port taken by anything else is an error. On any failure the peers that did start are
# stopped again and the exit status is 1.
# Needs root (apt-get, useradd, chown). Stop everything with: stop.sh STATE_DIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
D=$(peers_state_dir "${1:?usage: $0 STATE_DIR}")
mkdir -p "$D/logs"

start() {  # start NAME: run NAME.sh into its log; print how long it took, or the log on failure
  local t0=$SECONDS
  if bash "$here/$1.sh" "$D" >"$D/logs/$1.out" 2>&1; then
    echo "peers: $1 up in $((SECONDS - t0)) s (pid $(tr '\n' ' ' <"$D/logs/$1.out" | sed 's/ *$//'))"
  else
    echo "peers: $1.sh failed; its output:" >&2
    sed 's/^/  | /' "$D/logs/$1.out" >&2
    return 1
  fi
}
fail() {
  bash "$here/stop.sh" "$D" >/dev/null || true
  exit 1
}

# A second set of peers (another state directory) on the same ports would answer in place of ours,
# and the tests would then look for mail in the wrong place: stop ours, then insist on free ports.
bash "$here/stop.sh" "$D" >/dev/null || true
for port in "${SMTP_PORT:-2525}" "${SMTPS_PORT:-4465}" "${SUBMIT_PORT:-2587}" "${LMTP_PORT:-2424}" \
  "${AUTH_PORT:-5300}" "${DNS_PORT:-5353}" "${QMTP_PORT:-2209}" "${QMTPS_PORT:-26209}" "${PIPE_SMTP_PORT:-2526}" 443; do
  if timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null; then
    echo "peers: 127.0.0.1:$port is already taken (other peers? stop them with stop.sh THEIR_STATE_DIR)" >&2
    exit 1
  fi
done

start postfix || fail
start lmtp & lmtp=$!
start dns & dns=$!
start qmtp & qmtp=$!
start postfix-pipe & pipe=$!
start mtasts & mtasts=$!
ok=yes
wait "$lmtp" || ok=no
wait "$dns" || ok=no
wait "$qmtp" || ok=no
wait "$pipe" || ok=no
wait "$mtasts" || ok=no
[ $ok = yes ] || fail
echo "peers: all up in $D"
