"""Which version of each projection this code writes (docs/adr/0022).

Bump a projection's number when its fold or what it writes changes, so that views written by
an earlier release are rebuilt from the log rather than carried forward: the projector (the
worker or the in-process runner) meets a tenant whose stored versions are older, rebuilds its
views beside the live ones and swaps them in (projections/rebuild.py). Table shapes are not
versioned here: they change through a tenant migration (services/migrations.py).
"""

from __future__ import annotations

from collections.abc import Mapping

# documents 2: a relation shows a new aggregate only when its ratings are apart from those of
# every aggregate it showed before (anonymity across versions, docs/adr/0015).
# documents 3: every decision on an agreement or a proposal carries its own id (its lineage node's).
# documents 4: a unit's progress counts the individuals who have rated (personal codes, docs/adr/0032).
PROJECTION_VERSIONS: Mapping[str, int] = {"documents": 4, "audit": 1, "lineage": 1, "chain": 1}
# What views stored before versions were recorded count as.
UNVERSIONED = 1


def outdated(stored: Mapping[str, int]) -> bool:
    """True when views stamped `stored` were written by an earlier version of some projection.
    Views of a later release (one rolled back) are left as they are."""
    return any(stored.get(name, UNVERSIONED) < version for name, version in PROJECTION_VERSIONS.items())
