"""Send the blobs a digest deploy asks for, a few at a time.

Only the hashes the server lists in ``required`` are sent; it already holds the rest.
Each PUT is retried by ``Api.request`` (a blob PUT is idempotent: its URL names its
content). If the run is interrupted, the blobs already sent stay on the server, so the
next deploy of the same folder is asked only for what is still missing.
"""

from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from urllib.parse import quote

from gharart_cli.folder import LocalFile

DEFAULT_JOBS = 4


def blob_url(handle: str, deployment_id: str, sha256: str) -> str:
    return f"/v2/handles/{quote(handle)}/site-deployments/{quote(deployment_id)}/blobs/{sha256}"


def put_blob(api, *, handle: str, deployment_id: str, local: LocalFile):
    """PUT one blob; the file is reopened on each retry so it is resent from its start."""
    return api.request("PUT", blob_url(handle, deployment_id, local.sha256), body=lambda: open(local.location, "rb"))


def upload_blobs(api, *, handle, deployment_id, required, manifest, progress, jobs=DEFAULT_JOBS) -> int:
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
    pool = ThreadPoolExecutor(max_workers=max(1, min(jobs, len(todo))), thread_name_prefix="gharart-upload")
    try:
        futures = {pool.submit(put_blob, api, handle=handle, deployment_id=deployment_id, local=local): local for local in todo}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_EXCEPTION)
            failed = [f for f in done if f.exception() is not None]
            for future in done:
                if future.exception() is None:
                    sent += 1
                    local = futures[future]
                    progress.advance(local.path, local.size)
            if failed:
                failed[0].result()  # raises the failure (or the interruption)
        return sent
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        progress.finish()
