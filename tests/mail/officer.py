#!/usr/bin/env python3
"""A nodal officer's mail client for c2c-bridge tests (Python 3.11, stdlib only).

CLI (JSON on stdout; exit 0 ok, 1 error as {"error": ...}, 2 usage, 3 wait/timeout ran out):

  officer.py send  --host H --port P [--starttls|--tls|--plain] [--user U --password PW]
                   [--cafile F] --from ADDR --to ADDR [--to ADDR]... [--cc ADDR]... --subject S
                   [--in-reply-to ID] [--references "ID ID"] [--message-id ID]
                   [--header "Name: value"]... [--html HTML] [--charset utf-8|gb2312|shift_jis|...]
                   [--attach PATH]... [--dkim-key FILE [--dkim-selector S]] --text TEXT
  officer.py fetch --host H --port P [--starttls|--tls|--plain] --user U --password PW [--cafile F]
                   [--mailbox INBOX] [--since-uid N] [--wait SECONDS [--count N]]
  officer.py idle-wait --host H --port P [...] --user U --password PW [--mailbox INBOX] --timeout S
  officer.py folders --host H --port P [...] --user U --password PW [--create NAME]...

Importable: send_mail(), fetch_messages(), idle_wait(), list_folders(), parse_message().

Notes
* TLS is always verified: pass the test server's self-signed cert with --cafile (the mail server
  script writes it as C2C_MAIL_CA_FILE). The name checked is --host (127.0.0.1 and localhost
  are both in the cert).
* fetch uses BODY.PEEK and EXAMINE, so it never changes flags (\\Seen stays as the bridge left it).
* Header values in "headers" are raw (not MIME-decoded) and unfolded (CRLF+WSP -> WSP), so
  Message-ID / In-Reply-To / References compare byte for byte with what was sent. Folding
  of long headers by the sender is undone, but compare References as a token list (gotcha 6).
  "subject", "from", "to", "cc" are decoded; "text"/"html" are decoded with "\n" line ends.
* --charset X: body parts in charset X (8bit), Subject as =?X?b?...?= words, like a legacy
  mailer; utf-8 (default) uses the email package's normal encoding.
* --dkim-key FILE: DKIM-sign the mail for the From domain (selector --dkim-selector, default
  c2c) with OpenDKIM's own signer, `opendkim-testmsg`, as the officer's mail server would; the
  test server's OpenDKIM verifies it (`mail-server.sh dkim-key DOMAIN` names the key file).
* Errors: {"error", "error_type", and "smtp_code" or "refused": {addr: [code, text]}}.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import email.utils
import imaplib
import json
import mimetypes
import os
import re
import smtplib
import ssl
import sys
import threading
import time
from email.message import EmailMessage

# imaplib (3.11) has no idle(); registering the command lets _command() send it (RFC 2177).
imaplib.Commands.setdefault("IDLE", ("AUTH", "SELECTED"))

SECURITY = ("plain", "starttls", "tls")


class WaitTimeout(Exception):
    """The wait ran out; .result holds what there is."""

    def __init__(self, result):
        super().__init__("timed out")
        self.result = result


def _ssl_context(cafile: str | None) -> ssl.SSLContext:
    # Verification stays on; the test CA is added as a trusted root.
    return ssl.create_default_context(cafile=cafile)


# --------------------------------------------------------------------------------- send


def build_message(
    *,
    sender: str,
    to: list[str],
    subject: str,
    text: str,
    cc: list[str] | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    message_id: str | None = None,
    headers: list[str] | None = None,
    html: str | None = None,
    charset: str = "utf-8",
    attachments: list[str] | None = None,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    if charset.lower().replace("_", "-") in ("utf-8", "utf8", "us-ascii", "ascii") or subject.isascii():
        msg["Subject"] = subject
    else:
        # As a legacy mailer in that charset would: =?gb2312?b?...?=. The default policy would
        # re-encode as UTF-8, and email.header.Header renames charsets (shift_jis becomes
        # iso-2022-jp, gb2312 becomes "eucgb2312_cn"), so the words are built here and set raw.
        msg.set_raw("Subject", encoded_words(subject, charset))
    msg["Date"] = email.utils.formatdate(localtime=True)
    domain = sender.rsplit("@", 1)[-1].strip("> ") or "localhost"
    msg["Message-ID"] = message_id or email.utils.make_msgid(domain=domain)
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = references
    msg.set_content(text, charset=charset)
    if html is not None:
        msg.add_alternative(html, subtype="html", charset=charset)
    for path in attachments or []:
        ctype, encoding = mimetypes.guess_type(path)
        if ctype is None or encoding is not None:
            ctype = "application/octet-stream"
        maintype, subtype = ctype.split("/", 1)
        with open(path, "rb") as f:
            data = f.read()
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=os.path.basename(path))
    # Extra headers last: set_content() drops Content-* headers and multipart conversion
    # moves them into the first part, which would lose e.g. Content-Language.
    for h in headers or []:
        name, sep, value = h.partition(":")
        if not sep or not name.strip():
            raise ValueError(f"--header needs 'Name: value', got {h!r}")
        msg[name.strip()] = value.strip()
    return msg


def encoded_words(text: str, charset: str) -> str:
    """RFC 2047 B-encoded words in exactly `charset`, pre-folded so no line exceeds 78."""
    import base64

    words, chunk = [], ""
    for ch in text:
        if chunk and len((chunk + ch).encode(charset)) > 30:  # 30 bytes -> 40 base64 chars
            words.append(chunk)
            chunk = ""
        chunk += ch
    if chunk:
        words.append(chunk)
    return "\n ".join(
        f"=?{charset}?b?{base64.b64encode(w.encode(charset)).decode()}?=" for w in words)


def dkim_sign(raw: bytes, domain: str, selector: str, key: str) -> bytes:
    """`raw` (CRLF line ends) with a DKIM-Signature header for `domain` prepended."""
    import subprocess

    out = subprocess.run(["opendkim-testmsg", "-C", "-d", domain, "-s", selector, "-k", key],
                         input=raw, capture_output=True, check=False)
    if out.returncode != 0 or not out.stdout.startswith(b"DKIM-Signature:"):
        raise ValueError(f"opendkim-testmsg could not sign: {out.stderr.decode(errors='replace')}")
    return out.stdout


def _smtp_connect(host, port, security, cafile, timeout):
    ctx = _ssl_context(cafile)
    if security == "tls":
        return smtplib.SMTP_SSL(host, port, timeout=timeout, context=ctx)
    smtp = smtplib.SMTP(host, port, timeout=timeout)
    if security == "starttls":
        smtp.starttls(context=ctx)
    return smtp


def send_mail(
    host: str,
    port: int,
    *,
    security: str = "plain",
    user: str | None = None,
    password: str | None = None,
    cafile: str | None = None,
    timeout: float = 30,
    dkim_key: str | None = None,
    dkim_selector: str = "c2c",
    **message_args,
) -> dict:
    """Build and send a message; returns {"message_id": ...}. Raises on any SMTP refusal."""
    msg = build_message(**message_args)
    with _smtp_connect(host, port, security, cafile, timeout) as smtp:
        smtp.ehlo("officer.test")
        if user is not None:
            smtp.login(user, password or "")
        if dkim_key is None:
            refused = smtp.send_message(msg)
        else:
            sender = email.utils.parseaddr(msg["From"])[1]
            rcpts = [a for _, a in email.utils.getaddresses(msg.get_all("To", []) + msg.get_all("Cc", []))]
            raw = dkim_sign(msg.as_bytes(policy=email.policy.SMTP), sender.rsplit("@", 1)[-1],
                            dkim_selector, dkim_key)
            refused = smtp.sendmail(sender, rcpts, raw)
    result = {"message_id": msg["Message-ID"]}
    if refused:  # some (not all) recipients refused
        result["refused"] = {k: [v[0], v[1].decode(errors="replace")] for k, v in refused.items()}
    return result


# --------------------------------------------------------------------------------- IMAP


def imap_connect(host, port, security="plain", cafile=None, user=None, password=None, timeout=30):
    ctx = _ssl_context(cafile)
    if security == "tls":
        imap = imaplib.IMAP4_SSL(host, port, ssl_context=ctx, timeout=timeout)
    else:
        imap = imaplib.IMAP4(host, port, timeout=timeout)
        if security == "starttls":
            imap.starttls(ssl_context=ctx)
    if user is not None:
        imap.login(user, password or "")
    return imap


def _quote_mailbox(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check(typ, data, what):
    if typ != "OK":
        raise imaplib.IMAP4.error(f"{what}: {typ} {data!r}")
    return data


def idle_until_exists(imap: imaplib.IMAP4, timeout: float) -> tuple[int | None, float]:
    """IDLE until the server sends `* N EXISTS` or `timeout` seconds pass.

    Returns (N or None, seconds since IDLE was accepted). The connection stays usable: at the
    deadline a timer thread sends DONE, which makes the server end IDLE normally, so no socket
    read ever times out (a timed-out socket file cannot be read again).
    """
    if "IDLE" not in imap.capabilities:
        raise imaplib.IMAP4.error("server does not support IDLE")
    tag = imap._command("IDLE")
    line = imap.readline()
    if not line.startswith(b"+"):
        imap.tagged_commands.pop(tag, None)
        raise imaplib.IMAP4.error(f"IDLE refused: {line!r}")
    start = time.monotonic()
    lock = threading.Lock()
    done_sent = False

    def send_done():
        nonlocal done_sent
        with lock:
            if not done_sent:
                done_sent = True
                imap.send(b"DONE\r\n")

    timer = threading.Timer(timeout, send_done)
    timer.daemon = True
    timer.start()
    exists = elapsed = None
    try:
        while True:
            line = imap.readline()
            if not line:
                raise imaplib.IMAP4.abort("connection closed during IDLE")
            m = re.match(rb"\* (\d+) EXISTS", line)
            if m and exists is None:
                exists, elapsed = int(m.group(1)), time.monotonic() - start
                send_done()
            elif line.startswith(tag + b" "):
                if not line[len(tag) + 1:].startswith(b"OK"):
                    raise imaplib.IMAP4.error(f"IDLE ended with {line!r}")
                break
    finally:
        timer.cancel()
        imap.tagged_commands.pop(tag, None)
    return exists, (elapsed if elapsed is not None else time.monotonic() - start)


def idle_wait(host, port, *, user, password, security="plain", cafile=None, mailbox="INBOX",
              timeout=10.0) -> dict:
    """Select MAILBOX, IDLE, and report the first EXISTS: {"exists": N, "seconds": t}.

    Raises WaitTimeout (result {"exists": None, "seconds": t, "timeout": True}) if none came.
    """
    imap = imap_connect(host, port, security, cafile, user, password, timeout=timeout + 30)
    try:
        _check(*imap.select(_quote_mailbox(mailbox), readonly=True), f"EXAMINE {mailbox}")
        exists, seconds = idle_until_exists(imap, timeout)
    finally:
        _logout(imap)
    result = {"exists": exists, "seconds": round(seconds, 3)}
    if exists is None:
        result["timeout"] = True
        raise WaitTimeout(result)
    return result


def _logout(imap):
    try:
        imap.logout()
    except Exception:  # already closed or broken: nothing to clean up
        pass


def _uids_after(imap, since_uid: int) -> list[int]:
    # "N:*" always includes the highest UID even if it is below N, so filter.
    data = _check(*imap.uid("SEARCH", f"UID {since_uid + 1}:*"), "UID SEARCH")
    return sorted(u for u in map(int, b" ".join(d for d in data if d).split()) if u > since_uid)


def _fetch_raw(imap, uid: int) -> tuple[list[str], bytes]:
    data = _check(*imap.uid("FETCH", str(uid), "(UID FLAGS BODY.PEEK[])"), f"UID FETCH {uid}")
    meta, raw = b"", None
    for item in data:
        if isinstance(item, tuple):
            meta += item[0]
            raw = item[1]
        elif item:
            meta += item
    if raw is None:
        raise imaplib.IMAP4.error(f"no body for UID {uid}: {data!r}")
    m = re.search(rb"FLAGS \(([^)]*)\)", meta)
    flags = m.group(1).decode().split() if m else []
    return flags, raw


# A read-only fetch whose connection breaks (the server closing it mid-handshake or mid-IDLE,
# as Dovecot may on a loaded machine) is made again on a new connection, as a mail client
# reconnects: at most this many connections per fetch, within the fetch's own wait.
FETCH_CONNECTIONS = 4


def fetch_messages(host, port, *, user, password, security="plain", cafile=None, mailbox="INBOX",
                   since_uid=0, wait=None, count=1) -> list[dict]:
    """Messages in MAILBOX with UID > since_uid, parsed (see parse_message), oldest first.

    With wait=SECONDS: wait (IMAP IDLE) until at least `count` such messages exist; if the time
    runs out, raise WaitTimeout whose .result is the list there is. A connection that breaks is
    opened again (FETCH_CONNECTIONS in all), with what is left of the wait.
    """
    deadline = time.monotonic() + (wait or 0)
    for attempt in range(1, FETCH_CONNECTIONS + 1):
        try:
            return _fetch_once(host, port, user=user, password=password, security=security, cafile=cafile,
                               mailbox=mailbox, since_uid=since_uid, count=count,
                               wait=None if wait is None else max(0.0, deadline - time.monotonic()))
        except (imaplib.IMAP4.abort, OSError) as e:
            if attempt == FETCH_CONNECTIONS:
                raise
            print(f"officer.py: fetch connection {attempt} broke ({e}); connecting again", file=sys.stderr)
    raise AssertionError("unreachable")


def _fetch_once(host, port, *, user, password, security, cafile, mailbox, since_uid, wait, count) -> list[dict]:
    imap = imap_connect(host, port, security, cafile, user, password,
                        timeout=(wait or 0) + 30)
    try:
        _check(*imap.select(_quote_mailbox(mailbox), readonly=True), f"EXAMINE {mailbox}")
        uids = _uids_after(imap, since_uid)
        if wait is not None:
            deadline = time.monotonic() + wait
            while len(uids) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                # Short IDLE slices: a re-SEARCH every few seconds covers any missed EXISTS.
                if "IDLE" in imap.capabilities:
                    idle_until_exists(imap, min(left, 5.0))
                else:
                    time.sleep(min(left, 0.2))
                    imap.noop()
                uids = _uids_after(imap, since_uid)
        messages = []
        for uid in uids:
            flags, raw = _fetch_raw(imap, uid)
            msg = parse_message(raw)
            msg = {"uid": uid, "flags": flags, **msg}
            messages.append(msg)
    finally:
        _logout(imap)
    if wait is not None and len(messages) < count:
        raise WaitTimeout(messages)
    return messages


_MUTF7 = re.compile(r"&([^-]*)-")  # modified UTF-7 (RFC 3501 5.1.3)


def decode_mutf7(name: str) -> str:
    """IMAP modified UTF-7 mailbox names (RFC 3501 5.1.3)."""
    import base64

    def repl(m):
        s = m.group(1)
        if not s:
            return "&"
        b = s.replace(",", "/")
        b += "=" * (-len(b) % 4)
        return base64.b64decode(b).decode("utf-16-be")

    return _MUTF7.sub(repl, name)


def encode_mutf7(name: str) -> str:
    import base64

    out, run = [], []

    def flush():
        if run:
            b64 = base64.b64encode("".join(run).encode("utf-16-be")).decode().rstrip("=")
            out.append("&" + b64.replace("/", ",") + "-")
            run.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            run.append(ch)
    flush()
    return "".join(out)


def list_folders(host, port, *, user, password, security="plain", cafile=None,
                 create: list[str] | None = None) -> list[dict]:
    """[{name, flags, delimiter}] for every mailbox; CREATE the ones in `create` first."""
    imap = imap_connect(host, port, security, cafile, user, password)
    try:
        for name in create or []:
            typ, data = imap.create(_quote_mailbox(encode_mutf7(name)))
            # An existing mailbox is fine (idempotent); anything else is an error.
            if typ != "OK" and b"ALREADYEXISTS" not in b" ".join(d for d in data if d):
                raise imaplib.IMAP4.error(f"CREATE {name}: {typ} {data!r}")
        data = _check(*imap.list(), "LIST")
    finally:
        _logout(imap)
    out = []
    for line in data:
        if isinstance(line, tuple):  # name sent as a literal
            head, name = line[0], line[1].decode()
            m = re.match(rb'\(([^)]*)\) (NIL|"(?:[^"\\]|\\.)*")', head)
        else:
            m = re.match(rb'\(([^)]*)\) (NIL|"(?:[^"\\]|\\.)*") (.*)$', line)
            name = m.group(3).decode() if m else None
        if not m:
            continue
        if name.startswith('"'):
            name = re.sub(r'\\(.)', r'\1', name[1:-1])
        delim = None if m.group(2) == b"NIL" else m.group(2).decode()[1:-1].replace("\\\\", "\\")
        out.append({"name": decode_mutf7(name), "flags": m.group(1).decode().split(),
                    "delimiter": delim})
    return out


# --------------------------------------------------------------------------------- parsing


def _clean(value: str) -> str:
    # 8-bit header bytes arrive as surrogate escapes; JSON (and serde) want real text.
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _unfold(value: str) -> str:
    return re.sub(r"\r?\n(?=[ \t])", "", value).rstrip("\r\n")


def _part_text(part) -> str:
    # Line endings normalised to "\n" (IMAP delivers CRLF).
    return _decode_part(part).replace("\r\n", "\n")


def _decode_part(part) -> str:
    try:
        return part.get_content()
    except (LookupError, UnicodeError):  # unknown or lying charset: decode what we can
        payload = part.get_payload(decode=True) or b""
        charset = part.get_content_charset() or "utf-8"
        try:
            return payload.decode(charset, "replace")
        except LookupError:
            return payload.decode("utf-8", "replace")


def _addresses(msg, name) -> list[str]:
    out = []
    for value in msg.get_all(name, []):
        try:
            out.extend(str(a) for a in value.addresses)
        except (AttributeError, ValueError, TypeError):  # unparsable: keep the text
            out.append(str(value))
    return [_clean(a) for a in out]


def parse_message(raw: bytes) -> dict:
    """The fields tests look at; see the module docstring for raw vs decoded."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    headers: dict[str, list[str]] = {}
    for name, value in msg.raw_items():
        headers.setdefault(name.lower(), []).append(_clean(_unfold(str(value))))

    def first(name):
        v = headers.get(name)
        return v[0].strip() if v else None

    try:
        subject = _clean(str(msg["Subject"])) if msg["Subject"] is not None else None
    except Exception:  # undecodable encoded-word: give the raw value
        subject = first("subject")
    refs = first("references")

    text_part = msg.get_body(preferencelist=("plain",))
    html_part = msg.get_body(preferencelist=("html",))
    attachments = []
    for part in msg.iter_attachments():
        payload = part.get_payload(decode=True)
        attachments.append({
            "filename": part.get_filename(),
            "content_type": part.get_content_type(),
            "size": len(payload) if payload is not None else 0,
        })
    return {
        "message_id": first("message-id"),
        "from": _clean(str(msg["From"])) if msg["From"] is not None else None,
        "to": _addresses(msg, "To"),
        "cc": _addresses(msg, "Cc"),
        "subject": subject,
        "in_reply_to": first("in-reply-to"),
        "references": refs.split() if refs else [],
        "date": first("date"),
        "content_language": first("content-language"),
        "auto_submitted": first("auto-submitted"),
        "headers": headers,
        "text": _part_text(text_part) if text_part is not None else None,
        "html": _part_text(html_part) if html_part is not None else None,
        "attachments": attachments,
    }


# --------------------------------------------------------------------------------- CLI


def _connection_args(p: argparse.ArgumentParser, user_required: bool):
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    sec = p.add_mutually_exclusive_group()
    sec.add_argument("--plain", dest="security", action="store_const", const="plain")
    sec.add_argument("--starttls", dest="security", action="store_const", const="starttls")
    sec.add_argument("--tls", dest="security", action="store_const", const="tls")
    p.set_defaults(security="plain")
    p.add_argument("--user", required=user_required)
    p.add_argument("--password", required=user_required)
    p.add_argument("--cafile", help="trusted CA (the test server's self-signed cert)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="officer.py", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("send", help="send a message over SMTP")
    _connection_args(s, user_required=False)
    s.add_argument("--from", dest="sender", required=True)
    s.add_argument("--to", action="append", required=True)
    s.add_argument("--cc", action="append", default=[])
    s.add_argument("--subject", required=True)
    s.add_argument("--in-reply-to")
    s.add_argument("--references")
    s.add_argument("--message-id")
    s.add_argument("--header", action="append", default=[], help='"Name: value", repeatable')
    s.add_argument("--html")
    s.add_argument("--charset", default="utf-8")
    s.add_argument("--attach", action="append", default=[])
    s.add_argument("--text", required=True)
    s.add_argument("--dkim-key", help="sign for the From domain with this private key")
    s.add_argument("--dkim-selector", default="c2c")

    f = sub.add_parser("fetch", help="list messages as JSON")
    _connection_args(f, user_required=True)
    f.add_argument("--mailbox", default="INBOX")
    f.add_argument("--since-uid", type=int, default=0)
    f.add_argument("--wait", type=float, help="wait up to SECONDS for --count messages")
    f.add_argument("--count", type=int, default=1)

    i = sub.add_parser("idle-wait", help="IMAP IDLE until EXISTS")
    _connection_args(i, user_required=True)
    i.add_argument("--mailbox", default="INBOX")
    i.add_argument("--timeout", type=float, required=True)

    l = sub.add_parser("folders", help="list mailboxes")
    _connection_args(l, user_required=True)
    l.add_argument("--create", action="append", default=[], help="CREATE this mailbox first")

    a = ap.parse_args(argv)
    conn = dict(security=a.security, cafile=a.cafile)
    try:
        if a.cmd == "send":
            out = send_mail(
                a.host, a.port, user=a.user, password=a.password, **conn,
                sender=a.sender, to=a.to, cc=a.cc, subject=a.subject, text=a.text,
                in_reply_to=a.in_reply_to, references=a.references, message_id=a.message_id,
                headers=a.header, html=a.html, charset=a.charset, attachments=a.attach,
                dkim_key=a.dkim_key, dkim_selector=a.dkim_selector)
        elif a.cmd == "fetch":
            out = fetch_messages(a.host, a.port, user=a.user, password=a.password, **conn,
                                 mailbox=a.mailbox, since_uid=a.since_uid, wait=a.wait,
                                 count=a.count)
        elif a.cmd == "idle-wait":
            out = idle_wait(a.host, a.port, user=a.user, password=a.password, **conn,
                            mailbox=a.mailbox, timeout=a.timeout)
        else:
            out = list_folders(a.host, a.port, user=a.user, password=a.password, **conn,
                               create=a.create)
    except WaitTimeout as e:
        print(json.dumps(e.result, ensure_ascii=False, indent=1))
        return 3
    except (OSError, smtplib.SMTPException, imaplib.IMAP4.error, ValueError, ssl.SSLError) as e:
        err = {"error": str(e) or type(e).__name__, "error_type": type(e).__name__}
        code = getattr(e, "smtp_code", None)
        if isinstance(e, smtplib.SMTPRecipientsRefused):
            err["refused"] = {k: [v[0], v[1].decode(errors="replace")] for k, v in e.recipients.items()}
        elif code is not None:
            err["smtp_code"] = code
        print(json.dumps(err, ensure_ascii=False))
        return 1
    print(json.dumps(out, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
