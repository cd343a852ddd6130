"""``gharart``: deploy a folder, promote, roll back, run site checks and share files from CI.

Configuration: ``GHARART_URL`` and ``GHARART_TOKEN`` (a personal access token), or
``--url`` / ``--token``; ``GHARART_HANDLE`` or ``--handle``. Results go to stdout, progress
and errors to stderr; with ``--json`` the last line of stdout is exactly one JSON object
(``{"error": {...}}`` on failure). Exit codes: 0 success, 1 failure (an API error, a refused
promote, a failed deployment or crawl, a replay with regressions), 2 bad usage,
130 interrupted.
"""

import argparse
import json
import os
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import quote

from gharart_cli import __version__
from gharart_cli.api import Api, ApiError, new_idempotency_key
from gharart_cli.folder import FolderError, hash_folder
from gharart_cli.progress import Progress, human_bytes
from gharart_cli.uploads import BATCH_FILES, DEFAULT_JOBS, upload_blobs

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

DEPLOYMENT_FINAL_STATES = ("ready", "failed")
CRAWL_FINAL_STATES = ("succeeded", "failed", "cancelled")
REPLAY_FINAL_STATES = ("succeeded", "failed", "cancelled")
SITE_MODES = ("links", "deployment", "maintenance")
FILE_ACCESS = ("private", "link", "public")


class CommandError(Exception):
    """A failure to report: an API error or a local one, plus context for the JSON line."""

    def __init__(self, error: ApiError, *, hint: str = "", extra: dict | None = None):
        super().__init__(str(error))
        self.error = error
        self.hint = hint
        self.extra = extra or {}


def local_error(code, message, **details):
    return CommandError(ApiError(code=code, message=message, details=details))


class Output:
    """Where things are printed: results on stdout, progress and errors on stderr."""

    def __init__(self, *, as_json: bool):
        self.as_json = as_json

    @property
    def out(self):
        return sys.stdout

    @property
    def err(self):
        return sys.stderr

    def info(self, message: str):
        print(message, file=self.err, flush=True)

    def result(self, obj: dict, lines=()):
        if self.as_json:
            print(json.dumps(obj, sort_keys=True), file=self.out, flush=True)
        else:
            for line in lines:
                print(line, file=self.out, flush=True)

    def warnings(self, obj):
        """Print the warnings of an API answer (``warning_details`` when given, else codes)."""
        details = (obj or {}).get("warning_details") or []
        explained = {d.get("code") for d in details if isinstance(d, dict)}
        for d in details:
            if isinstance(d, dict):
                self.info(f"warning: {d.get('code')}: {d.get('message') or ''}".rstrip(": "))
        for code in (obj or {}).get("warnings") or []:
            if code not in explained:
                self.info(f"warning: {code}")

    def failure(self, exc: CommandError):
        error = exc.error
        status = f" (HTTP {error.status})" if error.status else ""
        self.info(f"error: {error.code}{status}: {error.message}")
        if exc.hint:
            self.info(exc.hint)
        if error.details:
            self.info(f"details: {json.dumps(error.details, sort_keys=True)}")
        self.info(f"request_id: {error.request_id or '-'}")
        if self.as_json:
            print(json.dumps({**exc.extra, "error": error.as_dict()}, sort_keys=True), file=self.out, flush=True)


# --- paths -------------------------------------------------------------------------------
def handle_path(handle: str, *rest: str) -> str:
    return "/v2/handles/" + "/".join(quote(part, safe="") for part in (handle, *rest))


def deployment_path(handle, deployment_id, *rest):
    return handle_path(handle, "site-deployments", deployment_id, *rest)


def wait_for(fetch, *, is_final, timeout: float, what: str, poll=1.0):
    """Poll ``fetch()`` until ``is_final(obj)``; raise a ``wait_timeout`` error after ``timeout``."""
    deadline = time.monotonic() + timeout
    delay = 0.25
    while True:
        obj = fetch()
        if is_final(obj):
            return obj
        if time.monotonic() >= deadline:
            raise CommandError(
                ApiError("wait_timeout", f"Gave up waiting for {what} after {timeout:g} seconds (state: {obj.get('state')})."),
                extra={"id": obj.get("id"), "state": obj.get("state")},
            )
        time.sleep(delay)
        delay = min(poll * 5, delay * 2)


# --- deploy ------------------------------------------------------------------------------
def cmd_deploy(args, api: Api, out: Output) -> int:
    try:
        manifest = hash_folder(args.folder)
    except FolderError as exc:
        raise CommandError(ApiError(exc.code, exc.message, details=exc.details))
    out.info(
        f"Hashed {len(manifest.files)} files ({human_bytes(manifest.total_bytes)}) in {args.folder}"
        + (f"; skipped {len(manifest.skipped)} (dotfiles, VCS folders)" if manifest.skipped else "")
    )
    payload = {"target": args.target, "files": manifest.digest()}
    if args.message:
        payload["message"] = args.message
    # One key for this deploy: a retried POST (lost answer, 5xx) returns the same deployment.
    deployment = api.post(handle_path(args.handle, "site-deployments"), payload, idempotency_key=new_idempotency_key())
    dep_id = deployment["id"]
    required = deployment.get("required") or []
    context = {"deployment_id": dep_id, "version": deployment.get("version")}
    out.info(
        f"Deployment {dep_id} (version {deployment.get('version')}) created: "
        f"{len(required)} of {len(manifest.by_sha256())} distinct files to upload"
    )
    out.warnings(deployment)
    by_sha = manifest.by_sha256()
    progress = Progress(len(required), sum(by_sha[s].size for s in required if s in by_sha), quiet=False)
    try:
        uploaded = upload_blobs(
            api, handle=args.handle, deployment_id=dep_id, required=required, manifest=manifest, progress=progress, jobs=args.jobs, batch_files=args.batch_files
        )
    except ApiError as exc:
        raise CommandError(exc, hint=f"Upload of {dep_id} stopped; run the same deploy again to send only what is missing.", extra=context)
    except ValueError as exc:
        raise CommandError(ApiError("unexpected_required_blob", str(exc)), extra=context)
    except KeyboardInterrupt as exc:
        out.info(f"Deployment {dep_id} is incomplete ({progress.done_blobs} of {len(required)} files sent).")
        exc.extra = context
        raise

    if deployment.get("state") not in DEPLOYMENT_FINAL_STATES or uploaded:
        deployment = wait_for(
            lambda: api.get(deployment_path(args.handle, dep_id)),
            is_final=lambda d: d.get("state") in DEPLOYMENT_FINAL_STATES,
            timeout=args.wait_timeout,
            what=f"deployment {dep_id} to be ready",
        )
    result = {
        "deployment_id": dep_id,
        "version": deployment.get("version"),
        "state": deployment.get("state"),
        "preview_url": deployment.get("preview_url"),
        "files": len(manifest.files),
        "uploaded": uploaded,
        "promoted": False,
        "handle": args.handle,
        "target": deployment.get("target", args.target),
        "warnings": list(deployment.get("warnings") or []),
    }
    if deployment.get("state") != "ready":
        err = deployment.get("error") or {}
        raise CommandError(
            ApiError(err.get("code") or "deployment_failed", err.get("message") or f"Deployment {dep_id} failed.", details=err.get("details") or {}),
            extra=result,
        )
    out.info(f"Deployment {dep_id} is ready ({uploaded} uploaded).")
    if args.promote:
        report, promoted = promote(api, out, handle=args.handle, deployment_id=dep_id, reason=args.message or f"Deployed {dep_id} with the gharart CLI", context=result)
        result["preview_url"] = report.get("preview_url") or result["preview_url"]
        result["promoted"] = True
        result["release_id"] = (promoted.get("release") or {}).get("id")
        result["warnings"] += list(promoted.get("warnings") or [])
    lines = [f"Deployment: {dep_id} (version {result['version']}, {result['state']})", f"Preview:    {result['preview_url']}"]
    if result["promoted"]:
        lines.append(f"Live:       {dep_id} is now live for {result['target']}")
    out.result(result, lines)
    return EXIT_OK


def parse_at(text):
    """``--at``: an ISO 8601 time; without an offset it is this machine's local time. Returns UTC ``...Z``."""
    raw = (text or "").strip()
    try:
        when = datetime.fromisoformat(raw[:-1] + "+00:00" if raw.endswith(("Z", "z")) else raw)
    except ValueError:
        raise local_error("validation_error", f"--at: '{text}' is not a time such as 2026-11-25T18:00 or 2026-11-25T12:30:00Z.", at=["An ISO 8601 time."])
    if when.tzinfo is None:
        when = when.astimezone()  # the local time zone of this machine
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def promote(api, out, *, handle, deployment_id, reason, force=False, context=None, at=None):
    """Open the preview report (which the preview gate counts), then promote (or, with
    ``at``, schedule the promote for that time: every check runs then).

    Returns (preview report, promote response); a refusal raises ``CommandError``.
    """
    context = dict(context or {"deployment_id": deployment_id})
    try:
        report = api.get(deployment_path(handle, deployment_id, "preview"))
        context["preview_url"] = report.get("preview_url") or context.get("preview_url")
        gate = report.get("gate") or {}
        checks = ", ".join(f"{ch.get('name')} {'ok' if ch.get('ok') else 'NOT ok'}" for ch in gate.get("checks") or [] if isinstance(ch, dict))
        out.info(f"Preview report opened: gate {gate.get('status', '?')}" + (f" ({checks})" if checks else ""))
        payload = {"reason": reason}
        if force:
            payload["force"] = True
        if at is not None:
            payload["at"] = at
        response = api.post(deployment_path(handle, deployment_id, "promote"), payload)
    except ApiError as exc:
        raise CommandError(exc, hint=f"Deployment {deployment_id} was NOT promoted; the live site is unchanged.", extra={**context, "promoted": False})
    out.warnings(response)
    return report, response


# --- deployments ---------------------------------------------------------------------------
def deployment_lines(d):
    return [
        f"ID:        {d.get('id')}",
        f"Version:   {d.get('version')} ({d.get('target')})",
        f"State:     {d.get('state')}{'  LIVE' if d.get('is_live') else ''}",
        f"Message:   {d.get('message') or ''}",
        f"Files:     {d.get('file_count')} ({human_bytes(d.get('total_bytes') or 0)})",
        f"Created:   {d.get('created_at')} by {d.get('created_by')}",
        f"Preview:   {d.get('preview_url') or '-'}",
    ]


def cmd_deployments_list(args, api, out):
    page = api.get(handle_path(args.handle, "site-deployments"), target=args.target, state=args.state, limit=args.limit)
    rows = [f"{'ID':<32} {'VER':>4} {'TARGET':<6} {'STATE':<10} {'LIVE':<4} CREATED               MESSAGE"]
    for d in page.get("results", []):
        rows.append(
            f"{d.get('id', ''):<32} {d.get('version', ''):>4} {d.get('target', ''):<6} {d.get('state', ''):<10} "
            f"{'yes' if d.get('is_live') else '':<4} {str(d.get('created_at', ''))[:20]:<21} {(d.get('message') or '')[:40]}"
        )
    out.result(page, rows)
    return EXIT_OK


def cmd_deployments_show(args, api, out):
    d = api.get(deployment_path(args.handle, args.deployment_id))
    out.result(d, deployment_lines(d))
    return EXIT_OK


def cmd_deployments_promote(args, api, out):
    if args.force and not args.reason:
        raise local_error("validation_error", "--force needs --reason (forced promotes are audited).", reason=["Required with --force."])
    at = parse_at(args.at) if args.at else None
    reason = args.reason or f"Promoted {args.deployment_id} with the gharart CLI"
    report, response = promote(api, out, handle=args.handle, deployment_id=args.deployment_id, reason=reason, force=args.force, at=at)
    if at is not None:
        sched = response.get("scheduled_release") or {}
        lines = [f"Scheduled: {sched.get('id')} at {sched.get('at')} (state {sched.get('state')}); every check runs then."]
        out.result({**response, "promoted": False, "scheduled": True, "preview_url": report.get("preview_url")}, lines)
        return EXIT_OK
    live = response.get("live_deployment_id")
    out.result({**response, "promoted": True, "preview_url": report.get("preview_url")}, [f"Live: {live}"])
    return EXIT_OK


def cmd_deployments_rollback(args, api, out):
    reason = args.reason or f"Rolled back to {args.deployment_id} with the gharart CLI"
    try:
        response = api.post(deployment_path(args.handle, args.deployment_id, "rollback"), {"reason": reason})
    except ApiError as exc:
        raise CommandError(exc, hint="Nothing was rolled back; the live site is unchanged.")
    out.warnings(response)
    out.result(response, [f"Live: {response.get('live_deployment_id')} (rolled back)"])
    return EXIT_OK


# --- site mode -----------------------------------------------------------------------------
def site_mode_lines(m):
    return [f"Mode:    {m.get('mode')}", f"Live:    {m.get('live_deployment_id') or '-'}", f"Serving: {m.get('serving')}"]


def cmd_site_mode_get(args, api, out):
    m = api.get(handle_path(args.handle, "site-mode"))
    out.warnings(m)
    out.result(m, site_mode_lines(m))
    return EXIT_OK


def cmd_site_mode_set(args, api, out):
    m = api.put(handle_path(args.handle, "site-mode"), {"mode": args.mode})
    out.warnings(m)
    out.result(m, site_mode_lines(m))
    return EXIT_OK


# --- site intel ----------------------------------------------------------------------------
def cmd_crawl(args, api, out):
    args.hostname = args.hostname or default_hostname(api, args.handle)
    base = handle_path(args.handle, "site-intel", args.hostname, "crawl-runs")
    payload = {k: v for k, v in (("max_pages", args.max_pages), ("max_depth", args.max_depth)) if v is not None}
    run = api.post(base, payload)
    out.info(f"Crawl {run.get('id')} of {args.hostname}: {run.get('state')}")
    if args.wait and run.get("state") not in CRAWL_FINAL_STATES:
        run = wait_for(
            lambda: api.get(f"{base}/{quote(run['id'], safe='')}"),
            is_final=lambda r: r.get("state") in CRAWL_FINAL_STATES,
            timeout=args.wait_timeout,
            what=f"crawl {run.get('id')}",
        )
    lines = [f"Crawl:  {run.get('id')} ({run.get('state')})", f"Pages:  {run.get('pages_done')} done, {run.get('pages_found')} found"]
    if args.wait and run.get("state") != "succeeded":
        err = run.get("error") or {}
        message = err.get("message") if isinstance(err, dict) else str(err)
        raise CommandError(ApiError(f"crawl_{run.get('state')}", message or f"Crawl {run.get('id')} ended {run.get('state')}."), extra=run)
    out.result(run, lines)
    return EXIT_OK


def cmd_replay(args, api, out):
    hostname = args.hostname or default_hostname(api, args.handle)
    base = handle_path(args.handle, "site-intel", hostname, "replay-runs")
    payload = {"crawl_run_id": args.crawl_run, "deployment_id": args.deployment}
    if args.visual or args.visual_gate:
        # A visual replay is waited for: the pages that look different are its result.
        args.wait = True
        payload["visual"] = True
        payload["visual_gate"] = bool(args.visual_gate)
        if args.visual_max_pages is not None:
            payload["visual_max_pages"] = args.visual_max_pages
        if args.visual_threshold is not None:
            payload["visual_threshold"] = args.visual_threshold
    run = api.post(base, payload)
    out.info(f"Replay {run.get('id')} of {hostname} against {args.deployment}: {run.get('state')}")
    if args.wait and run.get("state") not in REPLAY_FINAL_STATES:
        run = wait_for(
            lambda: api.get(f"{base}/{quote(run['id'], safe='')}"),
            is_final=lambda r: r.get("state") in REPLAY_FINAL_STATES,
            timeout=args.wait_timeout,
            what=f"replay {run.get('id')}",
        )
    if not args.wait:
        out.result(run, [f"Replay: {run.get('id')} ({run.get('state')})"])
        return EXIT_OK
    summary = run.get("summary") or {}
    lines = [
        f"Replay:      {run.get('id')} ({run.get('state')})",
        f"Pages:       {summary.get('total')} total, {summary.get('unchanged')} unchanged, {summary.get('changed')} changed",
        f"Regressions: {summary.get('regressions')}",
    ]
    for diff in run.get("diffs") or []:
        if diff.get("regression"):
            where = diff.get("path") + (f"#{diff['fragment']}" if diff.get("fragment") else "")
            lines.append(f"  {diff.get('kind'):<16} {where}")
    visual = summary.get("visual")
    if visual:
        gate = "on: a changed page is a regression" if visual.get("gate") else "off"
        lines.append(f"Visual:      {visual.get('changed')} of {visual.get('pages')} pages look different (gate {gate})")
        for diff in run.get("diffs") or []:
            if diff.get("kind") != "visual_changed":
                continue
            shots = diff.get("visual") or {}
            if shots.get("changed_ratio") is None:
                lines.append(f"  {diff.get('path')}: could not be rendered ({shots.get('error', 'unknown error')})")
            else:
                lines.append(f"  {diff.get('path')}: {shots['changed_ratio'] * 100:.2f}% of the pixels changed, diff {api.base_url}{shots.get('diff', '')}")
    if run.get("state") != "succeeded":
        err = run.get("error") or {}
        message = err.get("message") if isinstance(err, dict) else str(err)
        raise CommandError(ApiError(f"replay_{run.get('state')}", message or f"Replay {run.get('id')} ended {run.get('state')}."), extra=run)
    if summary.get("regressions"):
        # Not an API error: the replay worked and found what CI should stop on.
        visual_failed = sum(1 for d in run.get("diffs") or [] if d.get("kind") == "visual_changed" and d.get("regression"))
        if visual_failed:
            out.info(f"The visual gate failed: {visual_failed} page(s) look different.")
        out.info(f"Replay found {summary.get('regressions')} regression(s); the preview gate of {args.deployment} is failed.")
        out.result({**run, "regressions": summary.get("regressions")}, lines)
        return EXIT_FAILED
    out.result({**run, "regressions": 0}, lines)
    return EXIT_OK


def default_hostname(api, handle):
    """The handle's own profile-site hostname, as the server names it."""
    listing = api.get(handle_path(handle, "site-intel", "hostnames"))
    for target in listing.get("results", []):
        if target.get("internal"):
            return target["hostname"]
    raise local_error("validation_error", "Pass the hostname to use (the server lists no profile-site hostname).", hostname=["Required."])


# --- files ---------------------------------------------------------------------------------
def expires_value(text):
    """``2026-12-31`` means through the end of that day (UTC); full ISO times pass through."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return text
    return f"{day.isoformat()}T23:59:59Z"


def file_lines(f):
    return [
        f"ID:        {f.get('id')}",
        f"Name:      {f.get('name')}" + (f"  ({f.get('title')})" if f.get("title") else ""),
        f"Size:      {human_bytes(f.get('size') or 0)}  {f.get('content_type')}",
        f"Access:    {f.get('access')}",
        f"Expires:   {f.get('expires_at') or 'never'}{'  (expired)' if f.get('is_expired') else ''}",
        f"Recipients:{' ' + ', '.join(f.get('recipients') or []) if f.get('recipients') else ' -'}",
        f"Downloads: {f.get('download_count')}" + (f"/{f.get('max_downloads')}" if f.get("max_downloads") else ""),
        f"Public URL: {f.get('public_url') or '-'}",
    ]


def cmd_files_upload(args, api, out):
    path = Path(args.path)
    if not path.is_file():
        raise local_error("file_not_found", f"{path} is not a file.", path=str(path))
    data = {"access": args.access}
    if args.expires:
        data["expires_at"] = expires_value(args.expires)
    if args.recipient:
        data["recipients"] = list(args.recipient)
    if args.title:
        data["title"] = args.title
    if args.max_downloads is not None:
        data["max_downloads"] = str(args.max_downloads)
    size = path.stat().st_size
    out.info(f"Uploading {path.name} ({human_bytes(size)})")
    f = api.request(
        "POST",
        handle_path(args.handle, "files"),
        data=data,
        files=lambda: {"file": (path.name, open(path, "rb"), "application/octet-stream")},
        idempotency_key=new_idempotency_key(),
    )
    out.result(f, file_lines(f))
    return EXIT_OK


def cmd_files_list(args, api, out):
    expired = None if args.expired is None else ("true" if args.expired == "yes" else "false")
    page = api.get(handle_path(args.handle, "files"), access=args.access, expired=expired, limit=args.limit)
    rows = [f"{'ID':<32} {'ACCESS':<8} {'SIZE':>9} {'EXPIRES':<21} NAME"]
    for f in page.get("results", []):
        rows.append(
            f"{f.get('id', ''):<32} {f.get('access', ''):<8} {human_bytes(f.get('size') or 0):>9} "
            f"{str(f.get('expires_at') or 'never')[:20]:<21} {f.get('name', '')}{' (expired)' if f.get('is_expired') else ''}"
        )
    out.result(page, rows)
    return EXIT_OK


def cmd_files_link(args, api, out):
    payload = {"email": args.email}
    if args.send:
        payload["send"] = True
    link = api.post(f"/v2/public/files/{quote(args.file_id, safe='')}/magic-link", payload)
    if not link or "url" not in link:
        # 202 {"status": "accepted"}: the server treated us as anonymous (no files:write).
        raise CommandError(
            ApiError("magic_link_not_issued", "The server did not issue a link; the token needs the files:write scope and a partnerships, admin or owner role."),
            extra={"response": link},
        )
    lines = [f"Link:    {link.get('url')}", f"Email:   {link.get('email')}", f"Expires: {link.get('expires_at')}"]
    if args.send:
        lines.append(f"Sent to {link.get('email')}.")
    out.result(link, lines)
    return EXIT_OK


# --- argument parsing ----------------------------------------------------------------------
class UsageError(Exception):
    def __init__(self, usage, message):
        super().__init__(message)
        self.usage = usage
        self.message = message


class Parser(argparse.ArgumentParser):
    """Raises instead of exiting on bad usage, so ``--json`` still ends with a JSON line."""

    def error(self, message):
        raise UsageError(self.format_usage(), message)


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def build_parser() -> argparse.ArgumentParser:
    # Common options work before or after the subcommand (``gharart deploy . --json``).
    # In subcommands they default to SUPPRESS so they never overwrite one given earlier.
    def common(suppress):
        parser = Parser(add_help=False)
        default = argparse.SUPPRESS if suppress else None
        group = parser.add_argument_group("connection and output")
        group.add_argument("--url", default=default, help="server base URL (default: $GHARART_URL)")
        group.add_argument("--token", default=default, help="personal access token (default: $GHARART_TOKEN)")
        group.add_argument("--json", action="store_true", default=argparse.SUPPRESS if suppress else False, help="print one JSON object as the last line of stdout")
        return parser

    sub_common = common(True)

    def handle_arg(parser):
        parser.add_argument("--handle", default=argparse.SUPPRESS, help="handle slug (default: $GHARART_HANDLE)")

    parser = Parser(
        prog="gharart",
        description="Deploy sites, manage releases and share files on a Gharart server.",
        parents=[common(False)],
        epilog="Exit codes: 0 ok, 1 failed (API error, refused promote, replay regressions), 2 usage, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"gharart {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(group, name, help_text, func):
        p = group.add_parser(name, help=help_text, description=help_text, parents=[sub_common])
        p.set_defaults(func=func)
        return p

    p = add(commands, "deploy", "Deploy a folder (digest deploy: only new files are uploaded).", cmd_deploy)
    p.add_argument("folder", metavar="DIR")
    handle_arg(p)
    p.add_argument("--target", choices=("site", "docs"), default="site")
    p.add_argument("--message", "-m", default=None)
    p.add_argument("--promote", action="store_true", help="open the preview report, then make the deployment live")
    p.add_argument("--jobs", type=positive_int, default=DEFAULT_JOBS, help=f"parallel uploads (default {DEFAULT_JOBS})")
    p.add_argument("--batch-files", type=positive_int, default=BATCH_FILES, help=f"small files sent per batch request (default {BATCH_FILES})")
    p.add_argument("--wait-timeout", type=float, default=600.0, help="seconds to wait for ready (default 600)")

    deployments = commands.add_parser("deployments", help="List, show, promote and roll back deployments.", parents=[sub_common])
    dsub = deployments.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = add(dsub, "list", "List deployments, newest first.", cmd_deployments_list)
    handle_arg(p)
    p.add_argument("--target", choices=("site", "docs"))
    p.add_argument("--state", choices=("uploading", "processing", "ready", "failed"))
    p.add_argument("--limit", type=positive_int)
    for name, help_text, func in (
        ("show", "Show one deployment.", cmd_deployments_show),
        ("promote", "Open the preview report, then make a ready deployment live.", cmd_deployments_promote),
        ("rollback", "Make a previously live deployment live again.", cmd_deployments_rollback),
    ):
        p = add(dsub, name, help_text, func)
        p.add_argument("deployment_id", metavar="DEPLOYMENT_ID")
        handle_arg(p)
        if name in ("promote", "rollback"):
            p.add_argument("--reason", default=None)
        if name == "promote":
            p.add_argument("--force", action="store_true", help="owners/admins: promote past the preview gate (needs --reason)")
            p.add_argument("--at", metavar="TIME", default=None, help="schedule the promote at TIME (ISO 8601; without an offset, local time) instead of now")

    site_mode = commands.add_parser("site-mode", help="Show or set what the profile site serves.", parents=[sub_common])
    ssub = site_mode.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = add(ssub, "get", "Show the site mode.", cmd_site_mode_get)
    handle_arg(p)
    p = add(ssub, "set", "Set the site mode.", cmd_site_mode_set)
    p.add_argument("mode", choices=SITE_MODES)
    handle_arg(p)

    p = add(commands, "crawl", "Crawl a hostname (site intel).", cmd_crawl)
    p.add_argument("hostname", metavar="HOSTNAME", nargs="?", help="default: the handle's own profile site")
    handle_arg(p)
    p.add_argument("--max-pages", type=positive_int)
    p.add_argument("--max-depth", type=int)
    p.add_argument("--wait", action="store_true", help="wait until the crawl ends; exit 1 unless it succeeded")
    p.add_argument("--wait-timeout", type=float, default=900.0)

    p = add(commands, "replay", "Replay a crawl snapshot against a deployment and diff it.", cmd_replay)
    handle_arg(p)
    p.add_argument("--deployment", required=True, metavar="DEPLOYMENT_ID")
    p.add_argument("--crawl-run", default=None, metavar="CRAWL_RUN_ID", help="default: the latest succeeded crawl")
    p.add_argument("--hostname", default=None, help="the crawled hostname (default: the handle's own profile site)")
    p.add_argument("--wait", action="store_true", help="wait for the result; exit 1 when it finds regressions")
    p.add_argument("--wait-timeout", type=float, default=900.0)
    p.add_argument("--visual", action="store_true", help="also compare screenshots in headless Chromium; waits, prints the pages that look different")
    p.add_argument("--visual-gate", action="store_true", help="with --visual: a page that looks different is a regression (exit 1)")
    p.add_argument("--visual-max-pages", type=positive_int, default=None, metavar="N", help="render the N most linked pages (default 25)")
    p.add_argument("--visual-threshold", type=float, default=None, metavar="SHARE", help="share of changed pixels that counts (default 0.002)")

    files = commands.add_parser("files", help="Upload, list and share files.", parents=[sub_common])
    fsub = files.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = add(fsub, "upload", "Upload a file.", cmd_files_upload)
    p.add_argument("path", metavar="PATH")
    handle_arg(p)
    p.add_argument("--access", choices=FILE_ACCESS, default="private")
    p.add_argument("--expires", default=None, help="YYYY-MM-DD (through the end of that day, UTC) or an ISO 8601 time")
    p.add_argument("--recipient", action="append", default=[], help="an email or @domain allowed to receive links (repeatable)")
    p.add_argument("--title", default=None)
    p.add_argument("--max-downloads", type=positive_int, default=None)
    p = add(fsub, "list", "List files.", cmd_files_list)
    handle_arg(p)
    p.add_argument("--access", choices=FILE_ACCESS)
    p.add_argument("--expired", choices=("yes", "no"))
    p.add_argument("--limit", type=positive_int)
    p = add(fsub, "link", "Create a magic link for a recipient.", cmd_files_link)
    p.add_argument("file_id", metavar="FILE_ID")
    p.add_argument("--email", required=True)
    p.add_argument("--send", action="store_true", help="also email the link")
    return parser


NEEDS_HANDLE = {cmd_deploy, cmd_deployments_list, cmd_deployments_show, cmd_deployments_promote, cmd_deployments_rollback,
                cmd_site_mode_get, cmd_site_mode_set, cmd_crawl, cmd_replay, cmd_files_upload, cmd_files_list}


def main(argv=None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        print(exc.usage.rstrip(), file=sys.stderr)
        print(f"error: usage_error: {exc.message}", file=sys.stderr)
        if "--json" in argv:
            print(json.dumps({"error": ApiError("usage_error", exc.message).as_dict()}, sort_keys=True), flush=True)
        return EXIT_USAGE
    out = Output(as_json=args.json)
    url = args.url or os.environ.get("GHARART_URL")
    token = args.token or os.environ.get("GHARART_TOKEN")
    if args.func in NEEDS_HANDLE:
        args.handle = getattr(args, "handle", None) or os.environ.get("GHARART_HANDLE")
    try:
        if not url:
            raise local_error("config_missing", "Set GHARART_URL (or pass --url) to the server's base URL.")
        if not token:
            raise local_error("config_missing", "Set GHARART_TOKEN (or pass --token) to a personal access token.")
        if args.func in NEEDS_HANDLE and not args.handle:
            raise local_error("config_missing", "Pass --handle (or set GHARART_HANDLE).")
        with Api(url, token) as api:
            try:
                return args.func(args, api, out)
            except ApiError as exc:
                raise CommandError(exc)
    except CommandError as exc:
        out.failure(exc)
        return EXIT_FAILED
    except KeyboardInterrupt as exc:
        out.info("Interrupted. Blobs already uploaded are kept: run the same command again to resume.")
        if out.as_json:
            error = ApiError("interrupted", "Interrupted before the command finished.")
            print(json.dumps({**getattr(exc, "extra", {}), "error": error.as_dict()}, sort_keys=True), flush=True)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
