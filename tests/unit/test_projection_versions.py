"""Which stored views count as written by an earlier projection version (projections/versions.py)."""

from __future__ import annotations

from projections.versions import PROJECTION_VERSIONS, outdated


def test_views_stamped_with_this_codes_versions_are_current() -> None:
    assert not outdated(dict(PROJECTION_VERSIONS))


def test_views_without_a_version_count_as_version_one_and_are_rebuilt() -> None:
    assert outdated({})


def test_views_one_projection_behind_are_rebuilt() -> None:
    assert outdated({**PROJECTION_VERSIONS, "documents": PROJECTION_VERSIONS["documents"] - 1})


def test_views_of_a_later_release_are_left_as_they_are() -> None:
    assert not outdated({name: version + 1 for name, version in PROJECTION_VERSIONS.items()})
