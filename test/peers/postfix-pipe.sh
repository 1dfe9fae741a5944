#!/usr/bin/env bash
# postfix-pipe.sh STATE_DIR: a second Postfix instance that calls `mxout deliver` through pipe(8),
# the way a Postfix site would use mxout as its delivery agent. It relays to the receiving Postfix
# peer (postfix.sh, port 2525), so start postfix.sh first.
#   PIPE_SMTP_PORT (2526)  plain SMTP into this instance (no TLS, no AUTH; mynetworks relay)
# Mail enters with `sendmail -C STATE_DIR/postfix-pipe/etc` or SMTP on 2526. Its transport map:
#   example.test  mxout:[127.0.0.1]:2525   -> the receiving peer (reject-550@ bounces, reject-450@ defers)
#   dead.test     mxout:[127.0.0.1]:2599   -> nothing listens there: deferred
#   bounces.test  virtual: the maildir STATE_DIR/postfix-pipe/mail/bounces.test/ (send from
#                 someone@bounces.test to read the bounces)
# The mxout transport runs STATE_DIR/postfix-pipe/bin/mxout as the user nobody, with
# mxout_destination_recipient_limit = 1 (one recipient per call, so each gets its own exit
# status). That binary is $MXOUT_BIN when set, else built here from this checkout with go.
# Log: STATE_DIR/postfix-pipe/maillog. PID in STATE_DIR/pids/postfix-pipe.pid for stop.sh.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
D=$(peers_state_dir "${1:?usage: $0 STATE_DIR}")
PORT=${PIPE_SMTP_PORT:-2526} SMTP_PORT=${SMTP_PORT:-2525} DNS_PORT=${DNS_PORT:-5353}
P=$D/postfix-pipe C=$D/postfix-pipe/etc

peers_install postfix

peers_stop_old "$D" postfix-pipe master
peers_open_dir "$D"
MAIL_USER=$(peers_mail_user)
VUID=$(id -u "$MAIL_USER") VGID=$(id -g "$MAIL_USER")
mkdir -p "$C" "$P/spool" "$P/data" "$P/mail" "$P/bin" "$D/pids"
chown "$VUID:$VGID" "$P/mail"
chown postfix "$P/data"
chmod 755 "$P" "$P/bin"

# The binary pipe(8) runs: built before the instance starts, readable and runnable by nobody.
if [ -n "${MXOUT_BIN:-}" ]; then
  install -m 755 "$MXOUT_BIN" "$P/bin/mxout"
else
  GO=$(command -v go || echo /usr/local/go/bin/go)
  (cd "$here/../.." && CGO_ENABLED=0 "$GO" build -trimpath -o "$P/bin/mxout.new" ./cmd/mxout)
  chmod 755 "$P/bin/mxout.new"
  mv "$P/bin/mxout.new" "$P/bin/mxout"
fi

cat >"$C/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $P/spool
data_directory = $P/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = $P/maillog
maillog_file_prefixes = $P
myhostname = pipe.example.test
mydomain = example.test
myorigin = pipe.example.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_peername_lookup = no
smtpd_banner = \$myhostname ESMTP mxout-pipe-peer
biff = no
alias_maps =
alias_database =
transport_maps = texthash:$C/transport
default_transport = error:no route in the mxout pipe peer
relay_domains = example.test, dead.test
virtual_mailbox_domains = bounces.test
virtual_mailbox_base = $P/mail
virtual_mailbox_maps = regexp:$C/vmailbox
virtual_uid_maps = static:$VUID
virtual_gid_maps = static:$VGID
virtual_minimum_uid = 1
# mxout uses the peers' resolver (unbound, dns.sh), not the machine's /etc/resolv.conf
import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ XAUTHORITY DISPLAY LANG=C POSTLOG_SERVICE POSTLOG_HOSTNAME MXOUT_DNS=127.0.0.1:$DNS_PORT
export_environment = TZ MAIL_CONFIG LANG MXOUT_DNS
# one recipient per pipe(8) call: each recipient gets its own exit status (docs/deliver.md)
mxout_destination_recipient_limit = 1
# retry deferred mail rarely, so that a test reads one attempt per message in the log
queue_run_delay = 1h
minimal_backoff_time = 1h
maximal_backoff_time = 2h
# report bounces at once, with the delivery agent's text
bounce_queue_lifetime = 0
delay_warning_time = 0
EOF

cat >"$C/master.cf" <<EOF
# service type  private unpriv  chroot  wakeup  maxproc command
$PORT     inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
# mxout as the delivery agent (README.md): -F takes the transport map's next hop.
mxout     unix  -       n       n       -       -       pipe
  flags=q null_sender= user=nobody argv=$P/bin/mxout deliver -f \${sender} -F \${nexthop} -- \${recipient}
EOF

cat >"$C/transport" <<EOF
example.test	mxout:[127.0.0.1]:$SMTP_PORT
dead.test	mxout:[127.0.0.1]:2599
EOF
cat >"$C/vmailbox" <<'EOF'
/@bounces\.test$/	bounces.test/
EOF

postfix -c "$C" check
postfix -c "$C" start
tr -d ' ' <"$P/spool/pid/master.pid" >"$D/pids/postfix-pipe.pid"
peers_wait_banner "$PORT" "$P/maillog"
cat "$D/pids/postfix-pipe.pid"
