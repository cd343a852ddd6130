"""A long deployment history costs the same queries as a short one, and no row loads its rules or log."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from deployments import constants as dc
from deployments.models import Deployment
from deployments.selectors.deployments import deployment_list

from .conftest import go_live

pytestmark = pytest.mark.django_db

API = "/v2/handles/acme/site-deployments"
PAGE = "/h/acme/deployments/"
HEAVY_RULES = {"redirects": [{"from": f"/old/{i}", "to": f"/new/{i}", "status": 301} for i in range(2000)],
               "redirect_problems": [{"line": 3, "text": "broken", "reason": "no target"}]}
HEAVY_LOG = [{"step": "stored", "detail": "x" * 200, "ms": 1} for _ in range(500)]


def grow_history(handle, users, count):
    """``count`` more deployments of every kind, with large rules and logs, by several members."""
    start = Deployment.objects.filter(handle=handle).count()
    authors = list(users.values())
    now = timezone.now()
    rows = []
    for i in range(start, start + count):
        target = dc.TARGET_DOCS if i % 5 == 0 else dc.TARGET_SITE
        state = dc.FAILED if i % 7 == 0 else dc.READY
        rows.append(Deployment(
            handle=handle, target=target, version=1000 + i, state=state, message=f"Release {i}", file_count=20,
            created_by=authors[i % len(authors)], created_at=now - timedelta(minutes=i), ready_at=now if state == dc.READY else None,
            warnings=[dc.WARNING_REDIRECTS_INVALID] if state == dc.READY else [],
            error={"code": "invalid_artifact", "message": "The archive could not be read."} if state == dc.FAILED else None,
            site_rules=HEAVY_RULES, log=HEAVY_LOG,
        ))
    Deployment.objects.bulk_create(rows)


def count_queries(fetch):
    with CaptureQueriesContext(connection) as queries:
        response = fetch()
    assert response.status_code == 200, response.content[:500]
    return len(queries), response


def test_the_api_list_and_the_page_cost_the_same_queries_at_10_and_500(manager, api, users, handle):
    go_live(handle, actor=users["owner"])
    grow_history(handle, users, 9)
    reader = api(users["viewer"])
    api_short, listed = count_queries(lambda: reader.get(API))
    page_short, _ = count_queries(lambda: manager.get(PAGE))
    filtered_short, _ = count_queries(lambda: manager.get(PAGE + "?target=site&state=ready"))
    assert len(listed.json()["results"]) == 10
    grow_history(handle, users, 490)
    api_long, listed = count_queries(lambda: reader.get(API))
    page_long, page = count_queries(lambda: manager.get(PAGE))
    filtered_long, _ = count_queries(lambda: manager.get(PAGE + "?target=site&state=ready"))
    assert Deployment.objects.filter(handle=handle).count() == 500
    assert (api_long, page_long, filtered_long) == (api_short, page_short, filtered_short)
    # The rows still say what is wrong with each one, from the rules' problem lines.
    item = next(i for i in listed.json()["results"] if i["warnings"])
    assert item["warning_details"][0]["details"]["lines"] == [3]
    assert "Release 1" in page.content.decode()


def test_list_rows_leave_the_rules_and_the_log_in_the_database(handle, users):
    grow_history(handle, users, 3)
    for dep in deployment_list(handle=handle):
        assert {"site_rules", "log"} <= dep.get_deferred_fields()
