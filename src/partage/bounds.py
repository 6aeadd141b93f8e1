"""Bounds of the integers clients send in paths, queries and bodies.

Every integer parameter of a route uses one of these, so a number past what the
database stores is a 422 naming the parameter, never an OverflowError (SQLite) or
"integer out of range" (PostgreSQL) deep in a query. Ids are `Integer` columns:
64-bit in SQLite but 32-bit in PostgreSQL, so an id is at most 2**31 - 1 on both.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

MAX_ID = 2**31 - 1  # PostgreSQL's integer
MAX_BIG = 2**63 - 1  # a BigInteger column (sizes)

Id = Annotated[int, Field(ge=1, le=MAX_ID)]  # a row's id
Cursor = Annotated[int, Field(ge=0, le=MAX_ID)]  # "after"/"before" an id; 0: the start
Page = Annotated[int, Field(ge=1, le=1_000_000)]  # pages count from 1
Count = Annotated[int, Field(ge=1, le=1000)]  # per_page, limit
Offset = Annotated[int, Field(ge=0, le=1_000_000_000)]
Size = Annotated[int, Field(ge=0, le=MAX_BIG)]  # bytes
Days = Annotated[int, Field(ge=1, le=100 * 366)]
DayCount = Annotated[int, Field(ge=0, le=100 * 366)]  # a plan's retention: 0 allowed
Seconds = Annotated[int, Field(ge=0, le=10 * 366 * 86400)]  # an Integer column too
