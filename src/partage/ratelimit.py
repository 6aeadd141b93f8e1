"""Rate limits on secrets (logins, tokens), per account and per address.

Only failures are counted, so a user who types the right password is never
slowed down; a guesser is stopped after a few tries with a 429 and Retry-After.
"""

from __future__ import annotations

import time

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, Storage
from limits.strategies import MovingWindowRateLimiter

from partage.errors import RateLimited


class FailureLimiter:
    def __init__(self, storage: Storage | None = None) -> None:
        self.storage = storage or MemoryStorage()
        self.limiter = MovingWindowRateLimiter(self.storage)

    def check(self, rule: str, *keys: str, what: str = "attempts", counted: str = "failed") -> None:
        """Raise RateLimited when `keys` have used up `rule` already."""
        item: RateLimitItem = parse(rule)
        for key in keys:
            if not self.limiter.test(item, key):
                reset, _remaining = self.limiter.get_window_stats(item, key)
                wait = int(reset - time.time()) + 1
                text = f"Too many {what}" if counted != "failed" else f"Too many failed {what}"
                raise RateLimited(f"{text}. Try again in {wait} seconds.", retry_after=wait)

    def fail(self, rule: str, *keys: str) -> None:
        """Count one event (a failure, or for some rules any use) against each key."""
        item = parse(rule)
        for key in keys:
            self.limiter.hit(item, key)

    def reset(self) -> None:
        self.storage.reset()
