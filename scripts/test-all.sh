#!/usr/bin/env bash
# Installs what the tests need, then runs every check CI runs:
# formatting, clippy, and all tests (including the ones that need tmux).
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
echo "==> cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings
echo "==> cargo test (with the terminal end-to-end tests required)"
OPSDECK_REQUIRE_E2E=1 cargo test --all-targets
