"""What text people type may hold: one rule for every command of the API and every form of the
pages (docs/adr/0013-free-text-at-the-edge.md).

Free text (notes, reasons, agreements) may hold any character but control characters other
than tab and newline (so no NUL, no carriage return, no C1 control), unpaired surrogates and
Unicode non-characters. A name (anything shown as a label: a unit, an organisation, an
engagement's title, a person, a dance card's topic) is one line: besides those, no tab, no
newline and no bidirectional formatting character (the embeddings, overrides and isolates
U+202A-U+202E and U+2066-U+2069, and the marks U+200E, U+200F and U+061C), which could turn a
label around on the board or make two names that look the same differ.

The rule is a msgspec `pattern`, so the request Structs carry it, the OpenAPI document shows
it and the pages' forms, decoded into the same Structs, obey it. The patterns are written to
read the same in Python and in ECMA-262 with the `u` flag (JSON Schema's dialect): characters
of the basic plane as `\\uXXXX` escapes, the non-characters above it as themselves.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec

# C0 controls but tab (U+0009) and newline (U+000A), DEL and the C1 controls.
_CONTROLS = r"\u0000-\u0008\u000b-\u001f\u007f-\u009f"
_SURROGATES = r"\ud800-\udfff"
# U+FDD0-U+FDEF and the last two code points of every plane.
_NONCHARACTERS = r"\ufdd0-\ufdef\ufffe\uffff" + "".join(
    chr(plane << 16 | 0xFFFE) + chr(plane << 16 | 0xFFFF) for plane in range(1, 17)
)
_LINE_BREAKS = r"\u0009\u000a"
_BIDI_CONTROLS = r"\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"

FORBIDDEN_IN_TEXT = _CONTROLS + _SURROGATES + _NONCHARACTERS
FORBIDDEN_IN_NAMES = FORBIDDEN_IN_TEXT + _LINE_BREAKS + _BIDI_CONTROLS


def _whole(allowed: str) -> str:
    # `$(?!\n)`: Python's `$` also matches before a final newline; the look-ahead keeps a
    # trailing newline from slipping past a rule that forbids it (ECMA's `$` needs no help).
    return rf"^{allowed}*$(?!\n)"


FREE_TEXT_PATTERN = _whole(f"[^{FORBIDDEN_IN_TEXT}]")
NAME_PATTERN = _whole(f"[^{FORBIDDEN_IN_NAMES}]")
# An address: something, an @, something; no white space, and what a name may not hold.
EMAIL_PATTERN = rf"^[^@\s{FORBIDDEN_IN_NAMES}]+@[^@\s{FORBIDDEN_IN_NAMES}]+$(?!\n)"

TEXT_RULE = (
    "may not hold control characters other than tab and newline (a carriage return included), "
    "unpaired surrogates or Unicode non-characters"
)
NAME_RULE = (
    "is one line and may not hold control characters, bidirectional formatting characters "
    "(U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069), unpaired surrogates or Unicode "
    "non-characters"
)


def text_rule(**limits: Any) -> msgspec.Meta:
    """The constraint of free text, with msgspec's other limits (`max_length=`, `description=`)."""
    return msgspec.Meta(pattern=FREE_TEXT_PATTERN, **limits)


def name_rule(**limits: Any) -> msgspec.Meta:
    """The constraint of a name, with msgspec's other limits."""
    return msgspec.Meta(pattern=NAME_PATTERN, **limits)


FreeText = Annotated[str, text_rule(max_length=20_000, description=f"Free text; {TEXT_RULE}.")]
RequiredFreeText = Annotated[
    str, text_rule(min_length=1, max_length=20_000, description=f"Free text, not empty; {TEXT_RULE}.")
]
Name = Annotated[
    str, name_rule(min_length=1, max_length=200, description=f"A short name or title; {NAME_RULE}.")
]

_TEXT_REFUSED = re.compile(r"^Expected `str` matching regex (?P<pattern>'.*')$", re.DOTALL)
_RULES = {
    repr(FREE_TEXT_PATTERN): f"text {TEXT_RULE}",
    repr(NAME_PATTERN): f"a name {NAME_RULE}",
    repr(EMAIL_PATTERN): "an email address is name@domain, without white space, control characters "
    "or bidirectional formatting characters",
}


def refused_by_rule(message: str) -> str | None:
    """msgspec's message for a string this module's rule refused, said as the rule ("a name is
    one line and ..."); None for any other message. `message` is without its "- at `$.x`"."""
    found = _TEXT_REFUSED.match(message.strip())
    return _RULES.get(found.group("pattern")) if found else None


_LINE_ENDS = re.compile(r"\r\n?")


def with_newlines(text: str) -> str:
    """`text` with its line ends as newlines: browsers send a textarea's lines ending in CR LF."""
    return _LINE_ENDS.sub("\n", text) if "\r" in text else text


def first_refused(text: str) -> int | None:
    """Where in `text` the first character free text may not hold is (None when there is none)."""
    found = _REFUSED_IN_TEXT.search(text)
    return found.start() if found else None


_REFUSED_IN_TEXT = re.compile(f"[{FORBIDDEN_IN_TEXT}]")
