"""A tenant's complete, verifiable export: what `balkort tenants export SLUG --out DIR` writes.

    events.jsonl         every stored event in log order, decrypted: position, originator id
                         and version, topic, and the event's state as the JSON it was encoded to
    chain.jsonl          the auditor's hash-chain export over the events as stored (encrypted),
                         verifiable offline by deploy/tools/verify_audit_export.py
    organisation.json    the organisation read model (units and their history), if established
    engagements.jsonl    every engagement read model, one per line
    manifest.json        the tenant, when, the chain verdict, and per file its line count,
                         size and SHA-256

Blocking; run it against a tenant whose read models are caught up (the CLI does that first).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import msgspec

from projections.projector import ENGAGEMENT, ORGANISATION
from projections.verify import PAGE
from services.bootstrap import Container
from services.persistence.binding import plaintext_at
from services.readmodel.verify import chain_export, verify_then_catch_up

EVENTS = "events.jsonl"
CHAIN = "chain.jsonl"
ORGANISATION_FILE = "organisation.json"
ENGAGEMENTS = "engagements.jsonl"
MANIFEST = "manifest.json"
FORMAT = "balkort-tenant-export/1"

_json = msgspec.json.Encoder()


class ExportedFile(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    sha256: str
    bytes: int
    lines: int


class Manifest(msgspec.Struct, frozen=True, kw_only=True):
    format: str
    tenant_id: UUID
    slug: str
    name: str
    exported_at: datetime
    events: int
    engagements: int
    chain_intact: bool
    chain_verified_to: int
    chain_digest: str
    files: list[ExportedFile]


class EventLine(msgspec.Struct, frozen=True, kw_only=True):
    position: int
    originator_id: UUID
    originator_version: int
    topic: str
    state: msgspec.Raw


def _write(path: Path, chunks: Iterable[bytes]) -> ExportedFile:
    digest = hashlib.sha256()
    size = lines = 0
    with path.open("wb") as out:
        for chunk in chunks:
            out.write(chunk)
            digest.update(chunk)
            size += len(chunk)
            lines += chunk.count(b"\n")
    return ExportedFile(name=path.name, sha256=digest.hexdigest(), bytes=size, lines=lines)


def _events(container: Container, tenant_id: UUID, counted: list[int]) -> Iterator[bytes]:
    source: Any = container.views.source_for(tenant_id)
    mapper = container.mappers(tenant_id)
    after = 0
    while True:
        page = source.read_stored(after, PAGE)
        lines = []
        for position, stored in page:
            state = plaintext_at(mapper, position, stored)
            line = EventLine(
                position=position,
                originator_id=stored.originator_id,
                originator_version=stored.originator_version,
                topic=stored.topic,
                state=msgspec.Raw(state),
            )
            lines.append(_json.encode(line) + b"\n")
        counted[0] += len(page)
        if lines:
            yield b"".join(lines)
        if len(page) < PAGE:
            return
        after = page[-1][0]


def export_to(container: Container, tenant_id: UUID, out: Path) -> Manifest:
    """Writes the tenant's export into `out` (created; files in it are replaced)."""
    tenant = container.control.tenant(tenant_id)
    out.mkdir(parents=True, exist_ok=True)
    verdict = verify_then_catch_up(container, tenant_id, anchor=False)
    store: Any = container.views.store_for(tenant_id)
    counted = [0]
    files = [_write(out / EVENTS, _events(container, tenant_id, counted))]
    files.append(_write(out / CHAIN, chain_export(container, tenant_id)))
    organisation = store.documents(ORGANISATION)
    files.append(_write(out / ORGANISATION_FILE, [organisation[0] + b"\n"] if organisation else [b"null\n"]))
    engagements = store.documents(ENGAGEMENT)
    files.append(_write(out / ENGAGEMENTS, (body + b"\n" for body in engagements)))
    manifest = Manifest(
        format=FORMAT,
        tenant_id=tenant_id,
        slug=tenant.slug,
        name=tenant.name,
        exported_at=datetime.now(UTC),
        events=counted[0],
        engagements=len(engagements),
        chain_intact=verdict.intact,
        chain_verified_to=verdict.verified_to,
        chain_digest=verdict.digest,
        files=files,
    )
    (out / MANIFEST).write_bytes(msgspec.json.format(_json.encode(manifest), indent=2) + b"\n")
    return manifest


def check_export(out: Path) -> list[str]:
    """What does not match in an export directory (empty when every file matches its manifest)."""
    manifest = msgspec.json.decode((out / MANIFEST).read_bytes(), type=Manifest)
    problems = []
    for entry in manifest.files:
        path = out / entry.name
        if not path.exists():
            problems.append(f"{entry.name}: missing")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != entry.sha256:
            problems.append(f"{entry.name}: SHA-256 does not match the manifest")
    return problems
