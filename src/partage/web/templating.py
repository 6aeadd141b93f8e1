"""Jinja2 environment for every page; user strings are always autoescaped, and every
string of ours goes through gettext (`{{ _("…") }}`, `{% trans %}`): see `web/i18n.py`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from partage.errors import PartageError
from partage.web import i18n

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

templates = Jinja2Templates(directory=str(TEMPLATES))
templates.env.filters["filesize"] = i18n.size
templates.env.filters["number"] = i18n.number
templates.env.filters["isodate"] = lambda d: d.strftime("%Y-%m-%d %H:%M UTC") if d else ""
templates.env.add_extension("jinja2.ext.i18n")


def _translated(message: object) -> str:
    if isinstance(message, PartageError):
        return i18n.error_text(message)
    return i18n.gettext(str(message))


# A message made in Python (an error's text, or a domain error itself) in the page's
# language, as plain text, so it is still escaped: `_()` in a template returns markup and
# must only get our own msgids.
templates.env.filters["translated"] = _translated
templates.env.install_gettext_callables(  # type: ignore[attr-defined]
    i18n.gettext, i18n.ngettext, newstyle=True
)
templates.env.globals["LANGUAGES"] = i18n.LANGUAGES
# A count's text for a script: {"one": …, "other": …}, chosen there by Intl.PluralRules
# (both rules agree with gettext's for English and French: French "one" is 0 and 1).
templates.env.globals["plural_forms"] = lambda singular, plural: {
    "one": i18n.ngettext(singular, plural, 1),
    "other": i18n.ngettext(singular, plural, 2),
}


def request_language(request: Request) -> str:
    """The language of this request's page (cookie, then account, then browser)."""
    from partage.deps import resolve_auth

    auth = resolve_auth(request, request.app.state.ctx)
    saved = auth.user.locale if auth.user is not None else None
    return i18n.choose(
        request.cookies.get(i18n.COOKIE), saved, request.headers.get("accept-language")
    )


def translate(request: Request, message: str) -> str:
    """A message made in Python in this request's language (unchanged when it is not in
    the catalogue), as plain text that the template still escapes."""
    with i18n.using(request_language(request)):
        return i18n.gettext(message)


def error_text(request: Request, exc: PartageError) -> str:
    """A domain error's message for this request's page, in its language: what every page
    that catches a PartageError shows (the API keeps the English `exc.message`)."""
    with i18n.using(request_language(request)):
        return i18n.error_text(exc)


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    from partage.deps import resolve_auth

    auth = resolve_auth(request, request.app.state.ctx)
    lang = request_language(request)
    data = {"user": auth.user, "csrf_token": auth.csrf_token, "lang": lang, **(context or {})}
    out = dict(headers or {})
    out.setdefault("Content-Language", lang)
    vary = out.get("Vary")
    out["Vary"] = f"{vary}, Accept-Language, Cookie" if vary else "Accept-Language, Cookie"
    with i18n.using(lang):  # the template is rendered here, in this call
        return templates.TemplateResponse(request, name, data, status_code=status, headers=out)
