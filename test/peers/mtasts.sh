#!/usr/bin/env bash
# mtasts.sh STATE_DIR: the MTA-STS policy host of the test peers, an HTTPS server (Go's net/http,
# test/peers/policyserver) on 127.0.0.1:443 that serves https://mta-sts.<domain>/.well-known/mta-sts.txt
# for the sts-*.insecure.test domains. dns.sh publishes their _mta-sts and _smtp._tls TXT records and
# points every mta-sts.<domain> at 127.0.0.1. Port 443 because RFC 8461 §3.3 fixes it and mxout has
# no port override: the tests exercise the code path real deliveries take (needs root, as every peer).
# Its certificate (STATE_DIR/tls/mta-sts.pem, key mta-sts.key) is signed by postfix.sh's test CA: run
# postfix.sh first. Clients trust that CA through SSL_CERT_FILE=STATE_DIR/tls/ca.pem.
# Policies: STATE_DIR/mta-sts/policies/<domain>.txt (listed in README.md). It also takes TLS-RPT reports
# POSTed to https://mta-sts.<domain>/tlsrpt into STATE_DIR/mta-sts/reports/. Prints the server's PID,
# also kept in STATE_DIR/pids/mtasts.pid for stop.sh.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
D=$(peers_state_dir "${1:?usage: $0 STATE_DIR}")
T=$D/tls M=$D/mta-sts HTTPS_ADDR=${MTASTS_ADDR:-127.0.0.1:443}
[ -s "$T/ca.pem" ] && [ -s "$T/ca.key" ] || { echo "mtasts.sh: need $T/ca.pem and ca.key (run postfix.sh first)" >&2; exit 1; }
command -v go >/dev/null || PATH=$PATH:/usr/local/go/bin
peers_install openssl

peers_stop_old "$D" mtasts policyserver
mkdir -p "$M/policies" "$M/reports" "$D/pids"

# The policy domains; each gets the name mta-sts.<domain> in the certificate.
DOMAINS="sts-enforce sts-wild sts-nomatch sts-badcert sts-testing sts-strip sts-oversize sts-slow sts-redirect sts-none"
NAMES=$(for d in $DOMAINS; do printf 'DNS:mta-sts.%s.insecure.test,' "$d"; done)
NAMES=${NAMES%,}
(
  flock 9
  # Made again when the list of names changes; signed by the CA that postfix.sh keeps.
  if [ ! -s "$T/mta-sts.pem" ] || [ "$(cat "$T/mta-sts.names" 2>/dev/null)" != "$NAMES" ]; then
    openssl req -newkey rsa:2048 -nodes -subj "/CN=mta-sts.sts-enforce.insecure.test" \
      -keyout "$T/mta-sts.key" -out "$T/mta-sts.csr" 2>/dev/null
    openssl x509 -req -in "$T/mta-sts.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days 3650 \
      -out "$T/mta-sts.crt" -extfile <(printf '%s\n' "subjectAltName=$NAMES" \
        'basicConstraints=CA:FALSE' 'keyUsage=digitalSignature,keyEncipherment' 'extendedKeyUsage=serverAuth') 2>/dev/null
    cat "$T/mta-sts.crt" "$T/ca.pem" >"$T/mta-sts.pem"
    echo "$NAMES" >"$T/mta-sts.names"
    chmod 644 "$T/mta-sts.pem"; chmod 600 "$T/mta-sts.key"
  fi
) 9>"$D/.tls.lock"

policy() {  # policy DOMAIN MODE MX...: write the policy of DOMAIN.insecure.test
  local d=$1 mode=$2; shift 2
  { echo "version: STSv1"; echo "mode: $mode"; for mx in "$@"; do echo "mx: $mx"; done; echo "max_age: 86400"; } \
    >"$M/policies/$d.insecure.test.txt"
}
policy sts-enforce enforce mx1.insecure.test      # the MX matches, the certificate names it: delivers
policy sts-wild enforce '*.insecure.test'         # the MX matches by wildcard
policy sts-nomatch enforce mx.elsewhere.test      # the only MX does not match: nothing is sent
policy sts-badcert enforce '*.insecure.test'      # MX other.insecure.test: the certificate lacks the name
policy sts-testing testing '*.insecure.test'      # the same, in testing mode: delivers, records the failure
policy sts-strip enforce mx-strip.insecure.test   # MX 127.0.0.3: a STARTTLS-stripping proxy in the tests
policy sts-none none                              # mode none: as if no policy
# sts-oversize, sts-slow and sts-redirect are served by policyserver's code, not from files.

go build -C "$here/../.." -o "$M/policyserver" ./test/peers/policyserver
setsid "$M/policyserver" -listen "$HTTPS_ADDR" -cert "$T/mta-sts.pem" -key "$T/mta-sts.key" -dir "$M/policies" \
  -reports "$M/reports" </dev/null >"$M/policyserver.log" 2>&1 &
echo $! >"$D/pids/mtasts.pid"
peers_wait_port "${HTTPS_ADDR##*:}" "$M/policyserver.log"
cat "$D/pids/mtasts.pid"
