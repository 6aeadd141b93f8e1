"""Rate limits on secrets (logins, tokens, link passwords) and on sign-ups.

Only failures are counted (sign-ups excepted), so a user who types the right
password is never slowed down; a guesser is stopped after a few tries with a 429
and Retry-After.

The counts live in the process's memory by default. With `PARTAGE_CACHE_URL=redis://…`
they live in Redis (the `limits` library's own storage), so every web worker and
every node shares them: a guesser cannot multiply the allowance by the number of
processes behind the load balancer. Keys are prefixed with the queue name, so
deployments sharing one Redis server do not share counts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, RedisStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from partage.errors import PartageError, RateLimited, Term
from partage.settings import Settings
from partage.web.i18n import N_

T = TypeVar("T")

CACHE_TIMEOUT = 2.0  # seconds: a request waits no longer than this for Redis (per try)
CACHE_SCHEMES = ("redis://", "rediss://", "unix://")


class CacheUnavailable(PartageError):
    """The shared rate-limit store does not answer: refuse rather than count nothing."""

    status, code = 503, "cache_unavailable"

    def __init__(self) -> None:
        super().__init__(
            "This check is unavailable for a moment. Try again in a few seconds.",
            headers={"Retry-After": "5"},
        )


class UnsupportedCacheURL(ValueError):
    def __init__(self) -> None:
        super().__init__("unsupported cache URL (use redis://host:6379/0)")


def key_prefix(settings: Settings) -> str:
    """The namespace of this deployment's keys in a shared Redis."""
    return f"partage:{settings.queue_name}:limits"


def open_storage(settings: Settings) -> Storage:
    """MemoryStorage, or limits' RedisStorage for PARTAGE_CACHE_URL.

    Raises UnsupportedCacheURL for another scheme, ValueError for a malformed URL."""
    url = settings.cache_url
    if not url:
        return MemoryStorage()
    if not url.startswith(CACHE_SCHEMES):
        raise UnsupportedCacheURL()
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    if url.startswith("unix://"):  # redis-py's spelling; limits calls it redis+unix://
        url = "redis+unix://" + url.removeprefix("unix://")
    options: dict[str, Any] = {
        "key_prefix": key_prefix(settings),
        "socket_connect_timeout": CACHE_TIMEOUT,
        "socket_timeout": CACHE_TIMEOUT,
        # One more try covers a pooled connection that Redis closed; redis-py's
        # default (10 tries with back-off) would hold a login for many seconds.
        "retry": Retry(NoBackoff(), 1),
    }
    storage = storage_from_string(url, **options)
    if not isinstance(storage, Storage):  # pragma: no cover - an async+ scheme
        raise UnsupportedCacheURL()
    return storage


class FailureLimiter:
    def __init__(self, storage: Storage | None = None) -> None:
        self.storage = storage or MemoryStorage()
        self.limiter = MovingWindowRateLimiter(self.storage)
        # Errors of a shared store become CacheUnavailable (503); memory cannot fail.
        self._errors: tuple[type[BaseException], ...] = ()
        if isinstance(self.storage, RedisStorage):
            base = self.storage.base_exceptions
            self._errors = base if isinstance(base, tuple) else (base,)

    @classmethod
    def from_settings(cls, settings: Settings) -> FailureLimiter:
        return cls(open_storage(settings))

    @property
    def shared(self) -> bool:
        return isinstance(self.storage, RedisStorage)

    def _call(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except self._errors as e:
            raise CacheUnavailable() from e

    def check(
        self, rule: str, *keys: str, what: str = N_("attempts"), counted: str = "failed"
    ) -> None:
        """Raise RateLimited when `keys` have used up `rule` already. `what` is shown
        translated on pages: mark its literal with `N_` at the call."""
        item: RateLimitItem = parse(rule)
        for key in keys:
            if not self._call(partial(self.limiter.test, item, key)):
                reset, _remaining = self._call(partial(self.limiter.get_window_stats, item, key))
                wait = int(reset - time.time()) + 1
                if counted != "failed":
                    raise RateLimited(
                        "Too many %(what)s. Try again in %(seconds)s seconds.",
                        what=Term(what),
                        seconds=wait,
                        retry_after=wait,
                    )
                raise RateLimited(
                    "Too many failed %(what)s. Try again in %(seconds)s seconds.",
                    what=Term(what),
                    seconds=wait,
                    retry_after=wait,
                )

    def fail(self, rule: str, *keys: str) -> None:
        """Count one event (a failure, or for some rules any use) against each key."""
        item = parse(rule)
        for key in keys:
            self._call(partial(self.limiter.hit, item, key))

    def ping(self) -> None:
        """Raise (redis' own error) when the shared store does not answer; memory always does."""
        if isinstance(self.storage, RedisStorage):
            self.storage.get_connection().ping()

    def reset(self) -> None:
        """Forget every count (in Redis: this deployment's keys only)."""
        self._call(self.storage.reset)
