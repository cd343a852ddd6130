"""Fixtures for support: operators and the staff users who are not operators."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from support.operators import operator_add, operators_group_sync


@pytest.fixture
def operator(db):
    user = get_user_model().objects.create_user(username="op", password="pw-op", email="op@gharart.example")
    operator_add(user=user)
    return user


@pytest.fixture
def staff_user(db):
    """Staff, not in the operators group, even holding the support models' permissions."""
    operators_group_sync()
    user = get_user_model().objects.create_user(username="staffer", password="pw-staffer", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="support"))
    return user


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser(username="root", password="pw-root", email="root@gharart.example")


@pytest.fixture
def end_user(db):
    """Signed in, member of no handle."""
    return get_user_model().objects.create_user(username="enduser", password="pw-enduser")
