"""The hash chain over each tenant's stored events: an intact history verifies; altering,
deleting or reordering an event row directly in the database is detected and located, and so
is rewriting rows and recorded digests together (the anchor in the control plane no longer
matches). The auditor export verifies offline with the standard-library script."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from click.testing import CliRunner
from psycopg import sql

from projections.chain import ChainLink, chain_digest, genesis
from projections.verify import ALTERED, ANCHOR, MISSING, Verdict
from services.bootstrap import Container, build_container
from services.cli import main
from services.controlplane import system_provenance
from services.demo import DEMO_TENANT_SLUG, seed_demo
from services.persistence.env import tenant_store_name
from services.readmodel.anchors import anchor_head
from services.readmodel.verify import chain_export, verify_tenant
from services.settings import Settings
from tests import commanding

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "tools" / "verify_audit_export.py"
EVENT_COLUMNS = "originator_id, originator_version, topic, state"


@dataclass
class Database:
    """Direct SQL on a tenant's event rows and chain links, as someone with database access."""

    execute: Callable[[str, tuple[Any, ...]], list[tuple[Any, ...]]]
    execute_links: Callable[[str, tuple[Any, ...]], list[tuple[Any, ...]]]
    events: str  # table
    key: str  # position column
    mark: str  # parameter placeholder

    def q(self, text: str) -> str:
        """`text` on this database: fixed table and column names, values always bound."""
        return text.format(t=self.events, k=self.key).replace("?", self.mark)

    def row(self, position: int) -> tuple[Any, ...]:
        return self.execute(self.q("SELECT " + EVENT_COLUMNS + " FROM {t} WHERE {k} = ?"), (position,))[0]  # noqa: S608

    def set_row(self, position: int, topic: str, state: bytes) -> None:
        self.execute(self.q("UPDATE {t} SET topic = ?, state = ? WHERE {k} = ?"), (topic, state, position))

    def delete(self, position: int) -> None:
        self.execute(self.q("DELETE FROM {t} WHERE {k} = ?"), (position,))

    def insert(self, position: int, row: tuple[Any, ...]) -> None:
        self.execute(
            self.q("INSERT INTO {t} ({k}, " + EVENT_COLUMNS + ") VALUES (?, ?, ?, ?, ?)"),  # noqa: S608
            (position, *row),
        )

    def rows(self) -> list[tuple[Any, ...]]:
        return self.execute(self.q("SELECT {k}, " + EVENT_COLUMNS + " FROM {t} ORDER BY {k}"), ())  # noqa: S608

    def links(self) -> list[ChainLink]:
        rows = self.execute_links("SELECT position, digest FROM event_chain ORDER BY position", ())
        return [ChainLink(int(p), bytes(d)) for p, d in rows]

    def set_links(self, links: list[ChainLink]) -> None:
        for link in links:
            self.execute_links(
                "UPDATE event_chain SET digest = ? WHERE position = ?".replace("?", self.mark),
                (link.digest, link.position),
            )


def sqlite_database(settings: Settings, tenant_id: UUID) -> Database:
    stores = settings.data_dir / "stores"

    def on(path: Path) -> Callable[[str, tuple[Any, ...]], list[tuple[Any, ...]]]:
        def execute(statement: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
            with closing(sqlite3.connect(path, isolation_level=None)) as conn:
                return conn.execute(statement, args).fetchall()

        return execute

    name = tenant_store_name(tenant_id)
    return Database(
        on(stores / f"{name}.sqlite3"), on(stores / f"{name}.views.sqlite3"), "stored_events", "rowid", "?"
    )


def postgres_database(settings: Settings, tenant_id: UUID) -> Database:
    schema = tenant_store_name(tenant_id)

    def execute(statement: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with psycopg.connect(settings.postgres.dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
            cursor = conn.execute(statement.encode(), args)
            return cursor.fetchall() if cursor.description else []

    return Database(execute, execute, "tenantapplication_events", "notification_id", "%s")


@pytest.fixture
def seeded(backend: Settings, request: pytest.FixtureRequest) -> Iterator[tuple[Container, UUID, Database]]:
    if backend.uses_postgres:
        # The demo tenant has a fixed slug: a database of the test's own.
        backend = backend.with_changes(database_url=request.getfixturevalue("postgres_database_url"))
    container = build_container(backend)
    # Tests anchor when they mean to; the runner's timed anchoring would anchor the seed first.
    container.projections.anchor = None
    try:
        tenant_id = seed_demo(container)
        container.projections.catch_up_now(tenant_id)
        database = (postgres_database if backend.uses_postgres else sqlite_database)(backend, tenant_id)
        yield container, tenant_id, database
    finally:
        close = getattr(container.views, "close_blocking", None)
        if close is not None:
            close()
        container.tenants.close()
        container.control.close()


def flipped(state: bytes, at: int = 7) -> bytes:
    return state[:at] + bytes([state[at] ^ 0x01]) + state[at + 1 :]


def cli_verify(settings: Settings) -> tuple[int, str]:
    env = {
        "BALKORT_DATA_DIR": str(settings.data_dir),
        "DATABASE_URL": settings.database_url or "",
        "BALKORT_MASTER_KEY": settings.master_key or "",
        "BALKORT_JWT_SECRET": settings.jwt_secret or "",
    }
    result = CliRunner().invoke(main, ["audit", "verify", "--tenant", DEMO_TENANT_SLUG], env=env)
    return result.exit_code, result.output


def run_script(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(path)], capture_output=True, text=True, timeout=60, check=False
    )


def test_tampering_with_stored_events_is_detected_and_located(
    seeded: tuple[Container, UUID, Database], tmp_path: Path
) -> None:
    container, tenant_id, db = seeded
    backend = container.settings
    links = db.links()
    positions = [link.position for link in links]
    assert len(links) > 400
    assert positions == [row[0] for row in db.rows()]

    intact = verify_tenant(container, tenant_id)
    assert intact.intact, intact.summary()
    assert intact.verified_to == positions[-1] == intact.chained
    # Verifying anchored the head in the control plane.
    anchors = container.control.chain_anchors(tenant_id)
    assert [(a.position, a.digest) for a in anchors] == [(positions[-1], links[-1].digest.hex())]
    code, output = cli_verify(backend)
    assert code == 0, output
    assert f"chain intact up to position {positions[-1]}" in output

    export = tmp_path / "chain.jsonl"
    export.write_bytes(b"".join(chain_export(container, tenant_id)))

    p, q = positions[120], positions[300]
    tried: list[str] = []
    detected: list[str] = []

    def expect(kind: str, problem: str, position: int) -> Verdict:
        tried.append(kind)
        verdict = verify_tenant(container, tenant_id)
        bad = verdict.first_bad
        if not verdict.intact and bad is not None and bad.problem == problem and bad.position == position:
            detected.append(kind)
        return verdict

    # 1. One event's stored state altered (one bit).
    row = db.row(p)
    db.set_row(p, row[2], flipped(bytes(row[3])))
    verdict = expect("altered", ALTERED, p)
    assert verdict.first_bad is not None
    assert verdict.first_bad.aggregate_id == str(UUID(str(row[0])))
    assert verdict.first_bad.version == row[1]
    assert verdict.first_bad.event_type == row[2].rpartition(":")[2]
    assert verdict.verified_to == positions[119]
    code, output = cli_verify(backend)
    assert code == 1
    assert f"altered event at position {p}" in output
    db.set_row(p, row[2], bytes(row[3]))
    assert verify_tenant(container, tenant_id).intact

    # 2. One event row deleted.
    db.delete(p)
    expect("deleted", MISSING, p)
    db.insert(p, row)
    assert verify_tenant(container, tenant_id).intact

    # 3. Two events swapped (content moved between positions).
    other = db.row(q)
    assert (row[2], bytes(row[3])) != (other[2], bytes(other[3]))
    db.set_row(p, other[2], bytes(other[3]))
    db.set_row(q, row[2], bytes(row[3]))
    expect("reordered", ALTERED, p)
    db.set_row(p, row[2], bytes(row[3]))
    db.set_row(q, other[2], bytes(other[3]))
    assert verify_tenant(container, tenant_id).intact

    # 4. Two whole rows swapped and every digest from the first on recomputed to match: each
    # state still opens as its own event, and the anchor catches it. (A state altered instead no
    # longer decodes, and is named as such.)
    db.delete(p)
    db.delete(q)
    db.insert(p, other)
    db.insert(q, row)
    digest = genesis(tenant_id)
    forged: list[ChainLink] = []
    for position, oid, version, topic, state in db.rows():
        digest = chain_digest(digest, position, UUID(str(oid)), version, topic, bytes(state))
        forged.append(ChainLink(position, digest))
    db.set_links(forged)
    verdict = expect("rewritten with its digests", ANCHOR, positions[-1])
    assert verdict.first_bad is not None
    assert verdict.first_bad.after_anchor == 0
    assert verdict.verified_to == positions[-1]  # the forged links agree with the rows
    db.delete(p)
    db.delete(q)
    db.insert(p, row)
    db.insert(q, other)
    db.set_links(links)
    assert verify_tenant(container, tenant_id).intact

    print(
        f"tamper cases detected / tried ({'postgres' if backend.uses_postgres else 'sqlite'}): "
        f"{len(detected)}/{len(tried)}"
    )
    assert detected == tried

    # The export written before tampering verifies offline; edited afterwards, it does not.
    done = run_script(export)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(positions)} events verified" in done.stdout
    lines = export.read_text().splitlines()
    edited = json.loads(lines[200])
    edited["originator_version"] += 1
    lines[200] = json.dumps(edited)
    export.write_text("\n".join(lines) + "\n")
    done = run_script(export)
    assert done.returncode == 1
    assert done.stdout.startswith(f"line 201: position {edited['position']}")


def test_the_projector_chains_new_events_and_anchors_the_head(
    seeded: tuple[Container, UUID, Database],
) -> None:
    container, tenant_id, db = seeded
    runner = container.projections
    runner.anchor = lambda tenant, position, digest: anchor_head(container.control, tenant, position, digest)
    runner.anchor_seconds = 300.0

    def add_unit(name: str) -> None:
        provenance = system_provenance("AddUnit", tenant_id=tenant_id)
        container.tenants.call(tenant_id, lambda app: commanding.add_unit(app, tenant_id, name, provenance))
        runner.catch_up_now(tenant_id)

    add_unit("Ny enhed")
    head = db.links()[-1]
    assert head.position == db.rows()[-1][0]
    assert [(a.position, a.digest) for a in container.control.chain_anchors(tenant_id)] == [
        (head.position, head.digest.hex())
    ]
    add_unit("Endnu en enhed")  # within anchor_seconds: not anchored again
    assert len(container.control.chain_anchors(tenant_id)) == 1
    verdict = verify_tenant(container, tenant_id, anchor=False)
    assert verdict.intact, verdict.summary()
    assert verdict.pending == 0
    assert verdict.anchors_checked == 1

    # Views projected without a chain (it was lost, or predates it) are chained from the start
    # with the next batch, in the same transaction.
    before = db.links()
    db.execute_links("DELETE FROM event_chain", ())
    assert verify_tenant(container, tenant_id, anchor=False).pending == len(before)
    add_unit("Tredje enhed")
    after = db.links()
    assert after[: len(before)] == before
    assert len(after) == len(before) + 1
    assert verify_tenant(container, tenant_id, anchor=False).intact
