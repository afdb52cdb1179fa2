#!/usr/bin/env python3
"""Verifies a Balkort auditor export (GET /api/v1/tenants/{id}/audit/export/chain.jsonl) offline.

Standard library only. Usage: python3 verify_audit_export.py chain-<tenant>.jsonl
Exit code 0 when every line's digest and every anchor match; 1 naming the first line that does not.
The chain (see docs/audit-verification.md):
    digest_0 = sha256(b"balkort:" + tenant_id)
    digest_n = sha256(digest_{n-1} + field(position) + field(originator_id)
                      + field(originator_version) + field(topic) + field(state))
where field(x) is len(x) as 8 bytes big-endian followed by x (numbers as decimal ASCII).
"""

import base64
import hashlib
import json
import sys


def field(value: bytes) -> bytes:
    return len(value).to_bytes(8, "big") + value


def main(path: str) -> int:
    with open(path, encoding="utf-8") as export:
        lines = [line for line in export.read().splitlines() if line.strip()]
    if not lines or "anchors" not in json.loads(lines[-1]):
        print(f"{path}: no final line with the tenant id and anchors")
        return 1
    final = json.loads(lines[-1])
    digest = hashlib.sha256(b"balkort:" + final["tenant_id"].encode()).digest()
    digests, previous = {}, 0
    for number, line in enumerate(lines[:-1], start=1):
        row = json.loads(line)
        if row["position"] <= previous:
            print(f"line {number}: position {row['position']} is out of order")
            return 1
        previous = row["position"]
        canonical = b"".join(
            field(part)
            for part in (
                str(row["position"]).encode(),
                row["originator_id"].encode(),
                str(row["originator_version"]).encode(),
                row["topic"].encode(),
                base64.b64decode(row["state_b64"]),
            )
        )
        digest = hashlib.sha256(digest + canonical).digest()
        if digest.hex() != row["digest"]:
            print(
                f"line {number}: position {row['position']} ({row['topic']}, version "
                f"{row['originator_version']} of {row['originator_id']}) does not match its digest"
            )
            return 1
        digests[row["position"]] = digest.hex()
    for anchor in final["anchors"]:
        if anchor["position"] <= previous and digests.get(anchor["position"]) != anchor["digest"]:
            print(
                f"line {len(lines)}: the head anchored at position {anchor['position']} "
                f"({anchor['at']}) does not match the events"
            )
            return 1
    print(f"{path}: {len(lines) - 1} events verified, chain head {digest.hex()} at position {previous}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
