#!/usr/bin/env bash
# A private Synapse homeserver for c2c-bridge tests, on 127.0.0.1 only, server_name c2c.test.
#
#   tests/matrix/synapse.sh install                     # venv with requirements.txt (idempotent, quiet)
#   tests/matrix/synapse.sh start [--fresh]             # prints the env file (KEY=value) on stdout
#   tests/matrix/synapse.sh stop | restart | status | log [-f] [LINES]
#   tests/matrix/synapse.sh register USER PASSWORD [--admin]
#
# State (config, SQLite DB, media, logs, officer.py stores) lives in $C2C_SYNAPSE_STATE, default
# ${C2C_STATE_DIR:-$HOME/.cache/c2c-bridge}/synapse; the venv (Synapse + matrix-nio) in
# ${C2C_STATE_DIR:-$HOME/.cache/c2c-bridge}/venv-matrix. Port: $C2C_SYNAPSE_PORT, else the one in
# the existing env file, else a free one. The recipe: /work/shared/real-servers.md (Synapse).
# Only stdout of `start`, `status` and `register` is machine-readable; progress and errors go to stderr.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BASE="${C2C_STATE_DIR:-$HOME/.cache/c2c-bridge}"
BASE="${BASE%/}"
STATE="${C2C_SYNAPSE_STATE:-$BASE/synapse}"
STATE="${STATE%/}"
VENV="$BASE/venv-matrix"
VPY="$VENV/bin/python"
REQ="$HERE/requirements.txt"
STAMP="$VENV/.c2c-requirements.sha256"
SERVER_NAME=c2c.test
HOST=127.0.0.1

CONF="$STATE/homeserver.yaml"      # generated once: secrets, DB, rate limits, ...
LCONF="$STATE/listener.yaml"       # rewritten at every start: the port
SECRET_FILE="$STATE/shared_secret" # registration_shared_secret, also in the env file
PIDF="$STATE/homeserver.pid"
LOG="$STATE/homeserver.log"        # Synapse's own log
STDIO_LOG="$STATE/stdio.log"       # whatever the daemon prints before it detaches
ENVF="$STATE/env"

say() { printf '%s\n' "$*" >&2; }
die() { say "synapse.sh: $*"; exit 1; }

usage() {
  sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# --- venv ---------------------------------------------------------------------------------

# A Python 3.11 for the venv: $C2C_PYTHON, else python3.11, else any python3 >= 3.10 (with a note).
pick_python() {
  local c p
  if [ -n "${C2C_PYTHON:-}" ]; then printf '%s' "$C2C_PYTHON"; return; fi
  for c in python3.11 /usr/bin/python3.11; do
    p="$(command -v "$c" 2>/dev/null)" || continue
    if "$p" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
      printf '%s' "$p"; return
    fi
  done
  p="$(command -v python3 2>/dev/null)" || die "no python3 found (set C2C_PYTHON)"
  "$p" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info[:2] < (3, 10))' 2>/dev/null \
    || die "$p is not Python >= 3.10 with venv/ensurepip (set C2C_PYTHON)"
  say "note: no Python 3.11 found; using $p ($("$p" -V 2>&1))"
  printf '%s' "$p"
}

req_hash() { sha256sum "$REQ" | cut -d' ' -f1; }

venv_ok() {
  [ -x "$VPY" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(req_hash)" ]
}

cmd_install() {
  [ -f "$REQ" ] || die "missing $REQ"
  venv_ok && return 0
  mkdir -p "$BASE"
  exec 8>"$BASE/.venv-matrix.lock"
  flock 8
  if venv_ok; then exec 8>&-; return 0; fi   # another process installed it meanwhile
  local py ilog="$BASE/venv-matrix.install.log"
  if ! { [ -x "$VPY" ] && "$VPY" -c 'import sys' 2>/dev/null; }; then
    py="$(pick_python)"
    say "creating venv $VENV ($("$py" -V 2>&1))"
    rm -rf "$VENV"
    "$py" -m venv "$VENV" || die "python -m venv failed"
  fi
  rm -f "$STAMP"
  say "installing $(grep -v '^#' "$REQ" | grep . | tr '\n' ' ')into $VENV (log: $ilog)"
  if ! "$VPY" -m pip install -q --disable-pip-version-check -r "$REQ" >"$ilog" 2>&1; then
    tail -n 30 "$ilog" >&2
    die "pip install failed (log: $ilog)"
  fi
  "$VPY" -c 'import synapse, nio, vodozemac' 2>>"$ilog" || die "venv is missing synapse/nio/vodozemac (log: $ilog)"
  req_hash >"$STAMP"
  exec 8>&-
}

# --- helpers ------------------------------------------------------------------------------

stored() { # KEY -> value from the env file, or empty
  [ -f "$ENVF" ] || return 0
  sed -n "s/^$1=//p" "$ENVF" | tail -n 1
}

lock_state() {
  mkdir -p "$STATE"
  exec 9>"$STATE/.lock"
  flock 9
}

# The pid in the pid file, if that process is alive and is our Synapse (guards against pid reuse).
synapse_pid() {
  local pid
  [ -f "$PIDF" ] || return 0
  pid="$(tr -d ' \n' <"$PIDF")"
  [ -n "$pid" ] && pid_alive "$pid" || return 0
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$CONF" || return 0
  printf '%s' "$pid"
}

# Alive and not a zombie. The daemonized Synapse is re-parented to PID 1, which in a container
# may reap its children only every few seconds; a zombie has exited already.
pid_alive() {
  local st
  kill -0 "$1" 2>/dev/null || return 1
  st="$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" || return 1
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

wait_pid_gone() { # PID SECONDS
  local i
  for ((i = 0; i < $2 * 20; i++)); do pid_alive "$1" || return 0; sleep 0.05; done
  return 1
}

health_ok() { # URL
  [ "$(curl -sS --max-time 2 "$1/health" 2>/dev/null)" = OK ]
}

show_logs() {
  say "---- last lines of $STDIO_LOG and $LOG ----"
  tail -n 5 "$STDIO_LOG" >&2 2>/dev/null || true
  tail -n 25 "$LOG" >&2 2>/dev/null || true
}

# Port for this start: $C2C_SYNAPSE_PORT (must be free), else the one from the env file if
# still free, else a new ephemeral one.
pick_port() {
  local explicit="${C2C_SYNAPSE_PORT:-}" old_url old=""
  old_url="$(stored C2C_SYNAPSE_URL)"
  [ -n "$old_url" ] && old="${old_url##*:}"
  "$VPY" - "$HOST" "$explicit" "$old" <<'PYEOF'
import socket, sys
host, explicit, old = sys.argv[1], sys.argv[2], sys.argv[3]

def free(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Twisted does: TIME_WAIT is free
    try:
        s.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        s.close()

if explicit:
    if not free(int(explicit)):
        sys.exit(f"C2C_SYNAPSE_PORT={explicit} is in use")
    print(explicit)
elif old and free(int(old)):
    print(old)
else:
    if old:
        print(f"note: port {old} from the env file is in use now; choosing another", file=sys.stderr)
    s = socket.socket()
    s.bind((host, 0))
    print(s.getsockname()[1])
    s.close()
PYEOF
}

# homeserver.yaml, log.config, signing key and shared secret, written once per state dir.
generate_config() {
  say "generating Synapse config in $STATE"
  mkdir -p "$STATE/media"
  "$VPY" - "$STATE" "$SERVER_NAME" <<'PYEOF'
import os, secrets, string, sys
import yaml
from signedjson.key import generate_signing_key, write_signing_keys

state, server_name = sys.argv[1], sys.argv[2]
path = lambda *p: os.path.join(state, *p)

def private(name, text):
    fd = os.open(path(name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)

shared_secret = secrets.token_hex(32)
private("shared_secret", shared_secret + "\n")

key_id = "a_" + "".join(secrets.choice(string.ascii_letters) for _ in range(4))
fd = os.open(path("signing.key"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, "w") as f:
    write_signing_keys(f, [generate_signing_key(key_id)])

log_config = {
    "version": 1,
    "formatters": {"precise": {"format": "%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(request)s - %(message)s"}},
    "filters": {"context": {"()": "synapse.logging.context.LoggingContextFilter", "request": ""}},
    "handlers": {"file": {"class": "logging.FileHandler", "formatter": "precise", "filters": ["context"],
                          "filename": path("homeserver.log"), "encoding": "utf8"}},
    "loggers": {"synapse.storage.SQL": {"level": "WARNING"}, "twisted": {"level": "WARNING"}},
    "root": {"level": "INFO", "handlers": ["file"]},
    "disable_existing_loggers": False,
}
with open(path("log.config"), "w") as f:
    yaml.safe_dump(log_config, f, sort_keys=False)

unlimited = {"per_second": 100000, "burst_count": 100000}
config = {
    "server_name": server_name,
    "pid_file": path("homeserver.pid"),
    # listeners and public_baseurl: listener.yaml (rewritten at every start with the port)
    "database": {"name": "sqlite3", "args": {"database": path("homeserver.db")}},
    "log_config": path("log.config"),
    "media_store_path": path("media"),
    "signing_key_path": path("signing.key"),
    "report_stats": False,
    "enable_metrics": False,
    "macaroon_secret_key": secrets.token_hex(32),
    "form_secret": secrets.token_hex(32),
    "registration_shared_secret": shared_secret,
    "enable_registration": False,
    "bcrypt_rounds": 4,
    # Nothing may leave 127.0.0.1: no key servers, no federation, no URL previews, no stats.
    "trusted_key_servers": [],
    "suppress_key_server_warning": True,
    "federation_domain_whitelist": [],
    "url_preview_enabled": False,
    "presence": {"enabled": False},
    "serve_server_wellknown": False,
    # Tests hammer the server: every rate limit out of the way.
    "rc_message": unlimited,
    "rc_registration": unlimited,
    "rc_login": {"address": unlimited, "account": unlimited, "failed_attempts": unlimited},
    "rc_joins": {"local": unlimited, "remote": unlimited},
    "rc_joins_per_room": unlimited,
    "rc_invites": {"per_room": unlimited, "per_user": unlimited, "per_issuer": unlimited},
    "rc_admin_redaction": unlimited,
    "rc_3pid_validation": unlimited,
    "rc_third_party_invite": unlimited,
    "rc_media_create": unlimited,
    "rc_key_requests": unlimited,
    "rc_room_creation": unlimited,
    "rc_reports": unlimited,
    "rc_delayed_event_mgmt": unlimited,
    "rc_user_directory": unlimited,
    "rc_profile": unlimited,
    "rc_presence": {"per_user": unlimited},
}
header = "# Generated once by tests/matrix/synapse.sh; `start --fresh` regenerates it.\n"
with open(path("homeserver.yaml.tmp"), "w") as f:
    f.write(header)
    yaml.safe_dump(config, f, sort_keys=False)
os.chmod(path("homeserver.yaml.tmp"), 0o600)
os.replace(path("homeserver.yaml.tmp"), path("homeserver.yaml"))
PYEOF
}

write_listener() { # PORT
  cat >"$LCONF" <<EOF
# Rewritten by tests/matrix/synapse.sh at every start.
public_baseurl: "http://$HOST:$1/"
listeners:
  - port: $1
    type: http
    tls: false
    x_forwarded: false
    bind_addresses: ['$HOST']
    resources:
      - names: [client]
        compress: false
EOF
}

write_env() { # URL
  local tmp="$ENVF.tmp"
  {
    printf 'C2C_SYNAPSE_URL=%s\n' "$1"
    printf 'C2C_SYNAPSE_SERVER_NAME=%s\n' "$SERVER_NAME"
    printf 'C2C_SYNAPSE_SHARED_SECRET=%s\n' "$(tr -d ' \n' <"$SECRET_FILE")"
    printf 'C2C_MATRIX_PYTHON=%s\n' "$VPY"
    printf 'C2C_MATRIX_OFFICER=%s\n' "$HERE/officer.py"
    printf 'C2C_SYNAPSE_STATE=%s\n' "$STATE"
  } >"$tmp"
  mv "$tmp" "$ENVF"
}

# --- commands -----------------------------------------------------------------------------

cmd_start() {
  local fresh=0 a pid port url rc i
  for a in "$@"; do
    case "$a" in --fresh) fresh=1 ;; *) die "start: unknown argument $a" ;; esac
  done
  case "$STATE" in /*) ;; *) die "state dir must be absolute: $STATE" ;; esac
  cmd_install
  lock_state

  pid="$(synapse_pid)"
  if [ "$fresh" = 1 ]; then
    if [ -n "$pid" ]; then stop_locked; pid=""; fi
    say "fresh state: removing $STATE (DB, config, officer stores)"
    find "$STATE" -mindepth 1 -maxdepth 1 ! -name .lock -exec rm -rf {} +
  fi

  if [ -n "$pid" ]; then
    url="$(stored C2C_SYNAPSE_URL)"
    if [ -n "${C2C_SYNAPSE_PORT:-}" ] && [ "${url##*:}" != "$C2C_SYNAPSE_PORT" ]; then
      die "Synapse already runs (pid $pid) at $url, not on C2C_SYNAPSE_PORT=$C2C_SYNAPSE_PORT; stop it first"
    fi
    if [ -n "$url" ] && health_ok "$url"; then
      say "Synapse already running (pid $pid) at $url"
      write_env "$url"
      cat "$ENVF"
      return 0
    fi
    say "Synapse pid $pid is alive but not healthy; restarting it"
    stop_locked
  fi
  rm -f "$PIDF"

  [ -f "$CONF" ] && [ -f "$SECRET_FILE" ] || generate_config
  port="$(pick_port)" || die "no port"
  url="http://$HOST:$port"
  write_listener "$port"

  say "starting Synapse at $url (log: $LOG)"
  : >"$STDIO_LOG"
  # fds 8/9 are our locks: the daemon must not inherit them.
  rc=0
  (cd "$STATE" && exec "$VPY" -m synapse.app.homeserver -c "$CONF" -c "$LCONF" --daemonize \
    </dev/null >>"$STDIO_LOG" 2>&1 8>&- 9>&-) || rc=$?
  [ "$rc" = 0 ] || { show_logs; die "Synapse failed to start (exit $rc)"; }

  # --daemonize returns before the listener is up: poll /health.
  for ((i = 0; i < 1200; i++)); do   # 60 s
    if health_ok "$url"; then
      write_env "$url"
      say "Synapse up (pid $(synapse_pid)) at $url"
      cat "$ENVF"
      return 0
    fi
    if [ -f "$PIDF" ] && [ -z "$(synapse_pid)" ]; then
      show_logs; die "Synapse exited during start-up"
    fi
    sleep 0.05
  done
  show_logs
  die "Synapse did not answer $url/health within 60 s"
}

stop_locked() {
  local pid
  pid="$(synapse_pid)"
  if [ -z "$pid" ]; then
    rm -f "$PIDF"
    say "Synapse not running"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_pid_gone "$pid" 30; then
    say "Synapse (pid $pid) still alive 30 s after SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_pid_gone "$pid" 5 || die "could not stop pid $pid"
  fi
  rm -f "$PIDF"
  say "Synapse stopped (was pid $pid)"
}

cmd_stop() {
  [ -d "$STATE" ] || { say "Synapse not running (no $STATE)"; return 0; }
  lock_state
  stop_locked
}

cmd_status() {
  local pid url
  pid="$(synapse_pid)"
  url="$(stored C2C_SYNAPSE_URL)"
  say "state: $STATE"
  if [ -z "$pid" ]; then
    say "synapse: stopped"
    return 3
  fi
  [ -f "$ENVF" ] && cat "$ENVF"
  if [ -n "$url" ] && health_ok "$url"; then
    say "synapse: running (pid $pid) at $url, /health OK"
    return 0
  fi
  say "synapse: pid $pid alive but $url/health does not answer OK"
  return 1
}

cmd_log() {
  local follow=() n=60 a
  for a in "$@"; do
    case "$a" in -f) follow=(-F) ;; *[!0-9]*) die "log: unknown argument $a" ;; *) n="$a" ;; esac
  done
  [ -f "$LOG" ] || die "no log at $LOG"
  tail -n "$n" "${follow[@]}" "$LOG"
}

# Shared-secret registration (/_synapse/admin/v1/register). An existing user counts as success
# if PASSWORD logs in. Prints {"user_id": ..., "created": true|false} on stdout.
cmd_register() {
  local user="" pw="" admin=0 a n=0 url
  for a in "$@"; do
    case "$a" in
      --admin) admin=1 ;;
      -*) die "register: unknown option $a" ;;
      *) n=$((n + 1)); if [ "$n" = 1 ]; then user="$a"; elif [ "$n" = 2 ]; then pw="$a"; else die "register: too many arguments"; fi ;;
    esac
  done
  [ -n "$user" ] && [ -n "$pw" ] || die "usage: register USER PASSWORD [--admin]"
  url="$(stored C2C_SYNAPSE_URL)"
  [ -n "$url" ] && [ -f "$SECRET_FILE" ] || die "no env file in $STATE; run start first"
  "$VPY" - "$url" "$(tr -d ' \n' <"$SECRET_FILE")" "$user" "$pw" "$admin" <<'PYEOF'
import hashlib, hmac, json, sys, urllib.error, urllib.request

url, secret, user, password, admin = sys.argv[1:6]
admin = admin == "1"
localpart = user[1:].split(":", 1)[0] if user.startswith("@") else user

def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        try:
            return e.code, json.load(e)
        except ValueError:
            return e.code, {"error": str(e)}
    except OSError as e:
        sys.exit(f"register: {url}: {e} (is Synapse running? synapse.sh status)")

status, body = call("GET", "/_synapse/admin/v1/register")
if status != 200:
    sys.exit(f"register: GET nonce failed: {status} {body}")
nonce = body["nonce"]
mac = hmac.new(secret.encode(), digestmod=hashlib.sha1)
mac.update(b"\x00".join(p.encode() for p in (nonce, localpart, password, "admin" if admin else "notadmin")))
status, body = call("POST", "/_synapse/admin/v1/register", {
    "nonce": nonce, "username": localpart, "password": password, "admin": admin, "mac": mac.hexdigest()})
if status == 200:
    print(json.dumps({"user_id": body["user_id"], "created": True}))
    sys.exit(0)
if body.get("errcode") != "M_USER_IN_USE":
    sys.exit(f"register {localpart}: {status} {body}")
# Already there: fine if the password is the same.
status, body = call("POST", "/_matrix/client/v3/login", {
    "type": "m.login.password", "identifier": {"type": "m.id.user", "user": localpart},
    "password": password, "initial_device_display_name": "synapse.sh register check"})
if status != 200:
    sys.exit(f"register {localpart}: user exists and the password does not log in ({status} {body.get('errcode')})")
# Do not leave a device behind for every check.
req = urllib.request.Request(url + "/_matrix/client/v3/logout", data=b"{}", method="POST",
                             headers={"Authorization": "Bearer " + body["access_token"],
                                      "Content-Type": "application/json"})
urllib.request.urlopen(req, timeout=30).close()
print(json.dumps({"user_id": body["user_id"], "created": False}))
PYEOF
}

main() {
  [ $# -ge 1 ] || usage
  local cmd="$1"; shift
  case "$cmd" in
    install) [ $# = 0 ] || die "install takes no arguments"; cmd_install ;;
    start) cmd_start "$@" ;;
    stop) [ $# = 0 ] || die "stop takes no arguments"; cmd_stop ;;
    restart)
      [ $# = 0 ] || die "restart takes no arguments"
      cmd_install
      lock_state
      stop_locked
      exec 9>&-
      cmd_start
      ;;
    status) cmd_status ;;
    log) cmd_log "$@" ;;
    register) cmd_register "$@" ;;
    -h|--help|help) usage ;;
    *) say "unknown command: $cmd"; usage ;;
  esac
}

main "$@"
