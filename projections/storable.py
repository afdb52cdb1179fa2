"""Text as the read-model stores can hold it, whatever an event carries.

The edge refuses control characters and the like in what people type (services/text.py), but
events recorded before that rule, or by any other path, may hold them, and events are never
rewritten. PostgreSQL refuses NUL in `text` and the escape `\\u0000` (and unpaired surrogate
escapes) in `jsonb`; no UTF-8 store can hold an unpaired surrogate. So every string the stores
write goes through here: those characters become U+FFFD, the replacement character, in the
read models only. The hash chain covers the events as stored (projections/chain.py), so it is
untouched. Both backends write the same, so their read models stay equal.
"""

from __future__ import annotations

import re

REPLACEMENT = "\ufffd"

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# In JSON text: an escaped backslash (kept: `\\u0000` is a backslash and "u0000", not NUL), a
# surrogate pair (kept), NUL or an unpaired surrogate (replaced), any other escape (kept).
_JSON_ESCAPE = re.compile(
    r"\\(?:\\|u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|u0000|u[dD][89a-fA-F][0-9a-fA-F]{2})"
)
_KEPT = frozenset({"\\\\"})


def storable_text(text: str) -> str:
    """`text` with NUL and unpaired surrogates replaced by U+FFFD."""
    return _UNSTORABLE.sub(REPLACEMENT, text) if _UNSTORABLE.search(text) else text


def storable_json(text: str) -> str:
    """JSON text whose NUL and unpaired-surrogate escapes (and such characters written out)
    are replaced by U+FFFD, so that PostgreSQL's `jsonb` takes it."""
    if "\\u" in text:
        text = _JSON_ESCAPE.sub(_replace_escape, text)
    return storable_text(text)


def _replace_escape(found: re.Match[str]) -> str:
    escape = found.group(0)
    if escape in _KEPT or len(escape) == 12:  # an escaped backslash, or a surrogate pair
        return escape
    return "\\ufffd"


def storable_row(*values: object) -> tuple[object, ...]:
    """A row to write, each of its strings storable."""
    return tuple(storable_text(value) if isinstance(value, str) else value for value in values)
