"""GET/HEAD /v2/public/files/{id}: every status of the contract, Range, ETag, streaming."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from files import constants as fc
from files import services
from files.models import File
from tests.conftest import assert_error
from tests.files.conftest import PDF, PNG, make_file, mint, url

# Each test runs on both blob backends: local files and S3 (SeaweedFS).
pytestmark = pytest.mark.blobs


def body_of(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_a_public_file_downloads_with_safe_headers(api, public_file):
    response = api().get(url(public_file))
    assert response.status_code == 200
    assert body_of(response) == PNG
    assert response["Content-Type"] == "image/png"
    assert response["Content-Length"] == str(len(PNG))
    assert response["ETag"] == f'"{public_file.sha256}"'
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Disposition"] == 'inline; filename="logo.png"'
    assert "sandbox" in response["Content-Security-Policy"]
    assert response["X-Request-ID"]
    public_file.refresh_from_db()
    assert public_file.download_count == 1


def test_unsafe_types_and_odd_names_are_attachments(api, handle, users):
    html = make_file(handle, users["owner"], data=b"<html><script>alert(1)</script></html>", name="Résumé \"x\".html", access="public")
    response = api().get(url(html))
    assert response["Content-Disposition"] == "attachment; filename*=utf-8''R%C3%A9sum%C3%A9%20_x_.html"


def test_head_answers_headers_without_counting(api, public_file):
    response = api().head(url(public_file))
    assert response.status_code == 200
    assert response["Content-Length"] == str(len(PNG))
    assert response.content == b""
    public_file.refresh_from_db()
    assert public_file.download_count == 0


def test_etag_revalidation_gives_304_without_counting(api, public_file):
    response = api().get(url(public_file), HTTP_IF_NONE_MATCH=f'"{public_file.sha256}"')
    assert response.status_code == 304
    assert api().get(url(public_file), HTTP_IF_NONE_MATCH='"other"').status_code == 200
    public_file.refresh_from_db()
    assert public_file.download_count == 1


@pytest.mark.parametrize(
    "header,start,end",
    [("bytes=0-9", 0, 9), ("bytes=10-", 10, len(PNG) - 1), ("bytes=-5", len(PNG) - 5, len(PNG) - 1), ("bytes=5-100000", 5, len(PNG) - 1)],
)
def test_range_requests_get_206(api, public_file, header, start, end):
    response = api().get(url(public_file), HTTP_RANGE=header)
    assert response.status_code == 206
    assert body_of(response) == PNG[start : end + 1]
    assert response["Content-Range"] == f"bytes {start}-{end}/{len(PNG)}"
    assert response["Content-Length"] == str(end - start + 1)


def test_an_unsatisfiable_range_is_416(api, public_file):
    response = api().get(url(public_file), HTTP_RANGE=f"bytes={len(PNG)}-")
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(PNG)}"


def test_if_range_with_another_etag_sends_the_whole_file(api, public_file):
    response = api().get(url(public_file), HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"stale"')
    assert response.status_code == 200 and body_of(response) == PNG


def test_resuming_does_not_count_a_second_download(api, public_file):
    api().get(url(public_file), HTTP_RANGE="bytes=0-9")
    api().get(url(public_file), HTTP_RANGE="bytes=10-")
    public_file.refresh_from_db()
    assert public_file.download_count == 1


def test_private_unknown_and_deleted_files_are_404(api, handle, users, public_file):
    private = make_file(handle, users["owner"], name="private.pdf")
    assert_error(api().get(url(private)), 404, fc.FILE_NOT_FOUND)
    assert_error(api().get("/v2/public/files/file_doesnotexist"), 404, fc.FILE_NOT_FOUND)
    services.file_delete(file=public_file, actor=users["owner"])
    assert_error(api().get(url(public_file)), 404, fc.FILE_NOT_FOUND)
    assert api().head(url(public_file)).status_code == 404


def test_past_expiry_is_410_with_the_time(api, public_file):
    when = timezone.now() - timedelta(hours=1)
    File.objects.filter(pk=public_file.pk).update(expires_at=when)
    err = assert_error(api().get(url(public_file)), 410, fc.FILE_EXPIRED)
    assert err["details"]["expired_at"] == when.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_the_download_limit_is_410_once_used_up(api, handle, users):
    file = make_file(handle, users["owner"], data=PNG, name="logo.png", access="public", max_downloads=2)
    assert api().get(url(file)).status_code == 200
    assert api().get(url(file)).status_code == 200
    err = assert_error(api().get(url(file)), 410, fc.DOWNLOAD_LIMIT_REACHED)
    assert err["details"]["max_downloads"] == 2
    file.refresh_from_db()
    assert file.download_count == 2


def test_link_mode_needs_a_valid_token(api, link_file):
    assert_error(api().get(url(link_file)), 403, fc.MAGIC_LINK_REQUIRED)
    assert_error(api().get(url(link_file, "made-up-token")), 403, fc.MAGIC_LINK_INVALID)
    link, token = mint(link_file)
    response = api().get(url(link_file, token))
    assert response.status_code == 200 and body_of(response) == PDF


def test_a_tampered_token_is_invalid(api, link_file):
    _, token = mint(link_file)
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert_error(api().get(url(link_file, tampered)), 403, fc.MAGIC_LINK_INVALID)


def test_a_token_of_another_file_is_invalid_here(api, handle, users, link_file):
    other = make_file(handle, users["owner"], data=b"other", name="other.txt", access="link", recipients=["@agency.example"])
    _, token = mint(other)
    assert_error(api().get(url(link_file, token)), 403, fc.MAGIC_LINK_INVALID)


def test_an_expired_token_is_403_magic_link_expired(api, link_file):
    link, token = mint(link_file)
    link.expires_at = timezone.now() - timedelta(minutes=1)
    link.save()
    assert_error(api().get(url(link_file, token)), 403, fc.MAGIC_LINK_EXPIRED)


def test_a_revoked_token_cannot_be_replayed(api, users, link_file):
    link, token = mint(link_file)
    assert api().get(url(link_file, token)).status_code == 200
    services.magic_link_revoke(file=link_file, link_id=link.id, actor=users["partnerships"])
    err = assert_error(api().get(url(link_file, token)), 403, fc.MAGIC_LINK_REVOKED)
    assert err["details"]["reason"] == fc.REVOKE_BY_MEMBER


def test_switching_to_private_revokes_links_with_the_reason(api, users, link_file):
    _, token = mint(link_file)
    services.file_update(file=link_file, actor=users["partnerships"], access="private")
    err = assert_error(api().get(url(link_file, token)), 403, fc.MAGIC_LINK_REVOKED)
    assert err["details"]["reason"] == fc.REVOKE_FILE_ACCESS_CHANGED
    # A stranger still learns nothing about the private file.
    assert_error(api().get(url(link_file)), 404, fc.FILE_NOT_FOUND)
    assert_error(api().get(url(link_file, "made-up")), 404, fc.FILE_NOT_FOUND)
    # Back to link mode: the old link stays revoked.
    services.file_update(file=link_file, actor=users["partnerships"], access="link")
    err = assert_error(api().get(url(link_file, token)), 403, fc.MAGIC_LINK_REVOKED)
    assert err["details"]["reason"] == fc.REVOKE_FILE_ACCESS_CHANGED


def test_extending_the_expiry_revives_links_already_sent(api, users, link_file):
    _, token = mint(link_file)
    File.objects.filter(pk=link_file.pk).update(expires_at=timezone.now() - timedelta(minutes=5))
    assert_error(api().get(url(link_file, token)), 410, fc.FILE_EXPIRED)
    services.file_update(file=link_file, actor=users["partnerships"], expires_at=timezone.now() + timedelta(days=14))
    assert api().get(url(link_file, token)).status_code == 200


def test_browsers_get_a_readable_page_with_the_same_status(client, link_file):
    response = client.get(url(link_file), HTTP_ACCEPT="text/html,application/xhtml+xml")
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "A personal link is needed" in page and "Email me a link" in page and response["X-Request-ID"] in page
    File.objects.filter(pk=link_file.pk).update(expires_at=timezone.now() - timedelta(minutes=5), access="public")
    response = client.get(url(link_file), HTTP_ACCEPT="text/html")
    assert response.status_code == 410
    assert "Ask the person who shared it to extend it" in response.content.decode()
    response = client.get("/v2/public/files/file_nope", HTTP_ACCEPT="text/html")
    assert response.status_code == 404 and "File not found" in response.content.decode()


def test_other_methods_are_405(api, public_file):
    assert_error(api().post(url(public_file), {}), 405, "method_not_allowed")


@pytest.mark.django_db(transaction=True)
def test_concurrent_downloads_count_exactly_and_never_pass_the_limit(handle, users):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serializes writers; concurrent counting is proven on PostgreSQL")
    from django.test import Client

    unlimited = make_file(handle, users["owner"], data=PNG, name="logo.png", access="public")
    limited = make_file(handle, users["owner"], data=b"limited", name="limited.txt", access="public", max_downloads=7)
    statuses = {"unlimited": [], "limited": []}
    lock = threading.Lock()

    def hammer(file, key, n):
        from django.db import connections

        c = Client()
        try:
            for _ in range(n):
                status = c.get(url(file)).status_code
                with lock:
                    statuses[key].append(status)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=hammer, args=(unlimited, "unlimited", 10)) for _ in range(8)]
    threads += [threading.Thread(target=hammer, args=(limited, "limited", 5)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    unlimited.refresh_from_db()
    limited.refresh_from_db()
    assert statuses["unlimited"].count(200) == 80 and unlimited.download_count == 80
    assert statuses["limited"].count(200) == 7 and statuses["limited"].count(410) == 33
    assert limited.download_count == 7
