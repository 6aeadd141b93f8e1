"""Periods given as dates or times in a query string, for the audit log and the transparency
report. A period is half-open in UTC, [start, end): a day given as the end counts whole."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from partage.errors import BadRequest


@dataclass(frozen=True)
class Period:
    first: date  # the first day, as shown
    last: date  # the last day, included
    start: datetime
    end: datetime  # excluded: midnight after `last`


def parse_day(name: str, text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise BadRequest(
            "%(name)s: give a date as YYYY-MM-DD (got %(value)s).", name=name, value=repr(text)
        ) from None


def parse_moment(name: str, text: str, *, end: bool = False) -> datetime:
    """A date (YYYY-MM-DD) or an ISO 8601 time (UTC when it names no zone). A date as the
    `end` of a period includes that whole day."""
    text = text.strip()
    if len(text) == 10:
        day = parse_day(name, text)
        return datetime.combine(day + timedelta(days=1 if end else 0), time(), UTC)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(
            "%(name)s: give a date as YYYY-MM-DD or a time as YYYY-MM-DDTHH:MM:SSZ "
            "(got %(value)s).",
            name=name,
            value=repr(text),
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _year_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def days(first: str | None, last: str | None, *, today: date | None = None) -> Period:
    """The period from `first` to `last` included; by default the last 12 months, today
    included."""
    today = today or datetime.now(UTC).date()
    end_day = parse_day("to", last) if last else today
    start_day = parse_day("from", first) if first else _year_before(end_day) + timedelta(days=1)
    if start_day > end_day:
        raise BadRequest("from: the first day comes after the last one (to).")
    return Period(
        start_day,
        end_day,
        datetime.combine(start_day, time(), UTC),
        datetime.combine(end_day + timedelta(days=1), time(), UTC),
    )
