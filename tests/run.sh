#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what the tests need (a Python venv with
# the reference Standard Webhooks library; Postfix + Dovecot from Debian, run as a private
# instance on loopback; Synapse and matrix-nio from PyPI in a venv; Debian's Chromium, headless,
# for the HTML report), checks formatting and lints, then runs every test, including the tier
# that needs those (`--include-ignored`).
#
#   tests/run.sh            # everything
#   tests/run.sh crash      # only tests whose name contains "crash" (passed to cargo test)
#
# Build outputs and the venv live under $C2C_STATE_DIR (default ~/.cache/c2c-bridge), outside
# the clone, so a second run is fast; nothing breaks when that directory is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

export C2C_STATE_DIR="${C2C_STATE_DIR:-$HOME/.cache/c2c-bridge}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$C2C_STATE_DIR/target}"
mkdir -p "$C2C_STATE_DIR"

step() { printf '\n== %s (%s)\n' "$1" "$(date +%T)"; }

step "build tools (a C compiler and make: jemalloc, SQLite and aws-lc are built from C)"
if ! command -v cc >/dev/null || ! command -v make >/dev/null; then
  if command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq build-essential >/dev/null
  else
    echo "tests/run.sh: a C compiler (cc) and make are needed to build c2c-bridge; install them and rerun" >&2
    exit 1
  fi
fi

step "Chromium (headless: the HTML report's test renders it)"
if ! command -v chromium >/dev/null; then
  if command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "tests/run.sh: Chromium is needed for the HTML report test; install it and rerun" >&2
    exit 1
  fi
fi

step "python venv for the interop tests"
C2C_PYTHON="$(tests/scripts/setup-python.sh)"
export C2C_PYTHON

step "mail servers (Postfix + Dovecot on 127.0.0.1)"
tests/mail/mail-server.sh install
tests/mail/mail-server.sh start >/dev/null

step "Synapse (Matrix homeserver on 127.0.0.1) and matrix-nio"
tests/matrix/synapse.sh install
tests/matrix/synapse.sh start >/dev/null

step "systemd-analyze (the deploy unit's checks)"
if ! command -v systemd-analyze >/dev/null; then
  if command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd >/dev/null
  else
    echo "tests/run.sh: systemd-analyze is needed to check deploy/c2c-bridge.service; install systemd and rerun" >&2
    exit 1
  fi
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test (all tiers)"
cargo test --workspace --locked -- --include-ignored "$@"

step "done"
