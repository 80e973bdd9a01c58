#!/usr/bin/env bash
# Stops the opsdeck lab: exactly the processes recorded in tests/lab/run/pids/ (TERM,
# then KILL after a timeout), and removes their pid files. Safe when nothing is up.
#
#   tests/lab/down.sh            keep data, keys, secrets and configs (fast restart)
#   tests/lab/down.sh --clean    also delete tests/lab/run, lab.env and opsdeck.toml
#
# Processes stopped by az.sh (SIGSTOP) get SIGCONT after TERM so they can exit.
set -euo pipefail

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

CLEAN=0
for arg in "$@"; do
  case $arg in
    --clean) CLEAN=1 ;;
    -h | --help)
      sed -n '2,8p' "$0"
      exit 0
      ;;
    *) die "unknown argument: $arg (try --help)" ;;
  esac
done

# Stop in waves: consumers of a server before the server, so nothing logs noise about
# a vanished peer (exporters, Prometheus, nginx first; databases; sshd last).
stop_wave() { # PATTERN...: stop every recorded NAME matching a glob, in parallel
  local pat f name pids=()
  for pat in "$@"; do
    for f in "$PIDS"/$pat.pid; do
      [ -e "$f" ] || continue
      name=${f##*/}
      name=${name%.pid}
      stop_pid "$name" 15 &
      pids+=("$!")
    done
  done
  for f in "${pids[@]}"; do wait "$f" || true; done
}

# Sessions the lab's sshds started (a console's `tail -F` over SSH, a shell)
# belong to the lab too, and outlive their sshd: collect them while the sshd
# still has them as descendants, and stop them with the rest.
descendants() { # PID: every descendant PID
  local c
  for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
    echo "$c"
    descendants "$c"
  done
}
session_pids=()
if [ -d "$PIDS" ]; then
  for f in "$PIDS"/*.sshd.pid; do
    [ -e "$f" ] || continue
    # shellcheck disable=SC2207 # PIDs are plain numbers
    session_pids+=($(descendants "$(cat "$f")"))
  done
fi

if [ -d "$PIDS" ]; then
  stop_wave '*.exporter' 'mon.*' 'lb.*'
  stop_wave '*.app' 'cache-replica.*' 'db-replica.*'
  stop_wave 'cache-primary.*' 'db-primary.*'
  stop_wave '*'
  rm -f "$PIDS"/*.start
fi
for p in "${session_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done

if [ "$CLEAN" = 1 ]; then
  rm -rf "$RUN"
  rm -f "$LAB_DIR/lab.env" "$LAB_DIR/opsdeck.toml"
  log "removed $RUN, lab.env and opsdeck.toml"
fi
# Heal any AZ cut (az.sh cut): the lab's own nftables tables only.
if command -v nft >/dev/null; then
  for t in opsdeck_lab_az_a opsdeck_lab_az_c; do nft delete table inet "$t" 2>/dev/null || true; done
fi
log "lab is down"
