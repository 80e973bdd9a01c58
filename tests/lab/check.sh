#!/usr/bin/env bash
# pass/fail never fail, so `cond && pass || fail` is an if-then-else here.
# shellcheck disable=SC2015
# Checks a running lab end to end, the way a person would by hand:
#   - 50 requests through nginx split exactly 15/10/15/10 over web-a1/a2/c1/c2
#   - drain web-a1 over ssh as the lab user (edit, nginx -t, reload): 0 requests reach it
#   - a deploy (symlink switch to v41) is seen at once: /version v41, /health 503
#   - ssh to every host works; the lab user can tail an app log and the access log
#   - an insert on the MariaDB primary shows up on the replica; `app` is refused there
#   - a SET on the Redis primary shows up on the replica
#   - Prometheus has every target up and the replica-lag rule loaded
# Restores the upstream file and the symlink it changed. Exit status 0 = all passed.
#
#   tests/lab/check.sh
set -euo pipefail

LAB_DIR=$(cd "$(dirname "$0")" && pwd)
[ -f "$LAB_DIR/lab.env" ] || {
  echo "no $LAB_DIR/lab.env: run tests/lab/up.sh first" >&2
  exit 1
}
set -a
# shellcheck source=/dev/null
. "$LAB_DIR/lab.env"
set +a

FAILED=0
pass() { printf 'ok    %s\n' "$*"; }
fail() {
  printf 'FAIL  %s\n' "$*"
  FAILED=1
}
S=(ssh -F "$LAB_SSH_CONFIG")
split() { # N: "count name" lines for N requests through the LB
  local i
  for ((i = 0; i < $1; i++)); do curl -fsS --max-time 5 "$LAB_LB_URL/" || echo ERROR; done |
    awk '{ print $1 }' | sort | uniq -c | awk '{ printf "%s=%s ", $2, $1 }'
}

# A reload starts fresh workers: no backend is still marked failed (fail_timeout) from
# an earlier test, and smooth weighted round robin gives the exact weights over 50.
$LAB_NGINX_RELOAD
sleep 0.3
got=$(split 50)
[ "$got" = "web-a1=15 web-a2=10 web-c1=15 web-c2=10 " ] && pass "weighted split: $got" || fail "weighted split: $got"

# Drain web-a1 as the lab user on lb, then undrain.
drain='s|^\(\s*server 127.0.1.11:8080[^;]*\);|\1 down;|'
undrain='s|^\(\s*server 127.0.1.11:8080[^;]*\) down;|\1;|'
if "${S[@]}" lb "sed -i '$drain' $LAB_UPSTREAM_FILE && $LAB_NGINX_TEST 2>/dev/null && $LAB_NGINX_RELOAD"; then
  sleep 0.3
  got=$(split 40)
  case $got in *web-a1*) fail "drained web-a1 still gets requests: $got" ;; *) pass "drain over ssh: $got" ;; esac
else
  fail "drain over ssh (sed / nginx -t / reload)"
fi
"${S[@]}" lb "sed -i '$undrain' $LAB_UPSTREAM_FILE && $LAB_NGINX_TEST 2>/dev/null && $LAB_NGINX_RELOAD" ||
  fail "undrain over ssh"
sleep 0.3

# Deploy v41 (broken) on web-c2 over ssh, then roll back.
"${S[@]}" web-c2 "ln -sfn releases/v41 $LAB_CURRENT_WEB_C2"
v=$(curl -fsS "$LAB_WEB_C2_URL/version")
h=$(curl -s -o /dev/null -w '%{http_code}' "$LAB_WEB_C2_URL/health")
[ "$v/$h" = v41/503 ] && pass "deploy by symlink: /version $v, /health $h" || fail "deploy by symlink: /version $v, /health $h"
"${S[@]}" web-c2 "ln -sfn releases/v42 $LAB_CURRENT_WEB_C2"
[ "$(curl -fsS "$LAB_WEB_C2_URL/version")" = v42 ] && pass "rollback to v42" || fail "rollback to v42"

# ssh everywhere; logs readable by the lab user.
bad=""
for host in $LAB_SSH_HOSTS; do
  # shellcheck disable=SC2016 # $LAB_HOST expands on the remote side
  [ "$("${S[@]}" "$host" 'echo $LAB_HOST')" = "$host" ] || bad="$bad $host"
done
[ -z "$bad" ] && pass "ssh to every host ($LAB_SSH_HOSTS)" || fail "ssh to:$bad"
line=$("${S[@]}" web-a1 "tail -n1 $LAB_APP_LOG_WEB_A1 && tail -n1 $LAB_ACCESS_LOG && tail -n1 $LAB_DB_PRIMARY_ERROR_LOG" | wc -l)
[ "$line" = 3 ] && pass "lab user reads app, access and MariaDB logs" || fail "lab user reads logs ($line lines)"

# MariaDB replication.
P=$(cat "$LAB_DB_PASSWORD_FILE")
mark="check-$$-$(date +%s%N)"
mariadb -h "${LAB_DB_PRIMARY%:*}" -P "${LAB_DB_PRIMARY#*:}" -u "$LAB_DB_USER" -p"$P" "$LAB_DB_NAME" \
  -e "INSERT INTO t(v) VALUES ('$mark')"
seen=""
for _ in $(seq 50); do
  seen=$(mariadb -h "${LAB_DB_REPLICA%:*}" -P "${LAB_DB_REPLICA#*:}" -u "$LAB_DB_USER" -p"$P" "$LAB_DB_NAME" \
    -N -B -e "SELECT COUNT(*) FROM t WHERE v='$mark'")
  [ "$seen" = 1 ] && break
  sleep 0.1
done
[ "$seen" = 1 ] && pass "MariaDB insert replicated" || fail "MariaDB insert not on the replica"
if mariadb -h "${LAB_DB_REPLICA%:*}" -P "${LAB_DB_REPLICA#*:}" -u "$LAB_DB_APP_USER" -p"$(cat "$LAB_DB_APP_PASSWORD_FILE")" \
  "$LAB_DB_NAME" -e "INSERT INTO t(v) VALUES ('must-fail')" 2>/dev/null; then
  fail "replica accepted a write from app (read_only?)"
else
  pass "replica is read_only for app"
fi

# Redis replication.
redis-cli -h "${LAB_REDIS_PRIMARY%:*}" -p "${LAB_REDIS_PRIMARY#*:}" SET lab:check "$mark" >/dev/null
seen=""
for _ in $(seq 50); do
  seen=$(redis-cli -h "${LAB_REDIS_REPLICA%:*}" -p "${LAB_REDIS_REPLICA#*:}" GET lab:check)
  [ "$seen" = "$mark" ] && break
  sleep 0.1
done
[ "$seen" = "$mark" ] && pass "Redis SET replicated" || fail "Redis SET not on the replica"

# Prometheus: all targets up (allow time for first scrapes), rule loaded.
targets=""
for _ in $(seq 40); do
  targets=$(curl -fsS "$LAB_PROMETHEUS_URL/api/v1/targets?state=active" | /usr/bin/python3 -c '
import json, sys
t = json.load(sys.stdin)["data"]["activeTargets"]
down = [x["labels"]["job"] + "/" + x["labels"].get("host", "?") for x in t if x["health"] != "up"]
print("down: " + " ".join(down) if down else "%d up" % len(t))')
  case $targets in *up) break ;; esac
  sleep 0.5
done
case $targets in *up) pass "Prometheus targets: $targets" ;; *) fail "Prometheus targets: $targets" ;; esac
curl -fsS "$LAB_PROMETHEUS_URL/api/v1/rules" | grep -q MySQLReplicaLagHigh &&
  pass "Prometheus rule MySQLReplicaLagHigh loaded" || fail "Prometheus rule MySQLReplicaLagHigh missing"
curl -fsS "$LAB_ALERTMANAGER_URL/-/ready" >/dev/null && pass "Alertmanager ready" || fail "Alertmanager not ready"

[ "$FAILED" = 0 ] && echo "lab check: all passed" || echo "lab check: FAILED"
exit "$FAILED"
