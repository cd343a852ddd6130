"""max_downloads caps bytes: split and resumed downloads cost one, a counted one may finish."""

import itertools
import random
import threading

import pytest
from django.core.signals import request_finished
from django.db import close_old_connections, connection
from django.test import Client, RequestFactory

from files import constants as fc
from files import downloads, ranges, services
from files.models import File, FileDownload
from tests.conftest import assert_error
from tests.files.conftest import make_file, mint, url

DATA = bytes(random.Random(12).randrange(256) for _ in range(4000))


def client(ip="203.0.113.1", agent="tester/1.0"):
    return Client(REMOTE_ADDR=ip, HTTP_USER_AGENT=agent)


def get(c, file, header=None, token=None):
    extra = {"HTTP_RANGE": header} if header else {}
    response = c.get(url(file, token), **extra)
    body = b"".join(response.streaming_content) if response.streaming else b""
    return response, body


@pytest.fixture
def limited(handle, users):
    def make(max_downloads=1, data=DATA, **fields):
        fields.setdefault("access", fc.ACCESS_PUBLIC)
        return make_file(handle, users["owner"], data=data, name="report.bin", max_downloads=max_downloads, **fields)

    return make


def test_a_range_not_starting_at_byte_0_is_counted(limited):
    file = limited(max_downloads=1)
    response, body = get(client("203.0.113.1"), file, "bytes=1-")
    assert response.status_code == 206 and body == DATA[1:]
    file.refresh_from_db()
    assert file.download_count == 1
    # Another client asking for everything but byte 0 needs a second download: refused.
    assert_error(client("203.0.113.2").get(url(file), HTTP_RANGE="bytes=1-"), 410, fc.DOWNLOAD_LIMIT_REACHED)


def test_asking_again_for_what_was_sent_is_a_new_download(limited):
    file = limited(max_downloads=2)
    c = client()
    assert get(c, file)[0].status_code == 200
    assert get(c, file, "bytes=1-")[0].status_code == 206
    assert_error(c.get(url(file), HTTP_RANGE="bytes=5-"), 410, fc.DOWNLOAD_LIMIT_REACHED)
    file.refresh_from_db()
    assert file.download_count == 2 and file.bytes_served == 2 * len(DATA) - 1


def test_a_split_download_costs_one(limited):
    file = limited(max_downloads=1)
    c = client()
    edges = [0, 500, 1000, 1700, 2400, 3000, 3500, 3999]
    parts = []
    for start, end in itertools.pairwise(edges):
        response, body = get(c, file, f"bytes={start}-{end - 1}")
        assert response.status_code == 206
        parts.append(body)
    response, body = get(c, file, "bytes=3999-")
    parts.append(body)
    assert b"".join(parts) == DATA
    file.refresh_from_db()
    assert file.download_count == 1 and file.bytes_served == len(DATA)
    assert FileDownload.objects.get(file=file).served == [[0, len(DATA)]]


def test_a_counted_download_resumes_after_the_limit_is_reached(limited):
    file = limited(max_downloads=1)
    first = client("203.0.113.1")
    assert get(first, file, "bytes=0-999")[1] == DATA[:1000]
    assert_error(client("203.0.113.2").get(url(file)), 410, fc.DOWNLOAD_LIMIT_REACHED)
    # HEAD and revalidation answer the downloader like the bytes would, and the others not.
    assert first.head(url(file)).status_code == 200
    assert client("203.0.113.2").head(url(file)).status_code == 410
    response, body = get(first, file, "bytes=1000-")
    assert response.status_code == 206 and body == DATA[1000:]
    file.refresh_from_db()
    assert file.download_count == 1 and file.bytes_served == len(DATA)


def test_a_magic_link_is_one_download_wherever_it_is_used(limited):
    file = limited(max_downloads=1, access=fc.ACCESS_LINK, recipients=["@agency.example"])
    _, token = mint(file)
    _, other_token = mint(file, "bo@agency.example")
    assert get(client("198.51.100.1", "laptop"), file, "bytes=0-1999", token)[1] == DATA[:2000]
    assert get(client("198.51.100.2", "phone"), file, "bytes=2000-", token)[1] == DATA[2000:]
    assert_error(client("198.51.100.1", "laptop").get(url(file, other_token)), 410, fc.DOWNLOAD_LIMIT_REACHED)
    file.refresh_from_db()
    assert file.download_count == 1


def test_a_broken_connection_is_charged_for_what_was_sent(limited, monkeypatch):
    monkeypatch.setattr(downloads, "CHUNK", 100)
    monkeypatch.setattr(downloads, "METER_WINDOW", 1000)
    file = limited(max_downloads=1)
    c = client()
    request = RequestFactory().get(url(file), REMOTE_ADDR="203.0.113.1", HTTP_USER_AGENT="tester/1.0")
    response = downloads.public_file(request, file.id)
    stream = iter(response.streaming_content)
    received = b"".join(next(stream) for _ in range(13))
    # The client went away after 1,300 bytes: the server closes the response.
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)
    download = FileDownload.objects.get(file=file)
    assert download.served == [[0, 1300]] and download.bytes_sent == 1300
    # `curl -C -`: asks for the rest, gets it, and it is the same download.
    response, body = get(c, file, f"bytes={len(received)}-")
    assert received + body == DATA
    download.refresh_from_db()
    file.refresh_from_db()
    assert download.bytes_resent == 0 and file.download_count == 1 and file.bytes_served == len(DATA)


def test_bytes_lost_in_flight_may_be_sent_again_within_the_allowance(limited, settings):
    settings.GHARART_DOWNLOAD_RESEND_BYTES = 300
    file = limited(max_downloads=1)
    c = client()
    get(c, file, "bytes=0-2099")
    # The client had only 1,900 of them: 200 bytes are sent twice, still one download.
    assert get(c, file, "bytes=1900-")[1] == DATA[1900:]
    # Past the allowance a re-send is a new download (refused here).
    assert_error(c.get(url(file), HTTP_RANGE="bytes=1000-1199"), 410, fc.DOWNLOAD_LIMIT_REACHED)
    download = FileDownload.objects.get(file=file)
    assert download.bytes_resent == 200 and download.bytes_sent == len(DATA) + 200


@pytest.mark.parametrize("resend", [0, 16 * 1024 * 1024])
def test_whatever_ranges_are_asked_the_bytes_stay_within_the_cap(limited, settings, resend):
    settings.GHARART_DOWNLOAD_RESEND_BYTES = resend
    file = limited(max_downloads=3)
    rnd = random.Random(resend)
    clients = [client(f"203.0.113.{i}") for i in range(4)]
    headers = ["bytes=0-", "bytes=1-", "bytes=-1", "bytes=-4000", "bytes=3999-", None, "bytes=0-0", "bytes=10-20,30-40"]
    sent = 0
    for _ in range(300):
        if rnd.random() < 0.5:
            start = rnd.randrange(len(DATA))
            header = f"bytes={start}-{rnd.randrange(start, len(DATA) + 50)}"
        else:
            header = rnd.choice(headers)
        response, body = get(rnd.choice(clients), file, header)
        assert response.status_code in (200, 206, 410), response.status_code
        sent += len(body)
    file.refresh_from_db()
    allowance = services.download_resend_allowance(len(DATA))
    assert file.download_count == 3 and sent == file.bytes_served
    # Each download is at most one copy plus what it may have re-sent: exactly one copy when 0.
    assert sent <= 3 * (len(DATA) + allowance)
    for download in FileDownload.objects.filter(file=file):
        assert ranges.total(download.served) <= len(DATA)
        assert download.bytes_resent <= allowance


def test_a_file_without_a_limit_is_not_metered(handle, users):
    file = make_file(handle, users["owner"], data=DATA, name="free.bin", access=fc.ACCESS_PUBLIC)
    c = client()
    get(c, file, "bytes=0-9")
    get(c, file, "bytes=10-")
    assert File.objects.get(pk=file.pk).download_count == 1
    assert not FileDownload.objects.exists()


def test_ledgers_merge_subtract_and_stay_bounded():
    ledger = ranges.add([], 10, 20)
    ledger = ranges.add(ledger, 20, 30)
    ledger = ranges.add(ledger, 40, 50)
    assert ledger == [[10, 30], [40, 50]]
    assert ranges.overlap(ledger, 0, 45) == 25
    assert ranges.subtract(ledger, [[15, 42]]) == [[10, 15], [42, 50]]
    many = []
    for i in range(200):
        many = ranges.add(many, i * 10, i * 10 + 1, max_pieces=8)
    assert len(many) <= 8 and ranges.total(many) >= 200  # gaps are filled in, never dropped


@pytest.mark.django_db(transaction=True)
def test_concurrent_connections_of_one_split_download_count_once(handle, users):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serializes writers; concurrent metering is proven on PostgreSQL")
    file = make_file(handle, users["owner"], data=DATA, name="split.bin", access=fc.ACCESS_PUBLIC, max_downloads=1)
    edges = list(range(0, len(DATA), 500)) + [len(DATA)]
    results = {}
    lock = threading.Lock()

    def fetch(start, end):
        from django.db import connections

        try:
            response, body = get(client(), file, f"bytes={start}-{end - 1}")
            with lock:
                results[start] = (response.status_code, body)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=fetch, args=pair) for pair in itertools.pairwise(edges)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {status for status, _ in results.values()} == {206}
    assert b"".join(results[s][1] for s in sorted(results)) == DATA
    file.refresh_from_db()
    assert file.download_count == 1 and file.bytes_served == len(DATA)
    # The one download is used: another client's simultaneous requests are all refused.
    statuses = []

    def full():
        from django.db import connections

        try:
            status = get(client("203.0.113.9"), file)[0].status_code
            with lock:
                statuses.append(status)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=full) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [410] * 6
