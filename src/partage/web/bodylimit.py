"""How large a request body a route takes.

Every route takes at most `PARTAGE_MAX_REQUEST_BODY` bytes (JSON, forms), enforced while
the body is read by `partage.web.guard`. The few routes made for large bodies (uploads,
hash lists, reference files, subtitles) say so on their endpoint with `@body_limit(...)`:
a number of bytes of their own, or `OWN_LIMIT` when the route streams the body and
enforces its own ceiling (a plan's file size, a quota) as it goes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

OWN_LIMIT = -1
FORM_OVERHEAD = 64 * 1024  # multipart boundaries and the small fields beside a file
_ATTR = "__partage_body_limit__"


def body_limit(limit: int) -> Callable[[F], F]:
    def mark(endpoint: F) -> F:
        setattr(endpoint, _ATTR, limit)
        return endpoint

    return mark


def limit_of(endpoint: object, default: int) -> int | None:
    """The endpoint's body limit in bytes, or None when it enforces its own."""
    limit = getattr(endpoint, _ATTR, None)
    if limit is None:
        return default
    return None if limit == OWN_LIMIT else int(limit)
