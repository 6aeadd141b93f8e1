"""Plans: what an account may store, send and download. `None` is unlimited."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from partage.accounts.models import Plan, User
from partage.accounts.service import DEFAULT_PLANS
from partage.errors import BadRequest, Conflict, NotFound
from partage.moderation import audit

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
# Limits a plan has, in the order the pages show them; all optional (None: unlimited),
# except the wait before a download, where 0 means none.
LIMITS = (
    "storage_quota", "max_file_size", "bandwidth_cap", "daily_download_quota",
    "download_wait", "retention_days",
)  # fmt: skip


def list_plans(s: Session) -> list[tuple[Plan, int]]:
    """Every plan with the number of accounts on it."""
    counts = dict(
        s.execute(
            select(User.plan_id, func.count(User.id))
            .where(User.deleted_at.is_(None))
            .group_by(User.plan_id)
        ).all()
    )
    plans = s.scalars(select(Plan).order_by(Plan.name))
    return [(p, int(counts.get(p.id, 0))) for p in plans]


def get_plan(s: Session, plan_id: int) -> Plan:
    plan = s.get(Plan, plan_id)
    if plan is None:
        raise NotFound("No plan with id %(plan_id)s.", plan_id=plan_id)
    return plan


SIZES = frozenset({"storage_quota", "max_file_size", "bandwidth_cap", "daily_download_quota"})
SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b|bytes?)?\s*$", re.IGNORECASE)
UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4, "p": 1024**5}


def exact_size(n: int | None) -> str:
    """A size as people type it, never rounded: "50 GiB", or plain bytes ("" for None)."""
    if n is None:
        return ""
    for unit, factor in (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n and n % factor == 0:
            return f"{n // factor} {unit}"
    return str(n)


def _number(key: str, value: Any) -> int:
    if isinstance(value, bool):
        raise BadRequest("%(key)s must be a whole number, or empty for no limit.", key=key)
    if isinstance(value, int):
        return value
    text = str(value)
    if key in SIZES and (m := SIZE_RE.match(text)):
        return int(float(m.group(1)) * UNITS[m.group(2).lower()])
    try:
        return int(text.strip())
    except ValueError:
        if key in SIZES:
            raise BadRequest(
                "%(key)s must be a size such as 5 GiB or 1048576 (bytes), or empty for no limit.",
                key=key,
            ) from None
        raise BadRequest(
            "%(key)s must be a whole number, or empty for no limit.", key=key
        ) from None


_INTEGER_COLUMNS = ("download_wait", "retention_days")


def check_limits(values: dict[str, Any]) -> dict[str, int | None]:
    out: dict[str, int | None] = {}
    for key, value in values.items():
        if key not in LIMITS:
            raise BadRequest(
                "Unknown plan limit %(key)s. Limits: %(limits)s.",
                key=repr(key),
                limits=", ".join(LIMITS),
            )
        if value is None or (isinstance(value, str) and value.strip() in ("", "unlimited")):
            out[key] = 0 if key == "download_wait" else None
            continue
        number = _number(key, value)
        # download_wait and retention_days are Integer columns: 32-bit in PostgreSQL.
        if number < 0 or number > (2**31 - 1 if key in _INTEGER_COLUMNS else 2**62):
            raise BadRequest("%(key)s must be a whole number of at least 0.", key=key)
        out[key] = number
    return out


def _check_name(s: Session, name: str, plan_id: int | None = None) -> str:
    name = name.strip().lower()
    if not NAME_RE.match(name):
        raise BadRequest("A plan name has 1 to 64 characters: lower-case letters, digits, - and _.")
    other = s.scalar(select(Plan.id).where(Plan.name == name))
    if other is not None and other != plan_id:
        raise Conflict("A plan named %(name)s exists already.", name=repr(name))
    return name


def create_plan(
    s: Session, name: str, limits: dict[str, Any], *, actor: User | None = None
) -> Plan:
    plan = Plan(name=_check_name(s, name), **{"download_wait": 0, **check_limits(limits)})
    s.add(plan)
    s.flush()
    audit.record(s, actor, "plan.create", f"plan:{plan.id}", after=plan_json(plan))
    return plan


def update_plan(
    s: Session, plan_id: int, name: str | None, limits: dict[str, Any],
    *, actor: User | None = None,
) -> Plan:  # fmt: skip
    """Only the limits given change; a limit given as None or empty becomes unlimited."""
    plan = get_plan(s, plan_id)
    before = plan_json(plan)
    if name is not None and name.strip().lower() != plan.name:
        if plan.name in DEFAULT_PLANS:
            raise Conflict(
                "The plan %(plan)s is built in: it cannot be renamed.", plan=repr(plan.name)
            )
        plan.name = _check_name(s, name, plan.id)
    for key, value in check_limits(limits).items():
        setattr(plan, key, value)
    s.flush()
    if plan_json(plan) != before:
        audit.record(s, actor, "plan.update", f"plan:{plan.id}", before=before,
                     after=plan_json(plan))  # fmt: skip
    return plan


def delete_plan(s: Session, plan_id: int, *, actor: User | None = None) -> None:
    plan = get_plan(s, plan_id)
    if plan.name in DEFAULT_PLANS:
        raise Conflict("The plan %(plan)s is built in: it cannot be deleted.", plan=repr(plan.name))
    users = s.scalar(select(func.count(User.id)).where(User.plan_id == plan.id)) or 0
    if users:
        raise Conflict(
            "%(accounts)s account(s) are on the plan %(plan)s (deleted accounts "
            "included): move them to another plan first.",
            accounts=users,
            plan=repr(plan.name),
        )
    audit.record(s, actor, "plan.delete", f"plan:{plan.id}", before=plan_json(plan))
    s.delete(plan)


def plan_json(plan: Plan, users: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": plan.id, "name": plan.name}
    out.update({k: getattr(plan, k) for k in LIMITS})
    if users is not None:
        out["users"] = users
    return out
