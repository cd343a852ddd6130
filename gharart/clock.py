"""The database's clock: the one time every node agrees on.

Web nodes and workers may disagree about the time by seconds (clock skew); anything that
decides by time across processes (a scheduled release being due, a publishing lock having
ended, a campaign window) asks the database instead of the local clock.
"""

from datetime import UTC, datetime, time

from django.db import connection
from django.db.models.functions import Now
from django.utils.dateparse import parse_date, parse_datetime

__all__ = ["Now", "db_now", "parse_time"]


def db_now() -> datetime:
    """The database server's current time (UTC, aware); the statement's time, not the transaction's."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT clock_timestamp()")
            value = cursor.fetchone()[0]
        else:
            cursor.execute("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')")
            value = datetime.fromisoformat(cursor.fetchone()[0])
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


# Times outside these years are refused: near year 1 or 9999 an offset pushes the UTC time
# out of range (a 500), and years before 1000 are not written as four digits in responses.
MIN_YEAR, MAX_YEAR = 1970, 9998


def parse_time(value, *, field, errors):
    """ISO 8601 time (naive = UTC), or a date meaning the end of that UTC day; '' / None -> None."""
    if value is None or value == "":
        return None
    parsed = _parse_time(value, field=field, errors=errors)
    if parsed is None:
        return None
    try:
        utc = parsed.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or not MIN_YEAR <= utc.year <= MAX_YEAR:
        errors[field] = [f"Use a time between {MIN_YEAR} and {MAX_YEAR}."]
        return None
    return utc


def _parse_time(value, *, field, errors):
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value).strip()
    try:
        parsed = parse_datetime(text)
    except ValueError:
        parsed = None
    if parsed is None:
        try:
            day = parse_date(text)
        except ValueError:
            day = None
        if day is None:
            errors[field] = ["Use an ISO 8601 time such as 2026-11-25T12:00:00Z."]
            return None
        parsed = datetime.combine(day, time(23, 59, 59), tzinfo=UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
