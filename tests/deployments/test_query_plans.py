"""Query plans of the tables that grow with use: blobs, deployment files, the request log.

PostgreSQL only (CI runs it): each query is explained with sequential scans disabled, so
a plan that still scans a whole table has no index to use, and a `NOT IN (subquery)`
shows up as a SubPlan instead of an anti-join. The missing-blob question of a digest
deploy must never read the blob table at all.
"""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from deployments.management.commands import verify_blobs
from deployments.models import Blob, Deployment, DeploymentFile
from deployments.selectors.deployments import deployment_list
from deployments.selectors.ingest import (
    blobs_held,
    blobs_held_queries,
    deployment_required_blobs,
    deployment_required_query,
    deployment_waiting_entries,
)
from deployments.services.ingest import blob_orphans_query, deployment_create_from_digest
from gharart.models import RequestLog

pytestmark = pytest.mark.django_db

GROWING = ("deployments_blob", "deployments_deploymentfile", "files_file", "gharart_requestlog")


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("query plans are checked on PostgreSQL (set DATABASE_URL); SQLite plans differ")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")


def plan(qs):
    return qs.explain()


def assert_no_full_scan(text, tables=GROWING):
    for table in tables:
        assert f"Seq Scan on {table}" not in text, text


@pytest.fixture
def uploading(handle):
    shas = [uuid.uuid4().hex * 2 for _ in range(3)]
    dep, required = deployment_create_from_digest(handle=handle, files={f"/{i}.html": s for i, s in enumerate(shas)})
    assert required
    return dep, shas


def test_the_missing_blob_question_reads_the_waiting_entries_index_and_never_the_blob_table(uploading):
    dep, shas = uploading
    text = plan(deployment_required_query(deployment=dep))
    # An index on the deployment's own entries (the partial index of waiting ones, or the
    # deployment's, as the planner prefers): never the blob table, never a whole table.
    assert "Index Cond:" in text and "deployment_id" in text.split("Index Cond:", 1)[1], text
    assert_no_full_scan(text)
    assert "deployments_blob" not in text, text
    assert "SubPlan" not in text, text
    # The selector the API uses asks exactly that question.
    assert deployment_required_blobs(deployment=dep) == sorted(shas)
    # The step under the row lock (a blob arrives) reads the same index.
    text = plan(deployment_waiting_entries(deployment=dep, shas=shas[:1]))
    assert "Index" in text and "Seq Scan" not in text and "deployments_blob" not in text, text


def test_the_question_which_blobs_a_handle_holds_is_answered_through_indexes(handle):
    shas = [uuid.uuid4().hex * 2 for _ in range(3)]
    for query in blobs_held_queries(handle_id=handle.pk):
        text = plan(query(shas))
        assert_no_full_scan(text)
        assert "hashed SubPlan" not in text, text
    assert blobs_held(handle_id=handle.pk, shas=shas) == {}


def test_the_unreferenced_blob_sweep_is_anti_joins_over_indexes():
    from deployments import compression

    text = plan(blob_orphans_query(older_than=timezone.now() - timedelta(days=1)))
    assert text.count("Anti Join") == 4, text
    assert "SubPlan" not in text, text
    assert_no_full_scan(text)
    assert "Seq Scan on deployments_deployment" not in text, text
    text = plan(compression.stale_query()[:1000])
    assert "Anti Join" in text and "SubPlan" not in text, text
    assert_no_full_scan(text, ("deployments_deploymentfile",))


def test_verify_blobs_pages_the_blob_table_and_finds_unrecorded_references_by_anti_join():
    page = Blob.objects.filter(sha256__gt="").order_by("sha256").values_list("sha256", "size")[:1000]
    text = plan(page)
    assert "deployments_blob_pkey" in text, text
    for qs in verify_blobs.unrecorded_queries():
        text = plan(qs)
        assert "Anti Join" in text and "SubPlan" not in text, text
    text = plan(DeploymentFile.objects.filter(sha256="a" * 64, deployment__state="ready").values_list("deployment_id", "path"))
    assert_no_full_scan(text)


def test_the_deployments_list_and_a_deployments_files_use_indexes(handle, uploading):
    dep, _ = uploading
    assert_no_full_scan(plan(deployment_list(handle=handle)[:50]), ("deployments_deployment",))
    assert_no_full_scan(plan(DeploymentFile.objects.filter(deployment=dep).values_list("path", "size")))
    assert_no_full_scan(plan(DeploymentFile.objects.filter(deployment=dep, sha256="a" * 64).values_list("held", flat=True)[:2]))


def test_request_log_lookups_and_pruning_use_indexes(users):
    user = users["owner"]
    assert_no_full_scan(plan(RequestLog.objects.filter(request_id="req_x", user=user).order_by("-created_at", "-pk")[:1]))
    assert_no_full_scan(plan(RequestLog.objects.filter(user=user, created_at__gte=timezone.now() - timedelta(days=7)).order_by("-created_at", "-pk")[:50]))
    assert_no_full_scan(plan(RequestLog.objects.filter(created_at__lt=timezone.now() - timedelta(days=30)).values("pk")))


def test_a_deployments_detail_counts_are_read_by_its_own_rows(uploading):
    dep, _ = uploading
    assert Deployment.objects.get(pk=dep.pk).blobs_missing == 3
