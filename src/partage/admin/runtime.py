"""Settings an administrator may change while the service runs.

An explicit allow-list (`SETTINGS`): each key has a type and its default from the
environment (`partage.settings`). A value stored in `runtime_settings` (JSON) overrides
the environment; removing it goes back to the environment value.

Reads are cheap: each process keeps the table in memory for `CACHE_SECONDS`, so a page
costs no query for them, and a change made on one node reaches every other node (and
every web worker) within that delay. The process that makes the change drops its cache
at once.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from partage.accounts.models import RuntimeSetting, User
from partage.context import Context
from partage.db import Database, utcnow
from partage.errors import BadRequest
from partage.moderation import audit
from partage.settings import Settings
from partage.web.i18n import N_

CACHE_SECONDS = 5.0
MAX_NOTICE = 500


@dataclass(frozen=True)
class RuntimeKey:
    key: str
    kind: type
    label: str  # marked for the catalogue; translated where shown
    help: str
    default: Callable[[Settings], Any]


SETTINGS: dict[str, RuntimeKey] = {
    k.key: k
    for k in (
        RuntimeKey(
            "registration_open", bool, N_("Sign-up open"),
            N_("Anyone may create an account from the sign-up page."),
            lambda s: s.registration_open,
        ),
        RuntimeKey(
            "site_notice", str, N_("Site notice"),
            N_("A short message shown at the top of every page (500 characters at most); "
               "empty shows nothing."),
            lambda s: "",
        ),
    )
}  # fmt: skip


def _spec(key: str) -> RuntimeKey:
    spec = SETTINGS.get(key)
    if spec is None:
        raise BadRequest(
            "%(key)s cannot be changed at run time. Settings: %(settings)s.",
            key=repr(key),
            settings=", ".join(SETTINGS),
        )
    return spec


def parse(key: str, value: Any) -> Any:
    """Check a value for `key`; strings from a form are accepted for booleans."""
    spec = _spec(key)
    if spec.kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "1", "on", "yes"):
            return True
        if isinstance(value, str) and value.lower() in ("false", "0", "off", "no", ""):
            return False
        raise BadRequest("%(key)s must be true or false.", key=key)
    if not isinstance(value, str):
        raise BadRequest("%(key)s must be text.", key=key)
    value = value.strip()
    if len(value) > MAX_NOTICE:
        raise BadRequest("%(key)s has %(max)s characters at most.", key=key, max=MAX_NOTICE)
    return value


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_db: dict[int, tuple[float, dict[str, Any]]] = {}

    def stored(self, db: Database) -> dict[str, Any]:
        now = time.monotonic()
        hit = self.by_db.get(id(db))
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            return hit[1]
        with db.read() as s:
            values = stored_values(s)
        with self.lock:
            self.by_db[id(db)] = (now, values)
        return values

    def drop(self, db: Database) -> None:
        with self.lock:
            self.by_db.pop(id(db), None)


_cache = _Cache()


def stored_values(s: Session) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for row in s.scalars(select(RuntimeSetting)):
        if row.key in SETTINGS:
            try:
                out[row.key] = json.loads(row.value)
            except ValueError:
                continue  # a damaged row falls back to the environment
    return out


def current(ctx: Context) -> dict[str, Any]:
    """Every allowed key with its value now (stored, else from the environment)."""
    stored = _cache.stored(ctx.db)
    return {k: stored.get(k, spec.default(ctx.settings)) for k, spec in SETTINGS.items()}


def get(ctx: Context, key: str) -> Any:
    return current(ctx)[key]


def registration_open(ctx: Context) -> bool:
    return bool(get(ctx, "registration_open"))


def describe(ctx: Context) -> list[dict[str, Any]]:
    """For the settings page and the API: value, environment default, overridden or not."""
    stored = _cache.stored(ctx.db)
    return [
        {
            "key": k,
            "type": spec.kind.__name__,
            "value": stored.get(k, spec.default(ctx.settings)),
            "default": spec.default(ctx.settings),
            "overridden": k in stored,
            "label": spec.label,
            "help": spec.help,
        }
        for k, spec in SETTINGS.items()
    ]


def _stored(row: RuntimeSetting | None) -> dict[str, Any] | None:
    """A row's value for the audit log (None: not overridden)."""
    if row is None:
        return None
    try:
        return {"value": json.loads(row.value)}
    except ValueError:
        return {"value": row.value}


def set_value(ctx: Context, key: str, value: Any, *, by: int | None) -> Any:
    value = parse(key, value)
    with ctx.db.session() as s:
        row = s.get(RuntimeSetting, key)
        before = _stored(row)
        if row is None:
            s.add(RuntimeSetting(key=key, value=json.dumps(value), updated_by=by))
        else:
            row.value = json.dumps(value)
            row.updated_by = by
            row.updated_at = utcnow()
        actor = s.get(User, by) if by is not None else None
        audit.record(s, actor, "setting.set", f"setting:{key}", before=before,
                     after={"value": value})  # fmt: skip
    _cache.drop(ctx.db)
    return value


def reset(ctx: Context, key: str, *, by: int | None = None) -> None:
    """Back to the environment's value."""
    _spec(key)
    with ctx.db.session() as s:
        row = s.get(RuntimeSetting, key)
        if row is not None:
            before = _stored(row)
            s.delete(row)
            actor = s.get(User, by) if by is not None else None
            audit.record(s, actor, "setting.reset", f"setting:{key}", before=before)
    _cache.drop(ctx.db)
