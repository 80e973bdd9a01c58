# shellcheck shell=bash disable=SC2034  # variables are used by the scripts that source this
# Shared definitions for the lab scripts (up.sh, down.sh, az.sh, hostkey.sh).
# Sourced, never run. Every process the lab starts is recorded as
#   run/pids/<host>.<service>.pid     the PID (one line)
#   run/pids/<host>.<service>.start   its start time (field 22 of /proc/PID/stat)
# and is only ever signalled while both still match, so a reused PID is never hit.

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Every directory from / down to DIR lets others in (o+x).
others_can_enter() {
  local d=$1 mode
  while :; do
    mode=$(stat -c %A "$d") || return 1
    case ${mode:9:1} in x | t) ;; *) return 1 ;; esac
    [ "$d" = / ] && return 0
    d=$(dirname "$d")
  done
}

# The lab user must reach the lab's files (sshd reads authorized_keys as it;
# nginx and the backends run as it). A checkout under a private directory
# (/root is 0700) cannot be reached, so the lab then lives under /var/tmp.
if [ -n "${LAB_RUN_DIR:-}" ]; then
  RUN=$LAB_RUN_DIR
elif others_can_enter "$LAB_DIR"; then
  RUN=$LAB_DIR/run
else
  RUN=/var/tmp/opsdeck-lab-$(printf '%s' "$LAB_DIR" | md5sum | cut -c1-8)
fi
PIDS=$RUN/pids
LAB_USER=opsdeck-lab
SSH_PORT=2222

# The fleet: host name, loopback address, availability zone ("shared" = regional).
# Any 127.x.y.z works on `lo` with no setup, so every host has its own address.
HOSTS_TABLE="
lb            127.0.0.10 shared
mon           127.0.0.90 shared
web-a1        127.0.1.11 az-a
web-a2        127.0.1.12 az-a
db-primary    127.0.1.21 az-a
cache-primary 127.0.1.31 az-a
web-c1        127.0.2.11 az-c
web-c2        127.0.2.12 az-c
db-replica    127.0.2.21 az-c
cache-replica 127.0.2.31 az-c
"
BACKENDS="web-a1 web-a2 web-c1 web-c2"

host_names() { awk 'NF { print $1 }' <<<"$HOSTS_TABLE"; }
host_ip() { awk -v h="$1" '$1 == h { print $2 }' <<<"$HOSTS_TABLE"; }
host_az() { awk -v h="$1" '$1 == h { print $3 }' <<<"$HOSTS_TABLE"; }
az_hosts() { awk -v z="$1" '$3 == z { print $1 }' <<<"$HOSTS_TABLE"; }

# web-a1 -> WEB_A1 (for variable names in lab.env)
upper_name() { tr 'a-z-' 'A-Z_' <<<"$1"; }

log() { printf '%s [lab] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() {
  printf '%s [lab] ERROR: %s\n' "$(date +%H:%M:%S)" "$*" >&2
  exit 1
}

# Start time of a live process (clock ticks since boot); fails for a gone process and
# for a zombie (exited, not yet reaped by PID 1, which can take seconds here).
proc_start() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  # Field 2 (comm) may hold spaces and ')': cut after the LAST ')'. Then the state is
  # field 1 and starttime field 20.
  stat=${stat##*) }
  [ "${stat%% *}" != Z ] || return 1
  awk '{ print $20 }' <<<"$stat"
}

# True when run/pids/NAME.pid names a live process that is still the one we started.
pid_alive() {
  local name=$1 pid start
  [ -f "$PIDS/$name.pid" ] || return 1
  pid=$(cat "$PIDS/$name.pid")
  [ -n "$pid" ] || return 1
  start=$(proc_start "$pid") || return 1
  [ "$start" = "$(cat "$PIDS/$name.start" 2>/dev/null)" ]
}

pid_of() { cat "$PIDS/$1.pid"; }

# start_bg NAME LOGFILE [--as-lab] CMD...
# Starts CMD in its own session (it survives the caller's process group being killed),
# stdin from /dev/null, output appended to LOGFILE; records PID and start time.
# Idempotent: does nothing if NAME is already running.
start_bg() {
  local name=$1 logfile=$2 pid
  shift 2
  local -a prefix=()
  if [ "${1:-}" = --as-lab ]; then
    shift
    prefix=(setpriv --reuid="$LAB_USER" --regid="$LAB_USER" --init-groups --)
  fi
  if pid_alive "$name"; then
    log "$name already running (pid $(pid_of "$name"))"
    return 0
  fi
  rm -f "$PIDS/$name.pid" "$PIDS/$name.start"
  # Without job control a background child is no process-group leader, so setsid (and
  # setpriv) exec in place: $! is the server's own PID.
  setsid "${prefix[@]}" "$@" </dev/null >>"$logfile" 2>&1 &
  pid=$!
  echo "$pid" >"$PIDS/$name.pid"
  proc_start "$pid" >"$PIDS/$name.start" || die "$name exited at once; read $logfile"
  log "started $name (pid $pid)"
}

# stop_pid NAME [TIMEOUT_S]: TERM (and CONT, in case az.sh stopped it), wait, then KILL.
stop_pid() {
  local name=$1 timeout=${2:-10} pid i
  if pid_alive "$name"; then
    pid=$(pid_of "$name")
    kill -TERM "$pid" 2>/dev/null || true
    kill -CONT "$pid" 2>/dev/null || true
    for ((i = 0; i < timeout * 10; i++)); do
      pid_alive "$name" || break
      sleep 0.1
    done
    if pid_alive "$name"; then
      log "$name (pid $pid) ignored TERM for ${timeout}s; sending KILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.1
    fi
    log "stopped $name (pid $pid)"
  fi
  rm -f "$PIDS/$name.pid" "$PIDS/$name.start"
}

# Names (NAME of run/pids/NAME.pid) of every recorded process of HOST.
host_pid_names() {
  local f
  for f in "$PIDS/$1".*.pid; do
    [ -e "$f" ] || continue
    f=${f##*/}
    echo "${f%.pid}"
  done
}

# start_sshd HOST HOST_KEY_FILE: the sshd of one lab host (key-only, user opsdeck-lab).
# Sessions see LAB_HOST, LAB_AZ and LAB_ROOT in their environment.
start_sshd() {
  local h=$1 key=$2
  start_bg "$h.sshd" "$RUN/ssh/logs/$h.log" /usr/sbin/sshd -D -e -f "$RUN/ssh/sshd_config" \
    -h "$key" -o "ListenAddress=$(host_ip "$h"):$SSH_PORT" \
    -o "SetEnv=LAB_HOST=$h LAB_AZ=$(host_az "$h") LAB_ROOT=$RUN"
}
