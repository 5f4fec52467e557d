#!/usr/bin/env python3
"""How fast a plain matrix-nio client posts to a room: the yardstick for c2c-loadgen --mode matrix.

    post_rate.py --homeserver URL --user @u:c2c.test --password PW --room ROOM_ID --count N [--concurrency C]

Logs in (a fresh device), joins the room if needed, sends N m.text messages (C at a time),
and prints {"count", "seconds", "per_second"} once every send has returned.
"""
import argparse
import asyncio
import json
import time

from nio import AsyncClient, RoomSendResponse


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--homeserver", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--room", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--concurrency", type=int, default=1)
    p.add_argument("--text-bytes", type=int, default=400)
    a = p.parse_args()
    client = AsyncClient(a.homeserver, a.user)
    try:
        await client.login(a.password, device_name="post-rate")
        await client.join(a.room)
        pad = "x" * max(0, a.text_bytes - 24)
        queue = iter(range(a.count))

        async def worker() -> None:
            for i in queue:
                r = await client.room_send(a.room, "m.room.message", {"msgtype": "m.text", "body": f"nio {i} {pad}"})
                if not isinstance(r, RoomSendResponse):
                    raise RuntimeError(f"send failed: {r}")

        start = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(a.concurrency)))
        secs = time.monotonic() - start
        print(json.dumps({"count": a.count, "seconds": round(secs, 3), "per_second": round(a.count / secs, 1)}))
    finally:
        await client.close()


if __name__ == "__main__":
    asyncio.run(main())
