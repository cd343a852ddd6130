"""Pieces every app shares: model fields and flags, the read-only admin, the 413 error and
the input check of the /v2 views. Each is declared once; these pin what it means."""

import pytest
from django.conf import settings
from django.contrib import admin
from django.core.management import call_command
from django.db import models
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.test import APIRequestFactory

from deployments import constants as dc
from deployments.models import Deployment, Release
from files import constants as fc
from gharart import constants as c
from gharart import errors, ids
from gharart.admin import ReadOnlyAdmin
from gharart.api import GharartAPIView
from gharart.fields import field_in, field_is, optional_user, prefixed_id
from siteintel.models import CrawlRun


def test_the_shared_fields_are_the_fields_the_migrations_hold():
    pk = prefixed_id(ids.new_dep_id)
    assert (pk.primary_key, pk.max_length, pk.default, pk.editable) == (True, 40, ids.new_dep_id, False)
    user = optional_user()
    assert user.remote_field.model == settings.AUTH_USER_MODEL
    assert user.remote_field.on_delete is models.SET_NULL and user.null and user.blank
    assert user.remote_field.related_name == "+"
    # Each call is a new field (a field belongs to one model).
    assert optional_user() is not user


@pytest.mark.django_db
def test_the_models_need_no_migration():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_flags_read_the_field_they_name():
    class Row:
        state = "ready"
        is_ready = field_is("state", "ready")
        is_failed = field_is("state", "failed")
        is_final = field_in("state", ("ready", "failed"))

    row = Row()
    assert row.is_ready and not row.is_failed and row.is_final
    row.state = "uploading"
    assert not row.is_ready and not row.is_final


def test_model_flags_by_name():
    dep = Deployment(state=dc.READY, target=dc.TARGET_DOCS, gate_status=dc.GATE_FAILED)
    assert dep.is_ready and not dep.is_failed and dep.is_docs and not dep.is_site
    assert dep.gate_failed and not dep.gate_passed
    assert Release(target=dc.TARGET_SITE).is_site
    run = CrawlRun(state="running")
    assert run.is_active and not run.is_succeeded


def test_one_spelling_of_the_shared_error_codes():
    assert dc.FILE_TOO_LARGE == fc.FILE_TOO_LARGE == c.FILE_TOO_LARGE == "file_too_large"
    assert dc.PAYLOAD_TOO_LARGE == c.PAYLOAD_TOO_LARGE == "payload_too_large"


def test_too_large_is_a_413_that_names_the_limit():
    exc = errors.too_large(c.PAYLOAD_TOO_LARGE, "Too big.", max_bytes=10)
    assert (exc.code, exc.message, exc.status, exc.details) == (c.PAYLOAD_TOO_LARGE, "Too big.", 413, {"max_bytes": 10})


def test_read_only_admins_add_and_change_nothing():
    read_only = [m for m, a in admin.site._registry.items() if isinstance(a, ReadOnlyAdmin)]
    labels = {m._meta.label for m in read_only}
    assert {"gharart.RequestLog", "siteintel.CrawlRun", "files.DocsAccessLog", "deployments.Release"} <= labels
    for model in read_only:
        model_admin = admin.site._registry[model]
        assert not model_admin.has_add_permission(None)
        assert not model_admin.has_change_permission(None)
    # The deployments' records are not deleted from the admin either.
    assert not admin.site._registry[Release].has_delete_permission(None)


class _Input(serializers.Serializer):
    n = serializers.IntegerField(min_value=1)


def _view(data):
    view = GharartAPIView()
    view.request = type("R", (), {"data": data})()
    return view


def test_validated_answers_the_checked_values_or_the_field_errors():
    assert _view({"n": "3"}).validated(_Input) == {"n": 3}
    assert _view({}).validated(_Input, {"n": "2"}) == {"n": 2}
    with pytest.raises(ValidationError) as raised:
        _view({"n": "0"}).validated(_Input)
    assert "n" in raised.value.detail


def test_validated_reads_the_request_body_by_default():
    request = APIRequestFactory().post("/", {"n": 5}, format="json")
    view = GharartAPIView()
    view.request = view.initialize_request(request)
    assert view.validated(_Input) == {"n": 5}
