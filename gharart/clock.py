"""The database's clock: the one time every node agrees on.

Web nodes and workers may disagree about the time by seconds (clock skew); anything that
decides by time across processes (a scheduled release being due, a publishing lock having
ended, a campaign window) asks the database instead of the local clock.
"""

from datetime import UTC, datetime

from django.db import connection
from django.db.models.functions import Now

__all__ = ["Now", "db_now"]


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
