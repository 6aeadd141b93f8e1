"""Admin API under /api/v1/admin (administrators only). Media job retry and cancel
stay where they are: /api/v1/admin/media/{code}/retry|cancel (media/routes.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from partage.accounts.models import User
from partage.admin import figures, plans, runtime, users
from partage.bounds import Count, DayCount, Days, Id, Page, Seconds, Size
from partage.deps import ApiUser, Ctx
from partage.errors import Forbidden

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])


def require_admin(user: User) -> User:
    if not user.is_admin:
        raise Forbidden("Only an administrator can do this.")
    return user


def _admin(user: ApiUser) -> User:
    return require_admin(user)


Admin = Annotated[User, Depends(_admin)]


@router.get("/figures")
def get_figures(admin: Admin, ctx: Ctx, days: Days = 30) -> dict[str, Any]:
    """Accounts, files, blobs (bytes stored after dedup), downloads, and traffic per day
    for the last `days` days (1 to 366)."""
    with ctx.db.read() as s:
        return figures.figures(s, max(1, min(days, 366)))


# -- users -----------------------------------------------------------------------------------


@router.get("/users")
def list_users(
    admin: Admin,
    ctx: Ctx,
    search: str | None = None,
    state: str | None = None,
    plan: str | None = None,
    page: Page = 1,
    per_page: Count = 50,
) -> dict[str, Any]:
    """`{items, total, page, per_page}`; `search` matches part of the e-mail, `state` is
    `active` or `suspended`."""
    with ctx.db.read() as s:
        found = users.list_users(
            s, search=search, state=state, plan=plan, page=page, per_page=per_page
        )
        items = [users.user_json(r) for r in found.items]
    return {"items": items, "total": found.total, "page": found.page, "per_page": found.per_page}


@router.get("/users/{user_id}")
def get_user(user_id: Id, admin: Admin, ctx: Ctx) -> dict[str, Any]:
    with ctx.db.read() as s:
        return users.user_json(users.user_row(s, users.get_user(s, user_id)))


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    plan: str | None = None
    is_moderator: bool | None = None
    trusted_flagger: bool | None = None


@router.patch("/users/{user_id}")
def patch_user(user_id: Id, body: UserPatch, admin: Admin, ctx: Ctx) -> dict[str, Any]:
    """Move the account to another plan (by name); mark or unmark it as a moderator and
    as a trusted flagger (its notices go first in the queue). Fields left out are
    unchanged; each change is written to the audit log."""
    with ctx.db.session() as s:
        user = users.get_user(s, user_id)
        if body.plan is not None:
            user = users.set_plan(s, user_id, body.plan, actor=admin)
        if body.is_moderator is not None or body.trusted_flagger is not None:
            user = users.set_roles(s, admin, user_id, is_moderator=body.is_moderator,
                                   trusted_flagger=body.trusted_flagger)  # fmt: skip
        return users.user_json(users.user_row(s, user))


class SuspendIn(BaseModel):
    reason: str = Field(max_length=users.MAX_REASON)


@router.post("/users/{user_id}/suspend")
def suspend(user_id: Id, body: SuspendIn, admin: Admin, ctx: Ctx) -> dict[str, Any]:
    """Refuse logins, uploads and API calls from now on: web sessions end and API tokens
    are revoked. The reason is kept with the account."""
    with ctx.db.session() as s:
        user = users.suspend(s, admin, user_id, body.reason)
        return users.user_json(users.user_row(s, user))


@router.post("/users/{user_id}/unsuspend")
def unsuspend(user_id: Id, admin: Admin, ctx: Ctx) -> dict[str, Any]:
    """Allow the account again (its holder logs in again and makes new API tokens)."""
    with ctx.db.session() as s:
        user = users.unsuspend(s, user_id, actor=admin)
        return users.user_json(users.user_row(s, user))


@router.delete("/users/{user_id}")
def delete_user(user_id: Id, admin: Admin, ctx: Ctx) -> dict[str, Any]:
    """Delete the account and its files (their links answer 410). Refused (409) for your
    own account and for the last administrator."""
    return {"id": user_id, "deleted_files": users.delete_user(ctx, admin, user_id)}


# -- plans -----------------------------------------------------------------------------------


class PlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=64)
    storage_quota: Size | None = None
    max_file_size: Size | None = None
    bandwidth_cap: Size | None = None
    daily_download_quota: Size | None = None
    download_wait: Seconds | None = None
    retention_days: DayCount | None = None


@router.get("/plans")
def list_plans(admin: Admin, ctx: Ctx) -> dict[str, Any]:
    """Every plan, its limits (null: unlimited) and how many accounts are on it."""
    with ctx.db.read() as s:
        return {"items": [plans.plan_json(p, n) for p, n in plans.list_plans(s)]}


@router.post("/plans", status_code=201)
def create_plan(body: PlanIn, admin: Admin, ctx: Ctx) -> dict[str, Any]:
    limits = body.model_dump(exclude={"name"}, exclude_unset=True)
    with ctx.db.session() as s:
        return plans.plan_json(plans.create_plan(s, body.name or "", limits, actor=admin), 0)


@router.patch("/plans/{plan_id}")
def update_plan(plan_id: Id, body: PlanIn, admin: Admin, ctx: Ctx) -> dict[str, Any]:
    """Fields left out are unchanged; `null` makes a limit unlimited."""
    limits = body.model_dump(exclude={"name"}, exclude_unset=True)
    with ctx.db.session() as s:
        return plans.plan_json(plans.update_plan(s, plan_id, body.name, limits, actor=admin))


@router.delete("/plans/{plan_id}", status_code=204)
def delete_plan(plan_id: Id, admin: Admin, ctx: Ctx) -> Response:
    """409 while an account is on the plan."""
    with ctx.db.session() as s:
        plans.delete_plan(s, plan_id, actor=admin)
    return Response(status_code=204)


# -- media jobs and runtime settings ---------------------------------------------------------


@router.get("/jobs")
def jobs(admin: Admin, ctx: Ctx) -> dict[str, Any]:
    """Media jobs by state, those queued or running, and the latest failures."""
    with ctx.db.read() as s:
        view = figures.jobs_overview(s)
        return {
            "by_state": view["by_state"],
            "active": [figures.job_json(j) for j in view["active"]],
            "failures": [figures.job_json(j) for j in view["failures"]],
        }


class SettingIn(BaseModel):
    value: bool | str


@router.get("/settings")
def get_settings(admin: Admin, ctx: Ctx) -> dict[str, Any]:
    """Settings that can change at run time: value now, environment default, overridden."""
    items = runtime.describe(ctx)
    return {"items": [{k: v for k, v in i.items() if k not in ("label", "help")} for i in items]}


@router.put("/settings/{key}")
def put_setting(key: str, body: SettingIn, admin: Admin, ctx: Ctx) -> dict[str, Any]:
    """Override the environment's value (every node sees it within a few seconds)."""
    return {"key": key, "value": runtime.set_value(ctx, key, body.value, by=admin.id)}


@router.delete("/settings/{key}", status_code=204)
def reset_setting(key: str, admin: Admin, ctx: Ctx) -> Response:
    """Back to the environment's value."""
    runtime.reset(ctx, key, by=admin.id)
    return Response(status_code=204)
