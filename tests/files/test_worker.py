"""A real Celery worker (a subprocess on the test database and broker) sends magic links."""

from datetime import timedelta

import pytest
from django.utils import timezone

from files import constants as fc
from files.models import MagicLink
from tests.conftest import wait_for
from tests.files.conftest import make_file

pytestmark = pytest.mark.worker


def test_a_real_worker_decides_mints_and_emails_the_link(api, handle, users, celery_worker_process):
    file = make_file(handle, users["partnerships"], access=fc.ACCESS_LINK, recipients=["@agency.example"], expires_at=timezone.now() + timedelta(days=5))
    for email in ("eve@evil.example", "ana@agency.example"):
        response = api().post(f"/v2/public/files/{file.id}/magic-link", {"email": email}, format="json")
        assert response.status_code == 202
    link = wait_for(lambda: MagicLink.objects.filter(file=file, emailed_at__isnull=False).first(), what="the worker to email the link")
    assert link.email == "ana@agency.example" and link.created_by is None
    # The stranger's job was queued first and one worker runs jobs in order: it left nothing behind.
    assert list(MagicLink.objects.filter(file=file).values_list("email", flat=True)) == ["ana@agency.example"]
    assert celery_worker_process.poll() is None
