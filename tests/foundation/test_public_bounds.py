"""What anonymous requests may leave behind: cache keys that expire and are bounded, no log rows."""

import time
from datetime import UTC, datetime

import pytest
from django.core.cache import cache
from freezegun import freeze_time

from deployments.selectors import live as live_selectors
from gharart import request_log
from gharart.models import RequestLog
from tests.deployments.conftest import publish

pytestmark = pytest.mark.django_db
MAX_TTL = 31 * 86400


def cache_keys():
    """``{key: seconds to live (None = never expires)}`` of the default cache, locmem or Redis."""
    if hasattr(cache, "_expire_info"):  # local memory
        now = time.time()
        return {k: (None if exp is None else exp - now) for k, exp in cache._expire_info.items()}
    client = cache._cache.get_client(None, write=False)
    prefix = cache.make_key("")
    out = {}
    for raw in client.scan_iter(match=prefix + "*", count=1000):
        ttl = client.ttl(raw)
        out[raw.decode() if isinstance(raw, bytes) else raw] = None if ttl == -1 else ttl
    return out


def assert_every_key_expires():
    keys = cache_keys()
    never = [k for k, ttl in keys.items() if ttl is None]
    assert not never, never
    assert all(ttl <= MAX_TTL for ttl in keys.values()), keys
    return keys


def test_unknown_profiles_leave_no_cache_key(client):
    for i in range(40):
        assert client.get(f"/profiles/nobody-{i}/").status_code == 404
    keys = cache_keys()
    assert not [k for k in keys if "live-gen" in k or "deployments:live" in k], keys
    # The only keys left are the per-address throttle windows, and they expire.
    assert_every_key_expires()


def test_random_paths_on_a_real_site_cache_only_real_files(client, handle, users):
    publish(handle, actor=users["owner"])
    client.get("/profiles/acme/")
    before = {k for k in cache_keys() if "deployments:file:" in k}
    for i in range(60):
        assert client.get(f"/profiles/acme/scan/{i}.php").status_code == 404
    after = {k for k in cache_keys() if "deployments:file:" in k}
    assert after == before  # /index.html and /404.html, cached by the first request
    # Served from the process's bounded memory the next time: no database query either.
    assert len(live_selectors._local_missing.data) <= live_selectors._local_missing.size
    assert_every_key_expires()


def test_a_real_handle_state_and_counter_expire(client, handle, users):
    publish(handle, actor=users["owner"])
    assert client.get("/profiles/acme/").status_code == 200
    keys = assert_every_key_expires()
    assert any("live-gen" in k for k in keys)


def test_public_routes_write_no_request_log_rows_and_are_counted(client, handle, users):
    publish(handle, actor=users["owner"])
    paths = ["/profiles/nobody/", "/profiles/acme/nope", "/previews/forged/", "/_edge/docs/acme/x", "/wp-login.php", "/.env"]
    paths += ["/v2/public/files/file_nothere", "/v2/public/files/file_nothere/magic-link"]
    for _ in range(5):
        for path in paths:
            assert client.get(path).status_code >= 400
    assert RequestLog.objects.count() == 0
    assert request_log.anonymous_counts(hours=2).get(404, 0) >= 5 * 6  # two hours: an hour may turn mid-test


def test_signed_in_callers_are_still_logged_by_request_id(api, users):
    response = api(users["owner"]).get("/v2/handles/acme/site-deployments/dep_nothere", HTTP_X_REQUEST_ID="support-1")
    assert response.status_code == 404
    assert RequestLog.objects.get(request_id="support-1").user == users["owner"]


def test_anonymous_api_errors_are_logged_up_to_a_budget_per_address(api, settings):
    settings.GHARART_REQUEST_LOG_ANONYMOUS_PER_MINUTE = 3
    with freeze_time("2026-12-01 12:00:10"):
        for i in range(8):
            assert api().get("/v2/me/tokens", HTTP_X_REQUEST_ID=f"anon-{i}").status_code == 401
    assert sorted(RequestLog.objects.values_list("request_id", flat=True)) == ["anon-0", "anon-1", "anon-2"]
    assert request_log.anonymous_counts(hours=1, now=datetime(2026, 12, 1, 12, 30, tzinfo=UTC))[401] == 5


def test_operators_read_the_counts_with_a_command(client):
    from io import StringIO

    from django.core.management import CommandError, call_command

    for _ in range(3):
        client.get("/wp-login.php")
    out = StringIO()
    call_command("request_counts", "--hours", "2", stdout=out)
    assert "404\t3" in out.getvalue() and "total\t3" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("request_counts", "--hours", "0")
