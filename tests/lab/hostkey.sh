#!/usr/bin/env bash
# Simulates a changed SSH host key on one lab host (e.g. a rebuilt machine, or a
# man in the middle): restarts that host's sshd with run/ssh/changed_host_key, so
# clients using run/ssh/known_hosts (StrictHostKeyChecking yes) refuse to connect.
#
#   tests/lab/hostkey.sh swap HOST      serve the changed key
#   tests/lab/hostkey.sh restore HOST   serve the host's own key again
#
# Without restarting anything, a test can also build its own known_hosts in which
# HOST's line carries run/ssh/changed_host_key.pub instead.
set -euo pipefail

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

[ $# = 2 ] || {
  sed -n '2,10p' "$0"
  exit 2
}
h=$2
[ -n "$(host_ip "$h")" ] || die "unknown host: $h"
case $1 in
  swap) key=$RUN/ssh/changed_host_key ;;
  restore) key=$RUN/ssh/host_keys/$h ;;
  *) die "unknown command: $1 (swap|restore)" ;;
esac
stop_pid "$h.sshd" 5
start_sshd "$h" "$key"
# Wait until the new sshd listens (a key scan succeeds).
for _ in $(seq 50); do
  ssh-keyscan -T 1 -p "$SSH_PORT" -t ed25519 "$(host_ip "$h")" >/dev/null 2>&1 && exit 0
  sleep 0.1
done
die "sshd of $h did not come back; read $RUN/ssh/logs/$h.log"
