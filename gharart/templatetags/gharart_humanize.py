from datetime import UTC

from django import template
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html

from gharart.humanize import code_words, relative_words

register = template.Library()

# The text a <time data-local> shows before (or without) JavaScript, which rewrites it in
# the reader's time zone (static/gharart/app.js, same three styles).
FALLBACK_FORMATS = {
    "long": "%A %-d %B %Y, %H:%M UTC",
    "short": "%-d %b %Y, %H:%M UTC",
    "date": "%-d %b %Y",
}


def _as_datetime(value):
    when = parse_datetime(value) if isinstance(value, str) else value
    if when is None or not hasattr(when, "astimezone"):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


@register.filter
def relative(value):
    """``{{ when|relative }}``: "in 3 hours" or "2 days ago"."""
    return relative_words(value)


@register.filter
def readable_time(value):
    """An ISO 8601 string or a datetime as "1 Dec 2026, 19:00 UTC" (prose never shows raw ISO)."""
    when = _as_datetime(value)
    if when is None:
        return value
    return when.strftime(FALLBACK_FORMATS["short"])


@register.filter
def words(code):
    """``{{ w.code|words }}``: a state, warning, error code or audit action in words."""
    return code_words(code)


@register.simple_tag
def local_time(value, style="short", relative=False, default="—"):
    """``{% local_time dep.created_at %}``: the time in the reader's zone.

    Renders ``<time datetime="…" data-local="short">1 Dec 2026, 19:00 UTC</time>``, which
    app.js rewrites in the reader's time zone; ``relative=True`` adds "(3 hours ago)".
    Styles: "long" (weekday and month in full), "short", "date" (no time of day).
    """
    when = _as_datetime(value)
    if when is None:
        return default
    style = style if style in FALLBACK_FORMATS else "short"
    html = format_html(
        '<time datetime="{}" data-local="{}">{}</time>',
        when.isoformat().replace("+00:00", "Z"),
        style,
        when.strftime(FALLBACK_FORMATS[style]),
    )
    if relative:
        html = format_html('{} <span class="muted">({})</span>', html, relative_words(when))
    return html


# The apps whose constants templates may name: {% if code|is_constant:"domains.PREVIEW_TOKEN_REQUIRED" %}.
CONSTANT_MODULES = {
    "gharart": "gharart.constants",
    "deployments": "deployments.constants",
    "files": "files.constants",
    "siteintel": "siteintel.constants",
    "domains": "domains.constants",
}


@register.filter
def is_constant(value, dotted):
    """Whether ``value`` equals the named constant ("app.NAME"), so a template compares a
    code it was handed as data to a constant, never to a spelled-out string."""
    import importlib

    app, _, name = str(dotted).partition(".")
    module = importlib.import_module(CONSTANT_MODULES[app])
    return value == getattr(module, name)
