#!/usr/bin/env bash
# qmtp.sh STATE_DIR: mxout's QMTP test peer, mailfront's QMTP server under ucspi-tcp's tcpserver,
# and QMTPS through stunnel, on 127.0.0.1 only (Debian's tcpserver has no IPv6):
#   QMTP_PORT (2209)    QMTP (cr.yp.to/proto/qmtp.txt)
#   QMTPS_PORT (26209)  TLS from the first byte (STATE_DIR/tls/chain.pem, made by postfix.sh), then QMTP
# Every accepted message becomes one file in STATE_DIR/qmtp/queue/new/ (mailfront's queuedir backend:
# the sender, NUL, each recipient and a NUL, then the message bytes as received).
# Rules (STATE_DIR/qmtp/mailrules), by recipient, for any domain:
#   reject-qmtp-5@...   D (permanent): "no such user here (#5.1.1)"
#   reject-qmtp-4@...   Z (temporary): "deferred by test policy (#4.3.0)"
#   anything else       K
# mailfront answers ONCE per package, not once per recipient as QMTP asks: a package with several
# recipients gets one response (the first refusal, or K for all), see README.md.
# Run postfix.sh first. Prints the PIDs of tcpserver and stunnel, kept in STATE_DIR/pids/qmtp.pid
# and qmtps.pid for stop.sh.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
D=$(peers_state_dir "${1:?usage: $0 STATE_DIR}")
QMTP_PORT=${QMTP_PORT:-2209}
QMTPS_PORT=${QMTPS_PORT:-26209}
Q=$D/qmtp

if [ ! -s "$D/tls/chain.pem" ]; then
  echo "qmtp.sh: $D/tls/chain.pem is missing; run postfix.sh first" >&2
  exit 1
fi
peers_install mailfront ucspi-tcp stunnel4

peers_stop_old "$D" qmtp tcpserver   # a second run restarts the peer with fresh config
peers_stop_old "$D" qmtps stunnel
peers_open_dir "$D"
MAIL_USER=$(peers_mail_user)
mkdir -p "$Q/queue/new" "$Q/queue/tmp" "$Q/tmp" "$D/pids"
chown "$MAIL_USER:$(id -gn "$MAIL_USER")" "$Q/queue" "$Q/queue/new" "$Q/queue/tmp" "$Q/tmp"

# mailrules (mailfront's mailrules.html): k accept, z temporary, d permanent; sender:recipient:text.
cat >"$Q/mailrules" <<'RULES'
:sender
k*:*
:recipient
d*:reject-qmtp-5@*:no such user here (#5.1.1)
z*:reject-qmtp-4@*:deferred by test policy (#4.3.0)
k*:*
RULES

# tcpserver runs this once per connection, as the mail user.
cat >"$Q/run" <<RUN
#!/bin/sh
MAILRULES=$Q/mailrules QUEUEDIR=$Q/queue TMPDIR=$Q/tmp
export MAILRULES QUEUEDIR TMPDIR
exec /usr/sbin/mailfront qmtp queuedir mailrules
RUN
chmod 755 "$Q/run"

# setsid: its own session, so the peer outlives this script; setsid execs, so \$! is tcpserver.
setsid tcpserver -q -R -H -l qmtp.example.test -c 40 -u "$(id -u "$MAIL_USER")" -g "$(id -g "$MAIL_USER")" \
  127.0.0.1 "$QMTP_PORT" "$Q/run" </dev/null >>"$Q/qmtp.log" 2>&1 &
echo $! >"$D/pids/qmtp.pid"

cat >"$Q/stunnel.conf" <<CONF
; Only this file is read (stunnel4 FILE); it runs as root, in the background.
foreground = no
pid = $Q/stunnel.pid
output = $Q/stunnel.log
[qmtps]
accept = 127.0.0.1:$QMTPS_PORT
connect = 127.0.0.1:$QMTP_PORT
cert = $D/tls/chain.pem
key = $D/tls/key.pem
CONF
rm -f "$Q/stunnel.pid"
stunnel4 "$Q/stunnel.conf" </dev/null >>"$Q/stunnel.log" 2>&1   # daemonizes; PID in stunnel.pid
for _ in $(seq 50); do [ -s "$Q/stunnel.pid" ] && break; sleep 0.1; done
tr -d ' \n' <"$Q/stunnel.pid" >"$D/pids/qmtps.pid"

peers_wait_port "$QMTP_PORT" "$Q/qmtp.log"
peers_wait_port "$QMTPS_PORT" "$Q/stunnel.log"
cat "$D/pids/qmtp.pid"
cat "$D/pids/qmtps.pid"; echo
