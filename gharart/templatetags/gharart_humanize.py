from datetime import UTC

from django import template
from django.utils.dateparse import parse_datetime

from gharart.humanize import relative_words

register = template.Library()


@register.filter
def relative(value):
    """``{{ when|relative }}``: "in 3 hours" or "2 days ago"."""
    return relative_words(value)


@register.filter
def readable_time(value):
    """An ISO 8601 string or a datetime as "1 Dec 2026, 19:00 UTC" (prose never shows raw ISO)."""
    when = parse_datetime(value) if isinstance(value, str) else value
    if when is None:
        return value
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%-d %b %Y, %H:%M UTC")
