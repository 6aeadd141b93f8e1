"""Rate limits on secrets (logins, tokens, link passwords, 2FA codes) and on sign-ups.

Every secret check goes through `check_secret`, whose policy is: an attacker slows
himself, never the owner (docs/configuration.md, "Rate limits on secrets").

- Only failures count (sign-ups and reset requests excepted).
- The address that fails is the one slowed: past its per-address allowance it gets 429
  and Retry-After. For a costly secret (a password: Argon2) it is refused before the
  check, so that allowance also bounds the CPU one address can spend on hashing; a cheap
  secret (an API token: one indexed lookup) is looked up first, so a valid one is
  accepted always.
- A per-account or per-link count never refuses anybody by itself: once it is used up
  the subject is "under attack", and each address may then fail at most `HOT_TRIES`
  times on it (counted per address and subject). A guesser with many addresses gets a
  few tries per address instead of the full per-address allowance; an address that has
  not failed on this subject still has its tries, so the owner typing the right
  password from it gets in. Refusing him instead would hand every attacker a switch
  that locks any account or link.

The counts live in the process's memory by default. With `PARTAGE_CACHE_URL=redis://…`
they live in Redis (the `limits` library's own storage), so every web worker and
every node shares them: a guesser cannot multiply the allowance by the number of
processes behind the load balancer. Keys are prefixed with the queue name, so
deployments sharing one Redis server do not share counts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, RedisStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from partage.errors import PartageError, RateLimited, Term
from partage.settings import Settings
from partage.web.i18n import N_

T = TypeVar("T")

# Failures one address may make on an account or link under attack (see above): enough
# for an owner's typos, few enough that many addresses gain a guesser little.
HOT_TRIES = 3
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

    def wait(self, rule: str | RateLimitItem, key: str) -> int | None:
        """Seconds until `key` may be counted again under `rule`; None when it may now."""
        item = parse(rule) if isinstance(rule, str) else rule
        if self._call(partial(self.limiter.test, item, key)):
            return None
        reset, _remaining = self._call(partial(self.limiter.get_window_stats, item, key))
        return int(reset - time.time()) + 1

    def check(
        self, rule: str, *keys: str, what: str = N_("attempts"), counted: str = "failed"
    ) -> None:
        """Raise RateLimited when `keys` have used up `rule` already. `what` is shown
        translated on pages: mark its literal with `N_` at the call."""
        for key in keys:
            wait = self.wait(rule, key)
            if wait is not None:
                raise limited(what, wait, failed=counted == "failed")

    def fail(self, rule: str | RateLimitItem, *keys: str) -> None:
        """Count one event (a failure, or for some rules any use) against each key."""
        item = parse(rule) if isinstance(rule, str) else rule
        for key in keys:
            self._call(partial(self.limiter.hit, item, key))

    def ping(self) -> None:
        """Raise (redis' own error) when the shared store does not answer; memory always does."""
        if isinstance(self.storage, RedisStorage):
            self.storage.get_connection().ping()

    def reset(self) -> None:
        """Forget every count (in Redis: this deployment's keys only)."""
        self._call(self.storage.reset)


def limited(what: str, wait: int, *, failed: bool = True) -> RateLimited:
    if not failed:
        return RateLimited(
            "Too many %(what)s. Try again in %(seconds)s seconds.",
            what=Term(what), seconds=wait, retry_after=wait,
        )  # fmt: skip
    return RateLimited(
        "Too many failed %(what)s. Try again in %(seconds)s seconds.",
        what=Term(what), seconds=wait, retry_after=wait,
    )  # fmt: skip


# -- the one policy of every secret check ----------------------------------------------------


@dataclass(frozen=True)
class SecretPolicy:
    """How guessing one kind of secret is limited. `what_*` are shown translated: mark
    their literals with `N_`."""

    name: str  # the keys' namespace: login, token, linkpw, 2fa
    per_address: str  # failures one address may make, on every subject together
    what_address: str
    per_subject: str | None = None  # failures on one account or link, from every address
    what_subject: str = ""
    costly: bool = True  # an Argon2 hash: refuse a failing address before checking


def _hot_item(rule: str) -> RateLimitItem:
    """The allowance of one address on a subject under attack: `HOT_TRIES` (at most the
    subject's own allowance) in the subject's window."""
    item = parse(rule)
    return type(item)(min(HOT_TRIES, item.amount), item.multiples)


def _refuse_guesser(
    limiter: FailureLimiter, policy: SecretPolicy, address: str, subject: str | None
) -> None:
    """Raise RateLimited when this address may not try this secret now."""
    wait = limiter.wait(policy.per_address, f"{policy.name}:address:{address}")
    if wait is not None:
        raise limited(policy.what_address, wait)
    if policy.per_subject is None or subject is None:
        return
    hot = limiter.wait(policy.per_subject, f"{policy.name}:subject:{subject}")
    if hot is None:
        return
    tried = limiter.wait(_hot_item(policy.per_subject), f"{policy.name}:pair:{subject}:{address}")
    if tried is not None:
        raise limited(policy.what_subject, min(hot, tried))


def _count_failure(
    limiter: FailureLimiter, policy: SecretPolicy, address: str, subject: str | None
) -> None:
    limiter.fail(policy.per_address, f"{policy.name}:address:{address}")
    if policy.per_subject is not None and subject is not None:
        limiter.fail(policy.per_subject, f"{policy.name}:subject:{subject}")
        # Counted always, so that once the subject is under attack the addresses that
        # have been failing on it are known.
        limiter.fail(_hot_item(policy.per_subject), f"{policy.name}:pair:{subject}:{address}")


def check_secret(
    limiter: FailureLimiter,
    policy: SecretPolicy,
    *,
    address: str,
    subject: str | None,
    verify: Callable[[], bool],
) -> bool:
    """Run `verify` (True: the secret is right) under `policy`; False after a counted
    failure, for the caller to raise its own error. Raises RateLimited for an address
    that is slowed: before `verify` for a costly secret, after it (and only when it
    failed) for a cheap one."""
    if policy.costly:
        _refuse_guesser(limiter, policy, address, subject)
    if verify():
        return True
    if not policy.costly:
        _refuse_guesser(limiter, policy, address, subject)
    _count_failure(limiter, policy, address, subject)
    return False


def login_policy(settings: Settings) -> SecretPolicy:
    """Account passwords: logins, and re-authentication before a sensitive change."""
    return SecretPolicy(
        "login", settings.login_rate_per_address, N_("logins from your address"),
        settings.login_rate_per_account, N_("logins for this account"),
    )  # fmt: skip


def second_factor_policy(settings: Settings) -> SecretPolicy:
    """TOTP and recovery codes: cheap to check, but a 6-digit code is worth a subject limit;
    checked before like a password, since the address's allowance is all that bounds it."""
    return SecretPolicy(
        "2fa", settings.login_rate_per_address, N_("logins from your address"),
        settings.login_rate_per_account, N_("codes for this account"),
    )  # fmt: skip


def token_policy(settings: Settings) -> SecretPolicy:
    """API tokens: one indexed lookup of a hash, so a valid token is accepted always."""
    return SecretPolicy(
        "token", settings.token_failure_rate_per_address, N_("token checks"), costly=False
    )


def link_password_policy(settings: Settings) -> SecretPolicy:
    return SecretPolicy(
        "linkpw", settings.link_password_rate_per_address,
        N_("password attempts from your address"),
        settings.link_password_rate_per_file, N_("password attempts for this file"),
    )  # fmt: skip
