"""`/healthz`, `/readyz` and `/metrics`."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import anyio
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from partage.context import Context
from partage.deps import client_address
from partage.ops import metrics

router = APIRouter(include_in_schema=False)

CHECK_TIMEOUT = 2.0  # seconds, per check


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def check_database(ctx: Context) -> None:
    with ctx.db.read() as s:
        s.execute(text("SELECT 1"))


def check_storage(ctx: Context) -> None:
    ctx.store.check()


def check_queue(ctx: Context) -> None:
    from huey import RedisHuey

    from partage.jobs import huey

    if isinstance(huey, RedisHuey):
        huey.storage.conn.ping()
    else:
        huey.pending_count()


def check_cache(ctx: Context) -> None:
    ctx.limiter.ping()  # Redis PING (PARTAGE_CACHE_URL)


def check_clamav(ctx: Context) -> None:
    from partage.moderation.malware import client

    client(ctx.settings).ping()


# Reported but not gating readiness: with clamd down, every instance would be taken out
# of the load balancer at once, while the fail mode already decides what new files do.
ADVISORY = frozenset({"clamav"})


def _reason(name: str, exc: BaseException) -> str:
    try:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError
    except ImportError:  # pragma: no cover
        RedisConnectionError = RedisTimeoutError = OSError  # type: ignore[misc,assignment]  # noqa: N806
    if isinstance(exc, RedisConnectionError | RedisTimeoutError | ConnectionError):
        return f"unreachable: {exc}"
    return f"error: {type(exc).__name__}: {exc}"


async def _run(name: str, check: Callable[[Context], None], ctx: Context) -> str:
    try:
        with anyio.fail_after(CHECK_TIMEOUT):
            # A hung check is abandoned (its thread finishes on its own later).
            await anyio.to_thread.run_sync(check, ctx, abandon_on_cancel=True)
    except TimeoutError:
        return f"timeout: no answer in {CHECK_TIMEOUT:g} s"
    except Exception as exc:
        return _reason(name, exc)
    return "ok"


CHECKS: dict[str, Callable[[Context], None]] = {
    "database": check_database,
    "storage": check_storage,
    "queue": check_queue,
}


def active_checks(ctx: Context) -> dict[str, Callable[[Context], None]]:
    """The checks above, plus the cache when PARTAGE_CACHE_URL is set."""
    active = dict(CHECKS)
    if ctx.settings.cache_url:
        active["cache"] = check_cache
    if ctx.settings.clamav_url:
        active["clamav"] = check_clamav
    return active


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    ctx: Context = request.app.state.ctx
    results: dict[str, str] = {}
    active = active_checks(ctx)

    async def one(name: str, check: Callable[[Context], None]) -> None:
        results[name] = await _run(name, check, ctx)

    async with anyio.create_task_group() as tg:
        for name, check in active.items():
            tg.start_soon(one, name, check)
    checks = {name: results[name] for name in active}
    ok = all(v == "ok" for name, v in checks.items() if name not in ADVISORY)
    return JSONResponse(
        {"status": "ready" if ok else "not ready", "checks": checks},
        status_code=200 if ok else 503,
        headers={"Cache-Control": "no-store"},
    )


def metrics_allowed(request: Request, ctx: Context) -> bool:
    """The client (as `client_address` sees it) is in PARTAGE_METRICS_ALLOW (default loopback)."""
    addr = client_address(request, ctx.settings)
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    nets = [ipaddress.ip_network(n, strict=False) for n in ctx.settings.metrics_allow]
    return any(ip in n for n in nets if n.version == ip.version)


@router.get("/metrics")
async def prometheus(request: Request) -> Response:
    ctx: Context = request.app.state.ctx
    if not metrics_allowed(request, ctx):
        raise HTTPException(404)  # as if there were nothing here
    body = await anyio.to_thread.run_sync(metrics.render, ctx)
    return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})
