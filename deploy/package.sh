#!/usr/bin/env bash
# Build the release binary and split it for shipping: a stripped `c2c-bridge` (what runs on the
# server) and `c2c-bridge.debug` (its debug info: line tables, kept apart for reading crash
# reports and backtraces; the stripped binary names it in a .gnu_debuglink section, so gdb finds
# it when it sits beside the binary or under /usr/lib/debug).
#
#   deploy/package.sh [OUT_DIR]     # default: dist/
#   PROFILE=NAME deploy/package.sh  # another cargo profile (the link order applies to release only)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-dist}"
target="${CARGO_TARGET_DIR:-target}"
profile="${PROFILE:-release}"
cargo build --profile "$profile" --locked -p c2c-bridge
mkdir -p "$out"
bin="$target/$profile/c2c-bridge"
# The link order (bridge/daemon/build.rs) names the release build's symbols: say when it is stale.
if [ "$profile" = release ] && command -v python3 >/dev/null; then
    python3 deploy/hot-functions.py --check --binary "$bin" ||
        echo "warning: bridge/daemon/hot-functions.txt is stale; the binary works, but keeps more code resident (deploy/hot-functions.py rewrites it)" >&2
fi
objcopy --only-keep-debug "$bin" "$out/c2c-bridge.debug"
objcopy --strip-all --add-gnu-debuglink="$out/c2c-bridge.debug" "$bin" "$out/c2c-bridge"
chmod 0755 "$out/c2c-bridge"
ls -l "$out/c2c-bridge" "$out/c2c-bridge.debug"
