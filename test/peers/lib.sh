# lib.sh: shared helpers for mxout's test peers. It is sourced, never run, by postfix.sh, lmtp.sh, qmtp.sh,
# dns.sh and up.sh; the caller has set -euo pipefail and defines nothing that these names shadow.

# peers_state_dir DIR: create DIR if needed and print its absolute path.
peers_state_dir() {
  mkdir -p "$1" && (cd "$1" && pwd)
}

# peers_install PKG...: apt-get install the packages that are not installed yet. Package scripts
# are not allowed to start system services (policy-rc.d answers 101), so no daemon ever appears on
# its standard port. apt runs under a lock because the peer scripts may run in parallel.
peers_install() {
  local p missing=()
  for p in "$@"; do
    dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  (
    flock 9
    export DEBIAN_FRONTEND=noninteractive
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
      chmod +x /usr/sbin/policy-rc.d
      trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    # Postfix must come up without /etc/postfix/main.cf and without a system instance.
    echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  ) 9>/var/lock/mxout-peers-apt.lock
}

# peers_stop_old DIR NAME PROGRAM: stop the daemon that an earlier run recorded in DIR/pids/NAME.pid,
# but only while that PID still runs PROGRAM (a prefix of /proc/PID/comm: nsd renames itself).
peers_stop_old() {
  local f=$1/pids/$2.pid pid
  [ -s "$f" ] || return 0
  pid=$(cat "$f")
  rm -f "$f"
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$3"* ]] || return 0
  kill "$pid"
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid"
}

# peers_open_dir DIR: daemons drop privileges, so DIR and all its parents must be enterable by
# other users (mktemp -d makes 0700 directories; /root is 0700 too).
peers_open_dir() {
  chmod 755 "$1"
  runuser -u nobody -- test -x "$1" && return 0
  echo "peers: $1 is not reachable by other users (a parent directory lacks o+x)" >&2
  return 1
}

# peers_mail_user: print the user that owns every test maildir, creating the default one.
# PEERS_MAIL_USER picks an existing user instead, so that a non-root test run can read the mail.
peers_mail_user() {
  local u=${PEERS_MAIL_USER:-vmail}
  if [ "$u" = vmail ] && ! getent passwd vmail >/dev/null; then
    useradd --system --user-group --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin vmail
  fi
  echo "$u"
}

# peers_wait_banner PORT LOG: wait up to 20 s for a "220" greeting on 127.0.0.1:PORT.
peers_wait_banner() {
  local b
  for _ in $(seq 100); do
    b=$(timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1 && head -c 3 <&3" 2>/dev/null || true)
    [ "$b" = 220 ] && return 0
    sleep 0.2
  done
  echo "peers: no greeting on 127.0.0.1:$1; see $2" >&2
  return 1
}

# peers_has_ipv6: true when the kernel has the ::1 loopback address.
peers_has_ipv6() {
  grep -q '^0\{31\}1 ' /proc/net/if_inet6 2>/dev/null
}

# peers_wait_port PORT LOG: wait up to 20 s until 127.0.0.1:PORT accepts a connection (for
# protocols where the server does not speak first, like QMTP).
peers_wait_port() {
  for _ in $(seq 100); do
    timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null && return 0
    sleep 0.2
  done
  echo "peers: nothing listens on 127.0.0.1:$1; see $2" >&2
  return 1
}
