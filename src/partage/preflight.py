"""Start-up checks: every configured URL is understood and its service answers.

A server-side command (`serve`, `worker`, `migrate`, `admin …`) runs these
before anything else, so a wrong or unreachable URL stops it with one line
saying which setting and why, not a traceback from deep inside a library.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from partage.settings import Settings

TIMEOUT = 3  # seconds to wait for a service before calling it unreachable


class PreflightError(RuntimeError):
    """`message` is the one line to show: `PARTAGE_X=value: why`."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    creds, _, host = rest.rpartition("@")
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else f"{scheme}://{user}@{host}"


def _first_line(e: BaseException) -> str:
    words = str(e).strip().splitlines()
    return words[0] if words else type(e).__name__


def check_database(settings: Settings) -> None:
    url = settings.db_url
    name = f"PARTAGE_DATABASE_URL={_redact(url)}"
    if url.startswith("sqlite"):
        return  # a file in the data dir: ensure_dirs made its directory
    from sqlalchemy import create_engine

    try:
        args = {"connect_timeout": TIMEOUT} if url.startswith("postgresql") else {}
        engine = create_engine(url, connect_args=args)
    except (ArgumentError, NoSuchModuleError) as e:
        raise PreflightError(f"{name}: not a database URL partage can use ({e})") from e
    except ImportError as e:
        raise PreflightError(f"{name}: its database driver is not installed ({e})") from e
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as e:
        orig = getattr(e, "orig", None) or e
        raise PreflightError(f"{name}: unreachable ({_first_line(orig)})") from e
    finally:
        engine.dispose()


def check_storage(settings: Settings) -> None:
    from partage.storage import store_from_url

    root = Path(settings.blob_root)
    where = f"PARTAGE_STORAGE_URL={settings.storage_url}" if settings.storage_url else (
        f"blob store {root}")  # fmt: skip
    if settings.storage_url and settings.storage_url.startswith("s3://"):
        _check_s3(settings, where)
        return
    try:
        store_from_url(settings.storage_url, settings)  # creates its directories
        probe = root / ".preflight"
        probe.write_bytes(b"")
        probe.unlink()
    except ValueError as e:
        raise PreflightError(f"{where}: {str(e).removeprefix('PARTAGE_STORAGE_URL: ')}") from e
    except OSError as e:
        raise PreflightError(f"{where}: not writable ({e.strerror or e}: {e.filename})") from e


def _check_s3(settings: Settings, where: str) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    from partage.storage import store_from_url

    try:
        store_from_url(settings.storage_url, settings).check()
    except ValueError as e:
        raise PreflightError(f"{where}: {str(e).removeprefix('PARTAGE_STORAGE_URL: ')}") from e
    except ClientError as e:
        err = e.response.get("Error", {})
        why = f"{err.get('Code', 'error')}: {err.get('Message') or _first_line(e)}"
        raise PreflightError(f"{where}: the bucket refused a test write ({why})") from e
    except BotoCoreError as e:
        endpoint = settings.s3_endpoint_url or "AWS"
        raise PreflightError(f"{where}: unreachable at {endpoint} ({_first_line(e)})") from e


def check_queue(settings: Settings) -> None:
    url = settings.queue_url
    if not url:
        return
    name = f"PARTAGE_QUEUE_URL={_redact(url)}"
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise PreflightError(f"{name}: unsupported queue URL (use redis://host:6379/0)")
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=TIMEOUT, socket_timeout=TIMEOUT)
        client.ping()
    except ValueError as e:
        raise PreflightError(f"{name}: not a Redis URL ({e})") from e
    except redis.RedisError as e:
        raise PreflightError(f"{name}: unreachable ({_first_line(e)})") from e


def check_storage_fallback(settings: Settings) -> None:
    """The old store a migration reads from: it must parse and be readable (not writable)."""
    url = settings.storage_fallback_url
    if not url:
        return
    from botocore.exceptions import BotoCoreError, ClientError

    from partage.storage import store_from_url

    name = f"PARTAGE_STORAGE_FALLBACK_URL={url}"
    try:
        store = store_from_url(url, settings, setting="PARTAGE_STORAGE_FALLBACK_URL")
        next(iter(store.keys()), None)  # one listing call: reachable and readable
    except ValueError as e:
        reason = str(e).removeprefix("PARTAGE_STORAGE_FALLBACK_URL: ")
        raise PreflightError(f"{name}: {reason}") from e
    except (ClientError, BotoCoreError, OSError) as e:
        raise PreflightError(f"{name}: cannot be read ({_first_line(e)})") from e


def check_cache(settings: Settings) -> None:
    """Rate limits shared through Redis: the URL must be one `limits` can use, and answer."""
    url = settings.cache_url
    if not url:
        return
    name = f"PARTAGE_CACHE_URL={_redact(url)}"
    import redis

    from partage.ratelimit import FailureLimiter, UnsupportedCacheURL

    try:
        FailureLimiter.from_settings(settings).ping()
    except UnsupportedCacheURL as e:
        raise PreflightError(f"{name}: {e}; rate limits are shared through Redis") from e
    except ValueError as e:
        raise PreflightError(f"{name}: not a Redis URL ({e})") from e
    except redis.RedisError as e:
        raise PreflightError(f"{name}: unreachable ({_first_line(e)})") from e


def check_delivery(settings: Settings) -> None:
    """`redirect` needs object storage, `x-accel` local storage (partage.delivery)."""
    from partage.delivery import DeliveryConfigError, check_settings

    try:
        check_settings(settings)
    except DeliveryConfigError as e:
        raise PreflightError(str(e)) from e


def check_mail(settings: Settings) -> None:
    """A malformed PARTAGE_SMTP_URL stops the start (the server itself is not contacted:
    mail is sent in the background and a failure is logged)."""
    from partage.mail import MailConfigError, check_settings

    try:
        check_settings(settings)
    except MailConfigError as e:
        raise PreflightError(str(e)) from e


def check_clamav(settings: Settings) -> None:
    """A malformed PARTAGE_CLAMAV_URL stops the start; a clamd that does not answer only
    warns, in either fail mode: clamd may still be loading its signatures (it listens
    only once they are loaded, a minute with the full set), and failing closed already
    holds new blobs until they are scanned, so refusing to start would only take down
    the downloads of everything scanned before."""
    url = settings.clamav_url
    if not url:
        return
    from partage.moderation.clamd import Clamd, ScannerError

    name = f"PARTAGE_CLAMAV_URL={url}"
    try:
        scanner = Clamd(url, timeout=TIMEOUT)
    except ValueError as e:
        raise PreflightError(f"{name}: {e}") from e
    try:
        scanner.ping()
    except ScannerError as e:
        held = "held" if settings.clamav_fail == "closed" else "served unscanned"
        logging.getLogger("partage.preflight").warning(
            "%s: clamd does not answer (%s); new files are %s until it does", name, e, held
        )


CHECKS: tuple[Callable[[Settings], None], ...] = (
    check_database, check_storage, check_storage_fallback, check_delivery, check_queue,
    check_cache, check_mail, check_clamav,
)  # fmt: skip


def preflight(settings: Settings) -> None:
    """Raise `PreflightError` for the first configured service that is wrong or down."""
    for check in CHECKS:
        check(settings)
