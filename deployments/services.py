"""Writes for deployments, releases, the preview gate, site mode and function bindings.

Guarantees:

- A deployment is created whole or not at all: a bad archive is refused (422
  ``invalid_artifact``) before any row exists, and the blobs it created are removed.
- Versions count 1, 2, 3... per handle and target, handed out under the live pointer's
  row lock, so concurrent uploads never share a number.
- Promote and rollback are pointer swaps under ``select_for_update`` of the live pointer:
  they take the same time for 10 or 20,000 files, serialize per handle and target, and the
  live pointer always equals the last recorded release.
- Every change to what a profile route serves bumps the cached live state after commit.
"""

import hashlib
import ipaddress
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone

from deployments import (
    archives,
    compression,
    previews,
    publishing_locks,
    selectors,
    siterules,
    storage,
    uploads,
)
from deployments import constants as dc
from deployments.models import (
    Blob,
    CompressedBlob,
    Deployment,
    DeploymentFile,
    FormSubmission,
    FunctionBinding,
    LivePointer,
    Release,
    UploadRefusal,
)
from gharart import constants as c
from gharart.errors import ApplicationError
from gharart.jobs import dispatch_on_commit, job_task
from gharart.models import Handle
from gharart.services import audit_record, handle_profile_update

logger = logging.getLogger(__name__)
BULK_BATCH = 2000
# Batch uploads: members up to this size are buffered and written in parallel; larger ones stream.
BATCH_INLINE_BYTES = 1024 * 1024
BATCH_FLUSH_BYTES = 16 * 1024 * 1024
# A deployment still processing after this long gets its job queued again (the job is idempotent).
PROCESSING_REQUEUE_AFTER = timedelta(minutes=15)


def _validation(message, **fields):
    return ApplicationError(c.VALIDATION_ERROR, message, details={k: v if isinstance(v, list) else [v] for k, v in fields.items()})


def _clean_target(target):
    target = target or dc.TARGET_SITE
    if target not in dc.TARGETS:
        raise _validation("The deployment could not be created.", target=f"Choose one of: {', '.join(dc.TARGETS)}.")
    return target


def _clean_message(message):
    message = (message or "").strip()
    if len(message) > 500:
        raise _validation("The deployment could not be created.", message="At most 500 characters.")
    return message


# --- Creating deployments ----------------------------------------------------------------

def _pointer_for_update(*, handle, target) -> LivePointer:
    """The (handle, target) live pointer, created if needed and locked until commit."""
    LivePointer.objects.get_or_create(handle=handle, target=target)
    return LivePointer.objects.select_for_update().get(handle=handle, target=target)


def _deployment_start(*, handle, target, message, actor, state, artifact_sha256="", pending_archive_sha256="") -> Deployment:
    """Create the deployment row with the next version number (a short transaction)."""
    with transaction.atomic():
        pointer = _pointer_for_update(handle=handle, target=target)
        version = pointer.next_version
        pointer.next_version = version + 1
        pointer.save(update_fields=["next_version"])
        return Deployment.objects.create(
            handle=handle,
            target=target,
            version=version,
            state=state,
            message=message,
            artifact_sha256=artifact_sha256,
            pending_archive_sha256=pending_archive_sha256,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )


def _files_create(deployment, files, *, waiting=frozenset()):
    """Insert the manifest rows: ``COPY`` on PostgreSQL, a plain ``executemany`` elsewhere
    (for 10,000-20,000 rows the ORM's per-object work would cost more than the database
    does). Entries whose sha256 is in ``waiting`` (digest blobs the handle has not sent)
    start not ``held``."""
    meta = DeploymentFile._meta
    qn = connection.ops.quote_name
    columns = ["deployment_id", "path", "sha256", "size", "content_type", "confidential", "held"]
    column_sql = ", ".join(qn(meta.get_field(name.removesuffix("_id")).column) for name in columns)
    rows = ((deployment.pk, f.path, f.sha256, f.size, f.content_type, bool(f.confidential), f.sha256 not in waiting) for f in files)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {qn(meta.db_table)} ({column_sql}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    sql = f"INSERT INTO {qn(meta.db_table)} ({column_sql}) VALUES ({', '.join(['%s'] * len(columns))})"
    batch = []
    with connection.cursor() as cursor:
        for row in rows:
            batch.append(row)
            if len(batch) >= BULK_BATCH:
                cursor.executemany(sql, batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)


def _finalize_ready(deployment: Deployment) -> Deployment:
    """Mark a deployment whose bytes are all stored ``ready`` (inside a transaction, row locked)."""
    files = DeploymentFile.objects.filter(deployment=deployment)
    count, total = 0, 0
    has_index = False
    for path, size in files.values_list("path", "size"):
        count += 1
        total += size
        has_index = has_index or path == "/index.html"
    limits = archives.Limits.from_settings()
    if total > limits.max_total_bytes:
        return _fail_locked(
            deployment,
            dc.INVALID_ARTIFACT,
            f"The deployment holds more than {limits.max_total_bytes} bytes.",
            {"reason": dc.REASON_ARCHIVE_TOO_LARGE, "max_bytes": limits.max_total_bytes},
        )
    if deployment.target == dc.TARGET_DOCS:
        # Classify pages that arrived as digest blobs (archive ingest classified its own).
        for row in files.filter(confidential=False).only("id", "path", "sha256"):
            if archives.is_html(row.path) and archives.blob_is_confidential(row.sha256):
                DeploymentFile.objects.filter(pk=row.pk).update(confidential=True)
    warnings = []
    if deployment.target == dc.TARGET_SITE and not has_index:
        warnings.append(dc.WARNING_NO_INDEX_HTML)
    compiled = _site_rules_compile(dict(files.filter(path__in=siterules.RULE_FILES).values_list("path", "sha256")))
    if compiled.redirect_problems:
        warnings.append(dc.WARNING_REDIRECTS_INVALID)
    if compiled.header_problems:
        warnings.append(dc.WARNING_HEADERS_INVALID)
    has_rules = compiled.redirects or compiled.headers or compiled.redirect_problems or compiled.header_problems
    deployment.site_rules = compiled.as_json() if has_rules else {}
    deployment.file_count = count
    deployment.total_bytes = total
    deployment.warnings = warnings
    deployment.state = dc.READY
    deployment.ready_at = timezone.now()
    deployment.error = None
    deployment.pending_archive_sha256 = ""
    deployment.save(update_fields=["file_count", "total_bytes", "warnings", "site_rules", "state", "ready_at", "error", "pending_archive_sha256"])
    return deployment


def _site_rules_compile(rule_files) -> siterules.Compiled:
    """Parse the deployment's ``/_redirects`` and ``/_headers`` (once, as it turns ready).

    A file that cannot be read is reported like an unreadable line; it never fails the
    deployment.
    """
    texts, unreadable = {}, {}
    for path, sha in rule_files.items():
        try:
            with storage.blob_open(sha) as fh:
                texts[path] = fh.read(siterules.MAX_FILE_BYTES + 1)
        except OSError:
            unreadable[path] = {"line": 0, "text": "", "reason": "the file could not be read from storage"}
    compiled = siterules.compile_site_rules(redirects=texts.get(siterules.REDIRECTS_FILE), headers=texts.get(siterules.HEADERS_FILE))
    if siterules.REDIRECTS_FILE in unreadable:
        compiled.redirect_problems.insert(0, unreadable[siterules.REDIRECTS_FILE])
    if siterules.HEADERS_FILE in unreadable:
        compiled.header_problems.insert(0, unreadable[siterules.HEADERS_FILE])
    return compiled


def _fail_locked(deployment, code, message, details=None):
    deployment.state = dc.FAILED
    deployment.error = {"code": code, "message": message, "details": details or {}}
    deployment.pending_archive_sha256 = ""
    deployment.save(update_fields=["state", "error", "pending_archive_sha256"])
    shas = list(DeploymentFile.objects.filter(deployment=deployment).values_list("sha256", flat=True).distinct())
    DeploymentFile.objects.filter(deployment=deployment).delete()
    deployment.file_count = 0
    deployment.total_bytes = 0
    deployment.save(update_fields=["file_count", "total_bytes"])
    # Nothing of a failed deployment is kept: blobs only it used go once this commits.
    transaction.on_commit(lambda: _blobs_release(shas))
    return deployment


def _blobs_release(shas):
    for sha in shas:
        try:
            storage.blob_delete_if_unreferenced(sha)
        except Exception:
            logger.exception("Could not remove blob %s", sha)


def deployment_fail(*, deployment_id, code, message, details=None) -> Deployment | None:
    """Turn a deployment that is not final yet into ``failed`` with ``error``; idempotent."""
    with transaction.atomic():
        dep = Deployment.objects.select_for_update().filter(pk=deployment_id).first()
        if dep is None or dep.state in dc.FINAL_STATES:
            return dep
        archive = dep.pending_archive_sha256
        dep = _fail_locked(dep, code, message, details)
    if archive:
        _blobs_release([archive])
    return dep


def _step(log, step, started, detail=""):
    """Append one deploy-log step that began at ``started`` (a ``time.monotonic()``); returns now."""
    now = time.monotonic()
    log.append({"step": step, "detail": detail, "ms": int((now - started) * 1000)})
    return now


def _ingest_detail(result):
    return f"{len(result.files)} file{'' if len(result.files) == 1 else 's'}, {result.total_bytes} bytes unpacked"


def _warnings_step(dep, log):
    if dep.state == dc.READY:
        words = {
            dc.WARNING_NO_INDEX_HTML: "no /index.html, so the site's root answers 404",
            dc.WARNING_REDIRECTS_INVALID: "some lines of _redirects were skipped (see Site rules)",
            dc.WARNING_HEADERS_INVALID: "some lines of _headers were skipped (see Site rules)",
        }
        detail = "; ".join(words.get(w, "a warning, see above") for w in dep.warnings) or "none"
        log.append({"step": "warnings", "detail": detail, "ms": 0})


def _log_save(dep, log):
    Deployment.objects.filter(pk=dep.pk).update(log=log)
    dep.log = log


def upload_refusal_record(*, handle, target, upload, exc, actor=None):
    """Keep a refused upload in the upload log (its name, size and reason; never its bytes)."""
    details = exc.details or {}
    return UploadRefusal.objects.create(
        handle=handle,
        target=target if target in dict(dc.TARGET_CHOICES) else dc.TARGET_SITE,
        filename=str(getattr(upload, "name", "") or "")[:255],
        size=int(getattr(upload, "size", 0) or 0),
        code=exc.code[:60],
        reason=str(details.get("reason", ""))[:60],
        message=exc.message[:1000],
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )


def deployment_create_from_archive(*, handle, upload, target=dc.TARGET_SITE, message="", actor=None) -> Deployment:
    """Create a deployment from an uploaded .zip or .tar.gz (streamed to a temp file).

    Small archives are unpacked now and the deployment is ``ready`` on return; archives
    above ``DEPLOY_INLINE_MAX_BYTES`` are unpacked by a Celery job and the deployment is
    returned ``processing``. Invalid archives raise 422 ``invalid_artifact`` (zip archives
    are checked against their declared sizes before being queued); nothing of them is
    kept but a line in the upload log (``UploadRefusal``). Each deployment keeps its
    deploy log (``Deployment.log``).
    """
    target = _clean_target(target)
    message = _clean_message(message)
    if upload is None:
        raise _validation("The deployment could not be created.", artifact="Attach a .zip or .tar.gz archive, or send a JSON digest.")
    try:
        return _create_from_archive(handle=handle, upload=upload, target=target, message=message, actor=actor)
    except archives.InvalidArtifact as exc:
        upload_refusal_record(handle=handle, target=target, upload=upload, exc=exc, actor=actor)
        raise


def _create_from_archive(*, handle, upload, target, message, actor):
    log = []
    started = time.monotonic()
    # A streamed upload arrived through the archive receiver already; any other is fed to one.
    received = getattr(upload, "receiver", None) or uploads.archive_receive(upload)
    try:
        if received.inline:
            kind = archives.archive_kind(received.path)
            started = _step(log, "received", started, f"{kind} archive, {received.size} bytes")
            result = archives.ingest_archive(received.path, target=target)
            started = _step(log, "validated and unpacked", started, _ingest_detail(result))
            dep = _deployment_start(handle=handle, target=target, message=message, actor=actor, state=dc.PROCESSING, artifact_sha256=received.sha256)
            try:
                with transaction.atomic():
                    dep = Deployment.objects.select_for_update().get(pk=dep.pk)
                    _files_create(dep, result.files)
                    dep = _finalize_ready(dep)
                _step(log, "recorded" if dep.state == dc.READY else "failed", started, dep.error["message"] if dep.error else f"{dep.file_count} files in the manifest")
                _warnings_step(dep, log)
                _log_save(dep, log)
                return dep
            except Exception:
                # Never leave it "processing" with nobody working on it.
                deployment_fail(deployment_id=dep.pk, code=dc.PROCESSING_FAILED, message="Recording the deployment failed; upload it again.")
                raise
        # A large archive is in blob storage as it arrived: a worker unpacks it from there.
        archive_blob = received.commit()
        try:
            with storage.blob_open(archive_blob.sha256) as fh:
                kind = archives.archive_kind(fh)
                started = _step(log, "received", started, f"{kind} archive, {received.size} bytes")
                if kind == "zip":
                    archives.validate_zip_declared(fh, archive_size=received.size)
                    started = _step(log, "validated", started, "declared sizes within the limits")
            dep = _deployment_start(
                handle=handle,
                target=target,
                message=message,
                actor=actor,
                state=dc.PROCESSING,
                artifact_sha256=archive_blob.sha256,
                pending_archive_sha256=archive_blob.sha256,
            )
        except BaseException:
            _blobs_release([archive_blob.sha256])  # refused: nothing of it is kept
            raise
        _step(log, "queued", started, "large archive: unpacked by a background job")
        _log_save(dep, log)
        # Broker down: the deployment ends failed (its archive blob released) and the request is 503.
        dispatch_on_commit(
            "deployments.deployment_process_archive",
            dep.id,
            undo=lambda: deployment_fail(deployment_id=dep.id, code=c.SERVICE_UNAVAILABLE, message="The job queue was unavailable; upload the archive again."),
        )
        return dep
    finally:
        received.abort()


def deployment_process_archive(*, deployment_id) -> Deployment | None:
    """Unpack a queued archive (the Celery job's body). Idempotent: a final deployment is left alone."""
    dep = Deployment.objects.filter(pk=deployment_id).first()
    if dep is None or dep.state != dc.PROCESSING or not dep.pending_archive_sha256:
        return dep
    archive_sha = dep.pending_archive_sha256
    if not storage.blob_exists(archive_sha):
        return deployment_fail(deployment_id=dep.id, code=dc.PROCESSING_FAILED, message="The uploaded archive is no longer in storage; upload it again.")
    local = storage.blob_path(archive_sha)
    tmp = None
    try:
        if local is None:
            fd, tmp = tempfile.mkstemp(prefix="artifact-")
            with os.fdopen(fd, "wb") as out, storage.blob_open(archive_sha) as src:
                shutil.copyfileobj(src, out, archives.CHUNK)
            local = tmp
        log = list(dep.log or [])
        started = time.monotonic()
        try:
            result = archives.ingest_archive(local, target=dep.target)
        except archives.InvalidArtifact as exc:
            _step(log, "failed", started, exc.message)
            _log_save(dep, log)
            return deployment_fail(deployment_id=dep.id, code=exc.code, message=exc.message, details=exc.details)
        started = _step(log, "validated and unpacked", started, _ingest_detail(result))
        with transaction.atomic():
            dep = Deployment.objects.select_for_update().get(pk=dep.pk)
            if dep.state != dc.PROCESSING:
                return dep  # another run finished it
            _files_create(dep, result.files)
            dep = _finalize_ready(dep)
            _step(log, "recorded" if dep.state == dc.READY else "failed", started, dep.error["message"] if dep.error else f"{dep.file_count} files in the manifest")
            _warnings_step(dep, log)
            _log_save(dep, log)
        _blobs_release([archive_sha])
        return dep
    finally:
        if tmp and os.path.exists(tmp):
            os.unlink(tmp)


def deployment_create_from_digest(*, handle, files, target=dc.TARGET_SITE, message="", actor=None):
    """Create a deployment from a map path -> sha256. Returns ``(deployment, required)``.

    ``required`` lists the blobs this handle does not hold yet (``selectors.blobs_held``):
    bytes held only by another handle are required too, so the answer never tells whether
    anyone else holds a hash. The deployment stays ``uploading`` until they arrive
    (``deployment_blob_put`` / ``deployment_blobs_put_batch``), or is ``ready`` at once.
    """
    target = _clean_target(target)
    message = _clean_message(message)
    if not isinstance(files, dict):
        raise _validation("The deployment could not be created.", files="A map of path -> sha256.")
    if not files:
        raise archives.InvalidArtifact(dc.REASON_EMPTY, "The deployment lists no files.")
    limits = archives.Limits.from_settings()
    if len(files) > limits.max_files:
        raise archives.InvalidArtifact(dc.REASON_TOO_MANY_FILES, f"The deployment lists more than {limits.max_files} files.", max_files=limits.max_files)
    manifest = {}
    bad = []
    for raw_path, sha in files.items():
        path = archives.digest_path(raw_path)
        if not storage.is_sha256(sha):
            bad.append(f"{raw_path}: not a lowercase hex sha256.")
            continue
        manifest[path] = sha
    if bad:
        raise _validation("The deployment could not be created.", files=bad[:20])
    shas = set(manifest.values())
    # Sizes are known only of blobs this handle holds; the others are checked as they arrive.
    held = selectors.blobs_held(handle_id=handle.pk, shas=shas)
    too_big = sorted(p for p, s in manifest.items() if held.get(s, 0) > limits.max_file_bytes)
    if too_big:
        raise archives.InvalidArtifact(dc.REASON_FILE_TOO_LARGE, f"{too_big[0]} is larger than the limit of {limits.max_file_bytes} bytes.", path=too_big[0], max_bytes=limits.max_file_bytes)
    dep = _deployment_start(handle=handle, target=target, message=message, actor=actor, state=dc.UPLOADING)
    with transaction.atomic():
        # No one else knows this deployment yet: its row is locked only to finalize it.
        # Lock the blobs we rely on, so a concurrent cleanup cannot remove them before our rows
        # commit; one that went in between is simply required again.
        locked = set(Blob.objects.select_for_update().filter(sha256__in=list(held)).values_list("sha256", flat=True)) if held else set()
        held = {sha: size for sha, size in held.items() if sha in locked}
        waiting = shas - set(held)
        _files_create(
            dep,
            (
                archives.IngestedFile(path=p, sha256=s, size=held.get(s, 0), content_type=archives.content_type_for(p))
                for p, s in sorted(manifest.items())
            ),
            waiting=waiting,
        )
        required = sorted(waiting)
        if required:
            dep.blobs_missing = len(required)
            dep.save(update_fields=["blobs_missing"])
        else:
            dep = _finalize_ready(Deployment.objects.select_for_update().get(pk=dep.pk))
    return dep, required


def _blob_entry_state(deployment, sha256):
    """(listed, held) of ``sha256`` in the deployment (one indexed lookup)."""
    rows = set(DeploymentFile.objects.filter(deployment=deployment, sha256=sha256).values_list("held", flat=True)[:2])
    return bool(rows), bool(rows) and all(rows)


def _refuse_unless_uploading(deployment):
    if deployment.state != dc.UPLOADING:
        raise ApplicationError(dc.DEPLOYMENT_NOT_UPLOADING, f"The deployment is {deployment.state}; it takes no more blobs.", status=409, details={"state": deployment.state})


def _blobs_arrived(deployment_id, sizes) -> Deployment:
    """Count stored blobs ``{sha256: size}`` as held by the deployment; finalize after the last.

    The only step under the deployment's row lock: flip the waiting entries (partial
    index, at most one batch of rows), count them down, and finalize when none is left.
    """
    with transaction.atomic():
        dep = Deployment.objects.select_for_update().get(pk=deployment_id)
        if dep.state != dc.UPLOADING or not sizes:
            return dep
        arrived = sorted(set(selectors.deployment_waiting_entries(deployment=dep, shas=sizes).values_list("sha256", flat=True)))
        if arrived:
            # Sizes from the blob rows (one primary-key probe per entry): building a CASE of
            # hundreds of branches would cost more than the update itself.
            selectors.deployment_waiting_entries(deployment=dep, shas=arrived).update(
                held=True,
                size=Subquery(Blob.objects.filter(sha256=OuterRef("sha256")).values("size")[:1]),
            )
            dep.blobs_missing = max(0, dep.blobs_missing - len(arrived))
            if dep.blobs_missing == 0 and DeploymentFile.objects.filter(deployment=dep, held=False).exists():
                # The count drifted (rows written before it was kept): count once, from the index.
                dep.blobs_missing = DeploymentFile.objects.filter(deployment=dep, held=False).values("sha256").distinct().count()
            dep.save(update_fields=["blobs_missing"])
        if dep.blobs_missing == 0 and not DeploymentFile.objects.filter(deployment=dep, held=False).exists():
            dep = _finalize_ready(dep)
    return dep


def deployment_blob_put(*, deployment, sha256, stream):
    """Store one blob of a digest deployment. Returns ``(deployment, required_count)``.

    422 ``blob_hash_mismatch`` when the bytes do not hash to ``sha256`` (nothing kept);
    the deployment turns ``ready`` when its last blob arrives. The bytes are always read
    and verified, even when the store holds them for another handle (stored once).
    """
    if not storage.is_sha256(sha256):
        raise _validation("The blob could not be stored.", sha256="A lowercase hex sha256.")
    listed, held = _blob_entry_state(deployment, sha256)
    if deployment.state == dc.READY and listed:
        return deployment, 0  # a retried upload of a deployment that is complete
    _refuse_unless_uploading(deployment)
    if not listed:
        raise ApplicationError(dc.BLOB_NOT_REQUIRED, "This deployment lists no file with that sha256.", status=422, details={"sha256": sha256})
    if held:
        return deployment, deployment.blobs_missing  # sent before (a retry): nothing to store
    info = storage.blob_put_stream(stream, expected_sha256=sha256, max_bytes=settings.DEPLOY_MAX_FILE_BYTES)
    dep = _blobs_arrived(deployment.pk, {sha256: info.size})
    return dep, dep.blobs_missing


@dataclass
class BatchResult:
    deployment: Deployment
    stored: int = 0  # blobs of this request now held
    skipped: int = 0  # members already held (a retried batch)


def _batch_error(exc, stored):
    """The error of a batch that stopped, telling how many of its blobs were kept."""
    details = dict(exc.details or {})
    details["stored"] = stored
    return ApplicationError(exc.code, exc.message, status=exc.status, details=details, headers=getattr(exc, "headers", None))


def _not_required(sha256):
    return ApplicationError(dc.BLOB_NOT_REQUIRED, "This deployment lists no file with that sha256.", status=422, details={"sha256": sha256})


def deployment_blobs_put_batch(*, deployment, stream) -> BatchResult:
    """Store many blobs of a digest deployment sent as one tar stream.

    Each member is a regular file named by the sha256 of its bytes; every member is
    hashed and checked. Small members are buffered and written in parallel, a chunk at a
    time, large ones streamed; a blob is held once its bytes are in place, never half.
    Which members the deployment still waits for is asked per chunk, of those hashes only
    (indexed). The first bad member stops the batch with its error; ``details.stored``
    counts the blobs before it that were kept (they count, so a retry sends the rest). A
    hash the deployment does not list is 422 ``blob_not_required`` and is never stored,
    so nothing is left unreferenced.
    """
    import tarfile

    if deployment.state == dc.READY:
        return BatchResult(deployment=deployment)  # a retried batch of a complete deployment
    _refuse_unless_uploading(deployment)
    limits = archives.Limits.from_settings()
    pending, pending_bytes = [], 0
    stored, seen = {}, set()
    skipped, members, total = 0, 0, 0

    def classify(names):
        """(waiting, held) among ``names``: two lookups of those hashes in this deployment."""
        waiting = set(selectors.deployment_waiting_entries(deployment=deployment, shas=names).values_list("sha256", flat=True))
        rest = [n for n in names if n not in waiting]
        held = set(DeploymentFile.objects.filter(deployment=deployment, sha256__in=rest).values_list("sha256", flat=True)) if rest else set()
        return waiting, held

    def flush():
        nonlocal pending, pending_bytes, skipped
        chunk, pending, pending_bytes = pending, [], 0
        if not chunk:
            return
        waiting, held = classify([name for name, _ in chunk])
        keep, unlisted = [], None
        for name, data in chunk:
            if name in waiting:
                keep.append((name, data))
            elif name in held:
                skipped += 1
            else:
                unlisted = name
                break
        if keep:
            for info in storage.blob_put_many(keep):
                stored[info.sha256] = info.size
        if unlisted:
            raise _not_required(unlisted)

    try:
        try:
            with tarfile.open(fileobj=stream, mode="r|") as tar:
                for member in tar:
                    members += 1
                    if members > settings.DEPLOY_BLOB_BATCH_MAX_BLOBS:
                        raise ApplicationError(
                            dc.PAYLOAD_TOO_LARGE,
                            f"A batch holds at most {settings.DEPLOY_BLOB_BATCH_MAX_BLOBS} blobs.",
                            status=413,
                            details={"max_blobs": settings.DEPLOY_BLOB_BATCH_MAX_BLOBS},
                        )
                    name = member.name.removeprefix("./")
                    if not member.isreg() or not storage.is_sha256(name):
                        raise _validation("The batch could not be stored.", blobs=f"{member.name[:100]}: every member is a regular file named by the lowercase hex sha256 of its bytes.")
                    if member.size > limits.max_file_bytes:
                        raise storage.BlobTooLarge(message=f"{name} is larger than the limit of {limits.max_file_bytes} bytes.", details={"max_bytes": limits.max_file_bytes, "sha256": name})
                    total += member.size
                    if total > settings.DEPLOY_BLOB_BATCH_MAX_BYTES:
                        raise ApplicationError(
                            dc.PAYLOAD_TOO_LARGE,
                            f"A batch holds at most {settings.DEPLOY_BLOB_BATCH_MAX_BYTES} bytes; send the rest in another.",
                            status=413,
                            details={"max_bytes": settings.DEPLOY_BLOB_BATCH_MAX_BYTES},
                        )
                    if name in seen:
                        skipped += 1  # twice in this batch
                        continue
                    seen.add(name)
                    source = tar.extractfile(member)
                    if member.size > BATCH_INLINE_BYTES:
                        flush()  # keep the members' order
                        waiting, held = classify([name])
                        if name in held:
                            skipped += 1
                            continue
                        if name not in waiting:
                            raise _not_required(name)
                        info = storage.blob_put_stream(source, expected_sha256=name, max_bytes=limits.max_file_bytes)
                        stored[info.sha256] = info.size
                        continue
                    data = source.read()
                    actual = hashlib.sha256(data).hexdigest()
                    if actual != name:
                        raise storage.BlobHashMismatch(message=f"The bytes of member {name} do not match its name.", details={"expected": name, "actual": actual})
                    pending.append((name, data))
                    pending_bytes += len(data)
                    if pending_bytes >= BATCH_FLUSH_BYTES:
                        flush()
            flush()
        except tarfile.TarError as exc:
            raise _validation("The batch could not be stored.", blobs=f"The body is not a tar stream ({exc}).")
    except ApplicationError as exc:
        # Keep what is complete (each blob verified): a retry sends only the rest.
        error = exc
        try:
            flush()
        except ApplicationError as inner:
            error = inner  # a buffered member came before the one that stopped the batch
        if stored:
            _blobs_arrived(deployment.pk, stored)
        raise _batch_error(error, len(stored))
    dep = _blobs_arrived(deployment.pk, stored)
    return BatchResult(deployment=dep, stored=len(stored), skipped=skipped)


def deployment_sweep_stale(*, now=None) -> dict:
    """Fail deployments stuck ``uploading`` past ``DEPLOY_UPLOAD_TIMEOUT`` (``upload_incomplete``),
    requeue or fail stuck ``processing`` ones, and drop old blobs nothing refers to."""
    now = now or timezone.now()
    cutoff = now - settings.DEPLOY_UPLOAD_TIMEOUT
    failed = 0
    for dep_id in Deployment.objects.filter(state=dc.UPLOADING, created_at__lt=cutoff).values_list("id", flat=True):
        deployment_fail(
            deployment_id=dep_id,
            code=dc.UPLOAD_INCOMPLETE,
            message=f"Not every blob was uploaded within {settings.DEPLOY_UPLOAD_TIMEOUT}.",
        )
        failed += 1
    for dep_id in Deployment.objects.filter(state=dc.PROCESSING, created_at__lt=cutoff).values_list("id", flat=True):
        deployment_fail(deployment_id=dep_id, code=dc.PROCESSING_FAILED, message="Unpacking the archive never finished; upload it again.")
        failed += 1
    requeued = 0
    unpack = job_task("deployments.deployment_process_archive")
    for dep_id in Deployment.objects.filter(state=dc.PROCESSING, created_at__lt=now - PROCESSING_REQUEUE_AFTER).exclude(pending_archive_sha256="").values_list("id", flat=True):
        unpack.delay(dep_id)
        requeued += 1
    grace = timedelta(seconds=settings.GHARART_BLOB_SWEEP_GRACE_SECONDS)
    return {"failed": failed, "requeued": requeued, "orphan_blobs_removed": blob_orphans_remove(older_than=now - grace)}


def blob_orphans_query(*, older_than, limit=1000):
    """The blobs last stored before ``older_than`` that nothing refers to: anti-joins (``NOT
    EXISTS``) on the indexed sha256 of deployment files, shared files, pending archives
    and compressed forms, walking blobs by the indexed ``last_put_at``."""
    from files.models import File

    return (
        Blob.objects.filter(last_put_at__lt=older_than)
        .filter(
            ~Exists(DeploymentFile.objects.filter(sha256=OuterRef("sha256"))),
            ~Exists(File.objects.filter(sha256=OuterRef("sha256"))),
            ~Exists(Deployment.objects.filter(pending_archive_sha256=OuterRef("sha256")).exclude(pending_archive_sha256="")),
            ~Exists(CompressedBlob.objects.filter(sha256=OuterRef("sha256"))),
        )
        .order_by("last_put_at")
        .values_list("sha256", flat=True)[:limit]
    )


def blob_orphans_remove(*, older_than, limit=1000) -> int:
    """Remove blobs no deployment or file refers to (left by a crash mid-ingest).

    Only blobs last stored before ``older_than``: bytes uploaded (or uploaded again) since
    then may be about to get their referring row on another node. The time is checked
    again under the row lock (``blob_delete_if_unreferenced``).
    """
    # Compressed forms go with their original (compression.orphans_remove), not before.
    removed = compression.orphans_remove()
    for sha in list(blob_orphans_query(older_than=older_than, limit=limit)):
        if storage.blob_delete_if_unreferenced(sha, stored_before=older_than):
            removed += 1
    return removed


# --- Preview and the gate ----------------------------------------------------------------

def deployment_preview_report(*, deployment, actor=None, opens_gate=True) -> dict:
    """Check that every file is in storage, record a preview validation, return the report.

    The preview validation opens the gate only when ``opens_gate``: views pass whether the
    caller is a member who may promote (a viewer reading the report does not count). 409
    ``deployment_not_ready`` unless ready; 409 ``deployment_artifact_missing`` with
    ``details.missing_files`` when storage lacks any file (the result is recorded either way).
    """
    if deployment.state != dc.READY:
        raise ApplicationError(dc.DEPLOYMENT_NOT_READY, f"The deployment is {deployment.state}; only ready deployments can be previewed.", status=409, details={"state": deployment.state})
    missing = selectors.deployment_missing_files(deployment=deployment)
    now = timezone.now()
    deployment.integrity_checked_at = now
    deployment.missing_files = missing
    fields = ["integrity_checked_at", "missing_files"]
    if not missing and opens_gate:
        deployment.preview_opened_at = now
        deployment.preview_opened_by = actor if getattr(actor, "is_authenticated", False) else None
        fields += ["preview_opened_at", "preview_opened_by"]
    deployment.save(update_fields=fields)
    if missing:
        raise ApplicationError(
            dc.DEPLOYMENT_ARTIFACT_MISSING,
            f"{len(missing)} file(s) of this deployment are missing from storage: {', '.join(missing[:5])}{'…' if len(missing) > 5 else ''}. Upload the deployment again.",
            status=409,
            details={"missing_files": missing},
        )
    url, expires_at = previews.preview_url(deployment)
    return {
        "deployment_id": deployment.id,
        "state": deployment.state,
        "preview_url": url,
        "preview_host_url": previews.preview_host_url(deployment),
        "expires_at": expires_at,
        "integrity": {"ok": True, "missing_files": []},
        "gate": {"status": deployment.gate_status, "checks": selectors.deployment_gate_checks(deployment=deployment)},
    }


def deployment_gate_set(*, deployment, status, replay_run_id=None, summary=None) -> Deployment:
    """Record a replay's verdict on the deployment's preview gate (``passed``/``failed``)."""
    if status not in (dc.GATE_PENDING, dc.GATE_PASSED, dc.GATE_FAILED):
        raise ValueError(f"unknown gate status {status!r}")
    updated = Deployment.objects.filter(pk=deployment.pk).update(
        gate_status=status,
        gate_replay_run_id=replay_run_id or "",
        gate_summary=summary,
        gate_updated_at=timezone.now(),
    )
    if updated:
        deployment.refresh_from_db(fields=["gate_status", "gate_replay_run_id", "gate_summary", "gate_updated_at"])
    return deployment


# --- Promote and rollback ----------------------------------------------------------------

@dataclass
class ReleaseResult:
    release: Release
    deployment: Deployment
    warnings: list = field(default_factory=list)  # codes
    warning_details: list = field(default_factory=list)


def _release_warnings(handle, deployment):
    if deployment.target != dc.TARGET_SITE:
        return []
    details = []
    mode = Handle.objects.filter(pk=handle.pk).values_list("site_mode", flat=True).first()
    if mode != c.SITE_MODE_DEPLOYMENT:
        details.append(
            selectors.warning(
                dc.WARNING_SITE_MODE_NOT_DEPLOYMENT,
                f"The site mode is '{mode}', so /profiles/{handle.slug}/ does not serve this deployment. Switch the site mode to 'deployment'.",
                mode=mode,
            )
        )
    stale = selectors.binding_stale_list(handle=handle, live_site_id=deployment.id)
    if stale:
        details.append(
            selectors.warning(
                dc.WARNING_STALE_FUNCTION_BINDINGS,
                f"{len(stale)} function binding(s) stay pinned to an earlier deployment and stop answering: " + ", ".join(b.route for b in stale),
                binding_ids=[b.id for b in stale],
                routes=[b.route for b in stale],
            )
        )
    return details


def _swap(*, pointer, deployment, kind, reason, actor) -> Release:
    previous_id = pointer.deployment_id
    release = Release.objects.create(
        handle_id=deployment.handle_id,
        target=deployment.target,
        deployment=deployment,
        previous_deployment_id=previous_id,
        kind=kind,
        reason=reason,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        created_at=timezone.now(),
    )
    pointer.deployment = deployment
    pointer.release = release
    pointer.updated_at = release.created_at
    pointer.save(update_fields=["deployment", "release", "updated_at"])
    return release


def _go_live(*, handle, pointer, deployment, kind, action, reason, actor) -> ReleaseResult:
    """How promote and rollback end, under the pointer's row lock: swap, record, audit, uncache."""
    previous_id = pointer.deployment_id
    release = _swap(pointer=pointer, deployment=deployment, kind=kind, reason=reason, actor=actor)
    audit_record(
        action=action,
        actor=actor,
        handle=handle,
        target=deployment.id,
        before={"live_deployment_id": previous_id},
        after={"live_deployment_id": deployment.id, "release_id": release.id, "version": deployment.version, "reason": reason},
    )
    details = _release_warnings(handle, deployment)
    selectors.live_state_invalidate(handle.slug)
    return ReleaseResult(release=release, deployment=deployment, warnings=[w["code"] for w in details], warning_details=details)


def deployment_promote(*, deployment, actor=None, role=None, reason="", force=False) -> ReleaseResult:
    """Make ``deployment`` live for its target.

    409 ``deployment_not_ready``; 409 ``deployment_artifact_missing`` (files found missing by
    the last integrity check, or by a full check on a forced promote); 409
    ``preview_gate_pending`` when the preview report was never opened or the latest replay
    failed; 409 ``publishing_locked`` while the handle's publishing lock holds. Owners/admins
    may ``force`` past the gate and the lock with a reason (audited).
    """
    reason = (reason or "").strip()[:500]
    if force:
        if role not in c.ADMIN_ROLES:
            raise ApplicationError(c.FORBIDDEN, "Only owners and admins may force a promote.", status=403, details={"role": role})
        if not reason:
            raise _validation("A forced promote needs a reason.", reason="Say why the preview gate is skipped.")
        if deployment.state == dc.READY:
            # No preview may have checked storage: check it now (outside the lock).
            missing = selectors.deployment_missing_files(deployment=deployment)
            if missing != list(deployment.missing_files or []):
                Deployment.objects.filter(pk=deployment.pk).update(missing_files=missing, integrity_checked_at=timezone.now())
    handle = deployment.handle
    with transaction.atomic():
        pointer = _pointer_for_update(handle=handle, target=deployment.target)
        dep = Deployment.objects.get(pk=deployment.pk)
        if dep.state != dc.READY:
            raise ApplicationError(dc.DEPLOYMENT_NOT_READY, f"The deployment is {dep.state}; only ready deployments can be promoted.", status=409, details={"state": dep.state})
        if dep.missing_files:
            raise ApplicationError(
                dc.DEPLOYMENT_ARTIFACT_MISSING,
                f"{len(dep.missing_files)} file(s) of this deployment are missing from storage.",
                status=409,
                details={"missing_files": dep.missing_files},
            )
        if not force and not selectors.deployment_gate_open(deployment=dep):
            opened = dep.preview_opened_at is not None
            why = "the latest replay found regressions" if dep.gate_status == dc.GATE_FAILED else "its preview report was never opened"
            raise ApplicationError(
                dc.PREVIEW_GATE_PENDING,
                f"This deployment cannot be promoted yet: {why}.",
                status=409,
                details={"preview_opened": opened, "gate_status": dep.gate_status, "replay_run_id": dep.gate_replay_run_id or None},
            )
        publishing_locks.publishing_lock_check(handle=handle, actor=actor, role=role, force=force, deployment=dep)
        if force:
            return _go_live(handle=handle, pointer=pointer, deployment=dep, kind=dc.RELEASE_FORCED_PROMOTE, action=c.AUDIT_FORCED_PROMOTE, reason=reason, actor=actor)
        return _go_live(handle=handle, pointer=pointer, deployment=dep, kind=dc.RELEASE_PROMOTE, action=c.AUDIT_PROMOTE, reason=reason, actor=actor)


def deployment_rollback(*, deployment, actor=None, reason="") -> ReleaseResult:
    """Make a deployment that was live before live again (no preview gate).

    409 ``not_a_previous_release`` when it never was live for its target, or is live now;
    409 ``publishing_locked`` while the handle's publishing lock holds.
    """
    reason = (reason or "").strip()[:500]
    handle = deployment.handle
    with transaction.atomic():
        pointer = _pointer_for_update(handle=handle, target=deployment.target)
        dep = Deployment.objects.get(pk=deployment.pk)
        was_live = Release.objects.filter(handle=handle, target=dep.target, deployment=dep).exists()
        if not was_live or pointer.deployment_id == dep.id or dep.state != dc.READY:
            message = "This deployment is live now." if pointer.deployment_id == dep.id else "This deployment was never live, so there is nothing to roll back to."
            raise ApplicationError(dc.NOT_A_PREVIOUS_RELEASE, message, status=409, details={"live_deployment_id": pointer.deployment_id})
        publishing_locks.publishing_lock_check(handle=handle, actor=actor)
        return _go_live(handle=handle, pointer=pointer, deployment=dep, kind=dc.RELEASE_ROLLBACK, action=c.AUDIT_ROLLBACK, reason=reason, actor=actor)


# --- Site mode ---------------------------------------------------------------------------

def site_mode_set(*, handle, mode, actor=None) -> dict:
    """Switch what ``/profiles/{handle}/`` serves; audited; returns ``selectors.site_status``."""
    valid = [m for m, _ in c.SITE_MODE_CHOICES]
    if mode not in valid:
        raise _validation("The site mode could not be changed.", mode=f"Choose one of: {', '.join(valid)}.")
    with transaction.atomic():
        locked = Handle.objects.select_for_update().get(pk=handle.pk)
        before = locked.site_mode
        if before != mode:
            locked.site_mode = mode
            locked.save(update_fields=["site_mode"])
            audit_record(action=c.AUDIT_SITE_MODE, actor=actor, handle=locked, target=locked.slug, before={"mode": before}, after={"mode": mode})
            selectors.live_state_invalidate(locked.slug)
    handle.site_mode = mode
    return selectors.site_status(handle=locked)


def handle_links_update(*, handle, display_name, bio, links, actor=None):
    """Edit the links page (display name, bio, links)."""
    handle = handle_profile_update(handle=handle, display_name=display_name, bio=bio, links=links)
    selectors.live_state_invalidate(handle.slug)
    return handle


# --- Function bindings -------------------------------------------------------------------

def _normalize_route(route):
    if not isinstance(route, str) or not route.startswith("/"):
        return None
    if len(route) > 300 or any(ch.isspace() or ch in "?#\\" or ord(ch) < 32 for ch in route):
        return None
    segments = [s for s in route.split("/") if s]
    if any(s in (".", "..") for s in segments):
        return None
    return "/" + "/".join(segments)


def _validate_config(function, config):
    """The cleaned config of ``function`` and a list of problems."""
    if config is None:
        config = {}
    if not isinstance(config, dict):
        return {}, ["The config is a JSON object."]
    problems = []
    allowed = {
        dc.FUNCTION_REDIRECT: {"location", "status"},
        dc.FUNCTION_JSON: {"body", "status"},
        dc.FUNCTION_FORM_CAPTURE: {"success_path", "max_bytes"},
    }.get(function, set())
    unknown = sorted(set(config) - allowed)
    if unknown:
        problems.append(f"Unknown key(s) for {function}: {', '.join(unknown)}.")
    clean = {}
    if function == dc.FUNCTION_REDIRECT:
        location = config.get("location")
        if not isinstance(location, str) or not location.strip() or len(location) > 2000:
            problems.append("location: the URL or site path to redirect to.")
        elif any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in location):
            # CR/LF and other control characters cannot go in a Location header.
            problems.append("location: no line breaks or other control characters.")
        elif not (location.startswith("/") and not location.startswith("//")) and not location.startswith(("https://", "http://")):
            problems.append("location: a site path starting with / or an http(s) URL.")
        else:
            clean["location"] = location.strip()
        status = config.get("status", 302)
        if status not in dc.REDIRECT_STATUSES or isinstance(status, bool):
            problems.append("status: one of 301, 302, 307, 308.")
        else:
            clean["status"] = status
    elif function == dc.FUNCTION_JSON:
        if "body" not in config:
            problems.append("body: the JSON value to answer with.")
        else:
            clean["body"] = config["body"]
        status = config.get("status", 200)
        if not isinstance(status, int) or isinstance(status, bool) or not 200 <= status <= 599:
            problems.append("status: an HTTP status from 200 to 599.")
        else:
            clean["status"] = status
    elif function == dc.FUNCTION_FORM_CAPTURE:
        success = config.get("success_path", "/")
        if not isinstance(success, str) or _normalize_route(success) is None:
            problems.append("success_path: a site path starting with / to send the visitor to.")
        else:
            clean["success_path"] = success
        max_bytes = config.get("max_bytes", 64 * 1024)
        if not isinstance(max_bytes, int) or isinstance(max_bytes, bool) or not 1 <= max_bytes <= dc.FORM_CAPTURE_MAX_BYTES_LIMIT:
            problems.append(f"max_bytes: a whole number from 1 to {dc.FORM_CAPTURE_MAX_BYTES_LIMIT}.")
        else:
            clean["max_bytes"] = max_bytes
    return clean, problems


def binding_create(*, handle, route, methods, function, config=None, deployment_id=None, actor=None) -> FunctionBinding:
    """Bind ``route`` on the profile site to a built-in function.

    400 ``validation_error`` (route, methods, config per function, deployment);
    409 ``binding_conflict`` when another binding already answers that route and method.
    """
    errors = {}
    clean_route = _normalize_route(route)
    if clean_route is None:
        errors["route"] = ["A path starting with / (no spaces, query, fragment, backslash or dot segments), at most 300 characters."]
    if function not in dict(dc.FUNCTION_CHOICES):
        errors["function"] = [f"Choose one of: {', '.join(f for f, _ in dc.FUNCTION_CHOICES)}."]
    clean_methods = []
    if not isinstance(methods, list) or not methods or not all(isinstance(m, str) for m in methods):
        errors["methods"] = ["A non-empty list of HTTP methods."]
    else:
        clean_methods = list(dict.fromkeys(m.upper() for m in methods))
        bad = [m for m in clean_methods if m not in dc.BINDING_METHODS]
        if bad:
            errors["methods"] = [f"Unsupported method(s): {', '.join(bad)}. Use {', '.join(dc.BINDING_METHODS)}."]
        elif function == dc.FUNCTION_FORM_CAPTURE and clean_methods != ["POST"]:
            errors["methods"] = ["A form-capture binding answers POST only."]
    clean_config, problems = _validate_config(function, config)
    if problems and "function" not in errors:
        errors["config"] = problems
    pinned = None
    if deployment_id is not None:
        pinned = Deployment.objects.filter(handle=handle, pk=deployment_id, target=dc.TARGET_SITE, state=dc.READY).first() if isinstance(deployment_id, str) else None
        if pinned is None:
            errors["deployment_id"] = ["A ready site deployment of this handle, or null to follow what is live."]
    if errors:
        raise ApplicationError(c.VALIDATION_ERROR, "The function binding could not be created.", details=errors)
    with transaction.atomic():
        Handle.objects.select_for_update().filter(pk=handle.pk).first()  # serialize creates per handle
        for other in FunctionBinding.objects.filter(handle=handle, route=clean_route):
            overlap = sorted(set(other.methods) & set(clean_methods))
            if overlap:
                raise ApplicationError(
                    dc.BINDING_CONFLICT,
                    f"{', '.join(overlap)} {clean_route} is already bound ({other.id}).",
                    status=409,
                    details={"binding_id": other.id, "route": clean_route, "methods": overlap},
                )
        binding = FunctionBinding.objects.create(
            handle=handle,
            route=clean_route,
            methods=clean_methods,
            function=function,
            config=clean_config,
            deployment=pinned,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        selectors.live_state_invalidate(handle.slug)
    return binding


def binding_delete(*, binding, actor=None):
    slug = binding.handle.slug
    with transaction.atomic():
        binding.delete()
        selectors.live_state_invalidate(slug)


def submission_create(*, binding_id, handle_id, data, content_type="", ip=None, user_agent="") -> FormSubmission:
    """Store one form posted to a form-capture binding."""
    try:
        ip = str(ipaddress.ip_address(ip)) if ip else None
    except ValueError:
        ip = None
    return FormSubmission.objects.create(
        binding_id=binding_id,
        handle_id=handle_id,
        data=data,
        content_type=content_type[:100],
        ip=ip or None,
        user_agent=(user_agent or "")[:300],
    )
