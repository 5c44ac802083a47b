#!/usr/bin/env python3
"""A CloudWatch Logs subscription event, as a Lambda function receives it, from its decoded payload.

CloudWatch Logs hands a subscribed function `{"awslogs": {"data": "<base64 of gzip of JSON>"}}`,
whose decoded JSON holds messageType, owner, logGroup, logStream, subscriptionFilters and
logEvents ([{id, timestamp, message}]). This script does the encoding, so that samples and tests
can be written readably (events/*.decoded.json) and turned into events with the provider ids a
test or the demo really got:

    scripts/awslogs_event.py events/sns-delivery-logs.decoded.json > event.json
    sed "s/5b1e9c7a-3d2f-5e8a-b4c6-0f7d9e2a1b35/$SNS_MESSAGE_ID/" events/sns-delivery-logs.decoded.json \
        | scripts/awslogs_event.py > event.json
    scripts/awslogs_event.py --check events/sns-delivery-logs.decoded.json events/sns-delivery-logs.json

The payload is written as compact JSON (no spaces, UTF-8), as CloudWatch Logs sends it; a log
event's `message` may be given as a JSON object, which is then written compactly as a string
(SNS writes each delivery status as one line of compact JSON). The gzip stream has no file name
and a zero timestamp, so the same payload always gives the same event with the same zlib.

`--check DECODED EVENT` tells whether EVENT is what this script makes of DECODED: the same JSON
envelope, written the same way, whose data decodes to exactly the payload this script writes.
The compressed bytes themselves may differ under another zlib build (zlib-ng, say) and are
only reported. Exit status 0 when it is, 1 when not, 2 on unreadable input.

Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import sys

REQUIRED = ("messageType", "owner", "logGroup", "logStream", "subscriptionFilters", "logEvents")


def payload_bytes(decoded: dict) -> bytes:
    """The payload as CloudWatch Logs writes it: compact UTF-8 JSON, messages as strings."""
    if not isinstance(decoded, dict) or not isinstance(decoded.get("logEvents"), list):
        raise ValueError("not a CloudWatch Logs payload: not an object with a logEvents list")
    if not all(isinstance(entry, dict) for entry in decoded["logEvents"]):
        raise ValueError("not a CloudWatch Logs payload: a log event is not an object")
    missing = [key for key in REQUIRED if key not in decoded]
    if missing:
        raise ValueError(f"not a CloudWatch Logs payload: no {', '.join(missing)}")
    events = []
    for entry in decoded["logEvents"]:
        message = entry.get("message")
        if not isinstance(message, str):
            message = json.dumps(message, separators=(",", ":"), ensure_ascii=False)
        events.append({**entry, "message": message})
    return json.dumps({**decoded, "logEvents": events}, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def event_text(decoded: dict) -> str:
    """The subscription event, as this script prints it."""
    data = base64.b64encode(gzip.compress(payload_bytes(decoded), compresslevel=9, mtime=0)).decode("ascii")
    return json.dumps({"awslogs": {"data": data}}, indent=2) + "\n"


def check(decoded_path: str, event_path: str) -> int:
    with open(decoded_path, encoding="utf-8") as file:
        expected = event_text(json.load(file))
    with open(event_path, encoding="utf-8") as file:
        actual = file.read()
    if actual == expected:
        print(f"{event_path}: what {decoded_path} gives")
        return 0
    try:
        data = json.loads(actual)["awslogs"]["data"]
        payload = gzip.decompress(base64.b64decode(data, validate=True))
    except (ValueError, KeyError, TypeError, OSError) as error:
        print(f"{event_path}: not a CloudWatch Logs subscription event ({error})", file=sys.stderr)
        return 1
    with open(decoded_path, encoding="utf-8") as file:
        wanted = payload_bytes(json.load(file))
    envelope = json.dumps({"awslogs": {"data": data}}, indent=2) + "\n"
    if payload == wanted and actual == envelope:
        print(f"{event_path}: what {decoded_path} gives (compressed by another zlib build)")
        return 0
    print(f"{event_path}: not what {decoded_path} gives; regenerate it with {sys.argv[0]}", file=sys.stderr)
    return 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("decoded", nargs="?", help="the decoded payload (JSON); standard input when absent")
    parser.add_argument("--check", nargs=2, metavar=("DECODED", "EVENT"), help="check EVENT against DECODED")
    args = parser.parse_args()
    try:
        if args.check:
            return check(*args.check)
        if args.decoded:
            with open(args.decoded, encoding="utf-8") as file:
                decoded = json.load(file)
        else:
            decoded = json.load(sys.stdin)
        sys.stdout.write(event_text(decoded))
        return 0
    except (OSError, ValueError) as error:
        print(f"{sys.argv[0]}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
