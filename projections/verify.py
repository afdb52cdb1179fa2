"""Verifies a tenant's hash chain against its event store, and exports both for auditors.

The digests are recomputed from the event store's rows as stored (projections/chain.py) and
compared, in position order, with the links the projector recorded beside the views and with
the chain heads anchored in the control plane. The first position that does not match is
named, with why:

- `altered`: the row's recomputed digest differs from its recorded link (its content
  changed, or rows were moved: a reorder shows as altered digests at the moved positions);
- `missing`: a link (or an anchor) names a position that has no event row (deleted);
- `unexpected`: an event row inside the chained range has no link (inserted); rows after the
  last link are not chained yet (the projector has not reached them) and are fine;
- `anchor`: the links agree with the rows but not with a head anchored earlier (rows and
  links were rewritten together); the change lies after the last anchor that matched;
- `unbound`: a row's state is encrypted without its event's identity bound in, after the
  tenant's legacy events (docs/adr/0019): a ciphertext copied there from another row;
- `undecodable`: a row does not decode as its event (its state was moved from another row,
  or damaged), chained or not.

Every row is decoded, including those after the last link, so verification runs before the
views are caught up: the projector never chains what has not been checked
(`verify_then_catch_up` in services/readmodel/verify.py, which reads the anchors from the
control plane; this module is the pure part).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

import msgspec
from eventsourcing.persistence import MapperDeserialisationError, StoredEvent

from projections.chain import ChainLink, chain_digest, event_type, genesis
from projections.decoding import UnboundCiphertext

ALTERED = "altered"
MISSING = "missing"
UNEXPECTED = "unexpected"
ANCHOR = "anchor"
UNBOUND = "unbound"
UNDECODABLE = "undecodable"
PAGE = 1000

_json = msgspec.json.Encoder()


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    """The first position that does not match, and why. For `anchor`, the change lies after
    `after_anchor` (the last anchored position that matched; 0 for none) and at or before `position`."""

    position: int
    problem: str
    detail: str
    aggregate_id: str | None = None
    version: int | None = None
    event_type: str | None = None
    after_anchor: int | None = None


class Verdict(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of verifying a tenant's chain. `verified_to` is the last position whose
    digest matched before the first problem (the whole chained range when intact), `digest`
    the chain's digest there (hex); `pending` counts rows after the last link, not chained yet."""

    tenant_id: UUID
    intact: bool
    verified_to: int
    digest: str
    events: int
    chained: int
    pending: int
    anchors: int
    anchors_checked: int
    first_bad: Finding | None = None

    def summary(self) -> str:
        if self.first_bad is None:
            return (
                f"chain intact up to position {self.verified_to} ({self.chained} events chained, "
                f"{self.pending} not yet chained, {self.anchors_checked} of {self.anchors} anchors checked)"
            )
        bad = self.first_bad
        what = f"event at position {bad.position}"
        if bad.aggregate_id is not None:
            what += f" (aggregate {bad.aggregate_id}, version {bad.version}, {bad.event_type})"
        return f"chain broken: {bad.problem} {what}: {bad.detail}"


def _finding(problem: str, position: int, detail: str, stored: StoredEvent | None, **more: Any) -> Finding:
    if stored is None:
        return Finding(position=position, problem=problem, detail=detail, **more)
    return Finding(
        position=position,
        problem=problem,
        detail=detail,
        aggregate_id=str(stored.originator_id),
        version=stored.originator_version,
        event_type=event_type(stored.topic),
        **more,
    )


def verify_chain(
    events: Iterable[tuple[int, StoredEvent]],
    links: Iterable[ChainLink],
    anchors: Iterable[tuple[int, bytes]],
    tenant_id: UUID,
    decode: Callable[[int, StoredEvent], object] | None = None,
) -> Verdict:
    """Recomputes the chain over `events` (position order) and compares it with `links`
    (position order) and `anchors` (position, digest); with `decode`, also decodes every
    event (chained or not). Stops at the first mismatch."""
    anchored = sorted(anchors)
    digest = genesis(tenant_id)
    counts = {"events": 0, "chained": 0, "pending": 0, "checked": 0}
    verified_to, verified_digest, last_anchor = 0, digest, 0
    event_iter, link_iter = iter(events), iter(links)
    event, link = next(event_iter, None), next(link_iter, None)
    next_anchor = 0  # index of the first anchor not reached yet

    def verdict(first_bad: Finding | None) -> Verdict:
        return Verdict(
            tenant_id=tenant_id,
            intact=first_bad is None,
            verified_to=verified_to,
            digest=verified_digest.hex(),
            events=counts["events"],
            chained=counts["chained"],
            pending=counts["pending"],
            anchors=len(anchored),
            anchors_checked=counts["checked"],
            first_bad=first_bad,
        )

    def gone(position: int, what: str) -> Verdict:
        return verdict(_finding(MISSING, position, f"{what} event row is gone", None))

    while event is not None:
        position, stored = event
        if next_anchor < len(anchored) and anchored[next_anchor][0] < position:
            return gone(anchored[next_anchor][0], "an anchored")
        if link is not None and link.position < position:
            return gone(link.position, "a chained")
        if link is not None and link.position > position:
            return verdict(
                _finding(UNEXPECTED, position, "an event row inside the chained range has no link", stored)
            )
        counts["events"] += 1
        digest = chain_digest(
            digest, position, stored.originator_id, stored.originator_version, stored.topic, stored.state
        )
        if link is not None and digest != link.digest:
            return verdict(
                _finding(ALTERED, position, "the stored event does not match its recorded digest", stored)
            )
        if decode is not None and (bad := _undecodable(decode, position, stored)) is not None:
            return verdict(bad)
        if link is None:
            counts["pending"] += 1
        else:
            counts["chained"] += 1
            verified_to, verified_digest = position, digest
            link = next(link_iter, None)
        if next_anchor < len(anchored) and anchored[next_anchor][0] == position:
            counts["checked"] += 1
            if digest != anchored[next_anchor][1]:
                return verdict(
                    _finding(
                        ANCHOR,
                        position,
                        "the chain does not match the head anchored at this position; the change lies "
                        f"after position {last_anchor}",
                        stored,
                        after_anchor=last_anchor,
                    )
                )
            last_anchor = position
            next_anchor += 1
        event = next(event_iter, None)
    if link is not None:
        return gone(link.position, "a chained")
    if next_anchor < len(anchored):
        return gone(anchored[next_anchor][0], "an anchored")
    return verdict(None)


def _undecodable(
    decode: Callable[[int, StoredEvent], object], position: int, stored: StoredEvent
) -> Finding | None:
    try:
        decode(position, stored)
    except UnboundCiphertext:
        return _finding(
            UNBOUND,
            position,
            "the event is encrypted without its identity bound in, after the tenant's legacy events: "
            "its state was copied here from another row",
            stored,
        )
    except Exception as e:  # whatever the stored bytes make the decoder raise, it is a finding
        why = e.__cause__ if isinstance(e, MapperDeserialisationError) and e.__cause__ else e
        return _finding(UNDECODABLE, position, f"the stored event does not decode: {why}", stored)
    return None


@runtime_checkable
class StoredLog(Protocol):
    def read_stored(self, after: int, limit: int) -> list[tuple[int, StoredEvent]]: ...


@runtime_checkable
class ChainStore(Protocol):
    def last_digest(self) -> ChainLink | None: ...

    def chain_links(self, after: int, limit: int) -> list[ChainLink]: ...


def _pages(read: Callable[[int, int], Sequence[Any]], position: Callable[[Any], int]) -> Iterator[Any]:
    after = 0
    while True:
        page = read(after, PAGE)
        yield from page
        if len(page) < PAGE:
            return
        after = position(page[-1])


def _links_up_to(store: ChainStore, head: int) -> Iterator[ChainLink]:
    for link in _pages(store.chain_links, lambda link: link.position):
        if link.position > head:
            return
        yield link


def verify_log(
    source: StoredLog,
    store: ChainStore,
    anchors: Iterable[tuple[int, bytes]],
    tenant_id: UUID,
    decode: Callable[[int, StoredEvent], object] | None = None,
) -> Verdict:
    """Verifies a tenant's whole log, read a page at a time, against its chain and anchors
    (and, with `decode`, that every event decodes). Links recorded after the verification
    began are left for the next one."""
    head = store.last_digest()
    links = _links_up_to(store, head.position if head is not None else 0)
    events = _pages(source.read_stored, lambda row: row[0])
    return verify_chain(events, links, anchors, tenant_id, decode)


def export_lines(
    source: StoredLog, store: ChainStore, anchors: Sequence[Any], tenant_id: UUID
) -> Iterator[bytes]:
    """The auditor's export, JSON lines a page at a time: every event row up to the chain's
    head with its recorded digest (hex; null when it has none), then one line with the tenant
    id and the anchored heads. deploy/tools/verify_audit_export.py verifies it offline."""
    head = store.last_digest()
    last = head.position if head is not None else 0
    links = {}
    for link in _links_up_to(store, last):
        links[link.position] = link.digest.hex()
    lines: list[bytes] = []
    for position, stored in _pages(source.read_stored, lambda row: row[0]):
        if position > last:
            break
        lines.append(
            _json.encode(
                {
                    "position": position,
                    "originator_id": str(stored.originator_id),
                    "originator_version": stored.originator_version,
                    "topic": stored.topic,
                    "state_b64": base64.b64encode(stored.state).decode(),
                    "digest": links.pop(position, None),
                }
            )
            + b"\n"
        )
        if len(lines) >= PAGE:
            yield b"".join(lines)
            lines = []
    final = {
        "tenant_id": str(tenant_id),
        "anchors": [{"position": a.position, "digest": a.digest, "at": a.at.isoformat()} for a in anchors],
    }
    lines.append(_json.encode(final) + b"\n")
    yield b"".join(lines)
