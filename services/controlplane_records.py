"""What the control plane keeps for the tenants' engagements and stores, apart from who the
tenants and people are: the rating instruments engagements pin, the join codes that let a unit's
table in, and the anchors of each tenant's hash chain kept outside its own store.

`ControlPlane` (`services/controlplane.py`) adds tenants, users, memberships and invitations.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar
from uuid import UUID

import msgspec
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from domain.chain_anchor import ChainAnchor, ChainAnchors
from domain.default_instrument import DEFAULT_INSTRUMENT, DEFAULT_INSTRUMENT_ID
from domain.errors import AlreadyExists, InvariantViolated, NotFound
from domain.instrument import Dimension, Instrument, InstrumentVersion, StrengthBand
from domain.instrument_directory import INSTRUMENT_DIRECTORY_ID, InstrumentDirectory, checked_instrument_name
from domain.join_code import JoinCode, JoinCodeRoster
from domain.personal_codes import DRAWS_PER_SLIP, PersonalCodes
from domain.provenance import Provenance
from domain.ratings import RatingMode
from domain.tenant import Tenant
from services.persistence.base import BalkortApplication

A = TypeVar("A")


class InstrumentSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A rating instrument as listed on the platform, with its latest version number."""

    id: UUID
    name: str
    latest_version: int
    built_in: bool


# Saves that touch the instrument directory retry this often when another save got there first.
INSTRUMENT_SAVE_ATTEMPTS = 3
# Anchoring a tenant's chain head retries this often when another process anchored meanwhile.
ANCHOR_SAVE_ATTEMPTS = 3
# Issuing a join code retries this often when another code of the engagement was issued meanwhile.
ROSTER_SAVE_ATTEMPTS = 5


class PlatformRecords(BalkortApplication):
    """The instruments, join codes and chain anchors of the platform store, and how it reads an
    aggregate by id. Every method blocks on the event store; async callers run them through
    `OffLoop`."""

    # Instruments

    def create_instrument(
        self,
        name: str,
        scale_min: int,
        scale_max: int,
        dimensions: tuple[Dimension, ...],
        bands: tuple[StrengthBand, ...],
        provenance: Provenance,
    ) -> InstrumentVersion:
        """Loads a new instrument and publishes its version 1, listed under a unique name.

        Raises AlreadyExists when the name is taken (in any case) and InvariantViolated for a
        malformed version. The id follows from the command id, so a replayed command returns
        the version it published the first time instead of creating a second instrument.
        """
        instrument_id = Instrument.create_id(provenance)
        for _ in range(INSTRUMENT_SAVE_ATTEMPTS):
            if self._exists(instrument_id):
                return self._get(
                    Instrument, instrument_id, NotFound("no_instrument", instrument=str(instrument_id))
                ).versions[0]
            directory = self._instrument_directory(provenance)
            instrument = Instrument(name=checked_instrument_name(name), provenance=provenance)
            published = instrument.publish(scale_min, scale_max, dimensions, bands, provenance)
            directory.add(instrument.id, instrument.name, provenance)
            directory.note_version(instrument.id, published.version, provenance)
            try:
                self.save(directory, instrument)
            except IntegrityError:
                continue
            return published
        raise IntegrityError("the instrument directory kept changing; try again")

    def publish_instrument_version(
        self,
        instrument_id: UUID,
        scale_min: int,
        scale_max: int,
        dimensions: tuple[Dimension, ...],
        bands: tuple[StrengthBand, ...],
        provenance: Provenance,
    ) -> InstrumentVersion:
        """Publishes the next version of a loaded instrument; engagements keep the version they pinned.

        Raises NotFound for an unknown instrument, InvariantViolated for a malformed version
        or for the built-in instrument, which never changes (load a new instrument instead).
        """
        if instrument_id == DEFAULT_INSTRUMENT_ID:
            raise InvariantViolated(
                "builtin_instrument_unchanging",
                state=f"instrument {instrument_id} version {DEFAULT_INSTRUMENT.version}",
            )
        for _ in range(INSTRUMENT_SAVE_ATTEMPTS):
            instrument = self._get(
                Instrument, instrument_id, NotFound("no_instrument", instrument=str(instrument_id))
            )
            directory = self._instrument_directory(provenance)
            published = instrument.publish(scale_min, scale_max, dimensions, bands, provenance)
            directory.note_version(instrument_id, published.version, provenance)
            try:
                self.save(instrument, directory)
            except IntegrityError:
                continue
            return published
        raise IntegrityError(f"instrument {instrument_id} kept changing; try again")

    def instruments(self) -> list[InstrumentSummary]:
        """Every instrument: the built-in one first, then the loaded ones by name."""
        built_in = InstrumentSummary(
            id=DEFAULT_INSTRUMENT_ID,
            name=DEFAULT_INSTRUMENT.name,
            latest_version=DEFAULT_INSTRUMENT.version,
            built_in=True,
        )
        loaded = [
            InstrumentSummary(id=iid, name=name, latest_version=latest, built_in=False)
            for iid, (name, latest) in self._instrument_directory_state().items()
        ]
        return [built_in, *sorted(loaded, key=lambda i: (i.name.casefold(), str(i.id)))]

    def instrument_versions(self, instrument_id: UUID) -> list[InstrumentVersion]:
        """Every published version of one instrument, oldest first; raises NotFound."""
        if instrument_id == DEFAULT_INSTRUMENT_ID:
            return [DEFAULT_INSTRUMENT]
        return list(
            self._get(
                Instrument, instrument_id, NotFound("no_instrument", instrument=str(instrument_id))
            ).versions
        )

    def instrument_version(self, instrument_id: UUID, version: int | None = None) -> InstrumentVersion:
        """One version of an instrument (the latest when `version` is None); raises NotFound.

        The built-in instrument resolves without reading the store.
        """
        if instrument_id == DEFAULT_INSTRUMENT_ID:
            versions = [DEFAULT_INSTRUMENT]
        else:
            versions = self._get(
                Instrument, instrument_id, NotFound("no_instrument", instrument=str(instrument_id))
            ).versions
        if version is None and versions:
            return versions[-1]
        for candidate in versions:
            if candidate.version == version:
                return candidate
        raise NotFound("no_instrument_version", instrument=str(instrument_id), version=str(version))

    # Join codes

    def issue_join_code(
        self,
        tenant_id: UUID,
        engagement_id: UUID,
        unit_id: UUID,
        digest: str,
        expires_at: datetime,
        provenance: Provenance,
    ) -> JoinCode:
        """Records a join code for one unit of one engagement, by its digest (the code itself is
        never stored), and lists it with the engagement's codes. Raises AlreadyExists when the
        digest is known (a code drawn twice: draw again) and InvariantViolated for a past expiry."""
        self._get(Tenant, tenant_id, NotFound("no_tenant", tenant=str(tenant_id)))
        if self._exists(JoinCode.create_id(digest)):
            raise AlreadyExists("join_code_issued")
        roster_id = JoinCodeRoster.create_id(tenant_id, engagement_id)
        for _ in range(ROSTER_SAVE_ATTEMPTS):
            try:
                roster: JoinCodeRoster = self.repository.get(roster_id)
            except AggregateNotFoundError:
                roster = JoinCodeRoster.open(tenant_id, engagement_id, provenance)
            code = JoinCode.issue(tenant_id, engagement_id, unit_id, digest, expires_at, provenance)
            roster.add(code, provenance)
            try:
                self.save(code, roster)
            except IntegrityError:
                continue
            return code
        raise IntegrityError(f"the join codes of engagement {engagement_id} kept changing; try again")

    def join_code(self, code_id: UUID) -> JoinCode:
        """One join code; raises NotFound."""
        return self._get(JoinCode, code_id, NotFound("no_such_join_code", code=str(code_id)))

    def join_codes(self, tenant_id: UUID, engagement_id: UUID, unit_id: UUID) -> list[JoinCode]:
        """The join codes issued for one unit of one engagement, oldest first."""
        try:
            roster: JoinCodeRoster = self.repository.get(JoinCodeRoster.create_id(tenant_id, engagement_id))
        except AggregateNotFoundError:
            return []
        return [self.join_code(code_id) for code_id in roster.codes_of(unit_id)]

    def revoke_join_code(self, code_id: UUID, provenance: Provenance) -> JoinCode:
        """Stops a join code from letting anyone in, including tokens it gave out already."""
        code = self.join_code(code_id)
        code.revoke(provenance)
        self.save(code)
        return code

    # Personal codes: a join code per person of a unit (domain/personal_codes.py)

    def issue_personal_codes(
        self,
        tenant_id: UUID,
        engagement_id: UUID,
        unit_id: UUID,
        rating_mode: RatingMode,
        people: int,
        digest_for: Callable[[UUID, int, int], str],
        expires_at: datetime,
        provenance: Provenance,
    ) -> tuple[PersonalCodes, tuple[int, ...]]:
        """Records a join code for each of `people` slips and adds them to the unit's personal
        codes (the first batch, or an extension), all in one save: there are never codes without
        their batch, nor a batch counting codes that do not exist. `digest_for(batch id, slip,
        draw)` gives the digest of a slip's derived code. The batch and its slips' numbers; for a
        command that issued here before (a retried request), those it issued then, recording
        nothing new. Raises InvariantViolated for a unit that rates together, a count out of
        bounds or a command sent again for another count."""
        self._get(Tenant, tenant_id, NotFound("no_tenant", tenant=str(tenant_id)))
        codes_id = PersonalCodes.create_id(tenant_id, engagement_id, unit_id)
        batch_id = PersonalCodes.batch_id(codes_id, provenance.command_id)
        for _ in range(ROSTER_SAVE_ATTEMPTS):
            try:
                batch: PersonalCodes | None = self.repository.get(codes_id)
            except AggregateNotFoundError:
                batch = None
            if batch is not None:
                issued = batch.slips_issued_by(provenance.command_id, people)
                if issued is not None:
                    return batch, issued
            first = 1 if batch is None else len(batch.slips) + 1
            numbers = tuple(range(first, first + people))
            codes = [
                JoinCode.issue(tenant_id, engagement_id, unit_id, digest, expires_at, provenance)
                for digest in self._fresh_digests(batch_id, numbers, digest_for)
            ]
            code_ids = tuple(code.id for code in codes)
            if batch is None:
                batch = PersonalCodes.issue(
                    tenant_id, engagement_id, unit_id, rating_mode, code_ids, expires_at, provenance
                )
            else:
                batch.extend(rating_mode, code_ids, expires_at, provenance)
            try:
                self.save(batch, *codes)
            except IntegrityError:
                continue
            return batch, numbers
        raise IntegrityError(f"the personal codes of unit {unit_id} kept changing; try again")

    def _fresh_digests(
        self, batch_id: UUID, numbers: tuple[int, ...], digest_for: Callable[[UUID, int, int], str]
    ) -> list[str]:
        """A digest per slip, of its first derived code not issued before."""
        chosen: list[str] = []
        for slip in numbers:
            for draw in range(DRAWS_PER_SLIP):
                digest = digest_for(batch_id, slip, draw)
                if digest not in chosen and not self._exists(JoinCode.create_id(digest)):
                    chosen.append(digest)
                    break
            else:
                raise AlreadyExists("join_code_issued")
        return chosen

    def personal_codes(self, tenant_id: UUID, engagement_id: UUID, unit_id: UUID) -> PersonalCodes | None:
        """The unit's personal codes in the engagement; None before any were issued."""
        try:
            found: PersonalCodes = self.repository.get(
                PersonalCodes.create_id(tenant_id, engagement_id, unit_id)
            )
        except AggregateNotFoundError:
            return None
        return found

    def revoke_personal_codes(
        self, tenant_id: UUID, engagement_id: UUID, unit_id: UUID, slip: int | None, provenance: Provenance
    ) -> tuple[PersonalCodes, tuple[UUID, ...]]:
        """Revokes one slip's code (`slip`), or every slip still usable (None), with the join
        codes themselves, in one save; the batch and the ids of the codes revoked now."""
        batch = self.personal_codes(tenant_id, engagement_id, unit_id)
        if batch is None:
            raise NotFound("no_personal_codes")
        if slip is None:
            revoked = batch.revoke_all(provenance)
        else:
            one = batch.revoke_slip(slip, provenance)
            revoked = () if one is None else (one,)
        codes = [self.join_code(code_id) for code_id in revoked]
        for code in codes:
            code.revoke(provenance)
        self.save(batch, *codes)
        return batch, revoked

    # Hash-chain anchors

    def record_chain_head(self, tenant_id: UUID, position: int, digest: str, provenance: Provenance) -> bool:
        """Anchors a tenant's hash-chain head (digest as hex) here, outside the tenant's store.
        False when there was nothing new to anchor; raises InvariantViolated when `position`
        was anchored with another digest (the tenant's events changed since)."""
        anchors_id = ChainAnchors.create_id(tenant_id)
        for _ in range(ANCHOR_SAVE_ATTEMPTS):
            try:
                anchors: ChainAnchors = self.repository.get(anchors_id)
            except AggregateNotFoundError:
                anchors = ChainAnchors.open(tenant_id, provenance)
            if not anchors.record(position, digest, provenance):
                return False
            try:
                self.save(anchors)
            except IntegrityError:
                continue
            return True
        raise IntegrityError(f"the chain anchors of tenant {tenant_id} kept changing; try again")

    def chain_anchors(self, tenant_id: UUID) -> list[ChainAnchor]:
        """A tenant's anchored chain heads, in position order (none anchored yet: empty)."""
        try:
            anchors: ChainAnchors = self.repository.get(ChainAnchors.create_id(tenant_id))
        except AggregateNotFoundError:
            return []
        return list(anchors.anchors)

    def _instrument_directory(self, provenance: Provenance) -> InstrumentDirectory:
        try:
            directory: InstrumentDirectory = self.repository.get(INSTRUMENT_DIRECTORY_ID)
        except AggregateNotFoundError:
            return InstrumentDirectory(provenance=provenance)
        return directory

    def _instrument_directory_state(self) -> dict[UUID, tuple[str, int]]:
        try:
            directory: InstrumentDirectory = self.repository.get(INSTRUMENT_DIRECTORY_ID)
        except AggregateNotFoundError:
            return {}
        return directory.instruments()

    def _exists(self, aggregate_id: UUID) -> bool:
        try:
            self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return False
        return True

    def _get(self, kind: type[A], aggregate_id: UUID, missing: NotFound) -> A:
        try:
            aggregate: object = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise missing from None
        if not isinstance(aggregate, kind):
            raise missing
        return aggregate
