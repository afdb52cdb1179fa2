"""Rows that upsert, merged before one statement moves them: the row the same upserts one
after another would have left (projections/postgres_rows.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from projections.postgres_rows import merged


def upserted_one_by_one(rows: list[tuple[str, ...]], kept_from_first: int) -> dict[str, tuple[str, ...]]:
    """What `INSERT … ON CONFLICT (first column) DO UPDATE SET <the other columns after
    `kept_from_first`>` does, row by row."""
    table: dict[str, tuple[str, ...]] = {}
    for row in rows:
        old = table.get(row[0])
        table[row[0]] = row if old is None else (*old[:kept_from_first], *row[kept_from_first:])
    return table


def test_a_node_seen_twice_keeps_its_kind_from_the_first_and_its_label_from_the_last() -> None:
    rows = [
        ("agreement:1", "agreement", "e1", "proposed", "p1"),
        ("card:7", "card", "e1", "sent", "p2"),
        ("agreement:1", "other", "e2", "accepted", "p3"),
    ]

    assert merged(rows, kept_from_first=3) == [
        ("agreement:1", "agreement", "e1", "accepted", "p3"),
        ("card:7", "card", "e1", "sent", "p2"),
    ]


@given(
    st.lists(
        st.tuples(st.sampled_from("abcd"), st.text(max_size=2), st.text(max_size=2), st.text(max_size=2)),
        max_size=12,
    ),
    st.integers(min_value=1, max_value=4),
)
def test_merging_gives_what_the_upserts_one_by_one_give(rows: list[tuple[str, ...]], kept: int) -> None:
    result = merged(rows, kept_from_first=kept)

    assert {row[0]: tuple(row) for row in result} == upserted_one_by_one(rows, kept)
    assert len(result) == len({row[0] for row in rows})
