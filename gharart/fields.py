"""Model fields that mean the same in every app, declared once.

Each returns a new field; the migrations see exactly the field it returns.
"""

from django.conf import settings
from django.db import models


def prefixed_id(new_id):
    """A primary key like ``dep_...``, minted by ``new_id`` (one of ``gharart.ids``), never edited."""
    return models.CharField(primary_key=True, max_length=40, default=new_id, editable=False)


def optional_user():
    """A user the row names (who did or asked for something): None once that account is
    deleted, the row itself staying; no reverse accessor on the user."""
    return models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")


def field_is(field, value):
    """A flag for templates and code: whether the row's ``field`` is ``value`` (``is_ready =
    field_is("state", READY)``), so no template spells a state string."""
    return property(lambda row: getattr(row, field) == value)


def field_in(field, values):
    """A flag: whether the row's ``field`` is one of ``values``."""
    return property(lambda row: getattr(row, field) in values)
