"""The per-tenant application service: load an aggregate, call one method, save.

One instance per tenant (client organisation), each over the tenant's own event store.
Blocking: call it off the event loop (services.offloop).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date
from typing import Any, ClassVar, TypeVar, cast
from uuid import UUID, uuid5

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from domain.access_log import AccessLog, month_of
from domain.agreements import CheckInStatus
from domain.engagement import AgreementDraft, Engagement, Preparation, ProposalDraft
from domain.errors import NotFound
from domain.instrument import InstrumentVersion
from domain.members import MemberRoster
from domain.organisation import Organisation
from domain.phases import Phase
from domain.proposals import ProposalStatus
from domain.provenance import Provenance
from domain.ratings import RatingMode
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


def outcome_drafts(
    provenance: Provenance, agreements: tuple[tuple[str, bool], ...], proposals: tuple[str, ...]
) -> tuple[tuple[AgreementDraft, ...], tuple[ProposalDraft, ...]]:
    """Agreements (text, needs acceptance) and proposals with ids derived from the command."""
    return (
        tuple(
            AgreementDraft(derived_id(provenance, f"agreement-{i}"), text, needs)
            for i, (text, needs) in enumerate(agreements)
        ),
        tuple(
            ProposalDraft(derived_id(provenance, f"proposal-{i}"), text) for i, text in enumerate(proposals)
        ),
    )


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

    def _change(
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

    def _on_engagement(
        self,
        engagement_id: UUID,
        act: Callable[[Engagement], object],
        expected_version: int | None,
        provenance: Provenance,
        recorded_as: tuple[UUID, ...] = (),
    ) -> int:
        return self._change(
            engagement_id,
            lambda: self.engagement(engagement_id),
            act,
            expected_version,
            provenance,
            recorded_as,
        )

    def _on_organisation(
        self,
        tenant_id: UUID,
        act: Callable[[Organisation], object],
        expected_version: int | None,
        provenance: Provenance,
    ) -> int:
        organisation_id = Organisation.id_for(tenant_id)
        return self._change(
            organisation_id, lambda: self.organisation(tenant_id), act, expected_version, provenance
        )

    # -- the organisation ------------------------------------------------------------------

    def establish_organisation(self, tenant_id: UUID, name: str, provenance: Provenance) -> UUID:
        """Start the record of a client organisation's units (once per tenant)."""
        try:
            self.save(Organisation(tenant_id=tenant_id, name=name, provenance=provenance))
        except IntegrityError:
            from domain.errors import AlreadyExists

            raise AlreadyExists("organisation_established") from None
        return Organisation.id_for(tenant_id)

    def add_unit(
        self, tenant_id: UUID, name: str, provenance: Provenance, expected_version: int | None = None
    ) -> UUID:
        unit_id = derived_id(provenance, "unit")
        self._on_organisation(
            tenant_id, lambda org: org.add_unit(unit_id, name, provenance), expected_version, provenance
        )
        return unit_id

    def rename_unit(
        self,
        tenant_id: UUID,
        unit_id: UUID,
        name: str,
        provenance: Provenance,
        expected_version: int | None = None,
    ) -> int:
        return self._on_organisation(
            tenant_id, lambda org: org.rename_unit(unit_id, name, provenance), expected_version, provenance
        )

    def merge_units(
        self,
        tenant_id: UUID,
        unit_ids: tuple[UUID, ...],
        name: str,
        provenance: Provenance,
        expected_version: int | None = None,
    ) -> UUID:
        into = derived_id(provenance, "merged-unit")
        self._on_organisation(
            tenant_id,
            lambda org: org.merge_units(unit_ids, into, name, provenance),
            expected_version,
            provenance,
        )
        return into

    def split_unit(
        self,
        tenant_id: UUID,
        unit_id: UUID,
        names: tuple[str, ...],
        provenance: Provenance,
        expected_version: int | None = None,
    ) -> tuple[UUID, ...]:
        into = tuple((derived_id(provenance, f"split-unit-{i}"), n) for i, n in enumerate(names))
        self._on_organisation(
            tenant_id, lambda org: org.split_unit(unit_id, into, provenance), expected_version, provenance
        )
        return tuple(new_id for new_id, _ in into)

    def retire_unit(
        self, tenant_id: UUID, unit_id: UUID, provenance: Provenance, expected_version: int | None = None
    ) -> int:
        return self._on_organisation(
            tenant_id, lambda org: org.retire_unit(unit_id, provenance), expected_version, provenance
        )

    # -- preparing and running an engagement -------------------------------------------------

    def prepare_engagement(
        self,
        tenant_id: UUID,
        preparation: Preparation,
        unit_ids: tuple[UUID, ...],
        instrument: InstrumentVersion,
        rating_mode: RatingMode,
        min_group_size: int,
        rounds: int,
        provenance: Provenance,
    ) -> UUID:
        """The preparatory meeting: the engagement is recorded together with its place in the
        organisation's history, in one atomic save."""
        engagement_id = derived_id(provenance, "engagement")
        for _ in range(RETRIES_ON_CONFLICT):
            organisation = self.organisation(tenant_id)
            if engagement_id in organisation.engagements:
                return engagement_id
            engagement = Engagement.prepare(
                engagement_id,
                preparation,
                unit_ids,
                instrument,
                rating_mode,
                min_group_size,
                rounds,
                provenance,
            )
            organisation.register_engagement(engagement_id, preparation.title, unit_ids, provenance)
            try:
                self.save(organisation, engagement)
            except IntegrityError:
                CONFLICT_RETRIES.labels("command").inc()
                continue
            return engagement_id
        raise ConcurrentModification("too_many_concurrent_changes")

    def revise_preparation(
        self,
        engagement_id: UUID,
        preparation: Preparation,
        provenance: Provenance,
        expected_version: int | None,
    ) -> int:
        return self._on_engagement(
            engagement_id,
            lambda e: e.revise_preparation(preparation, provenance),
            expected_version,
            provenance,
        )

    def advance_phase(
        self,
        engagement_id: UUID,
        expected_phase: Phase,
        provenance: Provenance,
        expected_version: int | None = None,
    ) -> int:
        return self._on_engagement(
            engagement_id, lambda e: e.advance(expected_phase, provenance), expected_version, provenance
        )

    def move_phase_back(
        self,
        engagement_id: UUID,
        expected_phase: Phase,
        reason: str,
        provenance: Provenance,
        expected_version: int | None = None,
    ) -> int:
        return self._on_engagement(
            engagement_id,
            lambda e: e.move_back(expected_phase, reason, provenance),
            expected_version,
            provenance,
        )

    def set_rounds(
        self, engagement_id: UUID, rounds: int, provenance: Provenance, expected_version: int | None = None
    ) -> int:
        return self._on_engagement(
            engagement_id, lambda e: e.set_rounds(rounds, provenance), expected_version, provenance
        )

    def map_relations(
        self,
        engagement_id: UUID,
        unit_id: UUID,
        counterpart_ids: tuple[UUID, ...],
        provenance: Provenance,
        expected_version: int | None = None,
    ) -> int:
        return self._on_engagement(
            engagement_id,
            lambda e: e.map_relations(unit_id, counterpart_ids, provenance),
            expected_version,
            provenance,
        )

    def submit_rating(
        self,
        engagement_id: UUID,
        unit_id: UUID,
        counterpart_id: UUID,
        scores: Mapping[str, int],
        provenance: Provenance,
        expected_version: int | None = None,
    ) -> UUID:
        """Record a rating. In an engagement with individual ratings the rater is recorded only
        as a pseudonym local to the engagement (so a new rating replaces their earlier one), and
        the event names an anonymous participant as its actor."""
        rating_id = derived_id(provenance, "rating")
        anonymous_command = uuid5(rating_id, "command")

        def act(engagement: Engagement) -> None:
            rater, acting = None, provenance
            if engagement.rating_mode is RatingMode.INDIVIDUAL:
                rater = self.pseudonym(engagement_id, provenance.actor_id, engagement)
                # Nothing in the record may lead back to the person: not the actor, not the
                # command (derived from user and key), not the request.
                acting = replace(
                    provenance,
                    actor_id=uuid5(engagement_id, "anonymous participant"),
                    command_id=anonymous_command,
                    correlation_id="withheld",
                )
            engagement.submit_rating(rating_id, unit_id, counterpart_id, scores, rater, acting)

        self._on_engagement(engagement_id, act, expected_version, provenance, (anonymous_command,))
        return rating_id

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

    def send_card(
        self,
        engagement_id: UUID,
        from_unit: UUID,
        to_unit: UUID,
        topic: str,
        reason: str,
        hoped_outcome: str,
        motivating_rating_id: UUID | None,
        provenance: Provenance,
        expected_version: int | None = None,
    ) -> UUID:
        card_id = derived_id(provenance, "dance-card")
        self._on_engagement(
            engagement_id,
            lambda e: e.send_card(
                card_id, from_unit, to_unit, topic, reason, hoped_outcome, motivating_rating_id, provenance
            ),
            expected_version,
            provenance,
        )
        return card_id

    def accept_card(
        self,
        engagement_id: UUID,
        card_id: UUID,
        by_unit: UUID,
        provenance: Provenance,
        expected_version: int | None = None,
    ) -> int:
        return self._on_engagement(
            engagement_id, lambda e: e.accept_card(card_id, by_unit, provenance), expected_version, provenance
        )

    def decline_card(
        self,
        engagement_id: UUID,
        card_id: UUID,
        by_unit: UUID,
        reason: str,
        provenance: Provenance,
        expected_version: int | None = None,
    ) -> int:
        return self._on_engagement(
            engagement_id,
            lambda e: e.decline_card(card_id, by_unit, reason, provenance),
            expected_version,
            provenance,
        )

    def withdraw_card(
        self,
        engagement_id: UUID,
        card_id: UUID,
        by_unit: UUID,
        provenance: Provenance,
        expected_version: int | None = None,
    ) -> int:
        return self._on_engagement(
            engagement_id,
            lambda e: e.withdraw_card(card_id, by_unit, provenance),
            expected_version,
            provenance,
        )

    def schedule_dialogues(
        self, engagement_id: UUID, provenance: Provenance, expected_version: int | None = None
    ) -> int:
        return self._on_engagement(
            engagement_id, lambda e: e.schedule_dialogues(provenance), expected_version, provenance
        )

    def move_dialogue(
        self,
        engagement_id: UUID,
        card_id: UUID,
        round: int | None,
        provenance: Provenance,
        expected_version: int | None = None,
    ) -> int:
        return self._on_engagement(
            engagement_id, lambda e: e.move_dialogue(card_id, round, provenance), expected_version, provenance
        )

    def redact_participant(
        self,
        engagement_id: UUID,
        name: str,
        provenance: Provenance,
        expected_version: int | None = None,
    ) -> int:
        """Erase a participant's name from the engagement's dialogues; how many places."""
        places = 0

        def redact(engagement: Engagement) -> None:
            nonlocal places
            places = engagement.redact_participant(name, provenance)

        self._on_engagement(engagement_id, redact, expected_version, provenance)
        return places

    def hold_dialogue(
        self,
        engagement_id: UUID,
        card_id: UUID,
        notes: str,
        participants: tuple[str, ...],
        agreements: tuple[tuple[str, bool], ...],
        proposals: tuple[str, ...],
        provenance: Provenance,
        expected_version: int | None = None,
    ) -> tuple[UUID, tuple[UUID, ...], tuple[UUID, ...]]:
        dialogue_id = derived_id(provenance, "dialogue")
        agreement_drafts, proposal_drafts = outcome_drafts(provenance, agreements, proposals)
        self._on_engagement(
            engagement_id,
            lambda e: e.hold_dialogue(
                dialogue_id, card_id, notes, participants, agreement_drafts, proposal_drafts, provenance
            ),
            expected_version,
            provenance,
        )
        return (
            dialogue_id,
            tuple(a.agreement_id for a in agreement_drafts),
            tuple(p.proposal_id for p in proposal_drafts),
        )

    def add_outcomes(
        self,
        engagement_id: UUID,
        dialogue_id: UUID,
        agreements: tuple[tuple[str, bool], ...],
        proposals: tuple[str, ...],
        provenance: Provenance,
        expected_version: int | None = None,
    ) -> tuple[tuple[UUID, ...], tuple[UUID, ...]]:
        agreement_drafts, proposal_drafts = outcome_drafts(provenance, agreements, proposals)
        self._on_engagement(
            engagement_id,
            lambda e: e.add_outcomes(dialogue_id, agreement_drafts, proposal_drafts, provenance),
            expected_version,
            provenance,
        )
        return tuple(a.agreement_id for a in agreement_drafts), tuple(p.proposal_id for p in proposal_drafts)

    def wrap_up(
        self,
        engagement_id: UUID,
        unit_id: UUID,
        summary: str,
        inputs: tuple[str, ...],
        provenance: Provenance,
        expected_version: int | None = None,
    ) -> int:
        return self._on_engagement(
            engagement_id,
            lambda e: e.wrap_up(unit_id, summary, inputs, provenance),
            expected_version,
            provenance,
        )

    def hold_closing_plenary(
        self, engagement_id: UUID, notes: str, provenance: Provenance, expected_version: int | None = None
    ) -> int:
        return self._on_engagement(
            engagement_id, lambda e: e.hold_closing_plenary(notes, provenance), expected_version, provenance
        )

    # -- follow-up meeting and afterwards --------------------------------------------------

    def decide_agreement(
        self,
        engagement_id: UUID,
        agreement_id: UUID,
        accepted: bool,
        rationale: str,
        decided_by: str,
        provenance: Provenance,
        expected_version: int | None = None,
    ) -> int:
        return self._on_engagement(
            engagement_id,
            lambda e: e.decide_agreement(agreement_id, accepted, rationale, decided_by, provenance),
            expected_version,
            provenance,
        )

    def decide_proposal(
        self,
        engagement_id: UUID,
        proposal_id: UUID,
        outcome: ProposalStatus,
        rationale: str,
        decided_by: str,
        provenance: Provenance,
        deferred_until: date | None = None,
        owner: str | None = None,
        due: date | None = None,
        expected_version: int | None = None,
    ) -> int:
        return self._on_engagement(
            engagement_id,
            lambda e: e.decide_proposal(
                proposal_id,
                outcome,
                rationale,
                decided_by,
                provenance,
                deferred_until=deferred_until,
                owner=owner,
                due=due,
            ),
            expected_version,
            provenance,
        )

    def check_in(
        self,
        engagement_id: UUID,
        agreement_id: UUID,
        status: CheckInStatus,
        note: str,
        provenance: Provenance,
        expected_version: int | None = None,
        evidence: str = "",
    ) -> UUID:
        check_in_id = derived_id(provenance, "check-in")
        self._on_engagement(
            engagement_id,
            lambda e: e.check_in(check_in_id, agreement_id, status, note, provenance, evidence),
            expected_version,
            provenance,
        )
        return check_in_id

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
