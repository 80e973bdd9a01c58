#!/usr/bin/env bash
# Brings up the opsdeck lab: a two-AZ web service on loopback addresses, made of real
# servers (nginx, MariaDB primary+replica, Redis primary+replica, one sshd per host,
# Prometheus + Alertmanager + exporters, four python backends). See tests/lab/README.md.
#
#   tests/lab/up.sh [--wait-targets]
#
# Idempotent: a second run starts only what is not running and checks health again.
# Installs missing packages first (needs root). Every PID it starts is recorded in
# tests/lab/run/pids/; tests/lab/down.sh stops exactly those.
# --wait-targets: also wait until Prometheus reports every scrape target up (~6-12 s).
# Exit status 0 means every server answered; otherwise the error names what failed and
# the log file to read. Writes tests/lab/lab.env (shell variables) at the end.
set -euo pipefail

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

WAIT_TARGETS=0
for arg in "$@"; do
  case $arg in
    --wait-targets) WAIT_TARGETS=1 ;;
    -h | --help)
      sed -n '2,13p' "$0"
      exit 0
      ;;
    *) die "unknown argument: $arg (try --help)" ;;
  esac
done

# Any unexpected failure names the command and line instead of exiting silently.
set -E
trap 'die "up.sh failed at line $LINENO: $BASH_COMMAND"' ERR

[ "$(id -u)" = 0 ] || die "run as root (the lab installs packages, creates a user and runs sshd)"
T0=$(date +%s%N)
# Files the lab creates are group-writable; setgid directories give them the lab group.
umask 0002

# Where an apt-less Prometheus binary is unpacked (outside the repo: survives --clean).
PROM_OPT=/opt/opsdeck-lab/prometheus

# ---------------------------------------------------------------------------------
# 1. Packages. Check first (command -v / dpkg), so a machine that has them skips apt.
# ---------------------------------------------------------------------------------
APT_UPDATED=0
apt_update_once() {
  if [ "$APT_UPDATED" = 0 ]; then
    log "apt-get update"
    apt-get update -qq
    APT_UPDATED=1
  fi
}
apt_install() {
  apt_update_once
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

install_packages() {
  local -a need=()
  [ -x /usr/sbin/nginx ] || need+=(nginx)
  [ -x /usr/sbin/mariadbd ] && command -v mariadb-install-db >/dev/null || need+=(mariadb-server)
  command -v redis-server >/dev/null || need+=(redis-server)
  [ -x /usr/sbin/sshd ] && command -v ssh-keygen >/dev/null || need+=(openssh-server)
  command -v prometheus-alertmanager >/dev/null || need+=(prometheus-alertmanager)
  command -v prometheus-node-exporter >/dev/null || need+=(prometheus-node-exporter)
  command -v prometheus-mysqld-exporter >/dev/null || need+=(prometheus-mysqld-exporter)
  command -v prometheus-redis-exporter >/dev/null || need+=(prometheus-redis-exporter)
  command -v tmux >/dev/null || need+=(tmux)
  [ -x /usr/bin/python3 ] || need+=(python3)
  command -v curl >/dev/null || need+=(curl)
  command -v nft >/dev/null || need+=(nftables)
  # Prometheus: the Debian package depends on ~218 MB of JavaScript (libjs-moment-timezone)
  # for its console pages. Unless LAB_PROMETHEUS_FROM_APT=1, unpack just the binary.
  if ! command -v prometheus >/dev/null && [ "${LAB_PROMETHEUS_FROM_APT:-0}" = 1 ]; then
    need+=(prometheus)
  fi
  if [ ${#need[@]} -gt 0 ]; then
    apt_install "${need[@]}"
  fi
  # Optional: nginx stub_status exporter (skipped quietly where no package exists).
  if ! command -v prometheus-nginx-exporter >/dev/null; then
    apt_update_once
    if apt-cache show prometheus-nginx-exporter >/dev/null 2>&1; then
      apt_install prometheus-nginx-exporter || log "prometheus-nginx-exporter did not install; nginx is not scraped"
    fi
  fi

  if command -v prometheus >/dev/null; then
    PROMETHEUS_BIN=$(command -v prometheus)
  else
    PROMETHEUS_BIN=$PROM_OPT/usr/bin/prometheus
    if [ ! -x "$PROMETHEUS_BIN" ]; then
      apt_update_once
      log "unpacking the prometheus binary into $PROM_OPT (apt-get download + dpkg -x)"
      local tmp
      tmp=$(mktemp -d)
      (cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root prometheus)
      rm -rf "$PROM_OPT"
      mkdir -p "$PROM_OPT"
      dpkg -x "$tmp"/prometheus_*.deb "$PROM_OPT"
      rm -rf "$tmp"
    fi
  fi
  [ -x "$PROMETHEUS_BIN" ] || die "no prometheus binary at $PROMETHEUS_BIN"
  NGINX_EXPORTER=$(command -v prometheus-nginx-exporter || true)
}

# ---------------------------------------------------------------------------------
# 2. The lab user: logs in over ssh (key only), runs the unprivileged servers, owns
#    what tests and opsdeck edit (upstream.conf, the `current` symlinks).
# ---------------------------------------------------------------------------------
ensure_user() {
  getent group "$LAB_USER" >/dev/null || groupadd --system "$LAB_USER"
  if ! id "$LAB_USER" >/dev/null 2>&1; then
    # No skeleton files: /bin/sh reads nothing for `ssh host cmd`, so a command costs ~ms.
    useradd --system --gid "$LAB_USER" --home-dir "/home/$LAB_USER" --no-create-home \
      --shell /bin/sh "$LAB_USER"
  fi
  mkdir -p "/home/$LAB_USER"
  chown "$LAB_USER:$LAB_USER" "/home/$LAB_USER"
  # useradd leaves the password '!' (locked); sshd without PAM refuses locked accounts
  # even for keys. '*' is "no password" but not locked.
  if [ "$(getent shadow "$LAB_USER" | cut -d: -f2)" != '*' ]; then
    usermod -p '*' "$LAB_USER"
  fi
}

# ---------------------------------------------------------------------------------
# 3. Layout, secrets, keys, configs. Files that tests mutate (upstream.conf, the
#    `current` symlinks, data dirs) are only created when missing, so a second run
#    does not undo a test's drain or deploy.
# ---------------------------------------------------------------------------------
make_layout() {
  mkdir -p "$RUN" "$PIDS" "$RUN/secrets" "$RUN/ssh/host_keys" "$RUN/ssh/logs" \
    "$RUN/nginx/conf" "$RUN/nginx/logs" "$RUN/nginx/tmp" \
    "$RUN/mon/logs" "$RUN/mon/prometheus-data" "$RUN/mon/alertmanager-data"
  local h
  for h in $(host_names); do
    case $h in lb | mon) continue ;; esac
    mkdir -p "$RUN/hosts/$h/logs"
  done
  # Group opsdeck-lab everywhere (setgid directories keep it for new files) so the lab
  # user can read every log, e.g. MariaDB's (mode 0660). Root's servers (sshd,
  # mariadbd) and the pid files stay unwritable by it: 2755.
  chgrp -R "$LAB_USER" "$RUN"
  find "$RUN" -type d -not -path "$RUN/secrets*" -not -path '*/data*' -exec chmod 2755 {} +
  chmod 0700 "$RUN/secrets"
  chgrp root "$RUN/secrets"
  # The lab user's servers own their trees: nginx (it edits upstream.conf and reloads),
  # the backends (it switches `current`), Redis, monitoring.
  local -a own=("$RUN/nginx" "$RUN/mon")
  for h in $BACKENDS cache-primary cache-replica; do own+=("$RUN/hosts/$h"); done
  chown -R "$LAB_USER:$LAB_USER" "${own[@]}"
  find "${own[@]}" -type d -exec chmod 2775 {} +
  # sshd reads authorized_keys as the user and nginx runs as the user: every parent
  # directory of the repo must be searchable by it.
  setpriv --reuid="$LAB_USER" --regid="$LAB_USER" --init-groups -- test -x "$RUN/ssh" ||
    die "user $LAB_USER cannot reach $RUN (a parent directory is not world-searchable; chmod o+x it)"
}

gen_secret() { # FILE: a 24-character alphanumeric password, created once
  local s
  if [ ! -s "$1" ]; then
    s=$(head -c 600 /dev/urandom | LC_ALL=C tr -dc 'A-Za-z0-9')
    printf '%s' "${s:0:24}" >"$1"
  fi
  chmod 0600 "$1"
}

gen_secrets() {
  gen_secret "$RUN/secrets/db_password"          # user opsdeck (the console)
  gen_secret "$RUN/secrets/db_app_password"      # user app (lab.* only; obeys read_only)
  gen_secret "$RUN/secrets/db_repl_password"     # user repl (REPLICATION SLAVE)
  gen_secret "$RUN/secrets/db_exporter_password" # user exporter (mysqld_exporter)
  DB_PASSWORD=$(cat "$RUN/secrets/db_password")
  DB_APP_PASSWORD=$(cat "$RUN/secrets/db_app_password")
  DB_REPL_PASSWORD=$(cat "$RUN/secrets/db_repl_password")
  DB_EXPORTER_PASSWORD=$(cat "$RUN/secrets/db_exporter_password")
}

gen_ssh() {
  local d=$RUN/ssh h ip
  [ -f "$d/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C opsdeck-lab -f "$d/id_ed25519"
  chmod 0600 "$d/id_ed25519"
  cp "$d/id_ed25519.pub" "$d/authorized_keys"
  chmod 0644 "$d/authorized_keys"
  # A spare host key: tests restart one host's sshd with it (hostkey.sh swap HOST) or
  # put it in a known_hosts file to see how opsdeck reports a changed host key.
  [ -f "$d/changed_host_key" ] || ssh-keygen -q -t ed25519 -N '' -C changed-host-key -f "$d/changed_host_key"
  : >"$d/known_hosts.tmp"
  for h in $(host_names); do
    ip=$(host_ip "$h")
    [ -f "$d/host_keys/$h" ] || ssh-keygen -q -t ed25519 -N '' -C "$h" -f "$d/host_keys/$h"
    echo "[$ip]:$SSH_PORT $(cut -d' ' -f1,2 "$d/host_keys/$h.pub")" >>"$d/known_hosts.tmp"
  done
  chmod 0600 "$d"/host_keys/* "$d/changed_host_key"
  chmod 0644 "$d"/host_keys/*.pub "$d/changed_host_key.pub"
  mv "$d/known_hosts.tmp" "$d/known_hosts"
  chmod 0644 "$d/known_hosts"

  # One sshd_config shared by all hosts; each sshd gets its address, host key and
  # LAB_HOST/LAB_AZ environment on the command line.
  cat >"$d/sshd_config" <<EOF
# Generated by tests/lab/up.sh. One sshd per lab host, key-only, user $LAB_USER only.
AuthorizedKeysFile $d/authorized_keys
AllowUsers $LAB_USER
PermitRootLogin no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
PrintMotd no
PrintLastLog no
X11Forwarding no
PidFile none
MaxStartups 100:30:200
Subsystem sftp internal-sftp
LogLevel INFO
EOF

  # Client side: `ssh -F tests/lab/run/ssh/config HOST` for every lab host.
  {
    echo "# Generated by tests/lab/up.sh: ssh -F $d/config HOST"
    for h in $(host_names); do
      printf 'Host %s\n  HostName %s\n  Port %s\n\n' "$h" "$(host_ip "$h")" "$SSH_PORT"
    done
    cat <<EOF
Host *
  User $LAB_USER
  IdentityFile $d/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $d/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  BatchMode yes
  ConnectTimeout 3
EOF
  } >"$d/config"
  chmod 0644 "$d/config" "$d/sshd_config"
  mkdir -p /run/sshd
  chmod 0755 /run/sshd
}

gen_releases() { # HOST: releases/v40..v42, current -> v42 (only if missing)
  local app=$RUN/hosts/$1/app v age
  [ -e "$app/current" ] && return 0
  for v in v40 v41 v42; do
    mkdir -p "$app/releases/$v"
    echo "$v" >"$app/releases/$v/VERSION"
  done
  printf 'health=ok\nstatus=200\ndelay_ms=20\n' >"$app/releases/v40/config"
  # v41 is the broken release: failing health check, `/` answers 500.
  printf 'health=fail\nstatus=500\ndelay_ms=20\n' >"$app/releases/v41/config"
  printf 'health=ok\nstatus=200\ndelay_ms=20\n' >"$app/releases/v42/config"
  # CI marked v41 failed when its canary failed: opsdeck's history shows it, and
  # the failed-version guard refuses rolling back to it.
  echo "canary failed its health check" >"$app/releases/v41/FAILED"
  # Distinct mtimes, oldest first, so "newest release" is meaningful.
  for v in v40:3 v41:2 v42:1; do
    age=${v#*:}
    touch -d "-$age days" "$app/releases/${v%:*}" "$app/releases/${v%:*}"/*
  done
  ln -sfn releases/v42 "$app/current"
  chown -R "$LAB_USER:$LAB_USER" "$app"
}

gen_nginx() {
  local d=$RUN/nginx
  cat >"$d/conf/nginx.conf" <<EOF
# Generated by tests/lab/up.sh. The pool lives in upstream.conf (edited by tests).
daemon off;
master_process on;
worker_processes 1;
pid $d/logs/nginx.pid;
error_log $d/logs/error.log warn;
events { worker_connections 512; }
http {
    default_type text/plain;
    client_body_temp_path $d/tmp/client_body;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;
    # "combined" plus the upstream fields. upstream_addr holds "a, b" (comma+space)
    # when nginx retried on a second backend, and "-" when none was tried.
    log_format opsdeck '\$remote_addr - \$remote_user [\$time_local] "\$request" \$status '
                       '\$body_bytes_sent "\$http_referer" "\$http_user_agent" '
                       'upstream=\$upstream_addr upstream_status=\$upstream_status '
                       'request_time=\$request_time upstream_time=\$upstream_response_time';
    access_log $d/logs/access.log opsdeck;

    include $d/conf/upstream.conf;

    server {
        listen $(host_ip lb):8080;
        server_name lb;
        # Short timeouts (defaults are 60 s): a stopped AZ costs at most ~2 s a request.
        proxy_connect_timeout 1s;
        proxy_send_timeout 2s;
        proxy_read_timeout 2s;
        proxy_next_upstream error timeout;
        proxy_next_upstream_tries 2;
        proxy_buffering off;
        proxy_request_buffering off;
        location = /nginx_status {
            stub_status;
            access_log off;
        }
        location / {
            proxy_pass http://web;
            add_header X-Upstream \$upstream_addr always;
        }
    }
}
EOF
  if [ ! -f "$d/conf/upstream.conf" ]; then
    {
      echo "# Load-balancer pool, one 'server' line per backend."
      echo "# Drain: append ' down' before ';', then nginx -t and nginx -s reload (see lab.env)."
      echo "upstream web {"
      local h w
      for h in $BACKENDS; do
        case $h in *1) w=3 ;; *) w=2 ;; esac
        printf '    server %s:8080 weight=%s;  # %s %s\n' "$(host_ip "$h")" "$w" "$h" "$(host_az "$h")"
      done
      echo "}"
    } >"$d/conf/upstream.conf"
  fi
  chown -R "$LAB_USER:$LAB_USER" "$d"
}

# MariaDB: one my.cnf per instance ([mariadbd] for the server, [client] for root on
# the socket). --defaults-file must be the first option of every mariadb* command.
gen_mariadb_conf() { # HOST PORT SERVER_ID READ_ONLY
  local h=$1 port=$2 id=$3 ro=$4 d=$RUN/hosts/$1 sock
  sock=$d/mysqld.sock
  [ ${#sock} -lt 100 ] || sock=/tmp/opsdeck-lab-$h.sock # sun_path is 108 bytes
  cat >"$d/my.cnf" <<EOF
# Generated by tests/lab/up.sh ($h).
[mariadbd]
user=root
datadir=$d/data
socket=$sock
pid-file=$d/mariadbd.pid
bind-address=$(host_ip "$h")
port=$port
report-host=$(host_ip "$h")
report-port=$port
server-id=$id
log-bin=mariadb-bin
log-slave-updates=ON
binlog-format=ROW
relay-log=relay-bin
read-only=$ro
log-error=$d/logs/error.log
skip-name-resolve
performance-schema=OFF
innodb-buffer-pool-size=32M
innodb-log-file-size=16M
max-connections=100

[client]
socket=$sock
user=root
EOF
  # mysqld_exporter's credentials (runs as the lab user, so group-readable).
  printf '[client]\nuser=exporter\npassword=%s\nhost=%s\nport=%s\n' \
    "$DB_EXPORTER_PASSWORD" "$(host_ip "$h")" "$port" >"$d/exporter.cnf"
  chmod 0640 "$d/exporter.cnf"
}

gen_monitoring() {
  local d=$RUN/mon h
  {
    cat <<EOF
# Generated by tests/lab/up.sh. Short intervals so tests see changes within seconds.
global:
  scrape_interval: 2s
  scrape_timeout: 1s
  evaluation_interval: 2s
  external_labels:
    lab: opsdeck
rule_files:
  - $d/rules.yml
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['127.0.0.91:9093']
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ['$(host_ip mon):9090']
        labels: {host: mon, az: shared}
  - job_name: alertmanager
    static_configs:
      - targets: ['127.0.0.91:9093']
        labels: {host: mon, az: shared}
  - job_name: node
    static_configs:
      - targets: ['$(host_ip mon):9100']
        labels: {host: mon, az: shared}
  - job_name: web
    static_configs:
EOF
    for h in $BACKENDS; do
      printf "      - targets: ['%s:8080']\n        labels: {host: %s, az: %s}\n" "$(host_ip "$h")" "$h" "$(host_az "$h")"
    done
    cat <<EOF
  - job_name: mysqld
    static_configs:
      - targets: ['$(host_ip db-primary):9104']
        labels: {host: db-primary, az: $(host_az db-primary), role: primary}
      - targets: ['$(host_ip db-replica):9104']
        labels: {host: db-replica, az: $(host_az db-replica), role: replica}
  - job_name: redis
    static_configs:
      - targets: ['$(host_ip cache-primary):9121']
        labels: {host: cache-primary, az: $(host_az cache-primary), role: primary}
      - targets: ['$(host_ip cache-replica):9121']
        labels: {host: cache-replica, az: $(host_az cache-replica), role: replica}
EOF
    if [ -n "$NGINX_EXPORTER" ]; then
      cat <<EOF
  - job_name: nginx
    static_configs:
      - targets: ['$(host_ip lb):9113']
        labels: {host: lb, az: shared}
EOF
    fi
  } >"$d/prometheus.yml"

  cat >"$d/rules.yml" <<'EOF'
# Generated by tests/lab/up.sh. `for` is short so tests see alerts fire in ~10-15 s.
groups:
  - name: lab
    rules:
      - alert: MySQLReplicaLagHigh
        expr: mysql_slave_status_seconds_behind_master > 5
        for: 10s
        labels: {severity: warning}
        annotations:
          summary: "{{ $labels.host }}: replica {{ $value }}s behind the primary"
      - alert: MySQLReplicationStopped
        expr: mysql_slave_status_slave_sql_running == 0 or mysql_slave_status_slave_io_running == 0
        for: 10s
        labels: {severity: critical}
        annotations:
          summary: "{{ $labels.host }}: a replication thread is not running"
      - alert: RedisReplicaLinkDown
        expr: redis_master_link_up == 0
        for: 10s
        labels: {severity: critical}
        annotations:
          summary: "{{ $labels.host }}: link to the Redis primary is down"
      - alert: BackendUnhealthy
        expr: app_healthy == 0
        for: 4s
        labels: {severity: warning}
        annotations:
          summary: "{{ $labels.host }}: health check failing"
      - alert: InstanceDown
        expr: up == 0
        for: 10s
        labels: {severity: critical}
        annotations:
          summary: "{{ $labels.host }} ({{ $labels.job }}) is not answering scrapes"
EOF

  cat >"$d/alertmanager.yml" <<'EOF'
# Generated by tests/lab/up.sh. Alerts are kept (see /api/v2/alerts); nothing is sent.
route:
  receiver: blackhole
  group_by: [alertname, host]
  group_wait: 1s
  group_interval: 5s
  repeat_interval: 1h
receivers:
  - name: blackhole
EOF
  chown -R "$LAB_USER:$LAB_USER" "$d"
}

# ---------------------------------------------------------------------------------
# 4. Waiting, with errors that name what failed and the log to read.
# ---------------------------------------------------------------------------------
# wait_for DESC TIMEOUT_S LOGFILE PIDNAME|- CMD...: retry CMD every 0.1 s.
wait_for() {
  local desc=$1 timeout=$2 logfile=$3 pidname=$4 deadline
  shift 4
  deadline=$(($(date +%s) + timeout))
  until "$@" >/dev/null 2>&1; do
    if [ "$pidname" != - ] && ! pid_alive "$pidname"; then
      die "$desc: process $pidname exited; read $logfile"
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      die "$desc: not ready after ${timeout}s; read $logfile"
    fi
    sleep 0.1
  done
}

http_ok() { curl -fsS -o /dev/null --max-time 2 "$1"; }
db() { # HOST SQL...: run SQL as root over the socket
  local h=$1
  shift
  mariadb --defaults-file="$RUN/hosts/$h/my.cnf" -N -B -e "$*"
}
replica_running() {
  local s
  s=$(mariadb --defaults-file="$RUN/hosts/db-replica/my.cnf" -e 'SHOW SLAVE STATUS\G')
  grep -q 'Slave_SQL_Running: Yes' <<<"$s" && grep -q 'Slave_IO_Running: Yes' <<<"$s"
}
redis_link_up() { redis-cli -h "$(host_ip cache-replica)" -p 6381 info replication | grep -q '^master_link_status:up'; }
prom_rules_loaded() { curl -fsS --max-time 2 "http://$(host_ip mon):9090/api/v1/rules" | grep -q MySQLReplicaLagHigh; }
prom_targets_up() {
  curl -fsS --max-time 2 "http://$(host_ip mon):9090/api/v1/targets?state=active" | /usr/bin/python3 -c '
import json, sys
t = json.load(sys.stdin)["data"]["activeTargets"]
sys.exit(0 if t and all(x["health"] == "up" for x in t) else 1)'
}

# ---------------------------------------------------------------------------------
# 5. Servers.
# ---------------------------------------------------------------------------------
start_backends() {
  local h
  # A copy inside the lab's tree: the lab user may not be able to read the checkout.
  install -m 0644 "$LAB_DIR/backend.py" "$RUN/backend.py"
  for h in $BACKENDS; do
    start_bg "$h.app" "$RUN/hosts/$h/logs/stdout.log" --as-lab \
      /usr/bin/python3 "$RUN/backend.py" "$h" "$(host_ip "$h")" 8080 "$RUN/hosts/$h"
  done
}

NGINX_CMD() { echo "/usr/sbin/nginx -p $RUN/nginx/ -c $RUN/nginx/conf/nginx.conf -e $RUN/nginx/logs/error.log"; }

start_nginx() {
  # shellcheck disable=SC2046 # word splitting of the fixed command is intended
  if ! pid_alive lb.nginx; then
    setpriv --reuid="$LAB_USER" --regid="$LAB_USER" --init-groups -- $(NGINX_CMD) -t -q ||
      die "nginx -t failed; read $RUN/nginx/logs/error.log"
  fi
  # shellcheck disable=SC2046
  start_bg lb.nginx "$RUN/nginx/logs/stdout.log" --as-lab $(NGINX_CMD)
}

start_redis() {
  local d
  d=$RUN/hosts/cache-primary
  start_bg cache-primary.redis "$d/logs/stdout.log" --as-lab /usr/bin/redis-server \
    --bind "$(host_ip cache-primary)" --port 6380 --protected-mode no --daemonize no \
    --replica-announce-ip "$(host_ip cache-primary)" \
    --save '' --appendonly no --repl-diskless-sync yes --repl-diskless-sync-delay 0 \
    --dir "$d" --logfile "$d/logs/redis.log"
  d=$RUN/hosts/cache-replica
  start_bg cache-replica.redis "$d/logs/stdout.log" --as-lab /usr/bin/redis-server \
    --bind "$(host_ip cache-replica)" --port 6381 --protected-mode no --daemonize no \
    --save '' --appendonly no --repl-diskless-sync yes --repl-diskless-sync-delay 0 \
    --replicaof "$(host_ip cache-primary)" 6380 \
    --replica-announce-ip "$(host_ip cache-replica)" \
    --dir "$d" --logfile "$d/logs/redis.log"
}

start_sshds() {
  local h
  for h in $(host_names); do start_sshd "$h" "$RUN/ssh/host_keys/$h"; done
}

start_monitoring() {
  local d=$RUN/mon
  start_bg mon.alertmanager "$d/logs/alertmanager.log" --as-lab prometheus-alertmanager \
    --config.file="$d/alertmanager.yml" --storage.path="$d/alertmanager-data" \
    --web.listen-address=127.0.0.91:9093 --cluster.listen-address=
  start_bg mon.prometheus "$d/logs/prometheus.log" --as-lab "$PROMETHEUS_BIN" \
    --config.file="$d/prometheus.yml" --storage.tsdb.path="$d/prometheus-data" \
    --storage.tsdb.retention.time=1d --web.listen-address="$(host_ip mon):9090" --web.enable-lifecycle
  start_bg mon.node-exporter "$d/logs/node-exporter.log" --as-lab prometheus-node-exporter \
    --web.listen-address="$(host_ip mon):9100"
  start_bg db-primary.exporter "$RUN/hosts/db-primary/logs/exporter.log" --as-lab prometheus-mysqld-exporter \
    --config.my-cnf="$RUN/hosts/db-primary/exporter.cnf" --web.listen-address="$(host_ip db-primary):9104"
  start_bg db-replica.exporter "$RUN/hosts/db-replica/logs/exporter.log" --as-lab prometheus-mysqld-exporter \
    --config.my-cnf="$RUN/hosts/db-replica/exporter.cnf" --web.listen-address="$(host_ip db-replica):9104"
  start_bg cache-primary.exporter "$RUN/hosts/cache-primary/logs/exporter.log" --as-lab prometheus-redis-exporter \
    --redis.addr="redis://$(host_ip cache-primary):6380" --web.listen-address="$(host_ip cache-primary):9121"
  start_bg cache-replica.exporter "$RUN/hosts/cache-replica/logs/exporter.log" --as-lab prometheus-redis-exporter \
    --redis.addr="redis://$(host_ip cache-replica):6381" --web.listen-address="$(host_ip cache-replica):9121"
}

start_nginx_exporter() { # after nginx answers: this exporter gives up if stub_status is down at start
  [ -n "$NGINX_EXPORTER" ] || return 0
  start_bg lb.exporter "$RUN/nginx/logs/exporter.log" --as-lab "$NGINX_EXPORTER" \
    -nginx.scrape-uri="http://$(host_ip lb):8080/nginx_status" \
    -web.listen-address="$(host_ip lb):9113" -nginx.retries=10 -nginx.retry-interval=1s
}

# Data dirs are initialised once (~3 s each, in parallel); the SQL setup runs once.
init_mariadb_dirs() {
  local h pids=()
  for h in db-primary db-replica; do
    if [ ! -d "$RUN/hosts/$h/data/mysql" ]; then
      log "initialising $h data dir"
      # --force: without it the script stops at once when neither the machine's name
      # nor 'localhost' resolves (checked: an empty /etc/hosts and an unknown hostname
      # in a namespace). The lab grants by address only, so no name is ever looked up.
      mariadb-install-db --defaults-file="$RUN/hosts/$h/my.cnf" \
        --auth-root-authentication-method=normal --skip-test-db --force --skip-name-resolve \
        >"$RUN/hosts/$h/logs/install.log" 2>&1 &
      pids+=("$!:$h")
    fi
  done
  local p
  for p in "${pids[@]}"; do
    h=${p#*:}
    wait "${p%%:*}" && continue
    tail -n 25 "$RUN/hosts/$h/logs/install.log" | sed "s/^/[$h install] /" >&2
    log "mariadb-install-db failed for $h (log above); trying once more, alone"
    rm -rf "$RUN/hosts/$h/data"
    mariadb-install-db --defaults-file="$RUN/hosts/$h/my.cnf" \
      --auth-root-authentication-method=normal --skip-test-db --force --skip-name-resolve \
      >"$RUN/hosts/$h/logs/install.log" 2>&1 || {
      tail -n 25 "$RUN/hosts/$h/logs/install.log" | sed "s/^/[$h install] /" >&2
      die "mariadb-install-db failed twice for $h; read $RUN/hosts/$h/logs/install.log"
    }
  done
}

start_mariadb() {
  local h
  for h in db-primary db-replica; do
    start_bg "$h.mariadb" "$RUN/hosts/$h/logs/stdout.log" /usr/sbin/mariadbd --defaults-file="$RUN/hosts/$h/my.cnf"
  done
  for h in db-primary db-replica; do
    wait_for "MariaDB $h" 30 "$RUN/hosts/$h/logs/error.log" "$h.mariadb" db "$h" 'SELECT 1'
  done

  # Users and the test table, created on the primary only: the replica replays them
  # from the binlog (it starts from an empty gtid_slave_pos).
  if [ ! -f "$RUN/hosts/db-primary/.lab-setup-done" ]; then
    log "creating users and lab.t on db-primary"
    db db-primary "
      CREATE USER IF NOT EXISTS 'repl'@'%' IDENTIFIED BY '$DB_REPL_PASSWORD';
      GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%';
      -- opsdeck: read replication status, set read_only, stop/start/reset replica,
      -- CHANGE MASTER, gtid_slave_pos, FLUSH TABLES WITH READ LOCK (lag tests), KILL.
      -- Note: READ_ONLY ADMIN (needed for SET GLOBAL read_only) also lets this user
      -- write while read_only=1; use 'app' to see read_only refuse writes.
      CREATE USER IF NOT EXISTS 'opsdeck'@'%' IDENTIFIED BY '$DB_PASSWORD';
      GRANT PROCESS, RELOAD, BINLOG MONITOR, BINLOG ADMIN, REPLICA MONITOR,
            REPLICATION SLAVE ADMIN, REPLICATION MASTER ADMIN, READ_ONLY ADMIN,
            CONNECTION ADMIN ON *.* TO 'opsdeck'@'%';
      GRANT ALL PRIVILEGES ON lab.* TO 'opsdeck'@'%';
      CREATE USER IF NOT EXISTS 'app'@'%' IDENTIFIED BY '$DB_APP_PASSWORD';
      GRANT SELECT, INSERT, UPDATE, DELETE ON lab.* TO 'app'@'%';
      CREATE USER IF NOT EXISTS 'exporter'@'%' IDENTIFIED BY '$DB_EXPORTER_PASSWORD' WITH MAX_USER_CONNECTIONS 3;
      GRANT PROCESS, REPLICA MONITOR, BINLOG MONITOR, SELECT ON *.* TO 'exporter'@'%';
      CREATE DATABASE IF NOT EXISTS lab;
      CREATE TABLE IF NOT EXISTS lab.t (id INT PRIMARY KEY AUTO_INCREMENT, v VARCHAR(64));
    " || die "SQL setup on db-primary failed; read $RUN/hosts/db-primary/logs/error.log"
    touch "$RUN/hosts/db-primary/.lab-setup-done"
  fi

  # Replication, only when the replica has none configured (a fresh lab). A lab whose
  # replica a test promoted is left alone: down.sh --clean && up.sh resets everything.
  if [ -z "$(db db-replica 'SHOW SLAVE STATUS')" ]; then
    log "starting GTID replication db-primary -> db-replica"
    db db-replica "
      CHANGE MASTER TO MASTER_HOST='$(host_ip db-primary)', MASTER_PORT=3307,
        MASTER_USER='repl', MASTER_PASSWORD='$DB_REPL_PASSWORD',
        MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1;
      START SLAVE;
    " || die "CHANGE MASTER on db-replica failed; read $RUN/hosts/db-replica/logs/error.log"
  fi
}

# ---------------------------------------------------------------------------------
# 6. Outputs.
# ---------------------------------------------------------------------------------
write_lab_env() {
  local f=$LAB_DIR/lab.env h u
  {
    echo "# Generated by tests/lab/up.sh at $(date -Is). Values are single-quoted;"
    echo "# load with: set -a; . tests/lab/lab.env; set +a"
    kv() { printf "%s='%s'\n" "$1" "$2"; }
    kv LAB_ROOT "$RUN"
    kv LAB_SCRIPTS "$LAB_DIR"
    kv LAB_LB_URL "http://$(host_ip lb):8080"
    kv LAB_LB_STATUS_URL "http://$(host_ip lb):8080/nginx_status"
    kv LAB_BACKENDS "$BACKENDS"
    kv LAB_AZ_A_HOSTS "$(az_hosts az-a | xargs)"
    kv LAB_AZ_C_HOSTS "$(az_hosts az-c | xargs)"
    for h in $BACKENDS; do
      u=$(upper_name "$h")
      kv "LAB_${u}_URL" "http://$(host_ip "$h"):8080"
      kv "LAB_RELEASES_${u}" "$RUN/hosts/$h/app/releases"
      kv "LAB_CURRENT_${u}" "$RUN/hosts/$h/app/current"
      kv "LAB_APP_LOG_${u}" "$RUN/hosts/$h/logs/app.log"
    done
    kv LAB_UPSTREAM_FILE "$RUN/nginx/conf/upstream.conf"
    kv LAB_NGINX_CONF "$RUN/nginx/conf/nginx.conf"
    kv LAB_ACCESS_LOG "$RUN/nginx/logs/access.log"
    # shellcheck disable=SC2016 # nginx variables, literally
    kv LAB_ACCESS_LOG_FORMAT '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" upstream=$upstream_addr upstream_status=$upstream_status request_time=$request_time upstream_time=$upstream_response_time'
    kv LAB_NGINX_ERROR_LOG "$RUN/nginx/logs/error.log"
    kv LAB_NGINX_TEST "$(NGINX_CMD) -t"
    kv LAB_NGINX_RELOAD "$(NGINX_CMD) -s reload"
    kv LAB_DB_PRIMARY "$(host_ip db-primary):3307"
    kv LAB_DB_REPLICA "$(host_ip db-replica):3308"
    kv LAB_DB_USER opsdeck
    kv LAB_DB_PASSWORD_FILE "$RUN/secrets/db_password"
    kv LAB_DB_APP_USER app
    kv LAB_DB_APP_PASSWORD_FILE "$RUN/secrets/db_app_password"
    kv LAB_DB_REPL_USER repl
    kv LAB_DB_REPL_PASSWORD_FILE "$RUN/secrets/db_repl_password"
    kv LAB_DB_NAME lab
    kv LAB_DB_PRIMARY_ROOT_CNF "$RUN/hosts/db-primary/my.cnf"
    kv LAB_DB_REPLICA_ROOT_CNF "$RUN/hosts/db-replica/my.cnf"
    kv LAB_DB_PRIMARY_ERROR_LOG "$RUN/hosts/db-primary/logs/error.log"
    kv LAB_DB_REPLICA_ERROR_LOG "$RUN/hosts/db-replica/logs/error.log"
    kv LAB_REDIS_PRIMARY "$(host_ip cache-primary):6380"
    kv LAB_REDIS_REPLICA "$(host_ip cache-replica):6381"
    kv LAB_PROMETHEUS_URL "http://$(host_ip mon):9090"
    kv LAB_ALERTMANAGER_URL "http://127.0.0.91:9093"
    kv LAB_PROMETHEUS_BIN "$PROMETHEUS_BIN"
    kv LAB_SSH_CONFIG "$RUN/ssh/config"
    kv LAB_SSH_KEY "$RUN/ssh/id_ed25519"
    kv LAB_KNOWN_HOSTS "$RUN/ssh/known_hosts"
    kv LAB_SSH_USER "$LAB_USER"
    kv LAB_SSH_PORT "$SSH_PORT"
    kv LAB_SSH_HOSTS "$(host_names | xargs)"
    kv LAB_CHANGED_HOST_KEY "$RUN/ssh/changed_host_key"
    kv LAB_PIDS "$PIDS"
    kv LAB_OPSDECK_TOML "$RUN/opsdeck.toml"
  } >"$f.tmp"
  mv "$f.tmp" "$f"
}

# ======================= BEGIN write_opsdeck_toml (owned by the provider integration) ===
# Writes the opsdeck config for this lab into run/opsdeck.toml and copies it to
# tests/lab/opsdeck.toml (generated: it holds absolute paths; not committed).
# Everything in lab.env's variables is available here ($RUN, host_ip HOST, ...).
write_opsdeck_toml() {
  local f=$RUN/opsdeck.toml h u
  {
    echo "# opsdeck configuration for the lab. Generated by tests/lab/up.sh; do not edit."
    echo "# Run: cargo run --release -- --config tests/lab/opsdeck.toml"
    echo 'default_environment = "lab"'
    echo
    echo '[environments.lab]'
    echo 'provider = "selfhosted"'
    echo 'region = "lab"'
    echo 'azs = ["az-a", "az-c"]'
    echo 'timeout_ms = 2500'
    echo
    echo '[environments.lab.ssh]'
    echo "config = \"$RUN/ssh/config\""
    echo
    echo '[environments.lab.lb]'
    echo 'name = "lb"'
    echo 'az = "az-a"'
    echo 'ssh = "lb"'
    echo "upstream_file = \"$RUN/nginx/conf/upstream.conf\""
    echo "access_log = \"$RUN/nginx/logs/access.log\""
    echo "test_command = \"$(NGINX_CMD) -t\""
    echo "reload_command = \"$(NGINX_CMD) -s reload\""
    echo "status_url = \"http://$(host_ip lb):8080/nginx_status\""
    echo
    echo '# The service as users reach it: through the load balancer.'
    echo '[[environments.lab.probes]]'
    echo "url = \"http://$(host_ip lb):8080/\""
    echo 'expect_status = 200'
    echo 'timeout_ms = 2000'
    for h in web-a1 web-a2 web-c1 web-c2; do
      u=$(upper_name "$h")
      echo
      echo '[[environments.lab.backends]]'
      echo "name = \"$h\""
      echo "az = \"$(host_az "$h")\""
      echo "address = \"$(host_ip "$h"):8080\""
      echo "ssh = \"$h\""
      echo "health_url = \"http://$(host_ip "$h"):8080/health\""
      echo "version_url = \"http://$(host_ip "$h"):8080/version\""
      echo "releases_dir = \"$RUN/hosts/$h/app/releases\""
      echo "current_link = \"$RUN/hosts/$h/app/current\""
      echo "logs = [\"$RUN/hosts/$h/logs/app.log\"]"
      : "$u"
    done
    echo
    echo '[environments.lab.deploys]'
    echo 'service = "web"'
    echo 'deploy_command = "ln -sfn {releases_dir}/{version} {current}"'
    echo
    echo '[environments.lab.mysql]'
    echo 'user = "opsdeck"'
    echo "password = { file = \"$RUN/secrets/db_password\" }"
    echo 'replication_user = "repl"'
    echo "replication_password = { file = \"$RUN/secrets/db_repl_password\" }"
    echo "nodes = ["
    echo "  { name = \"db-primary\", az = \"az-a\", address = \"$(host_ip db-primary):3307\", ssh = \"db-primary\", logs = [\"$RUN/hosts/db-primary/logs/error.log\"] },"
    echo "  { name = \"db-replica\", az = \"az-c\", address = \"$(host_ip db-replica):3308\", ssh = \"db-replica\", logs = [\"$RUN/hosts/db-replica/logs/error.log\"] },"
    echo "]"
    echo
    echo '[environments.lab.redis]'
    echo "nodes = ["
    echo "  { name = \"cache-primary\", az = \"az-a\", address = \"$(host_ip cache-primary):6380\", ssh = \"cache-primary\", logs = [\"$RUN/hosts/cache-primary/logs/redis.log\"] },"
    echo "  { name = \"cache-replica\", az = \"az-c\", address = \"$(host_ip cache-replica):6381\", ssh = \"cache-replica\", logs = [\"$RUN/hosts/cache-replica/logs/redis.log\"] },"
    echo "]"
    echo
    echo '[environments.lab.prometheus]'
    echo "url = \"http://$(host_ip mon):9090\""
    echo
    echo '[environments.lab.guards]'
    echo 'drain_timeout_seconds = 10'
    echo 'health_timeout_seconds = 15'
    echo 'catch_up_timeout_seconds = 30'
  } >"$f"
  cp "$f" "$LAB_DIR/opsdeck.toml"
}
# ======================= END write_opsdeck_toml =========================================

# ---------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------
install_packages
ensure_user
make_layout
gen_secrets
gen_ssh
for h in $BACKENDS; do gen_releases "$h"; done
gen_nginx
gen_mariadb_conf db-primary 3307 1 0
gen_mariadb_conf db-replica 3308 2 1
gen_monitoring
T_CONF=$(date +%s%N)

init_mariadb_dirs &
INIT_PID=$!
start_backends
start_nginx
start_redis
start_sshds
start_monitoring
wait "$INIT_PID" || exit 1
start_mariadb

log "waiting for every server to answer"
for h in $BACKENDS; do
  wait_for "backend $h" 15 "$RUN/hosts/$h/logs/stdout.log" "$h.app" http_ok "http://$(host_ip "$h"):8080/health"
done
wait_for "nginx load balancer" 15 "$RUN/nginx/logs/error.log" lb.nginx http_ok "http://$(host_ip lb):8080/"
start_nginx_exporter
wait_for "MariaDB replication (Slave_IO/SQL_Running)" 30 "$RUN/hosts/db-replica/logs/error.log" db-replica.mariadb replica_running
wait_for "Redis replica link" 20 "$RUN/hosts/cache-replica/logs/redis.log" cache-replica.redis redis_link_up
ssh_pids=()
for h in $(host_names); do
  wait_for "sshd of $h" 15 "$RUN/ssh/logs/$h.log" "$h.sshd" \
    ssh -F "$RUN/ssh/config" "$h" true &
  ssh_pids+=("$!")
done
for p in "${ssh_pids[@]}"; do wait "$p" || exit 1; done
wait_for "Alertmanager" 20 "$RUN/mon/logs/alertmanager.log" mon.alertmanager http_ok "http://127.0.0.91:9093/-/ready"
wait_for "Prometheus" 30 "$RUN/mon/logs/prometheus.log" mon.prometheus http_ok "http://$(host_ip mon):9090/-/ready"
wait_for "Prometheus rules" 10 "$RUN/mon/logs/prometheus.log" mon.prometheus prom_rules_loaded
if [ "$WAIT_TARGETS" = 1 ]; then
  wait_for "Prometheus targets (all up)" 40 "$RUN/mon/logs/prometheus.log" mon.prometheus prom_targets_up
fi

write_lab_env
write_opsdeck_toml

T1=$(date +%s%N)
n=0
for f in "$PIDS"/*.pid; do n=$((n + 1)); done
log "lab is up in $(((T1 - T0) / 1000000)) ms (servers: $(((T1 - T_CONF) / 1000000)) ms); $n processes"
log "variables: $LAB_DIR/lab.env   stop: $LAB_DIR/down.sh [--clean]"
