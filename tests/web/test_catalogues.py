"""Danish first: every text the pages show has a Danish translation, with the same placeholders.

The messages are extracted from the code and templates the way `pybabel extract` would, so a
text added without a translation fails here rather than showing up in English on a Danish page.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import services.web
from services.web.i18n import LOCALE_DIR, speaking, translations

WEB = Path(services.web.__file__).parent
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _used() -> dict[str, str]:
    """Every msgid in the code and templates, with where it is first used."""
    found: dict[str, str] = {}
    for filename, line, message, _comments, _context in extract_from_dir(
        WEB, method_map=METHODS, options_map=OPTIONS
    ):
        for msgid in message if isinstance(message, tuple) else (message,):
            if msgid:
                found.setdefault(msgid, f"{filename}:{line}")
    return found


def _catalogued() -> dict[str, str]:
    danish: dict[str, str] = {}
    for po_file in sorted((LOCALE_DIR / "da" / "LC_MESSAGES").glob("*.po")):
        with po_file.open("rb") as source:
            for message in read_po(source, locale="da"):
                if not message.id:
                    continue
                if isinstance(message.id, str):
                    pairs = [(message.id, message.string if isinstance(message.string, str) else "")]
                else:  # a plural: singular and plural msgid, a translation per Danish form
                    forms = list(message.string) if isinstance(message.string, tuple | list) else []
                    complete = " | ".join(forms) if forms and all(forms) else ""
                    pairs = [(msgid, complete) for msgid in message.id]
                for msgid, translated in pairs:
                    if danish.get(msgid) not in (None, translated) and translated:
                        pytest.fail(f"{po_file.name}: {msgid!r} is translated differently elsewhere")
                    danish[msgid] = translated or danish.get(msgid, "")
    return danish


def test_every_text_on_the_pages_has_a_danish_translation() -> None:
    used = _used()
    danish = _catalogued()
    missing = sorted(f"{where}: {msgid!r}" for msgid, where in used.items() if not danish.get(msgid))
    assert not missing, "texts without a Danish translation:\n" + "\n".join(missing)


def test_translations_keep_their_placeholders() -> None:
    wrong = [
        f"{msgid!r} -> {text!r}"
        for msgid, text in _catalogued().items()
        if text and set(PLACEHOLDER.findall(msgid)) != set(PLACEHOLDER.findall(text))
    ]
    assert not wrong, "placeholders differ:\n" + "\n".join(wrong)


def test_the_catalogues_hold_no_texts_the_pages_no_longer_use() -> None:
    unused = sorted(set(_catalogued()) - set(_used()))
    assert not unused, "translations of texts no page uses (remove them):\n" + "\n".join(unused)


def test_danish_is_the_default_and_english_the_alternative() -> None:
    assert translations("da").gettext("Sign in") == "Log ind"
    with speaking("en"):
        from services.web.i18n import gettext

        assert gettext("Sign in") == "Sign in"
    from services.web.i18n import gettext

    assert gettext("Sign in") == "Log ind"
