"""A posted value that makes no command, in the user's words and at the field it concerns.

msgspec says why a value does not decode in its own English ("Expected `int`, got `str` - at
`$.rounds`"); these read that for the field and say it again as a translated sentence. They
read the decoder's words only: a rule of the method that refuses a command travels as a code
with its parameters and is said by `services.web.refusals`.
"""

from __future__ import annotations

import re

import msgspec

from services.text import NAME_PATTERN, refused_by_rule
from services.web.i18n import gettext as _

_FIELD = re.compile(r"at `\$\.([A-Za-z_][A-Za-z0-9_]*)")
_OUT_OF_RANGE = re.compile(r"Expected `(?:int|float|decimal)` [<>]=?")
_MISSING = re.compile(r"^Object missing required field `([A-Za-z_][A-Za-z0-9_]*)`$")


def field_of(error: msgspec.ValidationError) -> str:
    """The top-level field `error` is about ("" when it is about the whole form)."""
    text = str(error)
    found = _FIELD.search(text) or _MISSING.search(text)
    return found.group(1) if found else ""


def explain(error: msgspec.ValidationError) -> str:
    """msgspec's message, in the user's words."""
    text = str(error)
    if text.startswith("Object missing required field"):
        return _("Please fill this in.")
    if _OUT_OF_RANGE.search(text):
        return _("This value is out of range.")
    if "Expected `int`" in text or "Expected `float`" in text or "Expected `decimal`" in text:
        return _("Please enter a number.")
    if "Expected `date`" in text or "Invalid RFC3339" in text or "Expected `datetime`" in text:
        return _("Please enter a date.")
    if "Expected `uuid`" in text or "Invalid UUID" in text:
        return _("Please choose from the list.")
    if "Expected `array` of length >=" in text:
        return _("Please choose at least one.")
    if "length <=" in text:
        return _("This is too long.")
    if "length >=" in text:
        return _("This is too short.")
    if "Invalid enum value" in text:
        return _("Please choose from the list.")
    if refused_by_rule(text.partition(" - at `")[0]):
        if repr(NAME_PATTERN) in text:
            return _("A name is one line, without control characters or direction marks.")
        return _("This text holds a character that cannot be recorded.")
    return _("This value is not valid.")
