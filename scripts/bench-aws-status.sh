#!/usr/bin/env bash
# How long `opsdeck status --json` takes against the AWS test lab (moto), next to one
# `aws ec2 describe-instances` with the AWS CLI. Prints both medians of 11 runs and
# their ratio (opsdeck/awscli).
#
#   scripts/bench-aws-status.sh [--backends N] [--awscli-only]
#
# - Installs Debian's awscli only if no `aws` command works (apt-get update first).
# - Starts moto (tests/aws/moto.sh up) and seeds it (tests/aws/seed.py) unless the lab
#   in tests/aws/run/aws.env is still there. --backends N reseeds with N backends
#   (e.g. 400; the lab then keeps them).
# - OPSDECK: the binary to time (default target/release/opsdeck; build it first).
#   --awscli-only: time only the AWS CLI (while opsdeck's AWS provider is not built).
# - Times with hyperfine when installed, else a loop of `date +%s%N`; the median is
#   computed here either way. Leaves moto running (stop it: tests/aws/moto.sh down).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
AWS_DIR=$ROOT/tests/aws
RUN=$AWS_DIR/run
RUNS=11
BACKENDS=
AWSCLI_ONLY=0
OPSDECK=${OPSDECK:-$ROOT/target/release/opsdeck}

log() { printf '%s [bench-aws] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() {
  printf '%s [bench-aws] ERROR: %s\n' "$(date +%H:%M:%S)" "$*" >&2
  exit 1
}

while [ $# -gt 0 ]; do
  case $1 in
    --backends)
      [ $# -ge 2 ] || die "--backends needs a number"
      BACKENDS=$2
      shift 2
      ;;
    --awscli-only)
      AWSCLI_ONLY=1
      shift
      ;;
    -h | --help)
      sed -n '2,16p' "$0"
      exit 0
      ;;
    *) die "unknown argument: $1 (try --help)" ;;
  esac
done

# 1. The AWS CLI (Debian's package, only when none works).
if ! aws --version >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || die "no working 'aws' command; install awscli (needs root)"
  log "apt-get update; apt-get install awscli"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends awscli >/dev/null
  aws --version >/dev/null 2>&1 || die "awscli installed but 'aws --version' fails"
fi
log "$(aws --version 2>&1 | head -1)"

if [ "$AWSCLI_ONLY" = 0 ] && [ ! -x "$OPSDECK" ]; then
  die "no opsdeck binary at $OPSDECK (cargo build --release, set OPSDECK=..., or use --awscli-only)"
fi

# 2. moto, seeded.
"$AWS_DIR/moto.sh" up
export MOTO_URL=${MOTO_URL:-http://127.0.0.1:${MOTO_PORT:-5000}}
lab_present() {
  [ -f "$RUN/aws.env" ] || return 1
  (
    set -a
    # shellcheck disable=SC1091
    . "$RUN/aws.env"
    set +a
    [ "$MOTO_URL" = "${BENCH_URL}" ] || exit 1
    aws --endpoint-url "$MOTO_URL" ec2 describe-instances --instance-ids "$INSTANCE_ID_BASTION" \
      >/dev/null 2>&1
  )
}
if [ -n "$BACKENDS" ] || ! BENCH_URL=$MOTO_URL lab_present; then
  log "seeding ${BACKENDS:-4} backends (tests/aws/seed.py)"
  "$RUN/venv/bin/python" "$AWS_DIR/seed.py" ${BACKENDS:+--backends "$BACKENDS"} >"$RUN/seed.log" 2>&1 ||
    die "seed.py failed; read $RUN/seed.log"
else
  log "lab already seeded ($RUN/aws.env)"
fi
set -a
# shellcheck disable=SC1091
. "$RUN/aws.env"
set +a
export AWS_PAGER=""
n_instances=$(aws --endpoint-url "$MOTO_URL" ec2 describe-instances --region ap-northeast-2 \
  --query 'Reservations[].Instances[].InstanceId' --output text | wc -w)
log "moto at $MOTO_URL holds $n_instances instances"

AWSCLI_CMD="aws --endpoint-url $MOTO_URL ec2 describe-instances --region ap-northeast-2 >/dev/null"
OPSDECK_CMD="$OPSDECK status --json --config $OPSDECK_AWS_CONFIG >/dev/null"

# 3. Timing: median of RUNS runs, in ms (3 decimals).
median_ms() { # NS values on stdin (one a line) -> median in ms
  sort -n | awk '{ v[NR] = $1 } END {
    if (NR == 0) exit 1
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%.3f\n", m / 1e6 }'
}

time_loop() { # CMD -> median ms; fails if a run fails
  local cmd=$1 i t0 t1 times=""
  for ((i = 0; i < RUNS; i++)); do
    t0=$(date +%s%N)
    bash -c "$cmd" || return 1
    t1=$(date +%s%N)
    times+="$((t1 - t0))"$'\n'
  done
  printf '%s' "$times" | median_ms
}

cmds=("$AWSCLI_CMD")
[ "$AWSCLI_ONLY" = 1 ] || cmds+=("$OPSDECK_CMD")
declare -a medians=()
if command -v hyperfine >/dev/null; then
  log "hyperfine: $RUNS runs each"
  json=$(mktemp)
  trap 'rm -f "$json"' EXIT
  hyperfine --runs "$RUNS" --shell=bash --export-json "$json" "${cmds[@]}" >&2 ||
    die "hyperfine failed (a command exited non-zero?)"
  # Each run's wall time from the JSON ("times", seconds); the median computed here.
  for ((k = 0; k < ${#cmds[@]}; k++)); do
    medians+=("$(python3 -c 'import json,sys; [print(int(t*1e9)) for t in json.load(open(sys.argv[1]))["results"][int(sys.argv[2])]["times"]]' "$json" "$k" | median_ms)")
  done
else
  log "timing loop (date +%s%N; hyperfine not installed): $RUNS runs each"
  for c in "${cmds[@]}"; do
    m=$(time_loop "$c") || die "a run failed: $c"
    medians+=("$m")
  done
fi

echo
printf 'instances in moto: %s   runs: %s each\n' "$n_instances" "$RUNS"
printf 'awscli  median %10s ms   %s\n' "${medians[0]}" "$AWSCLI_CMD"
if [ "$AWSCLI_ONLY" = 0 ]; then
  printf 'opsdeck median %10s ms   %s\n' "${medians[1]}" "$OPSDECK_CMD"
  awk -v o="${medians[1]}" -v a="${medians[0]}" 'BEGIN { printf "ratio opsdeck/awscli: %.3f\n", o / a }'
fi
