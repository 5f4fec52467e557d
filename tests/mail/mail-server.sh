#!/usr/bin/env bash
# A private Postfix + Dovecot mail server for c2c-bridge tests, on 127.0.0.1 only, with
# OpenDKIM as Postfix's milter: it verifies DKIM signatures (public keys from a local file, there
# is no DNS) and writes Authentication-Results as authserv-id mail.<first domain>, the header the
# bridge trusts. `tests/mail/officer.py send --dkim-key` signs as an officer's own server would.
#
#   tests/mail/mail-server.sh install                 # apt packages + vmail user (root, idempotent)
#   tests/mail/mail-server.sh start [--fresh]         # prints the env file (KEY=value) on stdout
#   tests/mail/mail-server.sh add-user ADDRESS PASSWORD
#   tests/mail/mail-server.sh dkim-key DOMAIN        # path of DOMAIN's private signing key
#   tests/mail/mail-server.sh stop | status | log [-f] [LINES]
#   tests/mail/mail-server.sh stop-postfix | start-postfix | restart-dovecot
#
# Everything (configs, queue, maildirs, sockets, logs, cert) lives under one state directory,
# $C2C_MAIL_STATE, default ${C2C_STATE_DIR:-$HOME/.cache/c2c-bridge}/mail. /etc/postfix and
# /etc/dovecot are not used. The recipe and its gotchas: /work/shared/real-servers.md
# (cited below as "gotcha N"). Only stdout of `start`/`status` is machine-readable; progress
# and errors go to stderr.
set -euo pipefail

BASE="${C2C_STATE_DIR:-$HOME/.cache/c2c-bridge}"
STATE="${C2C_MAIL_STATE:-$BASE/mail}"
STATE="${STATE%/}"
DEFAULT_DOMAINS="c2c.test leeds.test hangzhou.test gifu.test"
HOST=127.0.0.1

# The system python starts in ~50 ms; a pyenv shim can take 250 ms, which adds up in `start`.
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi

PCONF="$STATE/postfix"        # main.cf, master.cf, texthash maps
SPOOL="$STATE/spool"          # postfix queue_directory
PDATA="$STATE/postfix-data"   # postfix data_directory
DCONF="$STATE/dovecot/dovecot.conf"
USERS="$STATE/dovecot/users"  # the one user list: IMAP logins, SMTP AUTH, and (derived) Postfix maps
DSTATE="$STATE/dovecot/state"
RUN="$STATE/run"              # dovecot base_dir: master.pid, lmtp and auth-client sockets
MAILDIRS="$STATE/maildirs"
DKIM="$STATE/dkim"            # per-domain signing keys, the public-key file, opendkim.conf
DKIM_SELECTOR=c2c
TLSDIR="$STATE/tls"
LOGDIR="$STATE/log"
ENVF="$STATE/env"
MARKER="$STATE/.c2c-mail-state"
PROBE_USER="c2c-probe@probe.invalid"   # not a served domain: can log in, cannot receive mail

PORT_KEYS=(C2C_MAIL_SMTP_PORT C2C_MAIL_SUBMISSION_PORT C2C_MAIL_SMTPS_PORT C2C_MAIL_IMAP_PORT C2C_MAIL_IMAPS_PORT
           C2C_MAIL_MILTER_PORT)

say() { printf '%s\n' "$*" >&2; }
die() { say "mail-server.sh: $*"; exit 1; }

need_root() { [ "$(id -u)" = 0 ] || die "must run as root (the daemons bind ports and switch users)"; }

# --- paths, permissions, locking ---------------------------------------------------------

check_state_path() {
  case "$STATE" in /*) ;; *) die "state dir must be absolute: $STATE" ;; esac
  # Paths go unquoted into main.cf and dovecot.conf, so keep them plain.
  [[ "$STATE" =~ ^[A-Za-z0-9_./+-]+$ ]] || die "state dir has unusual characters: $STATE"
  # Unix socket paths are limited to 107 bytes; Dovecot's longest is $RUN/token-login/imap-urlauth.
  [ "${#RUN}" -le 70 ] || die "state dir path too long for unix sockets: $STATE"
}

# The daemons drop privileges (postfix, dovecot, vmail users) and then open paths under $STATE,
# so every ancestor directory needs search (x) permission for "other". /root is 0700 on Debian,
# which breaks the default state dir under $HOME/.cache. Grant o+x (traverse only, no listing)
# where it is missing.
ensure_traversable() {
  local d="$STATE"
  while [ "$d" != / ] && [ -n "$d" ]; do
    if [ -d "$d" ] && [ "$(( 0$(stat -c %a "$d") & 1 ))" = 0 ]; then
      say "note: chmod o+x $d (the mail daemons' users must traverse it to reach $STATE)"
      chmod o+x "$d"
    fi
    d="$(dirname "$d")"
  done
}

lock_state() {
  mkdir -p "$STATE"
  exec 9>"$STATE/.lock"
  flock 9
}

# --- small helpers -----------------------------------------------------------------------

# Value of KEY from the existing env file, or empty.
stored() {
  [ -f "$ENVF" ] || return 0
  sed -n "s/^$1=//p" "$ENVF" | tail -n 1
}

# A pid counts as alive unless it is gone or a zombie (PID 1 here reaps with some delay).
pid_alive() {
  [ -n "${1:-}" ] && [ -r "/proc/$1/stat" ] || return 1
  local st; st="$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)"
  [ -n "$st" ] && [ "$st" != Z ]
}
# PID from a pid file, only if that process still has the expected name (a stale pid file
# must not make us signal an unrelated process that reused the pid).
pid_file() { # FILE COMM
  local pid
  [ -f "$1" ] || return 0
  pid="$(tr -d ' \n' <"$1")"
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] && printf '%s' "$pid"
  return 0
}
postfix_pid() { pid_file "$SPOOL/pid/master.pid" master; }
dovecot_pid() { pid_file "$RUN/master.pid" dovecot; }
opendkim_pid() { pid_file "$RUN/opendkim.pid" opendkim; }
opendkim_running() { pid_alive "$(opendkim_pid)"; }
postfix_running() { pid_alive "$(postfix_pid)"; }
dovecot_running() { pid_alive "$(dovecot_pid)"; }

wait_pid_gone() { # PID SECONDS
  local i
  for ((i = 0; i < $2 * 20; i++)); do pid_alive "$1" || return 0; sleep 0.05; done
  return 1
}

domains() { # one per line, lowercase; commas or spaces separate
  local raw="${C2C_MAIL_DOMAINS:-$(stored C2C_MAIL_DOMAINS)}"
  raw="${raw:-$DEFAULT_DOMAINS}"
  printf '%s\n' "$raw" | tr '[:upper:],[:space:]' '[:lower:]\n\n' | sed '/^$/d' | awk '!seen[$0]++'
}

show_logs() {
  say "---- last log lines ($LOGDIR) ----"
  tail -n 25 "$LOGDIR"/*.log >&2 2>/dev/null || true
}

# Readiness and port checks, in Python (stdlib) because bash cannot do an IMAP login.
#   pyhelp wait-open SECONDS PORT...          every port accepts a TCP connection
#   pyhelp wait-closed SECONDS PORT...        every port refuses connections
#   pyhelp imap-login SECONDS PORT USER PW    an IMAP LOGIN succeeds (retried)
#   pyhelp rcpt-ok SECONDS PORT ADDRESS       Postfix accepts RCPT TO:<ADDRESS> (retried)
#   pyhelp pick SPEC...                       ports for SPECs "N:explicit|N:stored|N:keep|0:new"
pyhelp() {
  "$PY" - "$HOST" "$@" <<'PYEOF'
import imaplib, smtplib, socket, sys, time
host, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3:]

def can_connect(port):
    try:
        socket.create_connection((host, port), timeout=0.5).close()
        return True
    except OSError:
        return False

def until(seconds, check):
    deadline = time.monotonic() + float(seconds)
    while True:
        err = None
        try:
            if check():
                return
        except Exception as e:  # retried until the deadline
            err = e
        if time.monotonic() > deadline:
            sys.exit(f"{cmd}: timed out after {seconds}s {args[1:]} {err or ''}")
        time.sleep(0.05)

def bindable(port):
    s = socket.socket()
    # The daemons set SO_REUSEADDR too, so a port in TIME_WAIT counts as free.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((host, port))
        return s
    except OSError:
        s.close()
        return None

if cmd == "wait-open":
    until(args[0], lambda: all(can_connect(int(p)) for p in args[1:]))
elif cmd == "wait-closed":
    until(args[0], lambda: not any(can_connect(int(p)) for p in args[1:]))
elif cmd == "imap-login":
    def login():
        with imaplib.IMAP4(host, int(args[1]), timeout=3) as imap:
            imap.login(args[2], args[3])
            imap.logout()
        return True
    until(args[0], login)
elif cmd == "rcpt-ok":
    def rcpt():
        with smtplib.SMTP(host, int(args[1]), timeout=3) as s:
            s.ehlo("readiness.probe")
            s.mail("")
            code, _ = s.rcpt(args[2])
            s.rset()
            return code == 250
    until(args[0], rcpt)
elif cmd == "pick":
    held, out = [], []
    for spec in args:
        port, kind = spec.split(":")
        port = int(port)
        if kind == "keep":  # held by our own running daemon
            out.append(port); continue
        if kind in ("explicit", "stored"):
            s = bindable(port)
            if s:
                held.append(s); out.append(port); continue
            if kind == "explicit":
                sys.exit(f"port {port} (set in the environment) is in use")
            print(f"note: stored port {port} is in use now; choosing another", file=sys.stderr)
        while True:  # a fresh ephemeral port, distinct from the others (all held open meanwhile)
            s = socket.socket()
            s.bind((host, 0))
            if s.getsockname()[1] not in out:
                held.append(s); out.append(s.getsockname()[1]); break
    print(" ".join(map(str, out)))
else:
    sys.exit(f"unknown helper {cmd}")
PYEOF
}

port_of() { # KEY -> port from the env file
  local v; v="$(stored "$1")"; [ -n "$v" ] || die "no $1 in $ENVF; run start first"; printf '%s' "$v"
}

# --- configuration -----------------------------------------------------------------------

make_dirs() {
  mkdir -p "$PCONF" "$SPOOL" "$PDATA" "$STATE/dovecot" "$DSTATE" "$RUN" "$TLSDIR" "$LOGDIR" "$MAILDIRS" "$DKIM/keys"
  touch "$MARKER"
  chmod 0755 "$STATE" "$PCONF" "$SPOOL" "$STATE/dovecot" "$RUN" "$LOGDIR"
  # Postfix wants its data_directory owned by mail_owner.
  chown postfix:postfix "$PDATA"
  # Mail is stored as the vmail user (Dovecot refuses uid 0 for mail access).
  chown vmail:vmail "$MAILDIRS"
  chmod 0700 "$MAILDIRS"
  [ -f "$USERS" ] || : >"$USERS"
  # passwd-file is read by Dovecot's auth process, which runs as the dovecot user.
  chown root:dovecot "$USERS"
  chmod 0640 "$USERS"
}

ensure_cert() {
  [ -s "$TLSDIR/ca.pem" ] && [ -s "$TLSDIR/cert.pem" ] && [ -s "$TLSDIR/key.pem" ] && return 0
  # A private CA and a server certificate it signed. rustls (the bridge) refuses a self-signed
  # CA certificate used as the server's own (webpki: CaUsedAsEndEntity), so the two are
  # separate, as with a real private CA. Clients trust ca.pem (C2C_MAIL_CA_FILE). The SAN covers
  # both names a client may connect to.
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=c2c test mail CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$TLSDIR/ca-key.pem" -out "$TLSDIR/ca.pem" >/dev/null 2>&1 ||
    die "openssl could not make the test CA"
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
    -keyout "$TLSDIR/key.pem" -out "$TLSDIR/server.csr" >/dev/null 2>&1 ||
    die "openssl could not make the server key"
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n' \
    >"$TLSDIR/server.ext"
  openssl x509 -req -in "$TLSDIR/server.csr" -CA "$TLSDIR/ca.pem" -CAkey "$TLSDIR/ca-key.pem" \
    -CAcreateserial -days 3650 -extfile "$TLSDIR/server.ext" -out "$TLSDIR/cert.pem" >/dev/null 2>&1 ||
    die "openssl could not sign the server certificate"
  chmod 0600 "$TLSDIR/key.pem" "$TLSDIR/ca-key.pem"   # read by the daemons' root processes before they drop privileges
  chmod 0644 "$TLSDIR/cert.pem" "$TLSDIR/ca.pem"
}

# One DKIM key per served domain (selector c2c). The private keys stay root's (the officers'
# clients sign as root); opendkim reads only the public-key file, in the form it reads DNS
# answers from with TestPublicKeys: "<selector>._domainkey.<domain> <TXT record>" per line.
ensure_dkim_keys() {
  local dom key
  chmod 0700 "$DKIM/keys"
  for dom in $(domains); do
    key="$DKIM/keys/$dom.private"
    [ -s "$key" ] && continue
    openssl genrsa -out "$key.tmp" 2048 >/dev/null 2>&1 || die "openssl could not make the DKIM key of $dom"
    chmod 0600 "$key.tmp"; mv -f "$key.tmp" "$key"
  done
  for dom in $(domains); do
    printf '%s._domainkey.%s v=DKIM1; k=rsa; p=%s\n' "$DKIM_SELECTOR" "$dom" \
      "$(openssl rsa -in "$DKIM/keys/$dom.private" -pubout -outform DER 2>/dev/null | base64 -w0)"
  done >"$DKIM/public-keys.new"
  replace_if_changed "$DKIM/public-keys" || true
}

ensure_probe_user() {
  grep -q "^$PROBE_USER:" "$USERS" && return 0
  local pw; pw="$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
  printf '%s:{PLAIN}%s::::::\n' "$PROBE_USER" "$pw" >>"$USERS"
}
probe_password() { sed -n "s/^$PROBE_USER:{PLAIN}\([^:]*\):.*/\1/p" "$USERS"; }

# Postfix maps are derived from the domain list and the Dovecot passwd-file. texthash: files are
# plain "key value" text read at daemon start (no postmap); `postfix reload` picks up changes.
# Returns 0 if a map changed.
write_maps() {
  local doms changed=1
  doms="$(domains)"
  printf '%s\n' "$doms" | awk '{print $0 " OK"}' >"$PCONF/vdomains.new"
  cut -d: -f1 "$USERS" | while read -r addr; do
    if printf '%s\n' "$doms" | grep -qxF "${addr#*@}"; then printf '%s OK\n' "$addr"; fi
  done >"$PCONF/vmailboxes.new"
  replace_if_changed "$PCONF/vdomains" && changed=0
  replace_if_changed "$PCONF/vmailboxes" && changed=0
  # Postfix won't load a texthash file modified in the last ~2 s (it re-reads until the file
  # stops changing), so the first smtpd after a reload stalled 1.5-2 s. Backdate the maps.
  touch -d "@$(( $(date +%s) - 10 ))" "$PCONF/vdomains" "$PCONF/vmailboxes"
  return "$changed"
}

# Move FILE.new over FILE if the content differs (returns 0), else drop FILE.new (returns 1).
replace_if_changed() {
  chmod 0644 "$1.new"
  if cmp -s "$1.new" "$1"; then rm -f "$1.new"; return 1; fi
  mv -f "$1.new" "$1"
}

write_opendkim_conf() { # MILTER_PORT
  local first; first="$(domains | head -n 1)"
  cat >"$DKIM/opendkim.conf.new" <<EOF
# Generated by tests/mail/mail-server.sh; rewritten on every start. Verify only: every client
# counts as external (loopback is internal by default, which would mean "sign, don't verify").
Mode                v
InternalHosts       192.0.2.1
AuthservID          mail.$first
# No signature at all is reported too (dkim=none), as with a production setup.
AlwaysAddARHeader   yes
# Authentication-Results claiming our authserv-id that arrive with the mail are forgeries
# (RFC 8601 section 5): removed, whatever method they report.
RemoveARFrom        mail.$first
RemoveARAll         yes
TestPublicKeys      $DKIM/public-keys
Socket              inet:$1@$HOST
PidFile             $RUN/opendkim.pid
UserID              opendkim
Syslog              no
On-Default          accept
EOF
}

write_postfix_conf() { # SMTP SUBMISSION SMTPS MILTER
  local first; first="$(domains | head -n 1)"
  cat >"$PCONF/main.cf.new" <<EOF
# Generated by tests/mail/mail-server.sh; rewritten on every start.
compatibility_level = 3.6
queue_directory = $SPOOL
data_directory = $PDATA
myhostname = mail.$first
mydomain = $first
myorigin = \$myhostname

# Logging to a file: the container has no syslog. postfix exits 1 *silently* if maillog_file
# is outside maillog_file_prefixes (gotcha 1); needs the postlog service in master.cf.
maillog_file = $LOGDIR/postfix.log
maillog_file_prefixes = $LOGDIR

# Loopback only, and nothing can leave the machine: no local delivery, no relaying, no DNS,
# every non-virtual transport is an error.
inet_interfaces = $HOST
inet_protocols = ipv4
smtp_bind_address = $HOST
mynetworks = $HOST/32
mydestination =
relay_domains =
local_recipient_maps =
alias_maps =
alias_database =
local_transport = error:local delivery is disabled (c2c test server)
relay_transport = error:relaying is disabled (c2c test server)
default_transport = error:outbound mail is disabled (c2c test server)
smtp_dns_support_level = disabled
# Only the served domains are accepted at RCPT, on every port, authenticated or not.
smtpd_relay_restrictions = reject_unauth_destination
smtpd_recipient_restrictions =

# Virtual mailboxes, delivered by Dovecot LMTP. An unknown user in a served domain gets
# 550 at RCPT (unknown_virtual_mailbox_reject_code).
virtual_mailbox_domains = texthash:$PCONF/vdomains
virtual_mailbox_maps = texthash:$PCONF/vmailboxes
virtual_transport = lmtp:unix:$RUN/lmtp
unknown_virtual_mailbox_reject_code = 550
# bridge+TOKEN@dom is looked up as bridge@dom; the full address goes on to LMTP (Dovecot has
# the same delimiter), so To:/Delivered-To: keep the +TOKEN.
recipient_delimiter = +

# SMTP AUTH through Dovecot (its passwd-file is the single user list). Enabled per port in master.cf.
smtpd_sasl_type = dovecot
smtpd_sasl_path = $RUN/auth-client
smtpd_sasl_auth_enable = no

# TLS: STARTTLS offered everywhere, required on submission; wrapper mode on smtps.
smtpd_tls_cert_file = $TLSDIR/cert.pem
smtpd_tls_key_file = $TLSDIR/key.pem
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes

# Test speed: retry deferred mail (e.g. while Dovecot restarts) within seconds, not minutes;
# no penalty sleep after a rejected command.
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 5s
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 100
smtpd_hard_error_limit = 200
delay_warning_time = 0
message_size_limit = 26214400
biff = no
append_dot_mydomain = no
smtpd_banner = \$myhostname ESMTP c2c-bridge test server

# OpenDKIM verifies every mail that comes in by SMTP and writes Authentication-Results. If it
# is down, mail waits (tempfail) rather than arriving unverified.
smtpd_milters = inet:$HOST:$4
milter_default_action = tempfail
milter_protocol = 6
EOF

  # chroot column = n everywhere (gotcha 3): Debian's default y needs copies of /etc files.
  cat >"$PCONF/master.cf.new" <<EOF
# Generated by tests/mail/mail-server.sh.
# service type  private unpriv  chroot  wakeup  maxproc command + args
# Port 25 style: no AUTH, only mail for the served domains.
$HOST:$1 inet  n       -       n       -       -       smtpd
# Port 587 style: STARTTLS, then AUTH, required before MAIL.
$HOST:$2 inet  n       -       n       -       -       smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_tls_auth_only=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
# Port 465 style: implicit TLS, then AUTH required.
$HOST:$3 inet  n       -       n       -       -       smtpd
  -o syslog_name=postfix/smtps
  -o smtpd_tls_wrappermode=yes
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
}

write_dovecot_conf() { # IMAP IMAPS
  local vuid first; vuid="$(id -u vmail)"; first="$(domains | head -n 1)"
  cat >"$DCONF.new" <<EOF
# Generated by tests/mail/mail-server.sh; rewritten on every start.
# A private instance: every path is under the state dir, /etc/dovecot is not read.
base_dir = $RUN
state_dir = $DSTATE
instance_name = c2c-mail
hostname = mail.$first
protocols = imap lmtp
listen = $HOST
log_path = $LOGDIR/dovecot.log
info_log_path = $LOGDIR/dovecot.log
log_timestamp = "%Y-%m-%d %H:%M:%S "
auth_verbose = yes
login_greeting = c2c-bridge test IMAP ready.

ssl = yes
ssl_cert = <$TLSDIR/cert.pem
ssl_key = <$TLSDIR/key.pem
ssl_min_protocol = TLSv1.2

# Tests log in with plaintext on the 143-style port too (STARTTLS stays available).
disable_plaintext_auth = no
auth_mechanisms = plain login
# Login name = full address, case-insensitive (gotcha 8).
auth_username_format = %Lu
# Refusals must be quick in tests: no 2 s delay per failed login (~0.5 s remains, in the
# login process) and no growing per-IP penalty (anvil-auth-penalty disabled below).
auth_failure_delay = 0
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%Lu $USERS
}
# Every user is the vmail system user; mail under maildirs/<domain>/<local>.
userdb {
  driver = static
  args = uid=vmail gid=vmail home=$MAILDIRS/%d/%n
}
first_valid_uid = $vuid
last_valid_uid = $vuid

# LAYOUT=fs: folders are plain directories, separator "/"; CREATE of e.g. c2c-processed works.
mail_location = maildir:~/Maildir:LAYOUT=fs
mail_fsync = never
# IDLE: Dovecot notifies ~0.5 s after delivery (gotcha 5); this is the fallback poll.
mailbox_idle_check_interval = 1 secs

# bridge+TOKEN@dom is delivered into bridge@dom's INBOX, not a "TOKEN" folder.
recipient_delimiter = +
lmtp_save_to_detail_mailbox = no

namespace inbox {
  inbox = yes
  separator = /
  mailbox Drafts {
    special_use = \\Drafts
    auto = subscribe
  }
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
  mailbox Trash {
    special_use = \\Trash
    auto = subscribe
  }
  mailbox Junk {
    special_use = \\Junk
    auto = subscribe
  }
  mailbox Archive {
    special_use = \\Archive
    auto = no
  }
}

service imap-login {
  inet_listener imap {
    address = $HOST
    port = $1
  }
  inet_listener imaps {
    address = $HOST
    port = $2
    ssl = yes
  }
}
# Postfix's lmtp client and smtpd (running as user postfix) connect to these.
service lmtp {
  unix_listener lmtp {
    mode = 0600
    user = postfix
    group = postfix
  }
}
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service auth {
  unix_listener auth-client {
    mode = 0600
    user = postfix
    group = postfix
  }
}
EOF
}

# --- daemons -----------------------------------------------------------------------------

# Daemons are started with stdin/stdout/stderr redirected: Dovecot otherwise keeps the caller's
# stderr open and `mail-server.sh start | tail` never ends (gotcha 2).
start_dovecot() {
  # 9>&-: don't let the daemon inherit the state lock (it would hold it forever).
  dovecot -c "$DCONF" </dev/null >>"$LOGDIR/dovecot-start.log" 2>&1 9>&- || {
    tail -n 20 "$LOGDIR/dovecot-start.log" >&2; show_logs; die "dovecot did not start"; }
}
start_opendkim() {
  opendkim -x "$DKIM/opendkim.conf" </dev/null >>"$LOGDIR/opendkim-start.log" 2>&1 9>&- || {
    tail -n 20 "$LOGDIR/opendkim-start.log" >&2; die "opendkim did not start"; }
}
stop_opendkim() {
  local pid; pid="$(opendkim_pid)"
  pid_alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  wait_pid_gone "$pid" 15 || { say "opendkim $pid did not stop; killing"; kill -KILL "$pid" 2>/dev/null || true; }
}
start_postfix() {
  # As root, `postfix -c DIR` needs no alternate_config_directories (gotcha 4).
  # postfix-script's integrity checks (post-install create-missing, postsuper, find over the
  # queue) take ~2 s; they run on the first start of a state dir, then postfix-script's
  # quick-start file (see /etc/postfix/postfix-script) skips them.
  if [ -d "$SPOOL/maildrop" ]; then touch "$SPOOL/quick-start"; fi
  postfix -c "$PCONF" start </dev/null >>"$LOGDIR/postfix-start.log" 2>&1 9>&- || {
    tail -n 20 "$LOGDIR/postfix-start.log" >&2; show_logs; die "postfix did not start"; }
}
stop_postfix() {
  local pid; pid="$(postfix_pid)"
  pid_alive "$pid" || return 0
  postfix -c "$PCONF" stop </dev/null >>"$LOGDIR/postfix-start.log" 2>&1 || kill -TERM "$pid" 2>/dev/null || true
  wait_pid_gone "$pid" 15 || { say "postfix master $pid did not stop; killing"; kill -KILL "$pid" 2>/dev/null || true; }
}
stop_dovecot() {
  local pid; pid="$(dovecot_pid)"
  pid_alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true   # what `doveadm stop` does
  wait_pid_gone "$pid" 15 || { say "dovecot master $pid did not stop; killing"; kill -KILL "$pid" 2>/dev/null || true; }
}

smtp_ports() { echo "$(port_of C2C_MAIL_SMTP_PORT) $(port_of C2C_MAIL_SUBMISSION_PORT) $(port_of C2C_MAIL_SMTPS_PORT)"; }
imap_ports() { echo "$(port_of C2C_MAIL_IMAP_PORT) $(port_of C2C_MAIL_IMAPS_PORT)"; }

wait_postfix_up() {
  # shellcheck disable=SC2046 # word splitting of the port list is intended
  pyhelp wait-open 15 $(smtp_ports) || { show_logs; die "postfix ports did not open"; }
}
wait_dovecot_up() {
  # shellcheck disable=SC2046
  pyhelp wait-open 15 $(imap_ports) || { show_logs; die "dovecot ports did not open"; }
  pyhelp imap-login 15 "$(port_of C2C_MAIL_IMAP_PORT)" "$PROBE_USER" "$(probe_password)" ||
    { show_logs; die "IMAP login did not work"; }
}

# --- subcommands -------------------------------------------------------------------------

cmd_install() {
  need_root
  local p missing=() log
  for p in postfix dovecot-core dovecot-imapd dovecot-lmtpd openssl opendkim opendkim-tools; do
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" = installed ] || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    say "installing ${missing[*]}"
    log="$(mktemp /tmp/c2c-mail-apt.XXXXXX)"
    # Postfix as "No configuration": no /etc/postfix/main.cf, nothing started; our instance
    # brings its own config directory.
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    # Keep apt from starting the system dovecot/postfix services (they would listen on 143/993
    # of every interface). Containers usually have a policy-rc.d already; add one only for
    # the duration of the install.
    local own_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
      chmod 0755 /usr/sbin/policy-rc.d
      own_policy=1
    fi
    local apt=(apt-get install -y -q --no-install-recommends --no-remove
               -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}")
    if ! DEBIAN_FRONTEND=noninteractive "${apt[@]}" >"$log" 2>&1; then
      say "apt-get install failed; running apt-get update and retrying"
      DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$log" 2>&1 || true
      DEBIAN_FRONTEND=noninteractive "${apt[@]}" >>"$log" 2>&1 ||
        { [ -z "$own_policy" ] || rm -f /usr/sbin/policy-rc.d; tail -n 30 "$log" >&2; die "apt-get install failed (log: $log)"; }
    fi
    [ -z "$own_policy" ] || rm -f /usr/sbin/policy-rc.d
    rm -f "$log"
  fi
  if ! getent passwd vmail >/dev/null; then
    say "creating system user vmail"
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin vmail
  fi
  check_state_path
  ensure_traversable
}

check_installed() {
  if ! { command -v postfix && command -v dovecot && [ -x /usr/lib/dovecot/lmtp ] &&
          command -v opendkim && command -v opendkim-testmsg && getent passwd vmail; } >/dev/null; then
    die "packages or the vmail user are missing; run: $0 install"
  fi
}

cmd_start() {
  local fresh="" a
  for a in "$@"; do
    case "$a" in --fresh) fresh=1 ;; *) die "start: unknown argument $a" ;; esac
  done
  need_root; check_state_path; check_installed
  mkdir -p "$STATE"; ensure_traversable
  lock_state

  # Remember ports (and domains) of a previous run before anything is wiped, so a bridge
  # configured with them keeps working.
  local -A old=()
  local k
  for k in "${PORT_KEYS[@]}" C2C_MAIL_DOMAINS; do old[$k]="$(stored "$k")"; done

  if [ -n "$fresh" ]; then
    stop_postfix; stop_dovecot; stop_opendkim
    # Only ever wipe a directory this script made.
    if [ -n "$(find "$STATE" -mindepth 1 -maxdepth 1 ! -name .lock)" ] && [ ! -e "$MARKER" ]; then
      die "--fresh: $STATE is not a c2c mail state dir (no $MARKER); not deleting it"
    fi
    find "$STATE" -mindepth 1 -maxdepth 1 ! -name .lock -exec rm -rf {} +
  fi
  make_dirs

  # Ports: environment > previous env file (if still free) > a fresh free port. While our
  # daemons run, their own ports are of course taken: keep them without a bind test.
  local running="" specs=() ports
  if postfix_running || dovecot_running; then running=1; fi
  for k in "${PORT_KEYS[@]}"; do
    if [ -n "${!k:-}" ]; then
      if [ -n "$running" ] && [ "${!k}" = "${old[$k]}" ]; then specs+=("${!k}:keep"); else specs+=("${!k}:explicit"); fi
    elif [ -n "${old[$k]}" ]; then
      if [ -n "$running" ]; then specs+=("${old[$k]}:keep"); else specs+=("${old[$k]}:stored"); fi
    else
      specs+=("0:new")
    fi
  done
  ports="$(pyhelp pick "${specs[@]}")" || die "could not choose ports"
  local smtp submission smtps imap imaps milter
  read -r smtp submission smtps imap imaps milter <<<"$ports"

  [ -n "${C2C_MAIL_DOMAINS:-}" ] || C2C_MAIL_DOMAINS="${old[C2C_MAIL_DOMAINS]}"
  local doms; doms="$(domains | paste -sd, -)"
  [[ "$doms" =~ ^[a-z0-9.,-]+$ ]] || die "bad domain list: $doms"

  ensure_cert
  ensure_probe_user
  ensure_dkim_keys
  local maps_changed=""
  if write_maps; then maps_changed=1; fi
  write_postfix_conf "$smtp" "$submission" "$smtps" "$milter"
  write_dovecot_conf "$imap" "$imaps"
  write_opendkim_conf "$milter"

  # A daemon already running with exactly this configuration is left alone, so calling
  # `start` again (e.g. from every test) is cheap and doesn't cut other tests' connections.
  local pf_changed="" dc_changed="" dk_changed=""
  if replace_if_changed "$PCONF/main.cf"; then pf_changed=1; fi
  if replace_if_changed "$PCONF/master.cf"; then pf_changed=1; fi
  if replace_if_changed "$DCONF"; then dc_changed=1; fi
  if replace_if_changed "$DKIM/opendkim.conf"; then dk_changed=1; fi
  # opendkim reads the public-key file once, at start.
  if [ "$DKIM/public-keys" -nt "$RUN/opendkim.pid" ]; then dk_changed=1; fi
  if [ -n "$dk_changed" ]; then stop_opendkim; fi
  if [ -n "$pf_changed" ]; then stop_postfix; fi
  if [ -n "$dc_changed" ]; then stop_dovecot; fi

  local tmp="$ENVF.tmp"
  cat >"$tmp" <<EOF
C2C_MAIL_STATE=$STATE
C2C_MAIL_HOST=$HOST
C2C_MAIL_SMTP_PORT=$smtp
C2C_MAIL_SUBMISSION_PORT=$submission
C2C_MAIL_SMTPS_PORT=$smtps
C2C_MAIL_IMAP_PORT=$imap
C2C_MAIL_IMAPS_PORT=$imaps
C2C_MAIL_MILTER_PORT=$milter
C2C_MAIL_AUTHSERV_ID=mail.$(domains | head -n 1)
C2C_MAIL_DKIM_KEYS=$DKIM/keys
C2C_MAIL_DKIM_SELECTOR=$DKIM_SELECTOR
C2C_MAIL_CA_FILE=$TLSDIR/ca.pem
C2C_MAIL_DOMAINS=$doms
EOF
  mv -f "$tmp" "$ENVF"

  # OpenDKIM and Dovecot before Postfix: it hands mail to the one and delivers to the other.
  if opendkim_running; then say "opendkim: already running with this configuration"; else start_opendkim; fi
  if dovecot_running; then say "dovecot: already running with this configuration"; else start_dovecot; fi
  if postfix_running; then
    say "postfix: already running with this configuration"
    if [ -n "$maps_changed" ]; then
      postfix -c "$PCONF" reload </dev/null >>"$LOGDIR/postfix-start.log" 2>&1 9>&-
    fi
  else
    start_postfix
  fi
  wait_postfix_up
  wait_dovecot_up
  pyhelp wait-open 15 "$milter" || { show_logs; die "opendkim did not open its port"; }
  cat "$ENVF"
}

cmd_stop() {
  need_root
  [ -d "$STATE" ] || return 0
  lock_state
  local ports=""
  [ -f "$ENVF" ] && ports="$(smtp_ports) $(imap_ports)"
  stop_postfix; stop_dovecot; stop_opendkim
  # Child processes can hold the listening sockets a moment longer than the masters.
  # shellcheck disable=SC2086
  [ -z "$ports" ] || pyhelp wait-closed 10 $ports || say "warning: some ports still accept connections"
  say "stopped"
}

cmd_stop_postfix() {
  need_root; lock_state
  stop_postfix
  # shellcheck disable=SC2046
  pyhelp wait-closed 10 $(smtp_ports) || die "SMTP ports still accept connections"
  say "postfix stopped (ports $(smtp_ports) closed)"
}

cmd_start_postfix() {
  need_root; lock_state
  [ -f "$PCONF/main.cf" ] || die "not configured; run start first"
  if postfix_running; then say "postfix already running"; else start_postfix; fi
  wait_postfix_up
  say "postfix started (ports $(smtp_ports))"
}

cmd_restart_dovecot() {
  need_root; lock_state
  [ -f "$DCONF" ] || die "not configured; run start first"
  stop_dovecot
  start_dovecot
  wait_dovecot_up
  say "dovecot restarted (ports $(imap_ports))"
}

cmd_add_user() {
  [ $# = 2 ] || die "usage: add-user ADDRESS PASSWORD"
  local addr pw="$2" domain line
  addr="$(printf '%s' "$1" | tr '[:upper:]' '[:lower:]')"
  need_root; check_state_path
  [[ "$addr" =~ ^[a-z0-9._%-]+@[a-z0-9.-]+$ ]] || die "not a plain address (no + detail): $addr"
  [[ "$pw" != *:* && "$pw" != *$'\n'* && -n "$pw" ]] || die "password must be non-empty, without ':' or newline"
  domain="${addr#*@}"
  domains | grep -qxF "$domain" || die "domain $domain is not served (C2C_MAIL_DOMAINS: $(domains | paste -sd' ' -))"
  mkdir -p "$STATE"; ensure_traversable; lock_state
  getent passwd vmail >/dev/null || die "no vmail user; run: $0 install"
  make_dirs
  line="$addr:{PLAIN}$pw::::::"
  if grep -qxF "$line" "$USERS"; then
    :   # already there with this password
  else
    local tmp; tmp="$(mktemp "$STATE/dovecot/.users.XXXXXX")"
    grep -v "^$addr:" "$USERS" >"$tmp" || true
    printf '%s\n' "$line" >>"$tmp"
    chown root:dovecot "$tmp"; chmod 0640 "$tmp"
    # Dovecot re-reads the passwd-file when its mtime/size change; a rename makes that certain.
    mv -f "$tmp" "$USERS"
  fi
  if dovecot_running; then
    # Dovecot's auth process checks the passwd-file for changes at most once a second (it
    # compares against the second of its last check), so a login in the same second as the
    # change can still be refused. The user exists for its callers once a login succeeds.
    pyhelp imap-login 15 "$(port_of C2C_MAIL_IMAP_PORT)" "$addr" "$pw" ||
      { show_logs; die "dovecot does not accept a login for $addr"; }
  fi
  if [ -f "$PCONF/main.cf" ] && write_maps; then
    if postfix_running; then
      # texthash maps are loaded when a daemon starts; reload makes new smtpd processes.
      postfix -c "$PCONF" reload </dev/null >>"$LOGDIR/postfix-start.log" 2>&1 9>&-
      pyhelp rcpt-ok 10 "$(port_of C2C_MAIL_SMTP_PORT)" "$addr" ||
        { show_logs; die "postfix does not accept $addr after reload"; }
    fi
  fi
  say "user $addr ok"
}

cmd_dkim_key() {
  [ $# = 1 ] || die "usage: dkim-key DOMAIN"
  local key="$DKIM/keys/$1.private"
  [ -s "$key" ] || die "no DKIM key for $1 (served: $(domains | paste -sd' ' -); run start first)"
  printf '%s\n' "$key"
}

cmd_status() {
  local pp dp rc=0
  pp="$(postfix_pid)"; dp="$(dovecot_pid)"
  if pid_alive "$pp"; then say "postfix: running (master pid $pp)"; else say "postfix: stopped"; pp=""; fi
  if pid_alive "$dp"; then say "dovecot: running (master pid $dp)"; else say "dovecot: stopped"; dp=""; fi
  say "state: $STATE"
  if [ -n "$pp" ] && [ -n "$dp" ]; then rc=0; elif [ -n "$pp$dp" ]; then rc=1; else rc=3; fi
  [ -f "$ENVF" ] && cat "$ENVF"
  return "$rc"
}

cmd_log() {
  local follow=() n=60 a
  for a in "$@"; do
    case "$a" in -f) follow=(-F) ;; *[!0-9]*) die "log: unknown argument $a" ;; *) n="$a" ;; esac
  done
  [ -d "$LOGDIR" ] || die "no logs in $LOGDIR"
  tail -n "$n" "${follow[@]}" "$LOGDIR"/postfix.log "$LOGDIR"/dovecot.log
}

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

main() {
  [ $# -ge 1 ] || usage
  local cmd="$1"; shift
  case "$cmd" in
    install) cmd_install "$@" ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    stop-postfix) cmd_stop_postfix ;;
    start-postfix) cmd_start_postfix ;;
    restart-dovecot) cmd_restart_dovecot ;;
    add-user) cmd_add_user "$@" ;;
    dkim-key) cmd_dkim_key "$@" ;;
    log) cmd_log "$@" ;;
    -h|--help|help) usage ;;
    *) say "unknown subcommand: $cmd"; usage ;;
  esac
}

main "$@"
