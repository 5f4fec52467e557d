#!/usr/bin/env bash
# Smoke test for synapse.sh + officer.py against a real Synapse: an E2EE room between two
# officers, a thread reply, a second sender process reusing its stored device, edit, redaction,
# and a Synapse restart. Wipes the private Synapse state (start --fresh). Prints each step with
# its wall time; exits non-zero on the first failed check. Ends with Synapse stopped.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
S="$HERE/synapse.sh"
OFFICER="$HERE/officer.py"
BASE="${C2C_STATE_DIR:-$HOME/.cache/c2c-bridge}"
PY="$BASE/venv-matrix/bin/python"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

OUT=""
step() { # LABEL CMD... : runs CMD, keeps stdout in $OUT, prints it with the time taken
  local label="$1" t0 t1 rc=0
  shift
  t0="$(date +%s.%N)"
  OUT="$("$@" 2>"$TMP/stderr")" || rc=$?
  t1="$(date +%s.%N)"
  printf '== %-58s %6.2f s  rc=%s\n' "$label" "$(echo "$t1 - $t0" | bc)" "$rc"
  case "$OUT" in "" | "["*) ;; *) printf '%s\n' "$OUT" ;; esac   # lists: see check_msgs
  if [ "$rc" != 0 ]; then sed 's/^/   stderr: /' "$TMP/stderr" | tail -n 20; exit 1; fi
}
jget() { "$PY" -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1" <<<"$OUT"; }
# Summarise (and check) a `messages` list: CHECK is a Python expression over `ev` that must hold
# for at least one m.room.message event.
CHECK_PY="$(cat <<'PYEOF'
import json, sys
evs = json.load(sys.stdin)
cond = sys.argv[1]
msgs = [e for e in evs if e["type"] in ("m.room.message", "m.room.encrypted")]
for e in msgs:
    print(f"   {e['sender']:<16} {e['type']:<17} decrypted={e['decrypted']!s:<5} redacted={e['redacted']!s:<5} "
          f"body={e['body']!r} relates_to={json.dumps(e['relates_to'])}")
if not any(eval(cond, {}, {"ev": e}) for e in msgs):
    sys.exit(f"   CHECK FAILED: no event with {cond}")
print(f"   check ok: {cond}")
PYEOF
)"
check_msgs() { "$PY" -c "$CHECK_PY" "$1" <<<"$OUT"; }

A=(--user @alice:c2c.test --password alice-pw)
B=(--user @bob:c2c.test --password bob-pw)

step "synapse.sh install" "$S" install
step "synapse.sh start --fresh" "$S" start --fresh
step "register alice" "$S" register alice alice-pw
step "register bob" "$S" register bob bob-pw
step "register bob again (exists, same password)" "$S" register bob bob-pw

step "alice create-room --encrypted --invite bob" "$PY" "$OFFICER" create-room "${A[@]}" --name "Leeds-Hangzhou" --topic "twinning" --encrypted --invite @bob:c2c.test
ROOM="$(jget room_id)"
step "bob wait-invite" "$PY" "$OFFICER" wait-invite "${B[@]}" --timeout 30
step "alice whoami" "$PY" "$OFFICER" whoami "${A[@]}"
ALICE_DEV="$(jget device_id)"

step "alice send (E1)" "$PY" "$OFFICER" send "$ROOM" "${A[@]}" --text "Hello Bob, this is Alice" --html "<b>Hello</b> Bob"
E1="$(jget event_id)"
step "bob messages --wait-count 1" "$PY" "$OFFICER" messages "$ROOM" "${B[@]}" --wait-count 1 --timeout 30
check_msgs "ev['event_id'] == '$E1' and ev['decrypted'] and ev['body'] == 'Hello Bob, this is Alice' and ev['formatted_body'] == '<b>Hello</b> Bob'"

step "bob send --thread-root E1 (E2)" "$PY" "$OFFICER" send "$ROOM" "${B[@]}" --text "Thread reply from Bob" --thread-root "$E1"
E2="$(jget event_id)"
step "alice messages --thread-root E1 --wait-count 1" "$PY" "$OFFICER" messages "$ROOM" "${A[@]}" --thread-root "$E1" --wait-count 1 --timeout 30
check_msgs "ev['event_id'] == '$E2' and ev['decrypted'] and ev['relates_to']['rel_type'] == 'm.thread' and ev['relates_to']['event_id'] == '$E1' and ev['relates_to']['m.in_reply_to']['event_id'] == '$E1'"

step "alice send again, new process (E3)" "$PY" "$OFFICER" send "$ROOM" "${A[@]}" --text "Second message, same device"
E3="$(jget event_id)"
step "alice whoami (same device?)" "$PY" "$OFFICER" whoami "${A[@]}"
[ "$(jget device_id)" = "$ALICE_DEV" ] || { echo "   CHECK FAILED: alice's device changed"; exit 1; }
echo "   check ok: device $ALICE_DEV reused"
step "bob messages --wait-count 2" "$PY" "$OFFICER" messages "$ROOM" "${B[@]}" --wait-count 2 --timeout 30
check_msgs "ev['event_id'] == '$E3' and ev['decrypted'] and ev['body'] == 'Second message, same device'"

step "synapse.sh restart" "$S" restart
step "bob token" "$PY" "$OFFICER" token "${B[@]}"
TOKEN="$(jget token)"
step "alice send after restart (E4)" "$PY" "$OFFICER" send "$ROOM" "${A[@]}" --text "After the restart" --reply-to "$E2"
E4="$(jget event_id)"
step "bob messages --since-token T --wait-count 1" "$PY" "$OFFICER" messages "$ROOM" "${B[@]}" --since-token "$TOKEN" --wait-count 1 --timeout 30
check_msgs "ev['event_id'] == '$E4' and ev['decrypted'] and ev['relates_to'] == {'m.in_reply_to': {'event_id': '$E2'}}"

step "alice edit E4" "$PY" "$OFFICER" edit "$ROOM" "$E4" "${A[@]}" --text "After the restart (edited)"
step "alice redact E3" "$PY" "$OFFICER" redact "$ROOM" "$E3" "${A[@]}"
step "bob messages --since-token T --wait-count 2" "$PY" "$OFFICER" messages "$ROOM" "${B[@]}" --since-token "$TOKEN" --wait-count 2 --timeout 30
check_msgs "ev['decrypted'] and (ev['relates_to'] or {}).get('rel_type') == 'm.replace' and ev['content']['m.new_content']['body'] == 'After the restart (edited)'"
step "bob messages (full history)" "$PY" "$OFFICER" messages "$ROOM" "${B[@]}"
check_msgs "ev['event_id'] == '$E3' and ev['redacted']"
step "bob messages --wait-count 9 --timeout 2 (expect exit 3)" bash -c '"$@"; [ $? = 3 ]' _ "$PY" "$OFFICER" messages "$ROOM" "${B[@]}" --wait-count 9 --timeout 2
OUT="[]"

# The live path: bob is already long-polling when alice sends (the event and its room key arrive
# while bob waits).
step "bob token" "$PY" "$OFFICER" token "${B[@]}"
TOKEN="$(jget token)"
T0="$(date +%s.%N)"
"$PY" "$OFFICER" messages "$ROOM" "${B[@]}" --since-token "$TOKEN" --wait-count 1 --timeout 30 >"$TMP/bg" 2>"$TMP/bg.err" &
BG=$!
step "bob joined waiting (1 s), alice sends (E5)" bash -c 'sleep 1; "$@"' _ "$PY" "$OFFICER" send "$ROOM" "${A[@]}" --text "While Bob waits"
E5="$(jget event_id)"
rc=0; wait "$BG" || rc=$?
printf '== %-58s %6.2f s  rc=%s\n' "bob messages (background, started before E5)" "$(echo "$(date +%s.%N) - $T0" | bc)" "$rc"
OUT="$(cat "$TMP/bg")"
[ "$rc" = 0 ] || { cat "$TMP/bg.err"; exit 1; }
check_msgs "ev['event_id'] == '$E5' and ev['decrypted']"

step "bob leave" "$PY" "$OFFICER" leave "$ROOM" "${B[@]}"
step "synapse.sh stop" "$S" stop
step "synapse.sh start (DB kept)" "$S" start
step "synapse.sh status" "$S" status
step "synapse.sh stop" "$S" stop
echo "smoke: all checks passed"
