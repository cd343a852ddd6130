"""Times in words for prose ("in 3 hours", "2 days ago"): never a raw ISO timestamp."""

from datetime import datetime

from django.utils import timezone


def duration_words(seconds: float) -> str:
    """``seconds`` (>= 0) as the largest sensible unit: "1 minute", "3 hours", "2 days".

    Under an hour counts minutes (at least 1), under two days hours, then days, each
    rounded to the nearest whole unit (a time set 10 days ahead reads "10 days" a moment
    later, not "9 days").
    """
    seconds = max(0.0, float(seconds))
    if seconds < 3570:
        value, unit = max(1, int(seconds / 60 + 0.5)), "minute"
    elif seconds < 2 * 86400 - 1800:
        value, unit = int(seconds / 3600 + 0.5), "hour"
    else:
        value, unit = int(seconds / 86400 + 0.5), "day"
    return f"{value} {unit}{'' if value == 1 else 's'}"


def relative_words(when: datetime | None, now: datetime | None = None) -> str:
    """"in 3 hours" for a time ahead, "3 hours ago" (or "just now") for one past, "" for None."""
    if when is None:
        return ""
    now = now or timezone.now()
    delta = (when - now).total_seconds()
    if delta >= 0:
        return f"in {duration_words(delta)}"
    if delta > -60:
        return "just now"
    return f"{duration_words(-delta)} ago"
