"""A message's words: `render(kind, language, params)` fills the templates of `kind`.

Templates live in `services/mail/templates/`: `<kind>.txt` and `<kind>.html` in Danish (the
default), `<kind>.en.txt` and `<kind>.en.html` in English beside them. The first line of the
text template is the subject, a blank line, then the body. The HTML template extends
`_layout.html` and fills its `body` block. Both get the params, `language` and `subject` (HTML),
and the filters `day` (an ISO date or datetime, written out in the language) and `link` (a path
made absolute on the public URL, which the sender passes as the param `base_url`)."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import (
    ChainableUndefined,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context

TEMPLATES = Path(__file__).parent / "templates"
LANGUAGES = ("da", "en")
DEFAULT_LANGUAGE = "da"

_MONTHS = {
    "da": (
        [
            "januar",
            "februar",
            "marts",
            "april",
            "maj",
            "juni",
            "juli",
            "august",
            "september",
            "oktober",
            "november",
            "december",
        ]
    ),
    "en": (
        [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ]
    ),
}


class UnknownMessageKind(LookupError):
    """No templates exist for the kind of message asked for."""


def day(value: str | date | datetime, language: str = DEFAULT_LANGUAGE) -> str:
    """7. december 2026 / 7 December 2026."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    month = _MONTHS.get(language, _MONTHS[DEFAULT_LANGUAGE])[value.month - 1]
    return f"{value.day}. {month} {value.year}" if language == "da" else f"{value.day} {month} {value.year}"


@cache
def _environment(*, strict: bool = True) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        # HTML templates escape what they are filled with; plain text is not HTML.
        autoescape=select_autoescape(["html"]),
        # Not strict only for a subject told apart from its body, which may name what the sender
        # alone adds (an invitation's link, made as the message is written).
        undefined=StrictUndefined if strict else ChainableUndefined,
        keep_trailing_newline=True,
    )
    env.filters["day"] = _day_filter
    env.filters["link"] = _link_filter
    return env


@pass_context
def _day_filter(context: Context, value: str | date | datetime) -> str:
    return day(value, context.get("language", DEFAULT_LANGUAGE))


@pass_context
def _link_filter(context: Context, path: str) -> str:
    return f"{context.get('base_url', '')}{path}"


def _template_name(kind: str, language: str, suffix: str) -> list[str]:
    if language == DEFAULT_LANGUAGE:
        return [f"{kind}.{suffix}"]
    return [f"{kind}.{language}.{suffix}", f"{kind}.{suffix}"]


def render(kind: str, language: str, params: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, plain text, HTML) of a message of `kind` in `language` (Danish when there is
    no English template, or for a language not offered). Raises UnknownMessageKind."""
    language = language if language in LANGUAGES else DEFAULT_LANGUAGE
    base_url = str(params.get("base_url", "")).rstrip("/")
    values = {
        **params,
        "language": language,
        "base_url": base_url,
    }
    try:
        text_template = _environment().select_template(_template_name(kind, language, "txt"))
        html_template = _environment().select_template(_template_name(kind, language, "html"))
    except TemplateNotFound:
        raise UnknownMessageKind(kind) from None
    subject, _, body = text_template.render(values).partition("\n")
    html = html_template.render({**values, "subject": subject.strip()})
    return subject.strip(), body.lstrip("\n"), html


def subject(kind: str, language: str, params: dict[str, Any]) -> str:
    """The subject of a message of `kind` in `language`, as `render` would write it, from the
    params the outbox holds (without what the sender adds as it writes the message, such as an
    invitation's link). Raises UnknownMessageKind."""
    language = language if language in LANGUAGES else DEFAULT_LANGUAGE
    try:
        template = _environment(strict=False).select_template(_template_name(kind, language, "txt"))
    except TemplateNotFound:
        raise UnknownMessageKind(kind) from None
    return template.render({**params, "language": language, "base_url": ""}).partition("\n")[0].strip()
