"""What a dialogue produces, as written down before it is recorded: agreements and proposals."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from uuid import UUID

from domain.errors import AlreadyExists
from domain.text import required_text


@dataclass(frozen=True)
class AgreementDraft:
    agreement_id: UUID
    text: str
    needs_acceptance: bool


@dataclass(frozen=True)
class ProposalDraft:
    proposal_id: UUID
    text: str


def check_new_outcomes(
    agreements: tuple[AgreementDraft, ...], proposals: tuple[ProposalDraft, ...], taken: Collection[UUID]
) -> None:
    """Each draft has an id of its own, none of them `taken` already, and a text."""
    ids = [a.agreement_id for a in agreements] + [p.proposal_id for p in proposals]
    if len(set(ids)) != len(ids) or any(i in taken for i in ids):
        raise AlreadyExists("outcome_ids_taken")
    for draft in agreements:
        required_text(draft.text, "agreement_text_empty")
    for proposal in proposals:
        required_text(proposal.text, "proposal_text_empty")
