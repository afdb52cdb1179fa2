"""The domain's refusals as data: a stable code, typed parameters, and the English said from them.

A command that breaks a rule of the method raises one of the errors below with the rule's
`code` (a stable name an API client or a page can act on) and the parts of the refusal as
`params` (ids as text, phases and statuses as their values, lists as tuples), so everything in
them can be written as JSON. `message` is the English sentence for developers and the API,
said from the code's sentence in `domain.refusals`; nobody reads the parts back out of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from string import Formatter
from typing import Any

from domain.refusals import ACTIONS, SENTENCES

# A refusal's parameter: text, a number, or several texts; all of it writes as JSON.
Param = str | int | tuple[str, ...]


def sentence_codes() -> frozenset[str]:
    """Every refusal code that has an English sentence."""
    return frozenset(SENTENCES)


class _English(Formatter):
    """`str.format` with three ways to say a tuple: `:or` ("a or b"), `:list` ("a, b", or
    "none" for no items) and `:join` ("a, b"); `:action`, an action's code in words; and
    `:words`, a code's underscores as spaces."""

    def format_field(self, value: Any, format_spec: str) -> Any:
        if format_spec == "action":
            return ACTIONS.get(value, value)
        if format_spec == "or":
            return " or ".join(value)
        if format_spec == "list":
            return ", ".join(value) or "none"
        if format_spec == "join":
            return ", ".join(value)
        if format_spec == "words":
            return str(value).replace("_", " ")
        return super().format_field(value, format_spec)


_ENGLISH = _English()


def english(code: str, params: Mapping[str, Param]) -> str:
    """The English sentence of `code` with `params` in place. A code without a sentence, or
    raised without a part its sentence names, is said as the code: a refusal is never turned
    into a failure of its own by the words it is said in."""
    sentence = SENTENCES.get(code)
    if sentence is None:
        return code
    try:
        return _ENGLISH.vformat(sentence, (), params)
    except (KeyError, IndexError, TypeError, ValueError):
        return code


class DomainError(Exception):
    """A command broke a rule of the method. `rule` names the kind of rule, `code` the rule
    itself and `params` its parts; `state` says what stands now."""

    rule: str = "domain_rule"

    def __init__(self, code: str, /, *, state: str | None = None, **params: Param) -> None:
        self.code = code
        self.params: dict[str, Param] = params
        self.message = english(code, params)
        self.state = state
        super().__init__(self.message)


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
