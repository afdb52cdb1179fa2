"""The rules of every module under `projections/outbox/rules/`, keyed by event topic."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Any, Literal

import msgspec

from projections.outbox import rules as rules_package
from projections.outbox.intents import MessageIntent, RuleContext

Decide = Callable[[Any, RuleContext], list[MessageIntent]]
# A tenant's own log, or the control plane's (tenants, users, memberships, invitations).
Log = Literal["tenant", "platform"]


class Rule(msgspec.Struct, frozen=True):
    """`decide` is pure: the event and its context in, the messages it causes out (often none).
    `event` names the event as its class does within the domain, e.g. "Engagement.Prepared"
    (the projector names events the same way)."""

    event: str
    decide: Decide
    log: Log = "tenant"


@cache
def rules_by_topic(log: Log) -> Mapping[str, Sequence[Rule]]:
    found: dict[str, list[Rule]] = {}
    for module in pkgutil.iter_modules(rules_package.__path__):
        loaded = importlib.import_module(f"{rules_package.__name__}.{module.name}")
        for rule in getattr(loaded, "rules", ()):
            if rule.log == log:
                found.setdefault(rule.event, []).append(rule)
    return found


def intents_for(event: Any, context: RuleContext, log: Log = "tenant") -> list[MessageIntent]:
    """Every message the rules of `log` decide `event` causes, in the rules' order."""
    intents: list[MessageIntent] = []
    for rule in rules_by_topic(log).get(type(event).__qualname__, ()):
        intents.extend(rule.decide(event, context))
    return intents
