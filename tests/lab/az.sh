#!/usr/bin/env bash
# Fails (and heals) a whole availability zone, or single hosts, of the running lab by
# freezing their processes: SIGSTOP / SIGCONT to exactly the recorded PIDs of each
# host (backend, MariaDB or Redis, their exporter, the host's sshd).
#
#   tests/lab/az.sh down az-a|az-c|HOST...   freeze (SIGSTOP)
#   tests/lab/az.sh up   az-a|az-c|HOST...   thaw (SIGCONT)
#   tests/lab/az.sh status                   one line per host: up / DOWN (stopped) / dead
#   tests/lab/az.sh cut  az-a|az-c           cut the AZ off the network (nftables drops
#                                            every packet to its 127.0.x.0/24)
#   tests/lab/az.sh heal az-a|az-c           remove the cut
#
# A frozen host looks like a network partition, not a crash: the kernel still accepts
# TCP connections into the listen backlog, but nothing answers, so clients hit their
# timeouts (nginx: proxy_connect/read 1 s/2 s; ssh: ConnectTimeout 3; MariaDB
# replica: IO thread reconnect). Heal with `up`. down.sh thaws before stopping.
# AZ membership: az-a = web-a1 web-a2 db-primary cache-primary (127.0.1.x),
#                az-c = web-c1 web-c2 db-replica cache-replica (127.0.2.x);
# lb and mon are regional ("shared") and can only be frozen by naming them.
set -euo pipefail

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

usage() { sed -n '2,20p' "$0"; }

targets_to_hosts() { # AZ|HOST... -> host names
  local t
  for t in "$@"; do
    case $t in
      az-a | az-c) az_hosts "$t" ;;
      *)
        [ -n "$(host_ip "$t")" ] || die "unknown AZ or host: $t (AZs: az-a az-c; hosts: $(host_names | xargs))"
        echo "$t"
        ;;
    esac
  done
}

signal_hosts() { # SIGNAL VERB HOST...
  local sig=$1 verb=$2 h name n
  shift 2
  for h in "$@"; do
    n=0
    for name in $(host_pid_names "$h"); do
      if pid_alive "$name"; then
        kill "-$sig" "$(pid_of "$name")"
        n=$((n + 1))
      fi
    done
    log "$verb $h ($n processes, $(host_az "$h"))"
  done
}

host_state() { # HOST -> up | DOWN | dead | partial
  local h=$1 name st up=0 stopped=0 dead=0
  for name in $(host_pid_names "$h"); do
    if pid_alive "$name"; then
      st=$(sed 's/.*) //' "/proc/$(pid_of "$name")/stat" | cut -d' ' -f1)
      if [ "$st" = T ]; then stopped=$((stopped + 1)); else up=$((up + 1)); fi
    else
      dead=$((dead + 1))
    fi
  done
  if [ $((up + stopped)) = 0 ]; then
    echo dead # nothing recorded, or every recorded process gone
  elif [ "$dead" -gt 0 ] || { [ "$stopped" -gt 0 ] && [ "$up" -gt 0 ]; }; then
    echo partial
  elif [ "$stopped" -gt 0 ]; then
    echo DOWN
  else
    echo up
  fi
}

[ $# -ge 1 ] || {
  usage
  exit 2
}
cmd=$1
shift
case $cmd in
  down)
    [ $# -ge 1 ] || die "az.sh down needs an AZ or host"
    # shellcheck disable=SC2046 # host names have no spaces
    signal_hosts STOP froze $(targets_to_hosts "$@")
    ;;
  up)
    [ $# -ge 1 ] || die "az.sh up needs an AZ or host"
    # shellcheck disable=SC2046
    signal_hosts CONT thawed $(targets_to_hosts "$@")
    ;;
  status)
    for h in $(host_names); do printf '%-14s %-6s %s\n' "$h" "$(host_az "$h")" "$(host_state "$h")"; done
    ;;
  cut | heal)
    [ $# = 1 ] || die "az.sh $cmd needs one AZ (az-a or az-c)"
    case $1 in
      az-a) net=127.0.1.0/24 ;;
      az-c) net=127.0.2.0/24 ;;
      *) die "unknown AZ: $1 (az-a or az-c)" ;;
    esac
    command -v nft >/dev/null || die "nft is missing (apt-get install nftables)"
    # One table per AZ, owned by the lab: healing deletes exactly it. A packet
    # to the AZ is dropped on its way out, so replies into the AZ are lost too:
    # a partition in both directions, like a link going down.
    table=opsdeck_lab_${1//-/_}
    if [ "$cmd" = cut ]; then
      nft delete table inet "$table" 2>/dev/null || true
      nft -f - <<NFT
table inet $table {
  chain out {
    type filter hook output priority 0; policy accept;
    ip daddr $net drop
  }
}
NFT
      log "cut $1 off the network ($net)"
    else
      nft delete table inet "$table" 2>/dev/null || true
      log "healed $1 ($net)"
    fi
    ;;
  -h | --help) usage ;;
  *) die "unknown command: $cmd (down|up|status|cut|heal)" ;;
esac
