"""Invalid input by field: Litestar's and msgspec's validation messages read for the field they
blame (a dotted path into the body, or a parameter name) and what is wrong there.

These messages are the decoders' own English, not refusals of the method: a rule of the method
travels as a code with its parameters (`domain.errors`) and is never read back from its words.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from services.text import refused_by_rule


class FieldError(msgspec.Struct, frozen=True):
    """One invalid input: where (a dotted path into the body, or a parameter name) and why."""

    field: str
    message: str


# "Expected `int`, got `str` - at `$.scores.frequent`" and "Object missing required field `name`".
_AT_PATH = re.compile(r"\s*-\s*at\s*(?:`key` in\s*)?`\$(?:\.data)?\.?(?P<path>[^`]*)`")
_MISSING = re.compile(r"(?:missing required|contains unknown) field `(?P<field>[^`]+)`")


def _field_error(item: Any) -> FieldError:
    if not isinstance(item, dict):
        return FieldError(field="body", message=str(item))
    message = str(item.get("message", "invalid"))
    key = str(item.get("key") or "")
    path = "" if key in {"", "data"} else key
    if at := _AT_PATH.search(message):
        path = ".".join(p for p in (path, at.group("path")) if p)
        message = message[: at.start()].strip()
    if missing := _MISSING.search(message):
        path = ".".join(p for p in (path, missing.group("field")) if p)
    # A string the text rule refused: say the rule, not the regular expression behind it.
    message = refused_by_rule(message) or message
    return FieldError(field=path or "body", message=message)


def field_errors(extra: Any) -> list[FieldError]:
    """Litestar's validation `extra` (a list of {message, key, source}) as field errors."""
    if extra is None:
        return []
    items = extra if isinstance(extra, list) else [extra]
    return [_field_error(item) for item in items]
