#!/usr/bin/env python3
"""Sign and verify with the reference Standard Webhooks library (PyPI `standardwebhooks`).

Used by the integration tests to check c2c-bridge's signatures against an implementation it
shares no code with.

    standardwebhooks_ref.py sign SECRET MSG_ID TIMESTAMP BODY_FILE      -> prints the signature header
    standardwebhooks_ref.py verify SECRET MSG_ID TIMESTAMP SIGNATURE BODY_FILE  -> prints "ok" or exits 1
"""
import sys
from datetime import datetime, timezone

from standardwebhooks.webhooks import Webhook


def main() -> int:
    cmd = sys.argv[1]
    if cmd == "sign":
        secret, msg_id, ts, path = sys.argv[2:6]
        body = open(path, "rb").read().decode("utf-8")
        when = datetime.fromtimestamp(int(ts), tz=timezone.utc)
        print(Webhook(secret).sign(msg_id, when, body))
        return 0
    if cmd == "verify":
        secret, msg_id, ts, signature, path = sys.argv[2:7]
        body = open(path, "rb").read()
        headers = {"webhook-id": msg_id, "webhook-timestamp": ts, "webhook-signature": signature}
        try:
            Webhook(secret).verify(body, headers)
        except Exception as e:  # the library raises WebhookVerificationError
            print(f"refused: {e}")
            return 1
        print("ok")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
