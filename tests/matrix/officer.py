#!/usr/bin/env python3
"""A nodal officer's Matrix client for c2c-bridge tests (matrix-nio, E2EE via vodozemac).

Run it with the test venv's python ($C2C_MATRIX_PYTHON, made by tests/matrix/synapse.sh):

    officer.py [--homeserver URL] --user @alice:c2c.test [--password PW] [--store DIR] COMMAND ...

Commands (each prints one line of JSON on stdout; logs and errors go to stderr):
    whoami                                   {user_id, device_id, ed25519}
    token                                    {token}: the current sync token, for messages --since-token
    join ROOM_ID                             {room_id}
    wait-invite [--timeout S]                {room_id, name, topic, encrypted}   (exit 3 on timeout)
    wait-invites N [--timeout S]             [{room_id, name, topic, encrypted}, ...] (N rooms; exit 3 on timeout)
    create-room --name N [--topic T] [--encrypted] [--invite MXID]...   {room_id}
    invite ROOM_ID MXID                      {room_id, user_id}
    send ROOM_ID --text T [--html H] [--thread-root EVENT_ID] [--reply-to EVENT_ID]   {event_id}
    send-file ROOM_ID PATH [--content-type T] [--thread-root EVENT_ID] [--caption C]  {event_id}
         [--filename NAME] [--declared-size N] [--not-uploaded]
         [--count N]                         N messages "T (i/N)" in order, one client run   {event_ids}
    edit ROOM_ID EVENT_ID --text T [--html H]                                          {event_id}
    redact ROOM_ID EVENT_ID [--reason R]                                               {event_id}
    messages ROOM_ID [--since-token T] [--thread-root EVENT_ID] [--wait-count N] [--timeout S]
                                             [event, ...] oldest first               (exit 3 on timeout)
    leave ROOM_ID                            {room_id}
    download ROOM_ID EVENT_ID                {msgtype, filename, encrypted, size, sha256, relates_to}

Exit codes: 0 ok, 1 error, 2 usage, 3 timed out (wait-invite, messages --wait-count).

The device (access token, device id) and the crypto store persist in --store DIR (default
$C2C_SYNAPSE_STATE/officers/<localpart>): the first call logs in with the password, later calls
reuse the same device and its Olm/Megolm keys. One process per store at a time (a lock file
serialises them). Defaults: --homeserver from $C2C_SYNAPSE_URL or the synapse state's env file,
a bare --user "alice" means @alice:$C2C_SYNAPSE_SERVER_NAME (c2c.test).

Importable: `async with Officer(homeserver, user, password, store) as o: await o.send(...)`.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import glob
import hashlib
import io
import json
import logging
import os
import sys
import time
import urllib.request
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    ErrorResponse,
    JoinResponse,
    LoginResponse,
    MessageDirection,
    RoomCreateResponse,
    RoomMessagesResponse,
    RoomPreset,
    RoomSendResponse,
    SyncResponse,
    UploadResponse,
)
from nio.api import RelationshipType
from nio.crypto.attachments import decrypt_attachment

log = logging.getLogger("officer")

EXIT_TIMEOUT = 3
MEGOLM = "m.megolm.v1.aes-sha2"
# Keep syncs small: no presence, a short timeline (history comes from /messages instead).
SYNC_FILTER = {
    "presence": {"not_types": ["*"]},
    "room": {"timeline": {"limit": 10}},
}
MAX_HISTORY = 5000


class OfficerError(Exception):
    pass


class Timeout(OfficerError):
    pass


def base_state_dir() -> str:
    st = os.environ.get("C2C_SYNAPSE_STATE")
    if st:
        return st
    base = os.environ.get("C2C_STATE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "c2c-bridge")
    return os.path.join(base, "synapse")


def read_env_file() -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        with open(os.path.join(base_state_dir(), "env")) as f:
            for line in f:
                k, sep, v = line.rstrip("\n").partition("=")
                if sep:
                    out[k] = v
    except OSError:
        pass
    return out


def default_homeserver() -> str | None:
    return os.environ.get("C2C_SYNAPSE_URL") or read_env_file().get("C2C_SYNAPSE_URL")


def full_user_id(user: str) -> str:
    if user.startswith("@"):
        return user
    server = os.environ.get("C2C_SYNAPSE_SERVER_NAME") or read_env_file().get("C2C_SYNAPSE_SERVER_NAME") or "c2c.test"
    return f"@{user}:{server}"


def localpart(user_id: str) -> str:
    return user_id[1:].split(":", 1)[0]


def check(resp: Any, what: str) -> Any:
    if isinstance(resp, ErrorResponse):
        raise OfficerError(f"{what}: {resp.status_code or ''} {resp.message}".strip())
    return resp


def event_json(ev: Any) -> dict[str, Any]:
    """The JSON shape printed by `messages`: raw (decrypted) content plus a few lifted fields."""
    src = getattr(ev, "source", None) or {}
    content = src.get("content")
    content = dict(content) if isinstance(content, dict) else {}
    unsigned = src.get("unsigned") or {}
    return {
        "event_id": src.get("event_id") or getattr(ev, "event_id", None),
        "sender": src.get("sender") or getattr(ev, "sender", None),
        "type": src.get("type"),
        "state_key": src.get("state_key"),
        "body": content.get("body"),
        "formatted_body": content.get("formatted_body"),
        "decrypted": bool(getattr(ev, "decrypted", False)),
        "redacted": "redacted_because" in unsigned,
        "relates_to": content.get("m.relates_to"),
        "content": content,
        "origin_server_ts": src.get("origin_server_ts") or getattr(ev, "server_timestamp", None),
    }


def in_thread(ev: dict[str, Any], root: str) -> bool:
    rel = ev.get("relates_to") or {}
    return rel.get("rel_type") == "m.thread" and rel.get("event_id") == root


class Officer:
    """One officer's persistent Matrix device. Use as `async with Officer(...) as o:`."""

    def __init__(self, homeserver: str | None, user: str, password: str | None = None,
                 store: str | None = None, device_name: str = "c2c-officer (tests)"):
        homeserver = homeserver or default_homeserver()
        if not homeserver:
            raise OfficerError("no homeserver: pass --homeserver or set C2C_SYNAPSE_URL (or run synapse.sh start)")
        self.homeserver = homeserver.rstrip("/")
        self.user_id = full_user_id(user)
        self.password = password
        self.store = os.path.abspath(store or os.path.join(base_state_dir(), "officers", localpart(self.user_id)))
        self.device_name = device_name
        self.client: AsyncClient | None = None
        self._lock_fd: int | None = None

    # --- session -----------------------------------------------------------------------

    @property
    def _creds_path(self) -> str:
        return os.path.join(self.store, "credentials.json")

    def _new_client(self) -> AsyncClient:
        config = AsyncClientConfig(store_sync_tokens=True, encryption_enabled=True, max_timeouts=3)
        return AsyncClient(self.homeserver, self.user_id, store_path=self.store, config=config)

    def _db_path(self, device_id: str) -> str:
        return os.path.join(self.store, f"{self.user_id}_{device_id}.db")

    def _wipe_store(self) -> None:
        for p in glob.glob(os.path.join(self.store, "*.db*")) + [self._creds_path]:
            try:
                os.remove(p)
            except FileNotFoundError:
                pass

    async def __aenter__(self) -> "Officer":
        os.makedirs(self.store, mode=0o700, exist_ok=True)
        self._lock_fd = os.open(os.path.join(self.store, ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        try:
            await self._connect()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def close(self) -> None:
        if self.client is not None:
            try:
                # A consumed one-time key (someone started an Olm session with us) is replaced now,
                # so the next sender can still claim one.
                if self.client.access_token and self.client.olm and self.client.should_upload_keys:
                    await self.client.keys_upload()
            except Exception as e:  # best effort
                log.warning("keys_upload on close failed: %s", e)
            await self.client.close()
            self.client = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    async def _connect(self) -> None:
        creds = None
        try:
            with open(self._creds_path) as f:
                creds = json.load(f)
        except (OSError, ValueError):
            pass
        if creds and (creds.get("user_id") != self.user_id or not os.path.exists(self._db_path(creds["device_id"]))):
            log.info("stored credentials do not match (user or crypto store missing); logging in again")
            creds = None

        if creds:
            self.client = self._new_client()
            self.client.restore_login(creds["user_id"], creds["device_id"], creds["access_token"])
            resp = await self.client.sync(timeout=0, full_state=True, sync_filter=SYNC_FILTER)
            if isinstance(resp, SyncResponse):
                await self._after_sync()
                return
            if resp.status_code not in ("M_UNKNOWN_TOKEN", "M_MISSING_TOKEN", "M_FORBIDDEN"):
                raise OfficerError(f"sync: {resp.status_code} {resp.message}")
            log.warning("stored access token rejected (%s); logging in again with a new device", resp.status_code)
            await self.client.close()
            self.client = None

        if not self.password:
            raise OfficerError(f"{self.user_id} has no stored session in {self.store}: --password is needed")
        self._wipe_store()
        self.client = self._new_client()
        resp = check(await self.client.login(self.password, device_name=self.device_name), "login")
        assert isinstance(resp, LoginResponse)
        tmp = self._creds_path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"homeserver": self.homeserver, "user_id": resp.user_id,
                       "device_id": resp.device_id, "access_token": resp.access_token}, f)
        os.replace(tmp, self._creds_path)
        check(await self.client.sync(timeout=0, full_state=True, sync_filter=SYNC_FILTER), "sync")
        await self._after_sync()

    async def _after_sync(self) -> None:
        c = self.client
        if c.should_upload_keys:
            check(await c.keys_upload(), "keys_upload")
        if c.should_query_keys:
            check(await c.keys_query(), "keys_query")

    async def sync(self, timeout_s: float = 0) -> SyncResponse:
        """One /sync (long-polls up to timeout_s); processes to-device keys, state, invites."""
        resp = check(await self.client.sync(timeout=int(timeout_s * 1000), sync_filter=SYNC_FILTER), "sync")
        await self._after_sync()
        return resp

    def room(self, room_id: str):
        room = self.client.rooms.get(room_id)
        if room is None:
            raise OfficerError(f"{self.user_id} is not in room {room_id} (joined: {sorted(self.client.rooms)})")
        return room

    async def trust_room(self, room_id: str) -> None:
        """Tests only: fetch the device lists of every member and mark every device verified."""
        c = self.client
        room = self.room(room_id)
        if not room.encrypted:
            return
        users = set(room.users)
        # Always re-query: a member may have a new device since our store last looked.
        c.olm.users_for_key_query.update(users)
        check(await c.keys_query(), "keys_query")
        for user in users:
            for device in c.device_store.active_user_devices(user):
                if device.id == c.device_id and user == c.user_id:
                    continue
                if not c.olm.is_device_verified(device):
                    c.verify_device(device)

    # --- commands ------------------------------------------------------------------------

    def whoami(self) -> dict[str, Any]:
        return {"user_id": self.client.user_id, "device_id": self.client.device_id,
                "ed25519": self.client.olm.account.identity_keys["ed25519"] if self.client.olm else None}

    def token(self) -> dict[str, Any]:
        return {"token": self.client.next_batch}

    async def join(self, room_id: str) -> dict[str, Any]:
        resp = check(await self.client.join(room_id), f"join {room_id}")
        assert isinstance(resp, JoinResponse)
        await self.sync()
        return {"room_id": resp.room_id}

    async def invite(self, room_id: str, user: str) -> dict[str, Any]:
        user_id = full_user_id(user)
        check(await self.client.room_invite(room_id, user_id), f"invite {user_id}")
        return {"room_id": room_id, "user_id": user_id}

    async def wait_invite(self, timeout_s: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while not self.client.invited_rooms:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout(f"no invite for {self.user_id} within {timeout_s}s")
            await self.sync(min(left, 30))
        room_id = next(iter(self.client.invited_rooms))
        check(await self.client.join(room_id), f"join {room_id}")
        # Wait until the joined room (and its state) shows up in a sync.
        while room_id not in self.client.rooms:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout(f"joined {room_id} but it did not appear in /sync within {timeout_s}s")
            await self.sync(min(left, 5))
        room = self.client.rooms[room_id]
        return {"room_id": room_id, "name": room.name, "topic": room.topic, "encrypted": room.encrypted}

    async def wait_invites(self, count: int, timeout_s: float = 30) -> list[dict[str, Any]]:
        """Accept invites until `count` rooms were joined, all in this one process: an invite
        seen by one sync is not sent again to a later process resuming from the sync token."""
        deadline = time.monotonic() + timeout_s
        joined: list[str] = []
        while True:
            for room_id in list(self.client.invited_rooms):
                if room_id not in joined:
                    check(await self.client.join(room_id), f"join {room_id}")
                    joined.append(room_id)
            if len(joined) >= count and all(r in self.client.rooms for r in joined):
                break
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout(f"{len(joined)} of {count} invites for {self.user_id} within {timeout_s}s")
            await self.sync(min(left, 5))
        return [{"room_id": r, "name": self.client.rooms[r].name, "topic": self.client.rooms[r].topic,
                 "encrypted": self.client.rooms[r].encrypted} for r in joined]

    async def create_room(self, name: str, invite: list[str] = (), encrypted: bool = False,
                          topic: str | None = None) -> dict[str, Any]:
        initial_state = []
        if encrypted:
            initial_state.append({"type": "m.room.encryption", "state_key": "", "content": {"algorithm": MEGOLM}})
        resp = check(await self.client.room_create(
            name=name, topic=topic, invite=[full_user_id(u) for u in invite],
            initial_state=initial_state, preset=RoomPreset.private_chat), "create-room")
        assert isinstance(resp, RoomCreateResponse)
        return {"room_id": resp.room_id}

    async def _latest_in_thread(self, room_id: str, root: str) -> str:
        events = self.client.room_get_event_relations(
            room_id, root, rel_type=RelationshipType.thread, direction=MessageDirection.back, limit=1)
        try:
            async for ev in events:
                return ev.event_id
        finally:
            await events.aclose()
        return root

    async def send_content(self, room_id: str, content: dict[str, Any], event_type: str = "m.room.message") -> str:
        await self.trust_room(room_id)
        resp = check(await self.client.room_send(room_id, event_type, content, ignore_unverified_devices=True),
                     f"send to {room_id}")
        assert isinstance(resp, RoomSendResponse)
        return resp.event_id

    async def send(self, room_id: str, text: str, html: str | None = None, thread_root: str | None = None,
                   reply_to: str | None = None) -> dict[str, Any]:
        self.room(room_id)
        content: dict[str, Any] = {"msgtype": "m.text", "body": text}
        if html is not None:
            content.update(format="org.matrix.custom.html", formatted_body=html)
        if thread_root:
            if reply_to:  # a real reply inside the thread
                content["m.relates_to"] = {"rel_type": "m.thread", "event_id": thread_root, "is_falling_back": False,
                                           "m.in_reply_to": {"event_id": reply_to}}
            else:
                latest = await self._latest_in_thread(room_id, thread_root)
                content["m.relates_to"] = {"rel_type": "m.thread", "event_id": thread_root, "is_falling_back": True,
                                           "m.in_reply_to": {"event_id": latest}}
        elif reply_to:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
        return {"event_id": await self.send_content(room_id, content)}

    async def _create_media(self) -> str:
        """An mxc URI reserved for an upload that never comes (asynchronous upload, Matrix 1.7):
        downloads of it answer 504 M_NOT_YET_UPLOADED until it expires."""
        req = urllib.request.Request(f"{self.homeserver}/_matrix/media/v1/create", data=b"{}", method="POST",
                                     headers={"Authorization": f"Bearer {self.client.access_token}",
                                              "Content-Type": "application/json"})
        body = await asyncio.to_thread(lambda: json.load(urllib.request.urlopen(req, timeout=30)))
        return body["content_uri"]

    async def send_file(self, room_id: str, path: str, content_type: str, thread_root: str | None = None,
                        caption: str | None = None, filename: str | None = None,
                        declared_size: int | None = None, not_uploaded: bool = False) -> dict[str, Any]:
        """Upload PATH (encrypted in an encrypted room, as Element does) and post it as an m.file
        event, in THREAD_ROOT's thread if given; CAPTION, if given, is the body (MSC2530).
        FILENAME replaces the file's own name in the event, DECLARED_SIZE its size in `info`;
        NOT_UPLOADED posts an mxc URI that was reserved but never uploaded to (plain rooms)."""
        room = self.room(room_id)
        with open(path, "rb") as f:
            data = f.read()
        filename = os.path.basename(path) if filename is None else filename
        encrypted = bool(room.encrypted)
        keys: dict[str, Any] = {}
        if not_uploaded:
            if encrypted:
                raise OfficerError("--not-uploaded posts a plain url: use a plain room")
            uri = await self._create_media()
        else:
            resp, keys = await self.client.upload(lambda *_: io.BytesIO(data), content_type=content_type,
                                                  filename=filename, encrypt=encrypted, filesize=len(data))
            if not isinstance(resp, UploadResponse):
                raise OfficerError(f"upload {filename}: {resp}")
            uri = resp.content_uri
        size = len(data) if declared_size is None else declared_size
        content: dict[str, Any] = {"msgtype": "m.file", "body": caption or filename, "filename": filename,
                                   "info": {"mimetype": content_type, "size": size}}
        if encrypted:
            content["file"] = {"url": uri, "key": keys["key"], "iv": keys["iv"],
                               "hashes": keys["hashes"], "v": keys.get("v", "v2")}
        else:
            content["url"] = uri
        if thread_root:
            latest = await self._latest_in_thread(room_id, thread_root)
            content["m.relates_to"] = {"rel_type": "m.thread", "event_id": thread_root, "is_falling_back": True,
                                       "m.in_reply_to": {"event_id": latest}}
        return {"event_id": await self.send_content(room_id, content)}

    async def edit(self, room_id: str, event_id: str, text: str, html: str | None = None) -> dict[str, Any]:
        self.room(room_id)
        new: dict[str, Any] = {"msgtype": "m.text", "body": text}
        if html is not None:
            new.update(format="org.matrix.custom.html", formatted_body=html)
        content: dict[str, Any] = {"msgtype": "m.text", "body": "* " + text, "m.new_content": new,
                                   "m.relates_to": {"rel_type": "m.replace", "event_id": event_id}}
        if html is not None:
            content.update(format="org.matrix.custom.html", formatted_body="* " + html)
        return {"event_id": await self.send_content(room_id, content)}

    async def redact(self, room_id: str, event_id: str, reason: str | None = None) -> dict[str, Any]:
        resp = check(await self.client.room_redact(room_id, event_id, reason=reason), f"redact {event_id}")
        return {"event_id": resp.event_id}

    async def download(self, room_id: str, event_id: str) -> dict[str, Any]:
        """Fetch the file of an m.file/m.image/... event (authenticated media, as current Synapse
        requires), decrypt it if the room is encrypted, and describe the bytes."""
        ev = next((e for e in await self.history(room_id) if e["event_id"] == event_id), None)
        if ev is None:
            raise OfficerError(f"no event {event_id} in {room_id}")
        content = ev["content"]
        encrypted = content.get("file")
        mxc = (encrypted or {}).get("url") or content.get("url")
        if not mxc or not mxc.startswith("mxc://"):
            raise OfficerError(f"{event_id} has no media: {content}")
        server, media_id = mxc[len("mxc://"):].split("/", 1)
        req = urllib.request.Request(f"{self.homeserver}/_matrix/client/v1/media/download/{server}/{media_id}",
                                     headers={"Authorization": f"Bearer {self.client.access_token}"})
        data = await asyncio.to_thread(lambda: urllib.request.urlopen(req, timeout=30).read())
        if encrypted:
            data = decrypt_attachment(data, encrypted["key"]["k"], encrypted["hashes"]["sha256"], encrypted["iv"])
        return {"msgtype": content.get("msgtype"), "filename": content.get("filename") or content.get("body"),
                "encrypted": bool(encrypted), "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                "relates_to": content.get("m.relates_to")}

    async def leave(self, room_id: str) -> dict[str, Any]:
        check(await self.client.room_leave(room_id), f"leave {room_id}")
        return {"room_id": room_id}

    async def history(self, room_id: str, since_token: str | None = None) -> list[dict[str, Any]]:
        """Room events oldest first, decrypted where the keys are known: everything after
        since_token (forward pagination), or the whole history (backward from the sync token)."""
        c = self.client
        events: list[Any] = []
        if since_token:
            token, direction = since_token, MessageDirection.front
        else:
            token, direction = c.next_batch, MessageDirection.back
        while len(events) < MAX_HISTORY:
            resp = check(await c.room_messages(room_id, start=token, direction=direction, limit=100),
                         f"messages {room_id}")
            assert isinstance(resp, RoomMessagesResponse)
            events.extend(resp.chunk)
            if not resp.chunk or not resp.end or resp.end == token:
                break
            token = resp.end
        if direction == MessageDirection.back:
            events.reverse()
        return [event_json(e) for e in events]

    async def messages(self, room_id: str, since_token: str | None = None, thread_root: str | None = None,
                       wait_count: int = 0, timeout_s: float = 30) -> tuple[list[dict[str, Any]], bool]:
        """Returns (events, complete). With wait_count, syncs (long-poll) until at least that many
        m.room.message events from other senders (in the thread, if given) decrypt, or the timeout."""
        deadline = time.monotonic() + timeout_s
        while True:
            evs = await self.history(room_id, since_token)
            if thread_root:
                evs = [e for e in evs if e["event_id"] == thread_root or in_thread(e, thread_root)]
            n = sum(1 for e in evs if e["type"] == "m.room.message" and e["sender"] != self.user_id
                    and (not thread_root or in_thread(e, thread_root)))
            if n >= wait_count:
                return evs, True
            left = deadline - time.monotonic()
            if left <= 0:
                return evs, False
            # A new event or the room key for an undecryptable one ends the long poll early.
            await self.sync(min(left, 30))


# --- CLI -----------------------------------------------------------------------------------

def _common(sub: bool) -> argparse.ArgumentParser:
    # The connection options work before or after the command. On the subcommand parsers they
    # default to SUPPRESS so that an absent option does not overwrite one given before the command.
    kw: dict[str, Any] = {"default": argparse.SUPPRESS} if sub else {}
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--homeserver", help="default: $C2C_SYNAPSE_URL or the synapse state's env file", **kw)
    common.add_argument("--user", help="@user:c2c.test or a bare localpart (required)", **kw)
    common.add_argument("--password", help="needed only when the store has no session yet", **kw)
    common.add_argument("--store", help="device + crypto store dir (default $C2C_SYNAPSE_STATE/officers/<localpart>)", **kw)
    common.add_argument("-v", "--verbose", action="count", **({"default": argparse.SUPPRESS} if sub else {"default": 0}))
    return common


def parser() -> argparse.ArgumentParser:
    common = _common(sub=True)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], parents=[_common(sub=False)],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1])
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("whoami", parents=[common])
    sub.add_parser("token", parents=[common])
    s = sub.add_parser("join", parents=[common]); s.add_argument("room_id")
    s = sub.add_parser("invite", parents=[common]); s.add_argument("room_id"); s.add_argument("invitee")
    s = sub.add_parser("wait-invite", parents=[common]); s.add_argument("--timeout", type=float, default=30)
    s = sub.add_parser("wait-invites", parents=[common]); s.add_argument("count", type=int)
    s.add_argument("--timeout", type=float, default=30)
    s = sub.add_parser("create-room", parents=[common])
    s.add_argument("--name", required=True)
    s.add_argument("--topic")
    s.add_argument("--encrypted", action="store_true")
    s.add_argument("--invite", action="append", default=[])
    s = sub.add_parser("send", parents=[common])
    s.add_argument("room_id"); s.add_argument("--text", required=True); s.add_argument("--html")
    s.add_argument("--thread-root"); s.add_argument("--reply-to"); s.add_argument("--count", type=int)
    s = sub.add_parser("send-file", parents=[common])
    s.add_argument("room_id"); s.add_argument("path"); s.add_argument("--content-type", default="application/octet-stream")
    s.add_argument("--thread-root"); s.add_argument("--caption")
    s.add_argument("--filename", help="the name in the event (default: the file's own)")
    s.add_argument("--declared-size", type=int, help="the size in the event's info (default: the real one)")
    s.add_argument("--not-uploaded", action="store_true", help="post a reserved mxc URI never uploaded to")
    s = sub.add_parser("edit", parents=[common])
    s.add_argument("room_id"); s.add_argument("event_id"); s.add_argument("--text", required=True); s.add_argument("--html")
    s = sub.add_parser("redact", parents=[common])
    s.add_argument("room_id"); s.add_argument("event_id"); s.add_argument("--reason")
    s = sub.add_parser("messages", parents=[common])
    s.add_argument("room_id"); s.add_argument("--since-token"); s.add_argument("--thread-root")
    s.add_argument("--wait-count", type=int, default=0); s.add_argument("--timeout", type=float, default=30)
    s = sub.add_parser("leave", parents=[common]); s.add_argument("room_id")
    s = sub.add_parser("download", parents=[common]); s.add_argument("room_id"); s.add_argument("event_id")
    return p


async def run(args: argparse.Namespace) -> tuple[Any, int]:
    async with Officer(args.homeserver, args.user, args.password, args.store) as o:
        cmd = args.cmd
        if cmd == "whoami":
            return o.whoami(), 0
        if cmd == "token":
            return o.token(), 0
        if cmd == "join":
            return await o.join(args.room_id), 0
        if cmd == "invite":
            return await o.invite(args.room_id, args.invitee), 0
        if cmd == "wait-invite":
            try:
                return await o.wait_invite(args.timeout), 0
            except Timeout as e:
                return {"error": "timeout", "message": str(e)}, EXIT_TIMEOUT
        if cmd == "wait-invites":
            try:
                return await o.wait_invites(args.count, args.timeout), 0
            except Timeout as e:
                return {"error": "timeout", "message": str(e)}, EXIT_TIMEOUT
        if cmd == "create-room":
            return await o.create_room(args.name, args.invite, args.encrypted, args.topic), 0
        if cmd == "send" and args.count:
            ids = []
            for i in range(1, args.count + 1):
                sent = await o.send(args.room_id, f"{args.text} ({i}/{args.count})", args.html, args.thread_root,
                                    args.reply_to)
                ids.append(sent["event_id"])
            return {"event_ids": ids}, 0
        if cmd == "send":
            return await o.send(args.room_id, args.text, args.html, args.thread_root, args.reply_to), 0
        if cmd == "send-file":
            return await o.send_file(args.room_id, args.path, args.content_type, args.thread_root, args.caption,
                                     args.filename, args.declared_size, args.not_uploaded), 0
        if cmd == "edit":
            return await o.edit(args.room_id, args.event_id, args.text, args.html), 0
        if cmd == "redact":
            return await o.redact(args.room_id, args.event_id, args.reason), 0
        if cmd == "messages":
            evs, complete = await o.messages(args.room_id, args.since_token, args.thread_root,
                                             args.wait_count, args.timeout)
            return evs, 0 if complete else EXIT_TIMEOUT
        if cmd == "leave":
            return await o.leave(args.room_id), 0
        if cmd == "download":
            return await o.download(args.room_id, args.event_id), 0
        raise OfficerError(f"unknown command {cmd}")


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if not args.user:
        p.error("--user is required")
    logging.basicConfig(stream=sys.stderr, format="officer.py: %(levelname)s %(name)s: %(message)s",
                        level=logging.DEBUG if args.verbose > 1 else logging.INFO if args.verbose else logging.WARNING)
    if args.verbose < 2:
        # nio warns about things that are normal here (e.g. "Missing session for device").
        logging.getLogger("nio").setLevel(logging.ERROR)
    try:
        out, rc = asyncio.run(run(args))
    except OfficerError as e:
        print(f"officer.py: {e}", file=sys.stderr)
        return 1
    print(json.dumps(out, ensure_ascii=False))
    if rc == EXIT_TIMEOUT:
        print("officer.py: timed out", file=sys.stderr)
    return rc


if __name__ == "__main__":
    sys.exit(main())
