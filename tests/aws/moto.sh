#!/usr/bin/env bash
# The AWS test lab's server: moto_server with opsdeck's patches (opsdeck_moto_server.py)
# on loopback. See tests/aws/README.md.
#
#   tests/aws/moto.sh up       create/refresh the venv, start the server, wait until it answers
#   tests/aws/moto.sh down     stop exactly the server that `up` started
#   tests/aws/moto.sh status   say whether it runs (exit 0) or not (exit 1)
#
# Environment: MOTO_PORT (default 5000). The server listens on 127.0.0.1:$MOTO_PORT
# with moto's request recorder on (MOTO_ENABLE_RECORDING=True), recording into
# tests/aws/run/recording.jsonl (emptied when a new server starts; recording is on from
# the start, so reset it before what you measure). Log: tests/aws/run/moto.log.
# Both `up` and `down` are idempotent. The PID and its start time (field 22 of
# /proc/PID/stat) are kept in tests/aws/run/moto.pid; `down` signals that PID only
# while its start time still matches, so a reused PID is never hit.
set -euo pipefail

AWS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RUN=$AWS_DIR/run
VENV=$RUN/venv
PIDFILE=$RUN/moto.pid
LOGFILE=$RUN/moto.log
RECORDING=$RUN/recording.jsonl
REQUIREMENTS=$AWS_DIR/requirements.txt
PORT=${MOTO_PORT:-5000}
HOST=127.0.0.1
URL=http://$HOST:$PORT
START_TIMEOUT=${MOTO_START_TIMEOUT:-30}

log() { printf '%s [aws-lab] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() {
  printf '%s [aws-lab] ERROR: %s\n' "$(date +%H:%M:%S)" "$*" >&2
  exit 1
}

# Start time of a live, non-zombie process (clock ticks since boot).
proc_start() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) } # comm (field 2) may hold spaces and ')'
  [ "${stat%% *}" != Z ] || return 1
  awk '{ print $20 }' <<<"$stat"
}

# pid file: "PID START PORT". True when that process is still the one we started.
recorded() { # -> sets PID START REC_PORT
  [ -s "$PIDFILE" ] || return 1
  read -r PID START REC_PORT <"$PIDFILE" || true
  [ -n "${PID:-}" ] && [ -n "${START:-}" ]
}
alive() {
  recorded || return 1
  [ "$(proc_start "$PID" 2>/dev/null)" = "$START" ]
}

# True when moto answers at URL: HEAD of the recorder's download. moto's recorder does
# not record /moto-api/recorder/* requests (any other request, /moto-api/data.json
# included, lands in the recording), and HEAD sends no body back.
answers() { # URL
  curl -fsS -I -m 2 -o /dev/null "$1/moto-api/recorder/download-recording" 2>/dev/null ||
    "$VENV/bin/python" - "$1" <<'EOF' 2>/dev/null
import sys, urllib.request
r = urllib.request.Request(sys.argv[1] + "/moto-api/recorder/download-recording", method="HEAD")
urllib.request.urlopen(r, timeout=2).read()
EOF
}

# The venv with the exact pins; pip runs only when an installed version differs.
ensure_venv() {
  local py=${PYTHON:-python3.11}
  command -v "$py" >/dev/null || py=python3
  command -v "$py" >/dev/null || die "no python3.11/python3 found (install CPython 3.11)"
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating venv $VENV ($("$py" --version 2>&1))"
    if ! "$py" -m venv "$VENV"; then
      # Debian's python3 keeps venv in a separate package.
      if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        log "python -m venv failed; installing python3-venv"
        rm -rf "$VENV"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
        "$py" -m venv "$VENV" || die "python -m venv failed even with python3-venv"
      else
        die "python -m venv failed (Debian: apt-get install python3-venv)"
      fi
    fi
  fi
  if "$VENV/bin/python" - "$REQUIREMENTS" <<'EOF'; then
import re, sys
from importlib import metadata
ok = True
for line in open(sys.argv[1]):
    line = line.split("#", 1)[0].strip()
    if not line:
        continue
    name, want = re.match(r"([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==(\S+)", line).groups()
    try:
        have = metadata.version(name)
    except metadata.PackageNotFoundError:
        have = None
    if have != want:
        ok = False
sys.exit(0 if ok else 1)
EOF
    log "venv has the pinned versions ($(grep -E '^[a-z]' "$REQUIREMENTS" | xargs))"
  else
    log "pip install -r $REQUIREMENTS (log: $RUN/pip.log)"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQUIREMENTS" \
      >"$RUN/pip.log" 2>&1 || die "pip install failed; read $RUN/pip.log"
  fi
}

cmd_up() {
  mkdir -p "$RUN"
  if alive; then
    if [ "$REC_PORT" != "$PORT" ]; then
      die "moto already runs on port $REC_PORT (pid $PID); run 'tests/aws/moto.sh down' first to use port $PORT"
    fi
    if answers "$URL"; then
      log "moto already running (pid $PID) at $URL"
      return 0
    fi
    die "moto (pid $PID) runs but does not answer at $URL; read $LOGFILE (or: tests/aws/moto.sh down)"
  fi
  rm -f "$PIDFILE"
  ensure_venv
  if answers "$URL"; then
    die "something else already answers at $URL (not started by this script); stop it or set MOTO_PORT"
  fi
  # A fresh server starts a fresh recording (recording is on from the start).
  : >"$RECORDING"
  log "starting opsdeck_moto_server on $URL (log: $LOGFILE)"
  {
    echo
    echo "=== $(date -Is) tests/aws/moto.sh up: port $PORT"
  } >>"$LOGFILE"
  # setsid: its own session, so it outlives the caller's process group; setsid execs in
  # place, so $! is the server's PID.
  MOTO_PORT=$PORT MOTO_ENABLE_RECORDING=True MOTO_RECORDER_FILEPATH=$RECORDING \
    PYTHONUNBUFFERED=1 setsid "$VENV/bin/python" "$AWS_DIR/opsdeck_moto_server.py" \
    -H "$HOST" -p "$PORT" </dev/null >>"$LOGFILE" 2>&1 &
  local pid=$! start i
  start=$(proc_start "$pid") || die "moto exited at once; read $LOGFILE"
  echo "$pid $start $PORT" >"$PIDFILE"
  for ((i = 0; i < START_TIMEOUT * 10; i++)); do
    if answers "$URL"; then
      log "moto is up (pid $pid) at $URL in $((i / 10)).$((i % 10)) s; recording into $RECORDING"
      return 0
    fi
    if ! alive; then
      rm -f "$PIDFILE"
      die "moto exited while starting; read $LOGFILE"
    fi
    sleep 0.1
  done
  die "moto (pid $pid) did not answer at $URL within ${START_TIMEOUT}s; read $LOGFILE (stop it: tests/aws/moto.sh down)"
}

cmd_down() {
  local i
  if alive; then
    kill -TERM "$PID" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      alive || break
      sleep 0.1
    done
    if alive; then
      log "moto (pid $PID) ignored TERM for 10 s; sending KILL"
      kill -KILL "$PID" 2>/dev/null || true
      sleep 0.2
    fi
    log "stopped moto (pid $PID)"
  elif recorded; then
    log "moto (pid $PID) is not running any more (stale pid file removed)"
  else
    log "moto is not running"
  fi
  rm -f "$PIDFILE"
}

cmd_status() {
  if alive; then
    if answers "http://$HOST:$REC_PORT"; then
      log "moto running (pid $PID) at http://$HOST:$REC_PORT"
      return 0
    fi
    log "moto process $PID exists but does not answer at http://$HOST:$REC_PORT; read $LOGFILE"
    return 1
  fi
  log "moto not running"
  return 1
}

case ${1:-} in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  -h | --help | help) sed -n '2,14p' "$0" ;;
  *) die "usage: tests/aws/moto.sh up|down|status (got '${1:-}')" ;;
esac
