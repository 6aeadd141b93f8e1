"""Link options as typed on the command line, checked before anything is sent."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from partage.cli.client_errors import ClientError

_DURATION = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmg]?)i?b?$")


def expires_at(text: str, *, allow_never: bool = False) -> str | None:
    """`7d`, `12h`, `30m`, `2w` or an ISO 8601 date → ISO 8601 in UTC; `never` → None."""
    value = text.strip()
    if allow_never and value.lower() in ("never", "none", "0"):
        return None
    now = datetime.now(UTC)
    m = _DURATION.match(value.lower())
    if m:
        when = now + timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])
    else:
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            never = ", or never" if allow_never else ""
            raise ClientError(
                f"--expires {text!r}: give a duration (30m, 12h, 7d, 2w) "
                f"or an ISO 8601 date (2030-01-31T12:00:00Z){never}"
            ) from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        if when <= now:
            raise ClientError(f"--expires {text!r} is in the past")
    return when.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def max_downloads(n: int | None, *, zero_means_none: bool = False) -> int | None:
    if n is None:
        return None
    if n == 0 and zero_means_none:
        return None
    if n < 1:
        allowed = "0 (no limit) or more" if zero_means_none else "1 or more"
        raise ClientError(f"--max-downloads must be {allowed}")
    return n


def byte_rate(text: str | None) -> int | None:
    """`500k`, `20M`, `1.5G` (bytes per second, powers of 1024) → bytes per second."""
    if not text:
        return None
    m = _SIZE.match(text.strip().lower())
    if not m or float(m.group(1)) <= 0:
        raise ClientError(f"--limit-rate {text!r}: give bytes per second such as 500k or 20M")
    return max(1, int(float(m.group(1)) * 1024 ** " kmg".index(m.group(2) or " ")))
