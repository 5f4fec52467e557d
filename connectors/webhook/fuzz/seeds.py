#!/usr/bin/env python3
"""Writes the seed corpus of the `body` target to corpus/body/ (gitignored).

Each input is one flag byte, then webhook-id, webhook-timestamp and webhook-signature on a line
each, then the body (see fuzz_targets/body.rs). Flags: 0x01 sign with the city's current key,
0x02 with its previous key, 0x04 the city is rotating (holds the previous key), 0x08 a fresh
timestamp, 0x10 sign with a key the city does not hold. The bodies are the posts the integration
tests and the README send, and a few broken ones.
"""
import json
import os

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "body")
os.makedirs(OUT, exist_ok=True)

posts = [
    {"from": "leeds-jo", "partnership": "hangzhou-leeds", "conversation": None, "thread_key": "LEEDS-1",
     "subject": "MoU draft", "text": "Dear colleagues, the draft is attached.", "html": None},
    {"from": "leeds-jo", "partnership": "hangzhou-leeds", "text": "short"},
    {"from": "hz-li", "partnership": None, "conversation": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "text": "回复：好的"},
    {"from": "gifu-sato", "partnership": "heritage-cities", "thread_key": "", "subject": "  ",
     "text": "x", "html": "<p>Hello <b>there</b><script>alert(1)</script></p>"},
    {"from": "leeds-jo", "partnership": "hangzhou-leeds", "text": "extra fields", "unknown": [1, {"a": None}]},
]
bodies = [json.dumps(p, ensure_ascii=False).encode() for p in posts]
bodies += [
    b"",
    b"{}",
    b'{"from": 1, "text": "x"}',
    b'{"from": "a", "text": "\\ud800"}',
    b'{"from": "a", "text": "line\\nbreak", "partnership": "p\\u0000"}',
    b"[" * 200 + b"]" * 200,
    b'{"from": "a", "text": "' + b"y" * 4096 + b'"}',
]

n = 0
for flags in (0x00, 0x09, 0x0A, 0x0E, 0x0D, 0x18, 0x01):
    for i, body in enumerate(bodies):
        ts = b"1700000000" if flags & 0x08 else (b"1699999000" if i % 2 else b"soon")
        header = b"v1,Zm9vYmFy" if i % 3 == 0 else (b"v2,abc v1a,xyz" if i % 3 == 1 else b"")
        data = bytes([flags]) + b"msg_" + str(i).encode() + b"\n" + ts + b"\n" + header + b"\n" + body
        with open(os.path.join(OUT, "seed-%02x-%02d" % (flags, i)), "wb") as f:
            f.write(data)
        n += 1
print(f"{n} seeds in {OUT}")
