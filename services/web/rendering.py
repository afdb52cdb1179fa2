"""Templates: one Jinja environment for every page, with the gettext callables of
`services.web.i18n`, locale-aware filters, and the helpers each page needs (who is signed in,
the CSRF token for forms)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment
from litestar import Request
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig

from services.auth.jwt import CSRF_COOKIE
from services.auth.principal import Principal
from services.web import i18n, labels
from services.web.commands import FORM_KEY_FIELD, new_form_key

TEMPLATE_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
CSRF_FIELD = "_csrf"
NEW_CSRF_STATE = "new_csrf_token"


def principal_of(request: Request[Any, Any, Any]) -> Principal | None:
    """The signed-in principal, or None on a public page."""
    user = request.scope.get("user")
    return user if isinstance(user, Principal) else None


def csrf_token(request: Request[Any, Any, Any]) -> str:
    """The token forms echo: the `csrf_token` cookie, or the one this very response sets."""
    return request.cookies.get(CSRF_COOKIE) or str(request.state.get(NEW_CSRF_STATE, ""))


def _configure(engine: JinjaTemplateEngine) -> None:
    env: Environment = engine.engine
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=i18n.gettext, ngettext=i18n.ngettext, newstyle=True
    )
    env.filters.update(
        date=i18n.as_date,
        datetime=i18n.as_datetime,
        number=i18n.as_number,
        percent=i18n.as_percent,
    )
    env.globals.update(
        principal_of=principal_of,
        csrf_token=csrf_token,
        CSRF_FIELD=CSRF_FIELD,
        new_form_key=new_form_key,
        FORM_KEY_FIELD=FORM_KEY_FIELD,
        current_language=i18n.current_language,
        LANGUAGES=i18n.LANGUAGES,
        phase_label=labels.phase_label,
        role_label=labels.role_label,
        card_status_label=labels.card_status_label,
        card_status_at_table=labels.card_status_at_table,
        agreement_status_label=labels.agreement_status_label,
        agreement_verdict_label=labels.agreement_verdict_label,
        check_in_label=labels.check_in_label,
        proposal_status_label=labels.proposal_status_label,
        proposal_status_on_agenda=labels.proposal_status_on_agenda,
        status_tone=labels.status_tone,
    )


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(directory=TEMPLATE_DIR, engine=JinjaTemplateEngine, engine_callback=_configure)


def page(name: str, *, status_code: int = 200, **context: Any) -> Template:
    """A page rendered from `name` with `context`; `request` is added by Litestar."""
    return Template(
        template_name=name,
        context=context,
        status_code=status_code,
        headers={"Cache-Control": "no-store", "Content-Language": i18n.current_language()},
    )
