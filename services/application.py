"""The per-tenant application service: load an aggregate, let it act, save; retried on a
concurrent write, and a command recorded already is recognised rather than done twice.

One instance per tenant (client organisation), each over the tenant's own event store.
Blocking: call it off the event loop (services.offloop). What each command does with the
aggregate is the use cases' (`services/usecases/`): their handlers act through `change`,
`on_engagement` and `on_organisation`.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar, cast
from uuid import UUID, uuid5

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from domain.access_log import AccessLog, month_of
from domain.engagement import Engagement
from domain.errors import NotFound
from domain.members import MemberRoster
from domain.organisation import Organisation
from domain.provenance import Provenance
from services.errors import ConcurrentModification
from services.observability.metrics import CONFLICT_RETRIES
from services.persistence.base import BalkortApplication
from services.persistence.env import EARLIER_PSEUDONYM_KEYS, PSEUDONYM_KEY, SNAPSHOT_INTERVAL
from services.working_copies import WorkingCopies

T = TypeVar("T")
AnyAggregate = TypeVar("AnyAggregate", Engagement, Organisation)

# Commands without an expected version are retried on a concurrent write: the aggregate
# re-checks its invariants against the newer state, so a retry is as safe as the first try.
RETRIES_ON_CONFLICT = 5


def derived_id(provenance: Provenance, label: str) -> UUID:
    """Ids of things a command creates derive from the command id, so a replayed command
    (same idempotency key) names the same thing instead of creating a second one."""
    return uuid5(provenance.command_id, label)


def _version_after(aggregate: Engagement | Organisation, command_ids: tuple[UUID, ...]) -> int | None:
    for command_id in command_ids:
        if (version := aggregate.version_after(command_id)) is not None:
            return version
    return None


class TenantApplication(BalkortApplication):
    snapshotting_intervals: ClassVar = {Engagement: 100, Organisation: 100}

    def __init__(self, env: dict[str, Any] | None = None) -> None:
        super().__init__(env)
        interval = int(self.env.get(SNAPSHOT_INTERVAL) or 100)
        # Per store rather than per class: the interval is a setting.
        self.snapshotting_intervals = {Engagement: interval, Organisation: interval}  # type: ignore[misc]
        self.working: WorkingCopies[Engagement | Organisation] = WorkingCopies()

    # -- loading ---------------------------------------------------------------------------

    def organisation(self, tenant_id: UUID) -> Organisation:
        """The client organisation and its units, as they stand now."""
        try:
            found: object = self.repository.get(Organisation.id_for(tenant_id))
        except AggregateNotFoundError:
            raise NotFound("organisation_not_established") from None
        if not isinstance(found, Organisation):
            raise NotFound("organisation_not_established")
        return found

    def engagement(self, engagement_id: UUID, version: int | None = None) -> Engagement:
        """An engagement as it stands now, or as it stood at a given version."""
        try:
            found: object = self.repository.get(engagement_id, version=version)
        except AggregateNotFoundError:
            raise NotFound("no_engagement", engagement=str(engagement_id)) from None
        if not isinstance(found, Engagement):
            raise NotFound("no_engagement", engagement=str(engagement_id))
        return found

    def _refresh(self, aggregate: AnyAggregate) -> AnyAggregate:
        """Bring a working copy up to date with what other processes saved since."""
        for event in self.events.get(originator_id=aggregate.id, gt=aggregate.version):
            aggregate = event.mutate(aggregate)  # type: ignore[attr-defined]
        return aggregate

    def change(
        self,
        aggregate_id: UUID,
        load: Callable[[], AnyAggregate],
        act: Callable[[AnyAggregate], object],
        expected_version: int | None,
        provenance: Provenance,
        recorded_as: tuple[UUID, ...] = (),
    ) -> int:
        """Act on the aggregate and save; the version it reached.

        A command the aggregate has recorded already (its command id, or one of `recorded_as`
        when the events carry a substitute) records nothing new and answers the version it
        reached then: a request retried after its first answer was lost (a dropped connection,
        a crashed process) is recognised rather than done twice or refused."""
        command_ids = (provenance.command_id, *recorded_as)
        for _ in range(RETRIES_ON_CONFLICT):
            try:
                with self.working.checkout(aggregate_id, load, self._refresh) as aggregate:  # type: ignore[arg-type]
                    recognised = _version_after(aggregate, command_ids)
                    if recognised is not None:
                        return recognised
                    if expected_version is not None and aggregate.version != expected_version:
                        raise ConcurrentModification(
                            "changed_since_version",
                            state=str(aggregate.version),
                            expected=expected_version,
                            now=aggregate.version,
                        )
                    act(aggregate)  # type: ignore[arg-type]
                    self.save(aggregate)
                    return aggregate.version
            except IntegrityError:
                # Another process saved first, perhaps this very command retried there; the copy
                # was discarded, so the next turn reloads and looks again.
                CONFLICT_RETRIES.labels("command").inc()
                continue
        raise ConcurrentModification("too_many_concurrent_changes")

    def on_engagement(
        self,
        engagement_id: UUID,
        act: Callable[[Engagement], object],
        expected_version: int | None,
        provenance: Provenance,
        recorded_as: tuple[UUID, ...] = (),
    ) -> int:
        return self.change(
            engagement_id,
            lambda: self.engagement(engagement_id),
            act,
            expected_version,
            provenance,
            recorded_as,
        )

    def on_organisation(
        self,
        tenant_id: UUID,
        act: Callable[[Organisation], object],
        expected_version: int | None,
        provenance: Provenance,
    ) -> int:
        organisation_id = Organisation.id_for(tenant_id)
        return self.change(
            organisation_id, lambda: self.organisation(tenant_id), act, expected_version, provenance
        )

    # -- raters ------------------------------------------------------------------------------

    def pseudonym(self, engagement_id: UUID, actor_id: UUID, engagement: Engagement | None = None) -> UUID:
        """Stable per engagement, not linkable across engagements or back to the user
        without the tenant's pseudonym key. A rater who already rated in the engagement under
        an earlier key keeps that pseudonym (ratings are stored under it, and a new rating must
        replace the earlier one)."""
        key = self.env.get(PSEUDONYM_KEY, "")
        if not key:
            raise RuntimeError("no pseudonym key configured for this tenant store")
        earlier = [k for k in self.env.get(EARLIER_PSEUDONYM_KEYS, "").split(",") if k]
        if earlier:
            engagement = engagement or self.engagement(engagement_id)
            raters = {r.rater for r in engagement.ratings.values()}
            for old_key in earlier:
                kept = _pseudonym_under(old_key, engagement_id, actor_id)
                if kept in raters:
                    return kept
        return _pseudonym_under(key, engagement_id, actor_id)

    # -- who holds which role ----------------------------------------------------------------

    def record_membership_change(
        self, tenant_id: UUID, act: Callable[[MemberRoster], T], provenance: Provenance
    ) -> T:
        """Let `act` decide and record a membership change on the tenant's member roster
        (opened on first use), then save it. Raises IntegrityError when another change was
        saved first: the caller reads the person's standing again and decides anew."""
        try:
            found: object = self.repository.get(MemberRoster.id_for(tenant_id))
        except AggregateNotFoundError:
            found = MemberRoster.open(tenant_id, provenance)
        if not isinstance(found, MemberRoster):
            raise TypeError(f"{MemberRoster.id_for(tenant_id)} is not a member roster")
        decided = act(found)
        self.save(found)
        return decided

    # -- what auditors looked at -----------------------------------------------------------

    def record_auditor_access(
        self, tenant_id: UUID, method: str, path: str, query: str, status: int, provenance: Provenance
    ) -> None:
        """Append an auditor's access to the tenant's access log of the month it happened in,
        opening that log on first use. Concurrent recorders retry; an access that cannot be
        recorded raises, it is never dropped quietly."""
        month = month_of(provenance.occurred_at)
        log_id = AccessLog.id_for(tenant_id, month)
        every = int(self.env.get(SNAPSHOT_INTERVAL) or 100)

        def load() -> AccessLog:
            try:
                found: object = self.repository.get(log_id)
            except AggregateNotFoundError:
                return AccessLog.open(tenant_id, month, provenance)
            if not isinstance(found, AccessLog):
                raise TypeError(f"{log_id} is not an access log")
            return found

        def refresh(log: AccessLog) -> AccessLog:
            for event in self.events.get(originator_id=log.id, gt=log.version):
                log = event.mutate(log)  # type: ignore[attr-defined]
            return log

        # A working copy beside the engagements': a busy month is replayed once per process,
        # not once per access.
        working = cast("WorkingCopies[AccessLog]", self.working)
        # Every process serving the tenant's auditors appends to the same log, and an access
        # that cannot be recorded is refused: more patience than for a command. Accesses do not
        # depend on each other, so a retry is always safe.
        for _ in range(RETRIES_ON_CONFLICT * 4):
            try:
                with working.checkout(log_id, load, refresh) as log:
                    log.record(method, path, query, status, provenance)
                    self.save(log)
                    accesses, version = log.accesses, log.version
            except IntegrityError:
                # Another process opened the log or appended first; the retry reloads it.
                CONFLICT_RETRIES.labels("access_log").inc()
                continue
            if accesses % every == 0:
                # The log's state is a count, so a snapshot is tiny; it spares a new process
                # the replay of the whole month.
                with contextlib.suppress(IntegrityError):
                    self.take_snapshot(log_id, version=version)
            return
        raise ConcurrentModification("too_many_concurrent_changes")


def _pseudonym_under(key: str, engagement_id: UUID, actor_id: UUID) -> UUID:
    digest = hmac.new(key.encode(), engagement_id.bytes + actor_id.bytes, hashlib.sha256).hexdigest()
    return uuid5(engagement_id, digest)
