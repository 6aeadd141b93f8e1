"""Logging for `partage serve`, its web workers and `partage worker`.

`PARTAGE_LOG_FORMAT=text` (default) keeps the plain one-line format;
`json` writes one JSON object per line with `time`, `level`, `logger`,
`message` and, for lines logged while a request is handled, `request_id`.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from partage.settings import Settings

# Set by the ops middleware for the duration of each HTTP request.
request_id: ContextVar[str | None] = ContextVar("partage_request_id", default=None)

TEXT_FORMAT = "%(asctime)s %(name)s %(message)s"


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None)
        if rid:
            out["request_id"] = rid
        if record.exc_info:
            out["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def granian_dictconfig(settings: Settings) -> dict[str, Any] | None:
    """For `Granian(log_dictconfig=…)`: with JSON logs, granian's own lines go to the
    root handler too (else they keep granian's plain format)."""
    if settings.log_format != "json":
        return None
    own = {"handlers": [], "level": "INFO", "propagate": True}
    return {"loggers": {"_granian": dict(own), "granian.access": dict(own)}}


def configure(settings: Settings) -> None:
    """Install the one root handler (idempotent: replaces earlier ones)."""
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.getLogger("alembic").setLevel(logging.WARNING)
