#!/usr/bin/env bash
# Installs what the tests need, then runs every check CI runs: formatting,
# clippy, and all tests, including the tmux end-to-end tests and the tests
# against the real lab (nginx, MariaDB, Redis, sshd, Prometheus on loopback).
# Idempotent: safe to run again on a machine that already has everything.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v tmux >/dev/null 2>&1 || need_apt+=(tmux)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "==> installing ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
  else
    echo "==> missing ${need_apt[*]}; install it (sudo apt-get install ${need_apt[*]})" >&2
    exit 1
  fi
fi

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy --all-targets -- -D warnings (default features: with the AWS SDK)"
cargo clippy --all-targets -- -D warnings
echo "==> cargo clippy --no-default-features --all-targets -- -D warnings (without the AWS SDK)"
cargo clippy --no-default-features --all-targets -- -D warnings
# Build the test binaries before the lab starts, so the lab is up for as
# short a time as possible.
echo "==> cargo test --no-run"
cargo test --all-targets --no-run

echo "==> the lab (tests/lab/up.sh)"
started_lab=0
if [ "$(id -u)" = 0 ]; then
  # From a clean lab, so no state of an earlier run leaks in; --wait-targets:
  # Prometheus has scraped every target before tests ask it.
  tests/lab/down.sh --clean
  tests/lab/up.sh --wait-targets
  started_lab=1
  trap 'tests/lab/down.sh || true' EXIT
  export OPSDECK_REQUIRE_LAB=1
else
  echo "==> not root: the lab cannot start; its tests will say SKIPPED"
fi

echo "==> moto_server for the AWS tests (tests/aws/moto.sh)"
# A pinned moto[server] in a venv, on loopback; the tests seed it themselves.
tests/aws/moto.sh up
tests/aws/run/venv/bin/python tests/aws/seed.py >/dev/null
trap 'tests/aws/moto.sh down || true; [ $started_lab = 1 ] && tests/lab/down.sh || true' EXIT
export OPSDECK_REQUIRE_AWS=1

echo "==> cargo test (terminal end-to-end and AWS tests required$([ $started_lab = 1 ] && echo ', lab required'))"
OPSDECK_REQUIRE_E2E=1 cargo test --all-targets
