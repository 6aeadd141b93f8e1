"""FastAPI dependencies shared by every feature: context, client address, current user."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from fastapi import Depends, Request

from partage.accounts import service as accounts
from partage.accounts.models import User, WebSession
from partage.context import Context
from partage.errors import Forbidden, NotAuthenticated
from partage.settings import Settings

SESSION_COOKIE = "partage_session"
CSRF_HEADER = "x-csrf-token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def get_ctx(request: Request) -> Context:
    return request.app.state.ctx  # type: ignore[no-any-return]


Ctx = Annotated[Context, Depends(get_ctx)]


def client_address(request: Request, settings: Settings) -> str:
    """The peer address, or the first untrusted hop of X-Forwarded-For behind trusted proxies."""
    peer = request.client.host if request.client else "unknown"
    if not settings.trusted_proxies:
        return peer
    nets = [ipaddress.ip_network(p, strict=False) for p in settings.trusted_proxies]

    def trusted(addr: str) -> bool:
        try:
            ip = ipaddress.ip_address(addr)
        except ValueError:
            return False
        return any(ip in n for n in nets)

    if not trusted(peer):
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not trusted(hop):
            return hop
    return hops[0] if hops else peer


def get_address(request: Request, ctx: Ctx) -> str:
    return client_address(request, ctx.settings)


Address = Annotated[str, Depends(get_address)]


def base_url(request: Request, settings: Settings) -> str:
    if settings.base_url:
        return settings.base_url.rstrip("/")
    return str(request.base_url).rstrip("/")


def get_base_url(request: Request, ctx: Ctx) -> str:
    return base_url(request, ctx.settings)


BaseUrl = Annotated[str, Depends(get_base_url)]

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


def _loopback(host: str) -> bool:
    if host.lower().rstrip(".") in LOOPBACK_NAMES or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def mail_base_url(request: Request, settings: Settings) -> str:
    """The origin for links that leave the request (mails, moderation letters): never
    the requester's choice. `PARTAGE_BASE_URL` when set (required with SMTP, see
    partage.mail.check_settings); else, mail being only logged, the request's origin if
    its host is a loopback one (whoever can send that Host reaches this machine), and ""
    otherwise: the link is then a path for the operator to complete."""
    if settings.base_url:
        return settings.base_url.rstrip("/")
    if _loopback(request.url.hostname or ""):
        return str(request.base_url).rstrip("/")
    return ""


def get_mail_base_url(request: Request, ctx: Ctx) -> str:
    return mail_base_url(request, ctx.settings)


MailBaseUrl = Annotated[str, Depends(get_mail_base_url)]


class Auth:
    """Who is asking, and how (an API token needs no CSRF token; a cookie does)."""

    def __init__(self, user: User | None, web_session: WebSession | None) -> None:
        self.user = user
        self.web_session = web_session

    @property
    def csrf_token(self) -> str:
        return self.web_session.csrf_token if self.web_session else ""


def resolve_auth(request: Request, ctx: Context) -> Auth:
    cached = getattr(request.state, "auth", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    auth = Auth(None, None)
    header = request.headers.get("authorization", "")
    address = client_address(request, ctx.settings)
    if header.lower().startswith("bearer "):
        with ctx.db.read() as s:
            user, stale = accounts.token_user(
                s, ctx.limiter, ctx.settings, header[7:].strip(), address
            )
        if stale is not None:
            with ctx.db.session() as s:
                accounts.touch_token(s, stale)
        auth = Auth(user, None)
    elif cookie := request.cookies.get(SESSION_COOKIE):
        with ctx.db.read() as s:
            found = accounts.session_user(s, cookie)
        if found:
            auth = Auth(found[1], found[0])
    request.state.auth = auth
    return auth


def check_csrf(request: Request, auth: Auth, form_token: str | None = None) -> None:
    if auth.web_session is None or request.method not in UNSAFE:
        return
    sent = request.headers.get(CSRF_HEADER) or form_token
    if not sent or sent != auth.web_session.csrf_token:
        raise Forbidden("The form has expired or did not come from this site: reload the page.")


def get_optional_user(request: Request, ctx: Ctx) -> User | None:
    return resolve_auth(request, ctx).user


def get_api_user(request: Request, ctx: Ctx) -> User:
    """The API's user: a bearer token, or a web session plus the X-CSRF-Token header."""
    auth = resolve_auth(request, ctx)
    if auth.user is None:
        raise NotAuthenticated(
            "Authentication required: send 'Authorization: Bearer <token>' "
            "(create a token with 'partage admin token create' or in your account)."
        )
    check_csrf(request, auth)
    return auth.user


OptionalUser = Annotated[User | None, Depends(get_optional_user)]
ApiUser = Annotated[User, Depends(get_api_user)]
