"""Send the blobs a digest deploy asks for: small files in tar batches, large ones alone.

Only the hashes the server lists in ``required`` are sent; it already holds the rest.
Files up to ``BATCH_MEMBER_MAX`` go together, ``batch_files`` at a time (and at most
``BATCH_BYTES``), as one ``POST .../blobs`` tar stream whose members are named by their
sha256; larger files go one ``PUT .../blobs/{sha256}`` each. ``jobs`` requests run in
parallel on the client's keep-alive connections. Every request is retried by
``Api.request`` (both are idempotent: their content names itself). If the run is
interrupted, the blobs already sent stay on the server, so the next deploy of the same
folder is asked only for what is still missing.
"""

import io
import tarfile
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from urllib.parse import quote

from gharart_cli.api import ApiError
from gharart_cli.folder import LocalFile

DEFAULT_JOBS = 4
BATCH_FILES = 250
BATCH_BYTES = 8 * 1024 * 1024
BATCH_MEMBER_MAX = 1024 * 1024
TAR_TYPE = "application/x-tar"


def blob_url(handle: str, deployment_id: str, sha256: str) -> str:
    return f"/v2/handles/{quote(handle)}/site-deployments/{quote(deployment_id)}/blobs/{sha256}"


def batch_url(handle: str, deployment_id: str) -> str:
    return f"/v2/handles/{quote(handle)}/site-deployments/{quote(deployment_id)}/blobs"


def put_blob(api, *, handle: str, deployment_id: str, local: LocalFile):
    """PUT one blob; the file is reopened on each retry so it is resent from its start."""
    return api.request("PUT", blob_url(handle, deployment_id, local.sha256), body=lambda: open(local.location, "rb"))


def tar_of(locals_) -> bytes:
    """An uncompressed tar of the files, each member named by its sha256 (read afresh)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for local in locals_:
            with open(local.location, "rb") as fh:
                data = fh.read()
            info = tarfile.TarInfo(local.sha256)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def put_batch(api, *, handle: str, deployment_id: str, locals_):
    """POST one tar batch (rebuilt on each retry). A server without batch uploads gets PUTs."""
    try:
        return api.request("POST", batch_url(handle, deployment_id), body=lambda: tar_of(locals_), content_type=TAR_TYPE, idempotency_key=False)
    except ApiError as exc:
        if (exc.status, exc.code) not in ((404, "not_found"), (405, "method_not_allowed")):
            raise
    for local in locals_:
        put_blob(api, handle=handle, deployment_id=deployment_id, local=local)
    return None


def plan(todo, *, batch_files=BATCH_FILES, batch_bytes=BATCH_BYTES):
    """Split files into requests: lists of small files (one batch each) and single large files."""
    requests, batch, size = [], [], 0
    for local in sorted(todo, key=lambda f: f.size):
        if local.size > BATCH_MEMBER_MAX:
            requests.append(local)
            continue
        if batch and (len(batch) >= batch_files or size + local.size > batch_bytes):
            requests.append(batch)
            batch, size = [], 0
        batch.append(local)
        size += local.size
    if batch:
        requests.append(batch)
    # Large files first: they take longest, the small batches fill the gaps.
    return sorted(requests, key=lambda r: 0 if isinstance(r, LocalFile) else 1)


def upload_blobs(api, *, handle, deployment_id, required, manifest, progress, jobs=DEFAULT_JOBS, batch_files=BATCH_FILES) -> int:
    """Upload every blob in ``required``; return how many were sent.

    The first failure cancels what has not started yet and is raised; blobs already sent
    are kept by the server.
    """
    by_sha = manifest.by_sha256()
    unknown = [sha for sha in required if sha not in by_sha]
    if unknown:
        # The server asked for content we did not send in the manifest: never guess.
        raise ValueError(f"the server asked for blobs that are not in this folder: {unknown[:3]}")
    todo = [by_sha[sha] for sha in dict.fromkeys(required)]
    sent = 0
    if not todo:
        return 0
    requests = plan(todo, batch_files=batch_files)

    def send(item):
        if isinstance(item, LocalFile):
            put_blob(api, handle=handle, deployment_id=deployment_id, local=item)
        else:
            put_batch(api, handle=handle, deployment_id=deployment_id, locals_=item)

    pool = ThreadPoolExecutor(max_workers=max(1, min(jobs, len(requests))), thread_name_prefix="gharart-upload")
    try:
        futures = {pool.submit(send, item): item for item in requests}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_EXCEPTION)
            failed = [f for f in done if f.exception() is not None]
            for future in done:
                if future.exception() is None:
                    item = futures[future]
                    for local in [item] if isinstance(item, LocalFile) else item:
                        sent += 1
                        progress.advance(local.path, local.size)
            if failed:
                failed[0].result()  # raises the failure (or the interruption)
        return sent
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        progress.finish()
