#!/usr/bin/env bash
# Make (or reuse) the Python venv the tests use as real clients: the reference Standard
# Webhooks library today; matrix-nio and Synapse later. Prints the venv's python on stdout;
# everything else goes to stderr.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
state="${C2C_STATE_DIR:-$HOME/.cache/c2c-bridge}"
venv="$state/venv"
req="$here/../interop/requirements.txt"
stamp="$venv/.c2c-requirements"

if [ ! -x "$venv/bin/python" ]; then
  echo "creating $venv" >&2
  python3 -m venv "$venv" >&2
fi
if ! cmp -s "$req" "$stamp"; then
  echo "installing $(tr '\n' ' ' < "$req")" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" >&2
  cp "$req" "$stamp"
fi
echo "$venv/bin/python"
