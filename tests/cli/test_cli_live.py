"""The ``gharart`` client against a live server (pytest-django's ``live_server``), no mocks.

Most tests call ``gharart_cli.main.main`` in-process (so an upload can be interrupted at
an exact point); one runs the installed console script as a subprocess.
"""

import json
import os
import pty
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest

from gharart import constants as c
from gharart.models import RequestLog
from gharart_cli import main as cli
from gharart_cli import uploads

SITE_SCOPES = [c.SCOPE_SITES_READ, c.SCOPE_SITES_WRITE, c.SCOPE_SITES_PROMOTE, c.SCOPE_SITEINTEL_READ, c.SCOPE_SITEINTEL_WRITE]
FILES_SCOPES = [c.SCOPE_FILES_READ, c.SCOPE_FILES_WRITE]
REQUEST_ID = re.compile(r"request_id: (req_[A-Za-z0-9._-]+)")


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def json(self):
        """The one JSON object on the last line of stdout."""
        return json.loads(self.out.strip().splitlines()[-1])


@pytest.fixture
def server(transactional_db, live_server, settings):
    # Preview and file links point at the live server, so tests can follow them.
    settings.GHARART_PUBLIC_URL = live_server.url
    return live_server


@pytest.fixture
def gharart(server, capsys, monkeypatch, users, pat):
    """``gharart(*argv, role="web_manager")`` runs the CLI in-process as a member of acme."""
    tokens = {}

    def run(*argv, role=c.WEB_MANAGER, token=None):
        if token is None:
            if role not in tokens:
                scopes = FILES_SCOPES if role == c.PARTNERSHIPS else SITE_SCOPES
                tokens[role] = pat(users[role], scopes)
            token = tokens[role]
        monkeypatch.setenv("GHARART_URL", server.url)
        monkeypatch.setenv("GHARART_TOKEN", token)
        monkeypatch.delenv("GHARART_HANDLE", raising=False)
        capsys.readouterr()
        code = cli.main([str(a) for a in argv])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


def make_site(root: Path, files: dict) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return root


SITE = {
    "index.html": '<html><head><title>Acme</title></head><body><h1>Acme v1</h1><a href="/about.html">About</a></body></html>',
    "about.html": "<html><head><title>About</title></head><body>About Acme</body></html>",
    "css/site.css": "body { color: #222 }",
    "img/logo.png": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
    ".git/HEAD": "ref: refs/heads/main",
}


def live(server, path, **kw):
    return httpx.get(server.url + path, follow_redirects=False, **kw)


def test_deploy_uploads_the_folder_and_the_preview_serves_it(gharart, server, tmp_path):
    site = make_site(tmp_path / "public", SITE)
    run = gharart("deploy", site, "--handle", "acme", "--message", "first", "--json")
    assert run.code == 0, run.err
    result = run.json
    assert result["deployment_id"].startswith("dep_")
    assert (result["version"], result["state"], result["files"], result["uploaded"], result["promoted"]) == (1, "ready", 4, 4, False)
    # Not a terminal: plain progress lines on stderr.
    assert "uploaded 4/4" in run.err
    preview = httpx.get(result["preview_url"], follow_redirects=True)
    assert preview.status_code == 200
    assert "Acme v1" in preview.text
    assert httpx.get(result["preview_url"] + "css/site.css").text == SITE["css/site.css"]
    # The dotfolder was never sent.
    show = gharart("deployments", "show", result["deployment_id"], "--handle", "acme", "--json")
    assert show.code == 0 and show.json["file_count"] == 4 and show.json["message"] == "first"


def test_human_output_names_the_deployment_and_preview_url(gharart, tmp_path):
    site = make_site(tmp_path / "public", {"index.html": "hi"})
    run = gharart("deploy", site, "--handle", "acme")
    assert run.code == 0, run.err
    assert re.search(r"^Deployment: dep_\S+ \(version 1, ready\)$", run.out, re.M)
    assert re.search(r"^Preview:\s+http://\S+/previews/\S+/$", run.out, re.M)


def test_redeploy_with_one_file_changed_uploads_exactly_one_blob(gharart, tmp_path):
    site = make_site(tmp_path / "public", SITE)
    first = gharart("deploy", site, "--handle", "acme", "--json")
    assert first.code == 0 and first.json["uploaded"] == 4
    (site / "about.html").write_text("<html><body>About Acme, revised</body></html>")
    second = gharart("deploy", site, "--handle", "acme", "--json")
    assert second.code == 0, second.err
    assert (second.json["version"], second.json["uploaded"], second.json["files"], second.json["state"]) == (2, 1, 4, "ready")
    # Nothing changed: nothing to upload, ready at once.
    third = gharart("deploy", site, "--handle", "acme", "--json")
    assert (third.json["version"], third.json["uploaded"], third.json["state"]) == (3, 0, "ready")


def test_promote_makes_the_new_content_live_and_rollback_restores_the_old(gharart, server, tmp_path):
    assert gharart("site-mode", "set", "deployment", "--handle", "acme").code == 0
    site = make_site(tmp_path / "public", SITE)
    v1 = gharart("deploy", site, "--handle", "acme", "--promote", "--json")
    assert v1.code == 0, v1.err
    assert v1.json["promoted"] is True
    page = live(server, "/profiles/acme/")
    assert page.status_code == 200 and "Acme v1" in page.text
    assert page.headers["X-Gharart-Deployment"] == v1.json["deployment_id"]

    (site / "index.html").write_text("<html><body><h1>Acme v2</h1></body></html>")
    v2 = gharart("deploy", site, "--handle", "acme", "--promote", "--message", "spring", "--json")
    assert v2.code == 0, v2.err
    assert (v2.json["promoted"], v2.json["uploaded"]) == (True, 1)
    assert "Acme v2" in live(server, "/profiles/acme/").text

    listing = gharart("deployments", "list", "--handle", "acme", "--json")
    assert [d["id"] for d in listing.json["results"]] == [v2.json["deployment_id"], v1.json["deployment_id"]]
    assert [d["is_live"] for d in listing.json["results"]] == [True, False]

    back = gharart("deployments", "rollback", v1.json["deployment_id"], "--handle", "acme", "--reason", "spring broke", "--json")
    assert back.code == 0, back.err
    assert back.json["live_deployment_id"] == v1.json["deployment_id"]
    assert back.json["release"]["kind"] == "rollback"
    assert "Acme v1" in live(server, "/profiles/acme/").text

    # Rolling back to a deployment that was never live is refused.
    (site / "index.html").write_text("v3")
    v3 = gharart("deploy", site, "--handle", "acme", "--json").json
    refused = gharart("deployments", "rollback", v3["deployment_id"], "--handle", "acme", "--json")
    assert refused.code == 1
    assert refused.json["error"]["code"] == "not_a_previous_release"
    assert "Acme v1" in live(server, "/profiles/acme/").text


def test_promote_warns_when_the_site_mode_does_not_serve_deployments(gharart, tmp_path):
    site = make_site(tmp_path / "public", {"index.html": "hi"})
    run = gharart("deploy", site, "--handle", "acme", "--promote", "--json")
    assert run.code == 0, run.err
    assert "site_mode_not_deployment" in run.json["warnings"]
    assert "warning: site_mode_not_deployment" in run.err


def test_site_mode_get_and_set(gharart, server, tmp_path):
    got = gharart("site-mode", "get", "--handle", "acme", "--json")
    assert got.code == 0 and got.json["mode"] == "links"
    maint = gharart("site-mode", "set", "maintenance", "--handle", "acme", "--json")
    assert maint.code == 0 and maint.json["mode"] == "maintenance"
    assert live(server, "/profiles/acme/").status_code == 503
    human = gharart("site-mode", "get", "--handle", "acme")
    assert "Mode:    maintenance" in human.out
    viewer_try = gharart("site-mode", "set", "links", "--handle", "acme", role=c.VIEWER)
    assert viewer_try.code == 1 and "error: forbidden (HTTP 403)" in viewer_try.err


def test_refused_promote_exits_nonzero_and_prints_the_code(gharart, server, tmp_path, monkeypatch):
    site = make_site(tmp_path / "public", SITE)
    # A deployment whose upload never finished cannot be promoted.
    interrupt_after(monkeypatch, 1)
    stopped = gharart("deploy", site, "--handle", "acme", "--jobs", "1", "--batch-files", "1", "--json")
    assert stopped.code == cli.EXIT_INTERRUPTED
    monkeypatch.undo()
    listing = gharart("deployments", "list", "--handle", "acme", "--state", "uploading", "--json").json
    dep_id = listing["results"][0]["id"]

    run = gharart("deployments", "promote", dep_id, "--handle", "acme", "--json")
    assert run.code == 1
    error = run.json["error"]
    assert error["code"] == "deployment_not_ready" and error["status"] == 409 and error["request_id"].startswith("req_")
    assert run.json["promoted"] is False
    assert "error: deployment_not_ready (HTTP 409)" in run.err
    assert "was NOT promoted" in run.err

    # Forcing past the gate is for owners and admins only, and needs a reason.
    ready = gharart("deploy", site, "--handle", "acme", "--json").json["deployment_id"]
    forced = gharart("deployments", "promote", ready, "--handle", "acme", "--force", "--reason", "hotfix", "--json")
    assert forced.code == 1 and forced.json["error"]["code"] == "forbidden"
    no_reason = gharart("deployments", "promote", ready, "--handle", "acme", "--force", role=c.OWNER)
    assert no_reason.code == 1 and "--force needs --reason" in no_reason.err
    by_owner = gharart("deployments", "promote", ready, "--handle", "acme", "--force", "--reason", "hotfix", "--json", role=c.OWNER)
    assert by_owner.code == 0, by_owner.err
    assert (by_owner.json["live_deployment_id"], by_owner.json["release"]["kind"]) == (ready, "forced_promote")


def test_errors_print_code_message_and_request_id(gharart, server, tmp_path):
    site = make_site(tmp_path / "public", {"index.html": "x"})
    run = gharart("deploy", site, "--handle", "other", "--json")
    assert run.code == 1
    error = run.json["error"]
    assert (error["code"], error["status"]) == ("handle_not_found", 404)
    assert error["message"]
    assert "error: handle_not_found (HTTP 404): " + error["message"] in run.err
    printed = REQUEST_ID.search(run.err).group(1)
    assert printed == error["request_id"]
    # The request ID is the one the server logged, so support can find the request.
    assert RequestLog.objects.filter(request_id=printed, error_code="handle_not_found").exists()

    bad_token = gharart("site-mode", "get", "--handle", "acme", "--json", token="ghp_not-a-real-token")
    assert bad_token.code == 1 and bad_token.json["error"]["code"] == "invalid_token"
    assert REQUEST_ID.search(bad_token.err)

    # A PAT without the promote scope.
    no_scope = gharart(
        "deployments", "list", "--handle", "acme", "--json",
        token=None, role=c.PARTNERSHIPS,
    )
    assert no_scope.code == 1 and no_scope.json["error"]["code"] == "insufficient_scope"
    assert no_scope.json["error"]["details"]["required_scope"] == c.SCOPE_SITES_READ


def test_local_errors_are_reported_the_same_way(gharart, tmp_path):
    outside = make_site(tmp_path / "secret", {"key.txt": "private"})
    site = make_site(tmp_path / "public", {"index.html": "x"})
    (site / "leak.txt").symlink_to(outside / "key.txt")
    run = gharart("deploy", site, "--handle", "acme", "--json")
    assert run.code == 1
    assert run.json["error"]["code"] == "unsafe_symlink"
    assert run.json["error"]["request_id"] is None
    assert "error: unsafe_symlink:" in run.err
    missing = gharart("deploy", tmp_path / "nope", "--handle", "acme", "--json")
    assert missing.code == 1 and missing.json["error"]["code"] == "folder_not_found"


def interrupt_after(monkeypatch, n):
    """Let ``n`` blob uploads through (single or batched), then interrupt the run as Ctrl-C would."""
    real_put, real_batch = uploads.put_blob, uploads.put_batch
    sent = []

    def put_blob(api, **kwargs):
        if len(sent) >= n:
            raise KeyboardInterrupt
        result = real_put(api, **kwargs)
        sent.append(kwargs["local"].sha256)
        return result

    def put_batch(api, **kwargs):
        if len(sent) >= n:
            raise KeyboardInterrupt
        result = real_batch(api, **kwargs)
        sent.extend(local.sha256 for local in kwargs["locals_"])
        return result

    monkeypatch.setattr(uploads, "put_blob", put_blob)
    monkeypatch.setattr(uploads, "put_batch", put_batch)
    return sent


def test_an_interrupted_upload_resumes_with_only_the_missing_blobs(gharart, server, tmp_path, monkeypatch):
    site = make_site(tmp_path / "public", {f"page{i}.html": f"<p>page {i}</p>" for i in range(10)})
    sent = interrupt_after(monkeypatch, 3)
    first = gharart("deploy", site, "--handle", "acme", "--jobs", "1", "--batch-files", "1", "--json")
    assert first.code == cli.EXIT_INTERRUPTED
    assert first.json["error"]["code"] == "interrupted"
    assert first.json["deployment_id"].startswith("dep_")
    assert "(3 of 10 files sent)" in first.err
    assert "run the same command again to resume" in first.err
    assert len(sent) == 3
    monkeypatch.undo()

    second = gharart("deploy", site, "--handle", "acme", "--json")
    assert second.code == 0, second.err
    assert (second.json["files"], second.json["uploaded"], second.json["state"]) == (10, 7, "ready")
    preview = httpx.get(second.json["preview_url"] + "page0.html")
    assert preview.text == "<p>page 0</p>"
    states = [d["state"] for d in gharart("deployments", "list", "--handle", "acme", "--json").json["results"]]
    assert states == ["ready", "uploading"]


def test_the_console_script_deploys_from_a_subprocess(server, users, pat, tmp_path):
    site = make_site(tmp_path / "public", SITE)
    script = Path(sys.executable).with_name("gharart")
    env = {**os.environ, "GHARART_URL": server.url, "GHARART_TOKEN": pat(users[c.WEB_MANAGER], SITE_SCOPES), "GHARART_HANDLE": "acme"}
    proc = subprocess.run([str(script), "deploy", str(site), "--json"], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert (result["state"], result["uploaded"], result["files"]) == ("ready", 4, 4)
    assert len(proc.stdout.strip().splitlines()) == 1  # --json: stdout is the one object
    assert "uploaded 4/4" in proc.stderr

    # On a terminal the progress is a redrawn bar instead of lines.
    (site / "about.html").write_text("changed")
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run([str(script), "deploy", str(site), "--json"], env=env, stdout=subprocess.PIPE, stderr=follower, text=True, timeout=120)
        os.close(follower)
        terminal = read_all(leader)
    finally:
        os.close(leader)
    assert proc.returncode == 0, terminal
    assert json.loads(proc.stdout.strip().splitlines()[-1])["uploaded"] == 1
    assert "\r[" in terminal and "1/1 files" in terminal and "uploaded 1/1" not in terminal


def read_all(fd):
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the other side is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


def test_files_upload_list_and_link(gharart, server, tmp_path, mailoutbox):
    kit = tmp_path / "media-kit.pdf"
    kit.write_bytes(b"%PDF-1.4\n" + b"kit " * 1000)
    expires = (date.today() + timedelta(days=60)).isoformat()
    up = gharart(
        "files", "upload", kit, "--handle", "acme", "--access", "link", "--expires", expires,
        "--recipient", "@agency.example", "--recipient", "pr@press.example",
        "--title", "Media kit", "--max-downloads", "5", "--json",
        role=c.PARTNERSHIPS,
    )
    assert up.code == 0, up.err
    f = up.json
    assert f["id"].startswith("file_")
    assert (f["name"], f["title"], f["access"], f["max_downloads"], f["size"]) == ("media-kit.pdf", "Media kit", "link", 5, kit.stat().st_size)
    assert f["expires_at"].startswith(expires)
    assert sorted(f["recipients"]) == ["@agency.example", "pr@press.example"]

    listing = gharart("files", "list", "--handle", "acme", "--json", role=c.PARTNERSHIPS)
    assert listing.code == 0 and [x["id"] for x in listing.json["results"]] == [f["id"]]
    human = gharart("files", "list", "--handle", "acme", role=c.PARTNERSHIPS)
    assert f["id"] in human.out and "media-kit.pdf" in human.out

    link = gharart("files", "link", f["id"], "--email", "anna@agency.example", "--json", role=c.PARTNERSHIPS)
    assert link.code == 0, link.err
    assert link.json["email"] == "anna@agency.example"
    download = httpx.get(link.json["url"])
    assert download.status_code == 200 and download.content == kit.read_bytes()

    sent = gharart("files", "link", f["id"], "--email", "ben@agency.example", "--send", role=c.PARTNERSHIPS)
    assert sent.code == 0, sent.err
    assert "Sent to ben@agency.example." in sent.out
    assert any("ben@agency.example" in m.to for m in mailoutbox)

    # A token without files:write is not allowed to mint links.
    refused = gharart("files", "link", f["id"], "--email", "x@agency.example", "--json")
    assert refused.code == 1 and refused.json["error"]["code"] == "magic_link_not_issued"


def test_crawl_and_replay_gate_a_release_in_ci(gharart, server, tmp_path):
    assert gharart("site-mode", "set", "deployment", "--handle", "acme").code == 0
    site = make_site(tmp_path / "public", SITE)
    assert gharart("deploy", site, "--handle", "acme", "--promote").code == 0

    crawl = gharart("crawl", "--handle", "acme", "--wait", "--json")
    assert crawl.code == 0, crawl.err
    assert crawl.json["state"] == "succeeded" and crawl.json["pages_done"] >= 2
    hostname = crawl.json["hostname"]

    # v2 drops about.html, which the home page still links to: a regression.
    (site / "about.html").unlink()
    v2 = gharart("deploy", site, "--handle", "acme", "--json").json
    replay = gharart("replay", "--handle", "acme", "--deployment", v2["deployment_id"], "--crawl-run", crawl.json["id"], "--wait", "--json")
    assert replay.code == 1, replay.err
    assert replay.json["state"] == "succeeded" and replay.json["regressions"] >= 1
    assert "regression" in replay.err
    refused = gharart("deployments", "promote", v2["deployment_id"], "--handle", "acme", "--json")
    assert refused.code == 1
    assert refused.json["error"]["code"] == "preview_gate_pending"
    assert "error: preview_gate_pending (HTTP 409)" in refused.err and REQUEST_ID.search(refused.err)
    assert "Acme v1" in live(server, "/profiles/acme/").text

    # v3 restores the page: the replay passes, CI promotes.
    make_site(site, {"about.html": SITE["about.html"], "index.html": SITE["index.html"].replace("v1", "v3")})
    v3 = gharart("deploy", site, "--handle", "acme", "--json").json
    ok = gharart("replay", "--handle", "acme", "--hostname", hostname, "--deployment", v3["deployment_id"], "--wait", "--json")
    assert ok.code == 0, ok.err
    assert ok.json["regressions"] == 0
    promoted = gharart("deployments", "promote", v3["deployment_id"], "--handle", "acme", "--json")
    assert promoted.code == 0, promoted.err
    assert "Acme v3" in live(server, "/profiles/acme/").text


def test_crawl_of_an_unknown_hostname_fails_with_the_api_code(gharart):
    run = gharart("crawl", "unknown.example", "--handle", "acme", "--wait", "--json")
    assert run.code == 1
    assert run.json["error"]["code"] == "hostname_not_registered"


def test_docs_target_has_its_own_versions(gharart, tmp_path):
    site = make_site(tmp_path / "docs", {"index.html": "<h1>Handbook</h1>"})
    assert gharart("deploy", site, "--handle", "acme", "--json").json["version"] == 1
    docs = gharart("deploy", site, "--handle", "acme", "--target", "docs", "--promote", "--json")
    assert docs.code == 0, docs.err
    assert (docs.json["target"], docs.json["version"], docs.json["uploaded"], docs.json["promoted"]) == ("docs", 1, 0, True)
    listing = gharart("deployments", "list", "--handle", "acme", "--target", "docs", "--json").json["results"]
    assert [(d["id"], d["is_live"]) for d in listing] == [(docs.json["deployment_id"], True)]


def test_promote_at_a_time_schedules_the_release(gharart, server, tmp_path):
    from datetime import UTC, datetime

    from deployments.models import Release, ScheduledRelease

    site = make_site(tmp_path / "public", SITE)
    dep_id = gharart("deploy", site, "--handle", "acme", "--json").json["deployment_id"]
    when = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    run = gharart("deployments", "promote", dep_id, "--handle", "acme", "--at", when.strftime("%Y-%m-%dT%H:%M:%SZ"), "--json")
    assert run.code == 0, run.err
    sched = run.json["scheduled_release"]
    assert run.json["scheduled"] is True and run.json["promoted"] is False
    assert sched["id"].startswith("sched_") and sched["state"] == "scheduled" and sched["deployment_id"] == dep_id
    assert ScheduledRelease.objects.get(pk=sched["id"]).at == when
    assert not Release.objects.exists()
    # Without an offset the time is this machine's local time, sent as UTC.
    local = when.astimezone().replace(tzinfo=None) + timedelta(minutes=5)
    naive = gharart("deployments", "promote", dep_id, "--handle", "acme", "--at", local.isoformat(timespec="seconds"), "--json")
    assert naive.code == 0, naive.err
    assert ScheduledRelease.objects.get(pk=naive.json["scheduled_release"]["id"]).at == when + timedelta(minutes=5)
    bad = gharart("deployments", "promote", dep_id, "--handle", "acme", "--at", "next tuesday")
    assert bad.code != 0 and "validation_error" in bad.err
    past = gharart("deployments", "promote", dep_id, "--handle", "acme", "--at", "2020-01-01T00:00:00Z", "--json")
    assert past.code == 1 and past.json["error"]["code"] == "validation_error" and "at" in past.json["error"]["details"]
