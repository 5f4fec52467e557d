#!/usr/bin/env bash
# End-to-end smoke test of mail-server.sh + officer.py against the real Postfix/Dovecot.
# Wipes the mail state dir (start --fresh) and stops the servers at the end.
#   tests/mail/smoke.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
srv="$here/mail-server.sh"
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi
officer() { "$PY" "$here/officer.py" "$@"; }

tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
step() { printf '\n== %s\n' "$*"; }
ok() { printf 'ok: %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*"; exit 1; }
timed() { # LABEL CMD... : run, print the wall time
  local t0=$EPOCHREALTIME
  "${@:2}"
  awk -v a="$t0" -v b="$EPOCHREALTIME" -v l="$1" 'BEGIN { printf "time %s: %.2f s\n", l, b - a }' >&2
}

step "install (packages present: no-op)"
timed install "$srv" install

step "start --fresh"
timed "start --fresh" "$srv" start --fresh >"$tmp/env"
cat "$tmp/env"
set -a; # shellcheck disable=SC1091
. "$tmp/env"; set +a
H=$C2C_MAIL_HOST CA=$C2C_MAIL_CA_FILE

step "users"
"$srv" add-user bridge@c2c.test bridge-pw
"$srv" add-user jo.smith@leeds.test jo-pw
"$srv" add-user jo.smith@leeds.test jo-pw   # idempotent
BRIDGE=(--user bridge@c2c.test --password bridge-pw)
JO=(--user jo.smith@leeds.test --password jo-pw)

step "send: jo.smith -> bridge+hangzhou-leeds@c2c.test (submission, STARTTLS + AUTH, cert verified)"
out="$(officer send --host "$H" --port "$C2C_MAIL_SUBMISSION_PORT" --starttls "${JO[@]}" --cafile "$CA" \
  --from "Jo Smith <jo.smith@leeds.test>" --to bridge+hangzhou-leeds@c2c.test \
  --subject "Leeds–Hangzhou exchange 2026" --header "Content-Language: en-GB" --text "Hello from Leeds.")"
echo "$out"
MID1="$(jq -r .message_id <<<"$out")"

step "fetch over IMAPS (implicit TLS, cert verified)"
msgs="$(officer fetch --host "$H" --port "$C2C_MAIL_IMAPS_PORT" --tls --cafile "$CA" "${BRIDGE[@]}" --wait 10 --count 1)"
jq -c '.[] | {uid, flags, message_id, from, to, subject, content_language, delivered_to: .headers["delivered-to"], text}' <<<"$msgs"
[ "$(jq -r '.[0].message_id' <<<"$msgs")" = "$MID1" ] || fail "message id"
[ "$(jq -r '.[0].to[0]' <<<"$msgs")" = "bridge+hangzhou-leeds@c2c.test" ] || fail "To: lost the +token"
[ "$(jq -r '.[0].headers["delivered-to"][0]' <<<"$msgs")" = "bridge+hangzhou-leeds@c2c.test" ] || fail "Delivered-To"
[ "$(jq -r '.[0].content_language' <<<"$msgs")" = "en-GB" ] || fail "Content-Language"
ok "To: and Delivered-To: keep +hangzhou-leeds; landed in bridge@c2c.test's INBOX"
UID1="$(jq -r '.[0].uid' <<<"$msgs")"

step "reply threading: In-Reply-To / References byte-identical"
REFS="<root.1@hangzhou.test> <a-very-long-message-id-to-force-folding.1234567890@gifu.test> $MID1"
MID2="<reply.$$.$RANDOM@leeds.test>"
officer send --host "$H" --port "$C2C_MAIL_SMTPS_PORT" --tls "${JO[@]}" --cafile "$CA" \
  --from jo.smith@leeds.test --to bridge+hangzhou-leeds@c2c.test --subject "Re: exchange" \
  --message-id "$MID2" --in-reply-to "$MID1" --references "$REFS" \
  --header "Auto-Submitted: auto-replied" --text "Reply." >/dev/null
msgs="$(officer fetch --host "$H" --port "$C2C_MAIL_IMAP_PORT" --plain "${BRIDGE[@]}" --since-uid "$UID1" --wait 10)"
jq -c '.[0] | {uid, message_id, in_reply_to, references, auto_submitted, raw_references: .headers.references}' <<<"$msgs"
[ "$(jq -r '.[0].message_id' <<<"$msgs")" = "$MID2" ] || fail "Message-ID"
[ "$(jq -r '.[0].in_reply_to' <<<"$msgs")" = "$MID1" ] || fail "In-Reply-To"
[ "$(jq -r '.[0].references | join(" ")' <<<"$msgs")" = "$REFS" ] || fail "References tokens"
[ "$(jq -r '.[0].headers.references[0]' <<<"$msgs")" = "$REFS" ] || fail "References raw (unfolded)"
ok "Message-ID, In-Reply-To identical; References identical raw (once unfolded) and as tokens"
UID2="$(jq -r '.[0].uid' <<<"$msgs")"

step "IDLE: idle-wait in the background, then send"
officer idle-wait --host "$H" --port "$C2C_MAIL_IMAP_PORT" "${BRIDGE[@]}" --timeout 15 >"$tmp/idle.json" &
idle_pid=$!
sleep 1
officer send --host "$H" --port "$C2C_MAIL_SMTP_PORT" --from anna@gifu.test --to bridge+gifu-leeds@c2c.test \
  --subject "ぎふ" --charset shift_jis --text "岐阜市からこんにちは" \
  --html "<p>岐阜市から<b>こんにちは</b></p>" --attach "$here/README.md" >/dev/null
wait "$idle_pid" || fail "idle-wait got no EXISTS"
jq -c . "$tmp/idle.json"
msgs="$(officer fetch --host "$H" --port "$C2C_MAIL_IMAP_PORT" "${BRIDGE[@]}" --since-uid "$UID2")"
jq -c '.[0] | {subject, raw_subject: .headers.subject[0], text, html, attachments, ct: .headers["content-type"][0]}' <<<"$msgs"
[ "$(jq '.[0].text' <<<"$msgs")" = '"岐阜市からこんにちは\n"' ] || fail "shift_jis text"
ok "Shift_JIS subject/text/html decoded, attachment listed"

step "refusals"
r="$(officer send --host "$H" --port "$C2C_MAIL_SMTP_PORT" --from jo.smith@leeds.test --to nobody@c2c.test --subject x --text x || true)"
echo "unknown local user: $r"; [ "$(jq -r '.refused[][0]' <<<"$r")" = 550 ] || fail "unknown user not 550"
r="$(officer send --host "$H" --port "$C2C_MAIL_SUBMISSION_PORT" --starttls "${JO[@]}" --cafile "$CA" --from jo.smith@leeds.test --to someone@example.com --subject x --text x || true)"
echo "relay (authenticated): $r"; jq -e '.refused' <<<"$r" >/dev/null || fail "relay accepted"
r="$(officer send --host "$H" --port "$C2C_MAIL_SUBMISSION_PORT" --starttls --cafile "$CA" --from jo.smith@leeds.test --to bridge@c2c.test --subject x --text x || true)"
echo "submission without AUTH: $r"; jq -e '.error' <<<"$r" >/dev/null || fail "no-auth submission accepted"
r="$(officer send --host "$H" --port "$C2C_MAIL_SUBMISSION_PORT" --starttls --user jo.smith@leeds.test --password wrong --cafile "$CA" --from jo.smith@leeds.test --to bridge@c2c.test --subject x --text x || true)"
echo "wrong password: $r"; [ "$(jq -r .smtp_code <<<"$r")" = 535 ] || fail "wrong password accepted"
r="$(officer fetch --host "$H" --port "$C2C_MAIL_IMAPS_PORT" --tls "${BRIDGE[@]}" || true)"
echo "IMAPS without --cafile: $r"; jq -e '.error_type == "SSLCertVerificationError"' <<<"$r" >/dev/null || fail "unverified TLS accepted"

step "stop-postfix: sending fails"
"$srv" stop-postfix
r="$(officer send --host "$H" --port "$C2C_MAIL_SUBMISSION_PORT" --starttls "${JO[@]}" --cafile "$CA" --from jo.smith@leeds.test --to bridge@c2c.test --subject down --text down || true)"
echo "$r"; jq -e '.error_type == "ConnectionRefusedError"' <<<"$r" >/dev/null || fail "send worked with postfix stopped"

step "start-postfix: sending works again, same ports"
"$srv" start-postfix
officer send --host "$H" --port "$C2C_MAIL_SUBMISSION_PORT" --starttls "${JO[@]}" --cafile "$CA" --from jo.smith@leeds.test --to bridge@c2c.test --subject "back up" --text "up" | jq -c .

step "restart-dovecot: state kept"
before="$(officer fetch --host "$H" --port "$C2C_MAIL_IMAP_PORT" "${BRIDGE[@]}" --wait 10 --count 4 | jq length)"
timed restart-dovecot "$srv" restart-dovecot
after="$(officer fetch --host "$H" --port "$C2C_MAIL_IMAPS_PORT" --tls --cafile "$CA" "${BRIDGE[@]}" | jq -c '[.[] | {uid, subject}]')"
echo "before: $before messages; after: $after"
[ "$(jq length <<<"$after")" = "$before" ] || fail "messages lost over a dovecot restart"
officer folders --host "$H" --port "$C2C_MAIL_IMAP_PORT" "${BRIDGE[@]}" --create c2c-processed | jq -c '[.[].name]'

step "timings"
timed "start (running, unchanged)" "$srv" start >/dev/null
"$srv" stop
timed "start (stopped, state kept)" "$srv" start >/dev/null
grep -q "^C2C_MAIL_IMAP_PORT=$C2C_MAIL_IMAP_PORT\$" "$C2C_MAIL_STATE/env" || fail "ports changed over a restart"
officer fetch --host "$H" --port "$C2C_MAIL_IMAP_PORT" "${BRIDGE[@]}" | jq -c '"after stop/start: \(length) messages"'

step "stop"
"$srv" stop
"$srv" status || echo "status exit code: $?"
echo
echo "SMOKE TEST PASSED"
