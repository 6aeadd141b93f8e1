"""Administration pages under /admin: plain forms (CSRF token in each), readable and
usable without JavaScript. Every change goes through the same service functions as the
API and `partage admin …`."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from partage.accounts.models import User
from partage.admin import figures, plans, runtime, users
from partage.bounds import Id, Page
from partage.deps import Ctx, check_csrf, resolve_auth
from partage.errors import Forbidden
from partage.media import service as media
from partage.web.i18n import N_
from partage.web.redirects import login_url
from partage.web.templating import render, templates

router = APIRouter(include_in_schema=False)

PER_PAGE = 50
NO_STORE = {"Cache-Control": "no-store"}
DONE = {
    "plan": N_("The plan was changed."),
    "roles": N_("The roles were saved."),
    "suspended": N_("The account was suspended: its sessions ended, its API tokens were revoked."),
    "unsuspended": N_("The account was reactivated."),
    "deleted": N_("The account and its files were deleted."),
    "plan-saved": N_("The plan was saved."),
    "plan-created": N_("The plan was created."),
    "plan-deleted": N_("The plan was deleted."),
    "retried": N_("The job was queued again."),
    "cancelled": N_("The job was cancelled."),
    "settings": N_("The settings were saved; other servers see them within a few seconds."),
}  # fmt: skip


def _setting(request: Request, key: str) -> Any:
    """`runtime_setting(request, "site_notice")` in templates (base.html shows the notice
    and hides sign-up links when registration is closed)."""
    return runtime.get(request.app.state.ctx, key)


templates.env.globals["runtime_setting"] = _setting


class _Login(Exception):
    pass


def _admin(request: Request, ctx: Ctx, csrf_token: str | None = None) -> User:
    auth = resolve_auth(request, ctx)
    if auth.user is None:
        raise _Login
    if auth.web_session is None:
        raise Forbidden("These pages are for web sessions: use the API with a token.")
    if not auth.user.is_admin:
        raise Forbidden("Only an administrator can see this page.")
    check_csrf(request, auth, csrf_token)
    return auth.user


def _guard(request: Request, ctx: Ctx) -> Response | None:
    """A redirect to the login page for visitors; 403 for anyone but an administrator."""
    try:
        _admin(request, ctx)
    except _Login:
        return RedirectResponse(login_url(request), status_code=303)
    return None


def _page(request: Request, name: str, data: dict[str, Any]) -> Response:
    done = request.query_params.get("done", "")
    return render(request, name, {"notice": DONE.get(done), **data}, headers=NO_STORE)


def _back(path: str, done: str) -> Response:
    return RedirectResponse(f"{path}{'&' if '?' in path else '?'}done={done}", status_code=303)


def _post(request: Request, ctx: Ctx, csrf_token: str) -> User:
    try:
        return _admin(request, ctx, csrf_token)
    except _Login:
        raise Forbidden("Log in again: your session has ended.") from None


# -- overview --------------------------------------------------------------------------------


@router.get("/admin")
def overview(request: Request, ctx: Ctx) -> Response:
    if redirect := _guard(request, ctx):
        return redirect
    with ctx.db.read() as s:
        data = {"f": figures.figures(s), "jobs": figures.jobs_overview(s, limit=0)}
    peak = max([d["bytes_out"] for d in data["f"]["traffic"]] + [1])
    return _page(request, "admin.html", {**data, "peak": peak})


# -- users -----------------------------------------------------------------------------------


@router.get("/admin/users")
def users_page(
    request: Request, ctx: Ctx, q: str = "", state: str = "", page: Page = 1
) -> Response:
    if redirect := _guard(request, ctx):
        return redirect
    with ctx.db.read() as s:
        found = users.list_users(
            s, search=q[:320] or None, state=state if state in users.STATES else None,
            page=max(1, page), per_page=PER_PAGE,
        )  # fmt: skip
    page_url = "/admin/users?" + urlencode({k: v for k, v in (("q", q), ("state", state)) if v})
    return _page(
        request, "admin_users.html",
        {"found": found, "q": q, "state": state, "page_url": page_url,
         "back": request.url.path + (f"?{request.url.query}" if request.url.query else "")},
    )  # fmt: skip


@router.get("/admin/users/{user_id}")
def user_page(user_id: Id, request: Request, ctx: Ctx) -> Response:
    if redirect := _guard(request, ctx):
        return redirect
    with ctx.db.read() as s:
        row = users.user_row(s, users.get_user(s, user_id))
        all_plans = [p for p, _ in plans.list_plans(s)]
    return _page(request, "admin_user.html", {"row": row, "plans": all_plans})


def _return_to(back: str, fallback: str) -> str:
    return back if back.startswith("/admin/users") and "//" not in back else fallback


@router.post("/admin/users/{user_id}/plan")
def change_plan(
    user_id: Id, request: Request, ctx: Ctx,
    csrf_token: Annotated[str, Form()] = "", plan: Annotated[str, Form(max_length=64)] = "",
) -> Response:  # fmt: skip
    admin = _post(request, ctx, csrf_token)
    with ctx.db.session() as s:
        users.set_plan(s, user_id, plan, actor=admin)
    return _back(f"/admin/users/{user_id}", "plan")


@router.post("/admin/users/{user_id}/roles")
def change_roles(
    user_id: Id, request: Request, ctx: Ctx,
    csrf_token: Annotated[str, Form()] = "",
    is_moderator: Annotated[str, Form()] = "", trusted_flagger: Annotated[str, Form()] = "",
) -> Response:  # fmt: skip
    """An unticked box is not sent: absent means off."""
    admin = _post(request, ctx, csrf_token)
    with ctx.db.session() as s:
        users.set_roles(s, admin, user_id, is_moderator=is_moderator == "on",
                        trusted_flagger=trusted_flagger == "on")  # fmt: skip
    return _back(f"/admin/users/{user_id}", "roles")


@router.post("/admin/users/{user_id}/suspend")
def suspend(
    user_id: Id, request: Request, ctx: Ctx,
    csrf_token: Annotated[str, Form()] = "",
    reason: Annotated[str, Form(max_length=users.MAX_REASON)] = "",
    back: Annotated[str, Form(max_length=2000)] = "",
) -> Response:  # fmt: skip
    admin = _post(request, ctx, csrf_token)
    with ctx.db.session() as s:
        users.suspend(s, admin, user_id, reason)
    return _back(_return_to(back, f"/admin/users/{user_id}"), "suspended")


@router.post("/admin/users/{user_id}/unsuspend")
def unsuspend(
    user_id: Id, request: Request, ctx: Ctx,
    csrf_token: Annotated[str, Form()] = "", back: Annotated[str, Form(max_length=2000)] = "",
) -> Response:  # fmt: skip
    admin = _post(request, ctx, csrf_token)
    with ctx.db.session() as s:
        users.unsuspend(s, user_id, actor=admin)
    return _back(_return_to(back, f"/admin/users/{user_id}"), "unsuspended")


@router.post("/admin/users/{user_id}/delete")
def delete(
    user_id: Id, request: Request, ctx: Ctx,
    csrf_token: Annotated[str, Form()] = "", confirm: Annotated[str, Form()] = "",
) -> Response:  # fmt: skip
    admin = _post(request, ctx, csrf_token)
    if confirm != "yes":
        raise Forbidden("Tick the box to confirm that the account and its files go.")
    users.delete_user(ctx, admin, user_id)
    return _back("/admin/users", "deleted")


# -- plans -----------------------------------------------------------------------------------


def _limits(form: Any) -> dict[str, Any]:
    return {k: str(form.get(k, "")) for k in plans.LIMITS}


@router.get("/admin/plans")
def plans_page(request: Request, ctx: Ctx) -> Response:
    if redirect := _guard(request, ctx):
        return redirect
    with ctx.db.read() as s:
        items = plans.list_plans(s)
    return _page(request, "admin_plans.html",
                 {"items": items, "exact_size": plans.exact_size})  # fmt: skip


@router.post("/admin/plans")
async def create_plan(request: Request, ctx: Ctx) -> Response:
    form = await request.form()
    admin = _post(request, ctx, str(form.get("csrf_token", "")))
    with ctx.db.session() as s:
        plans.create_plan(s, str(form.get("name", "")), _limits(form), actor=admin)
    return _back("/admin/plans", "plan-created")


@router.post("/admin/plans/{plan_id}")
async def update_plan(plan_id: Id, request: Request, ctx: Ctx) -> Response:
    form = await request.form()
    admin = _post(request, ctx, str(form.get("csrf_token", "")))
    with ctx.db.session() as s:
        plans.update_plan(s, plan_id, str(form.get("name", "")) or None, _limits(form),
                          actor=admin)  # fmt: skip
    return _back("/admin/plans", "plan-saved")


@router.post("/admin/plans/{plan_id}/delete")
def delete_plan(
    plan_id: Id, request: Request, ctx: Ctx, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    admin = _post(request, ctx, csrf_token)
    with ctx.db.session() as s:
        plans.delete_plan(s, plan_id, actor=admin)
    return _back("/admin/plans", "plan-deleted")


# -- jobs ------------------------------------------------------------------------------------


@router.get("/admin/jobs")
def jobs_page(request: Request, ctx: Ctx) -> Response:
    if redirect := _guard(request, ctx):
        return redirect
    with ctx.db.read() as s:
        view = figures.jobs_overview(s)
    return _page(request, "admin_jobs.html", {"jobs": view})


@router.post("/admin/jobs/{code}/{action}")
def job_action(
    code: str, action: str, request: Request, ctx: Ctx, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    admin = _post(request, ctx, csrf_token)
    if action == "retry":
        media.retry(ctx, code, actor=admin)
        return _back("/admin/jobs", "retried")
    if action == "cancel":
        media.cancel(ctx, code, actor=admin)
        return _back("/admin/jobs", "cancelled")
    raise Forbidden("Unknown job action.")


# -- runtime settings ------------------------------------------------------------------------


@router.get("/admin/settings")
def settings_page(request: Request, ctx: Ctx) -> Response:
    if redirect := _guard(request, ctx):
        return redirect
    return _page(request, "admin_settings.html",
                 {"items": runtime.describe(ctx), "cache": int(runtime.CACHE_SECONDS)})  # fmt: skip


@router.post("/admin/settings")
async def save_settings(request: Request, ctx: Ctx) -> Response:
    form = await request.form()
    admin = _post(request, ctx, str(form.get("csrf_token", "")))
    for item in runtime.describe(ctx):
        key = item["key"]
        if form.get(f"reset_{key}"):
            runtime.reset(ctx, key, by=admin.id)
            continue
        if item["type"] == "bool":
            value: Any = form.get(key) == "on"
        elif key in form:
            value = str(form.get(key, ""))
        else:
            continue
        if value != item["value"] or item["overridden"]:
            runtime.set_value(ctx, key, value, by=admin.id)
    return _back("/admin/settings", "settings")
