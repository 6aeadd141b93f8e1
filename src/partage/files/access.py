"""A visitor's access to a link: the rules of links.py plus limits on password guessing."""

from __future__ import annotations

from partage.context import Context
from partage.errors import WrongPassword
from partage.files.links import check_visitor
from partage.files.models import File
from partage.web.i18n import N_


def check_link(
    ctx: Context, f: File, *, password: str | None, is_owner: bool, address: str
) -> None:
    """The visitor rules of files/links.py, with wrong passwords rate-limited per address
    and per file (a guesser gets 429 with Retry-After; a right password is never slowed)."""
    guessing = bool(password) and f.password_hash is not None and not is_owner
    rules = (
        (ctx.settings.link_password_rate_per_address,
         f"linkpw:address:{address}", N_("password attempts from your address")),
        (ctx.settings.link_password_rate_per_file,
         f"linkpw:file:{f.code}", N_("password attempts for this file")),
    )  # fmt: skip
    if guessing:
        for rule, key, what in rules:
            ctx.limiter.check(rule, key, what=what)
    try:
        check_visitor(f, password=password, is_owner=is_owner)
    except WrongPassword:
        for rule, key, _ in rules:
            ctx.limiter.fail(rule, key)
        raise
