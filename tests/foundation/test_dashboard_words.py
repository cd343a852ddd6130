"""Every dashboard page of the demo handle, with every state its panels can show set up,
reads as words: no raw snake_case code and no ISO timestamp in its prose (times are
``<time datetime>`` elements app.js shows in the reader's zone, with readable UTC text
before that). The same check runs in Chromium after app.js in tests/browser/test_pages.py."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from deployments import constants as dc
from deployments.models import Deployment, PublishingLock, ScheduledRelease, UploadRefusal
from deployments.services.ingest import deployment_create_from_archive
from deployments.services.releases import deployment_gate_set, deployment_preview_report
from files.models import Campaign, File, MagicLink
from gharart import constants as c
from gharart.models import Handle, RequestLog
from siteintel import constants as sc
from siteintel.models import CrawledPage, CrawlRun, ReplayDiff, ReplayRun
from tests.browser.sites import make_zip, storefront
from tests.visible_text import CODES, problems_in_html, problems_in_text

pytestmark = pytest.mark.django_db

PASSWORD = "demo-password-for-the-words-test"


@pytest.fixture
def demo(settings):
    """The seeded demo handle plus what its pages can show beyond the seed."""
    settings.GHARART_DEMO_PASSWORD = PASSWORD
    call_command("demo_seed", stdout=open("/dev/null", "w"))  # noqa: SIM115
    handle = Handle.objects.get(slug="gharart")
    users = {u.username: u for u in get_user_model().objects.filter(username__in=["owner", "webmanager", "partners"])}
    now = timezone.now()

    def upload(version_files, message):
        archive = SimpleUploadedFile("site.zip", make_zip(version_files), content_type="application/zip")
        return deployment_create_from_archive(handle=handle, upload=archive, message=message, actor=users["webmanager"])

    pending = upload(storefront(2), "Summer collection")  # waiting for its preview
    regressed = upload(storefront(3), "Autumn collection")  # a replay failed its gate
    deployment_preview_report(deployment=regressed, actor=users["webmanager"], opens_gate=True)
    deployment_gate_set(deployment=regressed, status=dc.GATE_FAILED, replay_run_id="replay_x", summary={"total": 4, "unchanged": 2, "changed": 2, "regressions": 1})
    failed = upload(storefront(4), "Broken upload")
    Deployment.objects.filter(pk=failed.pk).update(state=dc.FAILED, error={"code": dc.PROCESSING_FAILED, "message": "The archive could not be unpacked."})
    processing = upload(storefront(5), "Still unpacking")
    Deployment.objects.filter(pk=processing.pk).update(state=dc.PROCESSING)
    UploadRefusal.objects.create(handle=handle, filename="huge.zip", size=10, code=dc.INVALID_ARTIFACT, reason=dc.REASON_UNSAFE_PATH, message="A file in the archive points outside it.", created_by=users["webmanager"])
    ScheduledRelease.objects.create(handle=handle, deployment=pending, deployment_ref=pending.id, at=now + timedelta(days=3), reason="Launch", created_by=users["owner"])
    ScheduledRelease.objects.create(handle=handle, deployment=pending, deployment_ref=pending.id, at=now - timedelta(days=1), state=dc.SCHEDULE_FAILED, error={"code": dc.PUBLISHING_LOCKED, "message": "Publishing was locked."}, finished_at=now - timedelta(days=1))
    PublishingLock.objects.update_or_create(handle=handle, defaults={"locked": True, "reason": "Festival freeze", "until": now + timedelta(hours=5), "updated_by": users["owner"]})
    # The live site hidden by the links page: the mode mismatch warning on the overview.
    Handle.objects.filter(pk=handle.pk).update(site_mode=c.SITE_MODE_LINKS)

    # Files: one expired, one expiring in hours, one by link with a used and a revoked link.
    shared = list(File.objects.filter(handle=handle).order_by("created_at"))
    assert len(shared) >= 3, "the demo seeds files"
    File.objects.filter(pk=shared[0].pk).update(access="public", expires_at=now - timedelta(days=2), campaign=None)
    File.objects.filter(pk=shared[1].pk).update(access="public", expires_at=now + timedelta(hours=3), campaign=None)
    File.objects.filter(pk=shared[2].pk).update(access="link", recipients=["@agency.example"], campaign=None)
    MagicLink.objects.create(file=shared[2], token_hash="a" * 64, access_at_issue="link", email="ana@agency.example", expires_at=now + timedelta(days=7), last_used_at=now - timedelta(hours=1), use_count=2)
    MagicLink.objects.create(file=shared[2], token_hash="b" * 64, access_at_issue="link", email="old@agency.example", expires_at=now + timedelta(days=7), revoked_at=now, revoked_reason="file_access_changed")
    Campaign.objects.create(handle=handle, name="Diwali", starts_at=now + timedelta(days=10), ends_at=now + timedelta(days=20))
    Campaign.objects.create(handle=handle, name="Holi", starts_at=now - timedelta(days=40), ends_at=now - timedelta(days=30))

    # Site intel: a crawl cut short by its page cap, a page that timed out, a failed replay.
    crawl = CrawlRun.objects.filter(handle=handle).first()
    capped = CrawlRun.objects.create(handle=handle, hostname=crawl.hostname, max_pages=2, max_depth=2, state=sc.SUCCEEDED, stop_reason=sc.STOP_MAX_PAGES, pages_done=2, pages_found=9, started_at=now - timedelta(minutes=5), finished_at=now)
    CrawledPage.objects.create(crawl_run=capped, url=f"https://{crawl.hostname}/", path="/", status=200, depth=0)
    CrawledPage.objects.create(crawl_run=capped, url=f"https://{crawl.hostname}/slow", path="/slow", status=None, error=sc.PAGE_CONNECT_ERROR, depth=1)
    replay = ReplayRun.objects.create(handle=handle, hostname=crawl.hostname, crawl_run=capped, deployment_id=regressed.id, state=sc.SUCCEEDED, gate_status=sc.GATE_FAILED, summary={"total": 2, "unchanged": 1, "changed": 1, "regressions": 1}, started_at=now, finished_at=now)
    ReplayDiff.objects.create(replay_run=replay, path="/slow", kind=sc.DIFF_MISSING, regression=True, before={"status": 200}, after={"status": 404})
    ReplayRun.objects.create(handle=handle, hostname=crawl.hostname, crawl_run=capped, deployment_id=regressed.id, state=sc.FAILED, error={"code": "replay_failed", "message": "The worker stopped."})

    # Support: a failed request of the owner's, with its error code.
    RequestLog.objects.create(request_id="req_7k2m9x4q8w", user=users["owner"], handle=handle.slug, method="POST", path="/v2/me/tokens", status_code=400, error_code=c.VALIDATION_ERROR)
    return {"handle": handle, "users": users, "deployments": [pending, regressed, failed, processing], "files": shared, "replayed": regressed, "capped": capped}


def pages(demo):
    h = "/h/gharart"
    paths = [
        "/", f"{h}/", f"{h}/deployments/", f"{h}/releases/", f"{h}/site/", f"{h}/site-intel/",
        f"{h}/files/", f"{h}/docs-access/", f"{h}/campaigns/", f"{h}/audit/", f"{h}/domains/",
        "/support/?requestId=req_7k2m9x4q8w", "/settings/tokens/",
    ]
    paths += [f"{h}/deployments/{d.id}/" for d in Deployment.objects.filter(handle=demo["handle"])]
    paths += [f"{h}/site-intel/replay/{demo['replayed'].id}/"]
    paths += [f"{h}/campaigns/{cmp.id}/" for cmp in Campaign.objects.filter(handle=demo["handle"])]
    paths += [f"{h}/site-intel/?hostname={run.hostname}" for run in CrawlRun.objects.filter(handle=demo["handle"])[:1]]
    return paths


def test_the_checker_catches_codes_and_iso_times():
    assert problems_in_text("Warning: site_mode_mismatch")
    assert problems_in_text("changed 2026-12-01 19:00 UTC")
    assert problems_in_text("Latest crawl: stopped (max_pages).")
    assert problems_in_html("<p>Status <code>preview_gate_pending</code></p>")
    assert problems_in_html('<form data-confirm="Live since 2026-12-01 19:00 UTC?"></form>')
    # Words, usernames, paths and data attributes are fine.
    assert not problems_in_text("acme-web_manager promoted v2, 1 Dec 2026, 19:00 UTC (3 hours ago)")
    assert not problems_in_html('<p data-warning="site_mode_mismatch">Site mode mismatch. <code>HEAD /profiles/a/</code></p>')
    assert {"site_mode_mismatch", "preview_gate_pending", "deployment.promote", "web_manager"} <= CODES


def test_no_dashboard_page_shows_a_raw_code_or_an_iso_time(client, demo):
    client.force_login(demo["users"]["owner"])
    found = {}
    for path in pages(demo):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        problems = problems_in_html(response.content.decode())
        if problems:
            found[path] = problems
    assert not found, found


def test_the_partials_htmx_swaps_in_read_as_words_too(client, demo):
    """What polling and forms swap in: a deployment row, the created summary, the replay panel."""
    client.force_login(demo["users"]["webmanager"])
    hx = {"HTTP_HX_REQUEST": "true"}
    h = "/h/gharart"
    found = {}
    for dep in demo["deployments"]:
        for path in (f"{h}/deployments/{dep.id}/", f"{h}/deployments/{dep.id}/row/", f"{h}/deployments/{dep.id}/row/?part=summary"):
            response = client.get(path, **hx)
            if response.status_code == 200 and (problems := problems_in_html(f"<body>{response.content.decode()}</body>")):
                found[path] = problems
    # A refused promote (the gate failed): the refusal in words, its code only in data.
    response = client.post(f"{h}/deployments/{demo['replayed'].id}/promote/", {"reason": "go"}, **hx)
    assert response.status_code == 409
    if problems := problems_in_html(f"<body>{response.content.decode()}</body>"):
        found["promote refusal"] = problems
    capped = demo["capped"]
    for path in (f"{h}/site-intel/replay/{demo['replayed'].id}/", f"{h}/site-intel/runs/{capped.id}/", f"{h}/site-intel/pages/?hostname={capped.hostname}&run={capped.id}", f"{h}/site-intel/history/?hostname={capped.hostname}"):
        response = client.get(path, **hx)
        assert response.status_code == 200, (path, response.status_code)
        if problems := problems_in_html(f"<body>{response.content.decode()}</body>"):
            found[path] = problems
    assert not found, found


def _constant_values():
    """Every lowercase string constant the apps define: states, targets, modes, codes."""
    from deployments import constants as dc_module
    from domains import constants as domain_module
    from files import constants as file_module
    from gharart import constants as gharart_module
    from siteintel import constants as siteintel_module

    values = set()
    for module in (gharart_module, dc_module, file_module, siteintel_module, domain_module):
        for name, value in vars(module).items():
            if name.isupper() and isinstance(value, str) and value.replace("_", "").replace(".", "").isalpha() and value.islower():
                values.add(value)
    return values


def test_templates_never_spell_a_state_or_code():
    """Templates compare to model properties (``dep.is_ready``) or named constants
    (``code|is_constant:"domains.PREVIEW_TOKEN_REQUIRED"``), never to a string literal that
    is one of the apps' constants: a renamed state cannot silently break a page."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    values = _constant_values()
    assert {"ready", "failed", "site", "link", "verified", "passed", "stale"} <= values
    literal = re.compile(r"""(?:==|!=)\s*["']([^"']+)["']|["']([^"']+)["']\s*(?:==|!=|not in|in)\s""")
    tag = re.compile(r"{%\s*(?:if|elif)\b(.*?)%}", re.S)
    found = []
    for path in sorted([*root.glob("templates/**/*.html"), *root.glob("*/templates/**/*.html")]):
        if ".venv" in path.parts:
            continue
        for condition in tag.findall(path.read_text()):
            for match in literal.finditer(condition):
                spelled = match.group(1) or match.group(2)
                if spelled in values:
                    found.append(f"{path.relative_to(root)}: {condition.strip()[:100]}")
    assert not found, found
