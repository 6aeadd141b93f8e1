"""Bounds of the integers clients send in paths, queries and bodies.

Every integer parameter of a route uses one of these, so a number past what the
database stores (SQLite and PostgreSQL integers are 64-bit) is a 422 naming the
parameter, never an OverflowError deep in a query.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

MAX_ID = 2**63 - 1

Id = Annotated[int, Field(ge=1, le=MAX_ID)]  # a row's id
Cursor = Annotated[int, Field(ge=0, le=MAX_ID)]  # "after"/"before" an id; 0: the start
Page = Annotated[int, Field(ge=1, le=1_000_000)]  # pages count from 1
Count = Annotated[int, Field(ge=1, le=1000)]  # per_page, limit
Offset = Annotated[int, Field(ge=0, le=1_000_000_000)]
Size = Annotated[int, Field(ge=0, le=MAX_ID)]  # bytes
Days = Annotated[int, Field(ge=1, le=100 * 366)]
Seconds = Annotated[int, Field(ge=0, le=100 * 366 * 86400)]
