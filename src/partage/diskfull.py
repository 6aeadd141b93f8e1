"""Recognising a full disk, whichever layer noticed it first.

SQLite says "database or disk is full" (SQLITE_FULL), PostgreSQL SQLSTATE 53100
(disk_full), the kernel ENOSPC or EDQUOT; SQLAlchemy wraps the drivers' errors
(`.orig`) and code may re-raise them (`__cause__`, `__context__`). Each becomes
one answer, 507 insufficient_storage (`partage.web.errors`), instead of a 500.
"""

from __future__ import annotations

import errno
import sqlite3

_SQLITE_FULL = 13
_PG_DISK_FULL = "53100"
_MAX_DEPTH = 8


def is_disk_full(exc: BaseException | None) -> bool:
    seen = 0
    while exc is not None and seen < _MAX_DEPTH:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if isinstance(exc, sqlite3.Error) and (
            getattr(exc, "sqlite_errorcode", None) == _SQLITE_FULL
            or "database or disk is full" in str(exc)
        ):
            return True
        if getattr(exc, "sqlstate", None) == _PG_DISK_FULL:  # psycopg
            return True
        orig = getattr(exc, "orig", None)  # sqlalchemy.exc.DBAPIError
        exc = orig if isinstance(orig, BaseException) else (exc.__cause__ or exc.__context__)
        seen += 1
    return False
