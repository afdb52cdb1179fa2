from __future__ import annotations


class DomainError(Exception):
    """A command broke a rule of the method. `rule` names it; `state` says what stands now."""

    rule: str = "domain_rule"

    def __init__(self, message: str, *, state: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.state = state


class NotFound(DomainError):
    rule = "not_found"


class Erased(NotFound):
    """It existed and was erased for good (a client organisation)."""

    rule = "erased"


class WrongPhase(DomainError):
    rule = "wrong_phase"


class InvariantViolated(DomainError):
    rule = "invariant"


class AlreadyExists(DomainError):
    rule = "already_exists"


class NotPermitted(DomainError):
    """The actor's role does not allow this change (who may change whose role: ADR 0017)."""

    rule = "not_permitted"
