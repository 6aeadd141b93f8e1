"""A visitor's access to a link: the rules of links.py plus limits on password guessing."""

from __future__ import annotations

from partage.context import Context
from partage.errors import WrongPassword
from partage.files.links import check_visitor
from partage.files.models import File
from partage.ratelimit import check_secret, link_password_policy


def check_link(
    ctx: Context, f: File, *, password: str | None, is_owner: bool, address: str
) -> None:
    """The visitor rules of files/links.py, with wrong passwords under the link-password
    policy (ratelimit.check_secret): a guesser gets 429 with Retry-After, the right password
    from an address that is not failing always opens the link."""
    if not (password and f.password_hash is not None and not is_owner):
        check_visitor(f, password=password, is_owner=is_owner)
        return

    def right() -> bool:
        try:
            check_visitor(f, password=password, is_owner=False)
        except WrongPassword:
            return False
        return True

    policy = link_password_policy(ctx.settings)
    if not check_secret(ctx.limiter, policy, address=address, subject=f.code, verify=right):
        raise WrongPassword("Wrong password.")
