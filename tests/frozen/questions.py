"""Every question the release answers about the frozen store, asked through its HTTP API as a
consultancy admin would ask it, at fixed instants: the answers do not depend on the day they are
asked. The generator writes them to `answers.json`; the test asks again and compares.

Left out, because they depend on the moment they are asked or on a secret drawn afresh, not on
the events: the bearer token, `ETag`s of nothing but the version (the version is in the
document), the `exported_at` of a tenant export and the manifest's own digest (it holds
`exported_at`), the pages' Excel downloads (the workbook holds when it was made), and the
portfolio, dashboards and history without a `today` or `as_of` (each is asked with one).
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import msgspec

from services.bootstrap import Container
from services.controlplane import TenantSummary
from services.readmodel.rebuild import rebuild
from services.settings import Settings
from services.usecases.tenants import export_tenant
from tests.frozen.added import without_added
from tests.frozen.people_questions import ask_people
from tests.http_harness import Person, serving, token_for

ADMIN_EMAIL = "admin@frossen.example"
# "Today" for every answer that counts days (overdue, due, without a check-in for half a year).
TODAY = "2026-12-07"
TODAY_MOMENT = f"{TODAY}T00:00:00Z"
# Moments of the past to travel to: the first theme day, between the years, the merger's
# autumn, after the split, mid-way through the second theme day, after its follow-up meeting,
# and after the last check-in.
AS_OF = (
    "2025-03-11T12:00:00Z",
    "2025-06-01T00:00:00Z",
    "2025-10-01T00:00:00Z",
    "2026-01-20T00:00:00Z",
    "2026-04-14T10:00:00Z",
    "2026-06-01T00:00:00Z",
    "2026-12-01T00:00:00Z",
)
ENGAGEMENT_VERSIONS = (1, 5, 20, 60)


def settings_for(data_dir: Path) -> Settings:
    """The embedded default on `data_dir`, its secrets the files the data dir keeps; no rate
    limit (hundreds of questions in a minute) and no anchoring by the clock during the run."""
    return Settings(data_dir=data_dir, rate_limit_per_minute=10**9, chain_anchor_seconds=10**9)


def sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _strings_under(document: Any, key: str) -> Iterator[str]:
    if isinstance(document, dict):
        for k, value in document.items():
            if k == key and isinstance(value, str):
                yield value
            else:
                yield from _strings_under(value, key)
    elif isinstance(document, list):
        for item in document:
            yield from _strings_under(item, key)


def rebuild_read_models(data_dir: Path) -> int:
    """The product's rebuild path: every tenant's views from the whole log, swapped in."""
    applied, _ = rebuild(settings_for(data_dir))
    return applied


async def _audit_trail(person: Person) -> list[Any]:
    rows: list[Any] = []
    after = None
    while True:
        params: dict[str, Any] = {"limit": 500}
        if after is not None:
            params["after"] = after
        page = await person.get("/audit", params=params)
        rows.extend(page["items"])
        after = page["next_after"]
        if after is None:
            return rows


async def _engagement(person: Person, eid: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "now": await person.get(f"/engagements/{eid}"),
        "board": await person.get(f"/engagements/{eid}/board"),
        "matrix": await person.get(f"/engagements/{eid}/matrix"),
        "dashboard": await person.get(f"/engagements/{eid}/dashboard", params={"today": TODAY}),
        "agreements": await person.get(f"/engagements/{eid}/agreements"),
        "proposals": await person.get(f"/engagements/{eid}/proposals"),
        "as_of": {},
        "at_version": {},
    }
    for moment in AS_OF:
        at = {"as_of": moment}
        response = await person.client.get(
            f"{person.base}/engagements/{eid}", params=at, headers=person.headers
        )
        if response.status_code == 404:
            out["as_of"][moment] = {"status": 404, "problem": response.json()}
            continue
        assert response.status_code == 200, response.text
        out["as_of"][moment] = {
            "engagement": response.json(),
            "board": await person.get(f"/engagements/{eid}/board", params=at),
            "matrix": await person.get(f"/engagements/{eid}/matrix", params=at),
            "dashboard": await person.get(f"/engagements/{eid}/dashboard", params=at),
        }
    for version in ENGAGEMENT_VERSIONS:
        if version > out["now"]["version"]:
            continue  # a small copy's engagement has not come so far
        out["at_version"][str(version)] = await person.get(f"/engagements/{eid}", params={"version": version})
    return out


async def _lineages(person: Person, documents: list[Any]) -> dict[str, Any]:
    """The lineage of every decision (by its decision id) and of every dance card."""
    nodes: set[tuple[str, str]] = set()
    for document in documents:
        for agreement in document["agreements"]:
            if agreement.get("decision_id"):
                nodes.add(("agreement_decision", agreement["decision_id"]))
        for proposal in document["proposals"]:
            for decided in _strings_under(proposal, "decision_id"):
                if decided:
                    nodes.add(("proposal_decision", decided))
        for card in document["cards"]:
            nodes.add(("dance_card", card["card_id"]))
    return {f"{kind}:{node}": await person.get(f"/lineage/{kind}/{node}") for kind, node in sorted(nodes)}


async def _platform(person: Person) -> dict[str, Any]:
    instruments = await person.get("/api/v1/instruments")
    return {
        "tenants": await person.get("/api/v1/tenants"),
        "instruments": instruments,
        "instrument_details": {
            i["id"]: await person.get(f"/api/v1/instruments/{i['id']}") for i in instruments
        },
        "portfolio": await person.get("/api/v1/portfolio", params={"today": TODAY}),
    }


async def _page_exports(person: Person, tenant_id: UUID, engagements: list[Any]) -> dict[str, str]:
    """The planning group's CSV downloads from the pages (their Excel twins carry the moment they
    were made inside the workbook, so they are left out). The history is asked as of a fixed
    moment: without one it counts follow-through up to the day it is asked."""
    pages = Person(person.client, person.headers, f"/t/{tenant_id}")
    shown = {"history.csv": (await pages.raw("/history.csv", params={"as_of": TODAY_MOMENT})).text}
    for summary in engagements:
        matrix = f"/e/{summary['engagement_id']}/matrix.csv"
        shown[matrix] = (await pages.raw(matrix)).text
        past = await pages.client.get(pages.base + matrix, params={"as_of": AS_OF[-2]}, headers=pages.headers)
        if past.status_code == 404:
            continue  # a small copy's engagement was not prepared yet
        assert past.status_code == 200, past.text
        shown[f"{matrix} as of {AS_OF[-2]}"] = past.text
    return shown


def the_tenant(container: Container) -> TenantSummary:
    """The one client organisation a frozen copy keeps (the others it onboarded are erased)."""
    (tenant,) = container.control.tenants()
    return tenant


def _export(container: Container) -> dict[str, Any]:
    """What `balkort tenants export` writes, as digests (the manifest's `exported_at` is the
    moment of export and is left out, and so the manifest's own digest)."""
    with tempfile.TemporaryDirectory() as out:
        manifest = export_tenant(container, the_tenant(container).slug, Path(out))
        shown = msgspec.to_builtins(manifest)
        del shown["exported_at"]
        for listed in shown["files"]:
            if listed["name"] in READ_MODEL_FILES:
                # A read model's fields added since are left out, as its digest was taken before them.
                body = _as_released(Path(out, listed["name"]).read_bytes())
                listed.update(bytes=len(body), sha256=sha256(body))
        return shown  # type: ignore[no-any-return]


# The export's files that are read models (the rest are the events as stored).
READ_MODEL_FILES = frozenset({"organisation.json", "engagements.jsonl"})


def _as_released(body: bytes) -> bytes:
    """A read model's export file, one JSON document a line, without the fields added since."""
    encode = msgspec.json.Encoder().encode
    lines = body.split(b"\n")
    return b"\n".join(encode(without_added(msgspec.json.decode(line))) if line else line for line in lines)


async def ask(data_dir: Path) -> dict[str, Any]:
    """Every answer, asked of the store in `data_dir` (read models rebuilt already)."""
    async with serving(settings_for(data_dir), admin=None) as story:
        container = story.container
        admin_id = (await container.offloop(container.control.user_by_email, ADMIN_EMAIL)).id
        tenant_id = (await container.offloop(the_tenant, container)).id
        root = Person(story.client, token_for(story.client, admin_id))
        person = Person(story.client, root.headers, f"/api/v1/tenants/{tenant_id}")
        answers: dict[str, Any] = {"platform": await _platform(root)}
        answers["organisation"] = {
            "now": await person.get("/organisation"),
            "as_of": {m: await person.get("/organisation", params={"as_of": m}) for m in AS_OF},
        }
        listed = await person.get("/engagements")
        answers["engagements"] = listed
        documents = []
        for summary in listed:
            eid = summary["engagement_id"]
            answers[f"engagement {eid}"] = await _engagement(person, eid)
            documents.append(answers[f"engagement {eid}"]["now"])
            for unit_id in documents[-1]["unit_ids"][:2]:
                codes = await person.get(f"/engagements/{eid}/units/{unit_id}/join-codes")
                answers[f"engagement {eid}"].setdefault("join_codes", {})[unit_id] = codes
        answers["longitudinal"] = {
            "now": await person.get("/longitudinal", params={"today": TODAY}),
            "as_of": {m: await person.get("/longitudinal", params={"as_of": m}) for m in AS_OF},
        }
        answers["audit_trail"] = await _audit_trail(person)
        answers["lineage"] = await _lineages(person, documents)
        answers["chain"] = {
            "verify": await person.get("/audit/verify"),
            "export_sha256": sha256((await person.raw("/audit/export/chain.jsonl")).content),
        }
        answers["people_and_messages"] = await ask_people(person, container, tenant_id, documents)
        answers["page_exports"] = await _page_exports(person, tenant_id, listed)
        answers["exports"] = {
            "audit.csv": sha256((await person.raw("/audit/export.csv")).content),
            "audit.jsonl": sha256((await person.raw("/audit/export.jsonl")).content),
            "tenant": await container.offloop(_export, container),
        }
        return answers
