"""Writes of ingest: uploads, archives and digest deploys becoming deployments.

Guarantees:

- A deployment is created whole or not at all: a bad archive is refused (422
  ``invalid_artifact``) before any row exists, and the blobs it created are removed.
- Versions count 1, 2, 3... per handle and target, handed out under the live pointer's
  row lock, so concurrent uploads never share a number.
- Blobs nothing refers to any more are removed by the sweep, never while a row may still
  come to refer to them.
"""

import hashlib
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone

from deployments import (
    archives,
    compression,
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
    UploadRefusal,
)
from deployments.selectors.ingest import blobs_held, deployment_waiting_entries
from deployments.services.common import acting_user, live_pointer_lock, validation_error
from gharart import constants as c
from gharart.errors import ApplicationError
from gharart.jobs import dispatch_on_commit, job_task

logger = logging.getLogger(__name__)

BULK_BATCH = 2000
# Batch uploads: members up to this size are buffered and written in parallel; larger ones stream.
BATCH_INLINE_BYTES = 1024 * 1024
BATCH_FLUSH_BYTES = 16 * 1024 * 1024
# A deployment still processing after this long gets its job queued again (the job is idempotent).
PROCESSING_REQUEUE_AFTER = timedelta(minutes=15)


def _clean_target(target):
    target = target or dc.TARGET_SITE
    if target not in dc.TARGETS:
        raise validation_error("The deployment could not be created.", target=f"Choose one of: {', '.join(dc.TARGETS)}.")
    return target


def _clean_message(message):
    message = (message or "").strip()
    if len(message) > 500:
        raise validation_error("The deployment could not be created.", message="At most 500 characters.")
    return message


# --- Creating deployments ----------------------------------------------------------------

def _deployment_start(*, handle, target, message, actor, state, artifact_sha256="", pending_archive_sha256="") -> Deployment:
    """Create the deployment row with the next version number (a short transaction)."""
    with transaction.atomic():
        pointer = live_pointer_lock(handle=handle, target=target)
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
            created_by=acting_user(actor),
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
        created_by=acting_user(actor),
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
        raise validation_error("The deployment could not be created.", artifact="Attach a .zip or .tar.gz archive, or send a JSON digest.")
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

    ``required`` lists the blobs this handle does not hold yet (``blobs_held``):
    bytes held only by another handle are required too, so the answer never tells whether
    anyone else holds a hash. The deployment stays ``uploading`` until they arrive
    (``deployment_blob_put`` / ``deployment_blobs_put_batch``), or is ``ready`` at once.
    """
    target = _clean_target(target)
    message = _clean_message(message)
    if not isinstance(files, dict):
        raise validation_error("The deployment could not be created.", files="A map of path -> sha256.")
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
        raise validation_error("The deployment could not be created.", files=bad[:20])
    shas = set(manifest.values())
    # Sizes are known only of blobs this handle holds; the others are checked as they arrive.
    held = blobs_held(handle_id=handle.pk, shas=shas)
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
        arrived = sorted(set(deployment_waiting_entries(deployment=dep, shas=sizes).values_list("sha256", flat=True)))
        if arrived:
            # Sizes from the blob rows (one primary-key probe per entry): building a CASE of
            # hundreds of branches would cost more than the update itself.
            deployment_waiting_entries(deployment=dep, shas=arrived).update(
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
        raise validation_error("The blob could not be stored.", sha256="A lowercase hex sha256.")
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


def _batch_too_large(message, **limit):
    return ApplicationError(dc.PAYLOAD_TOO_LARGE, message, status=413, details=limit)


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
        waiting = set(deployment_waiting_entries(deployment=deployment, shas=names).values_list("sha256", flat=True))
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
                        raise _batch_too_large(f"A batch holds at most {settings.DEPLOY_BLOB_BATCH_MAX_BLOBS} blobs.", max_blobs=settings.DEPLOY_BLOB_BATCH_MAX_BLOBS)
                    name = member.name.removeprefix("./")
                    if not member.isreg() or not storage.is_sha256(name):
                        raise validation_error("The batch could not be stored.", blobs=f"{member.name[:100]}: every member is a regular file named by the lowercase hex sha256 of its bytes.")
                    if member.size > limits.max_file_bytes:
                        raise storage.BlobTooLarge(message=f"{name} is larger than the limit of {limits.max_file_bytes} bytes.", details={"max_bytes": limits.max_file_bytes, "sha256": name})
                    total += member.size
                    if total > settings.DEPLOY_BLOB_BATCH_MAX_BYTES:
                        raise _batch_too_large(f"A batch holds at most {settings.DEPLOY_BLOB_BATCH_MAX_BYTES} bytes; send the rest in another.", max_bytes=settings.DEPLOY_BLOB_BATCH_MAX_BYTES)
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
            raise validation_error("The batch could not be stored.", blobs=f"The body is not a tar stream ({exc}).")
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


