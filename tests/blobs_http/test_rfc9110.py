"""The one byte-response (blobs.http) alone: RFC 9110 conditionals and ranges, no storage."""

import pytest

from blobs import http

BLOB = http.Blob("a" * 64, 100, "text/plain", '"abc"', 1_700_000_000.0)
LM = http.http_date(BLOB.last_modified)
EARLIER = http.http_date(BLOB.last_modified - 60)


def plan(method="GET", **headers):
    return http.plan(method, {"HTTP_" + k.upper(): v for k, v in headers.items()}, BLOB)


@pytest.mark.parametrize(
    "headers,status",
    [
        ({}, 200),
        ({"if_none_match": '"abc"'}, 304),
        ({"if_none_match": 'W/"abc"'}, 304),  # weak comparison
        ({"if_none_match": '"x", "abc"'}, 304),
        ({"if_none_match": "*"}, 304),
        ({"if_none_match": '"x"'}, 200),
        ({"if_modified_since": LM}, 304),
        ({"if_modified_since": EARLIER}, 200),
        ({"if_modified_since": "not a date"}, 200),
        ({"if_none_match": '"x"', "if_modified_since": LM}, 200),  # If-None-Match wins
        ({"if_match": '"abc"'}, 200),
        ({"if_match": 'W/"abc"'}, 412),  # strong comparison
        ({"if_match": '"x"'}, 412),
        ({"if_unmodified_since": EARLIER}, 412),
        ({"if_unmodified_since": LM}, 200),
    ],
)
def test_conditionals(headers, status):
    assert plan(**headers).status == status


@pytest.mark.parametrize(
    "header,expected",
    [
        ("bytes=0-9", (206, 0, 9)),
        ("bytes=90-", (206, 90, 99)),
        ("bytes=-10", (206, 90, 99)),
        ("bytes=-1000", (206, 0, 99)),
        ("bytes=5-1000", (206, 5, 99)),
        ("BYTES = 1-2", (206, 1, 2)),
        ("bytes=9-5", (200, 0, 99)),  # reversed: not a valid range, ignored
        ("bytes=0-1,3-4", (200, 0, 99)),  # several: ignored
        ("items=0-1", (200, 0, 99)),
        ("bytes=x-", (200, 0, 99)),
        ("bytes=-", (200, 0, 99)),
        ("bytes=100-", (416, 0, -1)),
        ("bytes=-0", (416, 0, -1)),
    ],
)
def test_ranges(header, expected):
    p = plan(range=header)
    assert (p.status, p.start, p.end) == expected


def test_range_is_for_get_only():
    assert plan("HEAD", range="bytes=0-9").status == 200


@pytest.mark.parametrize(
    "if_range,status",
    [('"abc"', 206), ('W/"abc"', 200), ('"old"', 200), (LM, 206), (EARLIER, 200)],
)
def test_if_range(if_range, status):
    assert plan(range="bytes=0-9", if_range=if_range).status == status


def test_a_304_carries_no_body_metadata():
    headers = [("Cache-Control", "public"), ("Content-Disposition", "inline"), ("Vary", "Accept-Encoding"), ("Content-Encoding", "br")]
    names = {k for k, _ in http.header_list(http.Plan(304), BLOB, headers)}
    assert names == {"ETag", "Cache-Control", "Vary"}


def test_a_416_says_the_size():
    lines = dict(http.header_list(http.Plan(416), BLOB, [("Content-Type", "text/plain")]))
    assert lines["Content-Range"] == "bytes */100" and "Content-Type" not in lines


def test_an_empty_blob_is_200_and_any_range_unsatisfiable():
    empty = http.Blob("e" * 64, 0, "text/plain")
    assert http.plan("GET", {}, empty).status == 200
    assert http.plan("GET", {"HTTP_RANGE": "bytes=0-"}, empty).status == 416
