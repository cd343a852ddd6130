"""The client's own logic: retries, error decoding, argument parsing, output.

The server is stubbed here with ``httpx.MockTransport`` only to provoke what a live test
server cannot produce on demand (dropped connections, 503s, 429s); everything else is
tested against a live server in ``test_cli_live.py``.
"""

import io
import json

import httpx
import pytest

from gharart_cli import main as cli
from gharart_cli.api import Api, ApiError
from gharart_cli.progress import Progress


def envelope(code, status, *, headers=None, request_id="req_test"):
    body = {"error": {"code": code, "message": f"{code} happened", "request_id": request_id, "details": {}}}
    return httpx.Response(status, json=body, headers={"X-Request-ID": request_id, **(headers or {})})


def api_with(handler, **kwargs):
    sleeps = []
    api = Api("http://server.test", "ghp_x", transport=httpx.MockTransport(handler), sleep=sleeps.append, **kwargs)
    return api, sleeps


def test_post_retries_reuse_one_idempotency_key_after_network_errors_and_5xx():
    seen = []

    def handler(request):
        seen.append(request.headers.get("Idempotency-Key"))
        if len(seen) == 1:
            raise httpx.ConnectError("connection refused")
        if len(seen) == 2:
            return envelope("internal_error", 503)
        return httpx.Response(201, json={"id": "dep_1"})

    api, sleeps = api_with(handler)
    assert api.post("/v2/x", {"a": 1}) == {"id": "dep_1"}
    assert len(seen) == 3 and len(set(seen)) == 1 and seen[0]
    assert len(sleeps) == 2


def test_429_honours_retry_after():
    calls = []

    def handler(request):
        calls.append(request)
        if len(calls) < 3:
            return envelope("rate_limited", 429, headers={"Retry-After": "7"})
        return httpx.Response(200, json={"ok": True})

    api, sleeps = api_with(handler)
    assert api.get("/v2/x") == {"ok": True}
    assert sleeps == [7.0, 7.0]


def test_daily_quota_and_long_retry_after_are_not_waited_for():
    def handler(request):
        return envelope("daily_write_limit_exceeded", 429, headers={"Retry-After": "40000"})

    api, sleeps = api_with(handler)
    with pytest.raises(ApiError) as exc:
        api.post("/v2/x", {})
    assert exc.value.code == "daily_write_limit_exceeded" and exc.value.status == 429
    assert sleeps == []


def test_client_errors_are_final_and_carry_code_message_and_request_id():
    def handler(request):
        return envelope("preview_gate_pending", 409, request_id="req_abc")

    api, sleeps = api_with(handler)
    with pytest.raises(ApiError) as exc:
        api.post("/v2/x", {})
    assert (exc.value.code, exc.value.status, exc.value.request_id) == ("preview_gate_pending", 409, "req_abc")
    assert sleeps == []


def test_retries_give_up_after_the_budget():
    def handler(request):
        return httpx.Response(502, text="<html>bad gateway</html>", headers={"X-Request-ID": "req_proxy"})

    api, sleeps = api_with(handler, retries=3)
    with pytest.raises(ApiError) as exc:
        api.get("/v2/x")
    assert exc.value.code == "http_502" and exc.value.request_id == "req_proxy"
    assert len(sleeps) == 3


def test_network_failure_is_reported_as_network_error():
    def handler(request):
        raise httpx.ConnectError("nope")

    api, _ = api_with(handler, retries=1)
    with pytest.raises(ApiError) as exc:
        api.get("/v2/x")
    assert exc.value.code == "network_error"


def test_blob_put_resends_the_file_from_its_start_on_retry(tmp_path):
    from gharart_cli.folder import hash_folder
    from gharart_cli.uploads import BATCH_MEMBER_MAX, upload_blobs

    (tmp_path / "a.bin").write_bytes(b"x" * (BATCH_MEMBER_MAX + 1))  # too big for a batch: a PUT
    manifest = hash_folder(tmp_path)
    bodies = []

    def handler(request):
        assert request.method == "PUT"
        bodies.append(request.read())
        if len(bodies) == 1:
            return envelope("internal_error", 500)
        return httpx.Response(200, json={"sha256": "x"})

    api, _ = api_with(handler)
    sha = manifest.files[0].sha256
    sent = upload_blobs(api, handle="acme", deployment_id="dep_1", required=[sha], manifest=manifest, progress=Progress(1, 10, stream=io.StringIO(), tty=False))
    assert sent == 1
    assert bodies == [b"x" * (BATCH_MEMBER_MAX + 1)] * 2


def _tar_members(body):
    import tarfile

    with tarfile.open(fileobj=io.BytesIO(body), mode="r:") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar}


def test_small_files_go_in_tar_batches_named_by_sha256_without_an_idempotency_key(tmp_path):
    from gharart_cli.folder import hash_folder
    from gharart_cli.uploads import upload_blobs

    for i in range(5):
        (tmp_path / f"p{i}.html").write_bytes(f"<p>{i}</p>".encode())
    manifest = hash_folder(tmp_path)
    batches = []

    def handler(request):
        assert request.method == "POST" and request.url.path == "/v2/handles/acme/site-deployments/dep_1/blobs"
        assert request.headers["Content-Type"] == "application/x-tar" and "Idempotency-Key" not in request.headers
        batches.append(_tar_members(request.read()))
        if len(batches) == 1:
            return envelope("internal_error", 503)  # retried: the batch is rebuilt whole
        return httpx.Response(200, json={"state": "uploading", "stored": 2})

    api, _ = api_with(handler)
    required = [f.sha256 for f in manifest.files]
    sent = upload_blobs(api, handle="acme", deployment_id="dep_1", required=required, manifest=manifest, progress=Progress(5, 50, stream=io.StringIO(), tty=False), jobs=1, batch_files=2)
    assert sent == 5
    assert len(batches) == 4 and batches[0] == batches[1]  # 2 + 2 + 1 files, the first sent twice
    received = {}
    for members in batches[1:]:
        received.update(members)
    assert received == {f.sha256: f.location.read_bytes() for f in manifest.files}


def test_a_server_without_batch_uploads_gets_one_put_per_file(tmp_path):
    from gharart_cli.folder import hash_folder
    from gharart_cli.uploads import upload_blobs

    for i in range(3):
        (tmp_path / f"p{i}.html").write_bytes(f"<p>{i}</p>".encode())
    manifest = hash_folder(tmp_path)
    puts = []

    def handler(request):
        if request.method == "POST":
            return envelope("not_found", 404)
        puts.append(request.url.path.rsplit("/", 1)[1])
        return httpx.Response(200, json={})

    api, _ = api_with(handler)
    required = [f.sha256 for f in manifest.files]
    assert upload_blobs(api, handle="acme", deployment_id="dep_1", required=required, manifest=manifest, progress=Progress(3, 30, stream=io.StringIO(), tty=False)) == 3
    assert sorted(puts) == sorted(required)


def test_progress_is_a_bar_on_a_terminal_and_lines_otherwise():
    tty, plain = io.StringIO(), io.StringIO()
    for stream, is_tty in ((tty, True), (plain, False)):
        p = Progress(2, 20, stream=stream, tty=is_tty)
        p.advance("/a", 10)
        p.advance("/b", 10)
        p.finish()
    assert "\r[" in tty.getvalue() and "2/2" in tty.getvalue()
    assert plain.getvalue().splitlines() == ["uploaded 1/2 /a (10 B)", "uploaded 2/2 /b (20 B)"]


def test_plain_progress_is_sparse_for_large_uploads():
    out = io.StringIO()
    p = Progress(1000, 1000, stream=out, tty=False)
    for i in range(1000):
        p.advance(f"/f{i}", 1)
    assert 10 <= len(out.getvalue().splitlines()) <= 12
    assert out.getvalue().splitlines()[-1].startswith("uploaded 1000/1000")


def test_common_options_work_before_or_after_the_subcommand():
    parser = cli.build_parser()
    a = parser.parse_args(["--json", "--url", "http://a", "deploy", "site", "--handle", "h"])
    b = parser.parse_args(["deploy", "site", "--handle", "h", "--json", "--url", "http://a"])
    for args in (a, b):
        assert (args.json, args.url, args.folder, args.handle, args.target, args.promote) == (True, "http://a", "site", "h", "site", False)
    c = parser.parse_args(["deployments", "promote", "dep_1", "--handle", "h", "--force", "--reason", "hotfix"])
    assert (c.func, c.deployment_id, c.force, c.reason, c.json) == (cli.cmd_deployments_promote, "dep_1", True, "hotfix", False)


def test_bad_usage_exits_2_and_still_ends_with_a_json_line(capsys):
    assert cli.main(["deploy"]) == 2
    assert "usage: gharart deploy" in capsys.readouterr().err
    assert cli.main(["site-mode", "set", "party", "--handle", "h", "--json"]) == 2
    captured = capsys.readouterr()
    error = json.loads(captured.out.splitlines()[-1])["error"]
    assert error["code"] == "usage_error" and "party" in error["message"]
    assert "invalid choice" in captured.err


def test_missing_configuration_is_an_error_with_a_json_line(monkeypatch, capsys):
    monkeypatch.delenv("GHARART_URL", raising=False)
    monkeypatch.delenv("GHARART_TOKEN", raising=False)
    assert cli.main(["site-mode", "get", "--handle", "h", "--json"]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out.splitlines()[-1])["error"]["code"] == "config_missing"
    assert "GHARART_URL" in captured.err


def test_expiry_dates_mean_the_end_of_that_day():
    assert cli.expires_value("2026-12-31") == "2026-12-31T23:59:59Z"
    assert cli.expires_value("2026-12-31T10:00:00Z") == "2026-12-31T10:00:00Z"
