"""Languages of the pages: gettext catalogues (Babel) and the choice of one per request.

The catalogues are `locale/<lang>/LC_MESSAGES/messages.po`, kept in the repository and
compiled in memory when the process starts, so there is no build output to forget.
English is the source language (msgids), so it needs no catalogue.

A request's language is, in order: the `partage_lang` cookie (the switch in the footer
sets it, and a signed-in user's choice is also kept on the account), the account's
saved choice, then the browser's `Accept-Language`, then English.
"""

from __future__ import annotations

import contextvars
import io
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from babel import Locale, negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

from partage.errors import PartageError, Term

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT = "en"
LANGUAGES: dict[str, str] = {"en": "English", "fr": "Français"}
COOKIE = "partage_lang"

# What `scripts/update-catalogues` (and the catalogue test) extract: gettext's names, and
# the domain errors, whose literal message templates are shown on pages by `error_text`.
EXTRACT_KEYWORDS: dict[str, tuple[int, ...] | None] = {
    "_": None, "N_": None, "gettext": None, "ngettext": (1, 2), "plural_forms": (1, 2),
    **dict.fromkeys((
        "PartageError", "BadRequest", "InvalidName", "NotAuthenticated", "PasswordRequired",
        "WrongPassword", "Forbidden", "LinkRevoked", "NotFound", "Conflict", "Gone",
        "FileDeleted", "LinkExpired", "DownloadLimitReached", "TooLarge", "QuotaExceeded",
        "UnsupportedMediaType", "RangeNotSatisfiable", "ChecksumMismatch", "RateLimited",
        "ContentUnavailable", "CacheUnavailable", "NotAVideo", "SubtitleRejected",
        "UnsupportedTusVersion", "OffsetMismatch", "UploadExpired", "UploadBusy", "PastLength",
        "InsufficientStorage", "_MethodNotAllowed", "_Unavailable", "_RangeNotSatisfiable",
        "SubtitleError", "ContentBlocked",
        "RequestTooLarge", "InvalidEncoding", "InternalError",
    )),
}  # fmt: skip

_current: contextvars.ContextVar[str] = contextvars.ContextVar("partage_lang", default=DEFAULT)


def N_(message: str) -> str:  # noqa: N802  (the gettext convention for "mark, translate later")
    """Mark a string for the catalogue where it is defined; it is translated where shown."""
    return message


# The messages of errors that build their own from data (IncompleteNotice,
# IncompleteComplaint, InvalidHashList take fields or lines, not a message): marked here.
_SELF_BUILT = (
    N_("The notice is incomplete or invalid: %(fields)s."),
    N_("The complaint is incomplete or invalid: %(fields)s."),
    N_("These lines are not valid fingerprints: %(lines)s."),
)


@cache
def translations(lang: str) -> NullTranslations:
    po = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if lang == DEFAULT or not po.exists():
        return NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(fp=buf)


def supported(lang: str | None) -> str | None:
    if not lang:
        return None
    lang = lang.strip().lower().replace("_", "-").split("-")[0]
    return lang if lang in LANGUAGES else None


def from_accept_language(header: str | None) -> str | None:
    """The best of our languages for an `Accept-Language` header (RFC 9110 §12.5.4)."""
    if not header:
        return None
    weighted: list[tuple[float, str]] = []
    for i, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if tag and q > 0:
            weighted.append((-q + i * 1e-6, tag.strip()))
    preferred = [tag.replace("-", "_") for _, tag in sorted(weighted)]
    found = negotiate_locale(preferred, list(LANGUAGES), sep="_")
    if found is None:  # "fr-CA" where only "fr" exists: match on the language alone
        for tag in preferred:
            if (lang := supported(tag)) is not None:
                return lang
    return found


def choose(cookie: str | None, saved: str | None, accept_language: str | None) -> str:
    return supported(cookie) or supported(saved) or from_accept_language(accept_language) or DEFAULT


def current() -> str:
    return _current.get()


@contextmanager
def using(lang: str) -> Iterator[None]:
    token = _current.set(lang)
    try:
        yield
    finally:
        _current.reset(token)


def gettext(message: str) -> str:
    return translations(current()).ugettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current()).ungettext(singular, plural, n)


def error_text(exc: PartageError) -> str:
    """A domain error's message in the current language: its template translated, then
    filled with its params (a `Term` param is translated too). The English message if
    the translation's placeholders do not fit the params."""
    template = gettext(exc.template)
    if not exc.params:
        return template
    params = {k: gettext(v) if isinstance(v, Term) else v for k, v in exc.params.items()}
    try:
        return template % params
    except (KeyError, ValueError, TypeError):
        return exc.message


def locale() -> Locale:
    return Locale.parse(current())


_SIZE_UNITS = (N_("KiB"), N_("MiB"), N_("GiB"), N_("TiB"))


def size(n: int | None) -> str:
    """A size for a page in its language: "12.5 MiB", "12,5 Mo"; None is unlimited."""
    if n is None:
        return gettext("unlimited")
    lang = current()
    if n < 1024:
        return ngettext("%(num)s byte", "%(num)s bytes", n) % {
            "num": format_decimal(n, locale=lang)
        }
    value = float(n)
    for unit in _SIZE_UNITS:
        value /= 1024
        if value < 1024 or unit == _SIZE_UNITS[-1]:
            break
    return f"{format_decimal(value, format='0.0', locale=lang)}\u00a0{gettext(unit)}"


def number(n: int) -> str:
    """A count with the language's digit grouping ("1,234", "1 234")."""
    return str(format_decimal(n, locale=current()))
