"""Reads of ingest: which blobs a handle holds, what a digest deployment still waits for,
the upload log of refused archives."""


from django.db.models import Exists, OuterRef

from deployments.models import (
    Blob,
    DeploymentFile,
    UploadRefusal,
)


def blobs_held_queries(*, handle_id, lock=False):
    """The two semi-joins behind ``blobs_held`` (in the handle's deployments, in its files), each a function of the wanted hashes."""
    from files.models import File

    blobs = Blob.objects.select_for_update() if lock else Blob.objects.all()
    in_deployments = DeploymentFile.objects.filter(sha256=OuterRef("sha256"), held=True, deployment__handle_id=handle_id)
    in_files = File.objects.filter(sha256=OuterRef("sha256"), handle_id=handle_id)
    return (
        lambda wanted: blobs.filter(sha256__in=wanted).filter(Exists(in_deployments)).values_list("sha256", "size"),
        lambda wanted: blobs.filter(sha256__in=wanted).filter(Exists(in_files)).values_list("sha256", "size"),
    )


def blobs_held(*, handle_id, shas, lock=False) -> dict:
    """{sha256: size} of those of ``shas`` whose bytes the handle already holds.

    A handle holds a blob when one of its deployments lists it as held (sent and verified,
    or held before) or one of its files is those bytes, and the blob is stored. Whether
    another handle holds the same bytes never matters. Two semi-joins driven by the
    indexes on ``sha256`` (one probe per hash, whatever the size of the store);
    ``lock`` takes the blob rows ``FOR UPDATE`` so a cleanup cannot remove them before
    the caller's rows commit.
    """
    rest = list(shas)
    held = {}
    for query in blobs_held_queries(handle_id=handle_id, lock=lock):
        if not rest:
            break
        held.update(query(rest))
        rest = [s for s in rest if s not in held]
    return held


def deployment_required_query(*, deployment, after=""):
    """The distinct sha256s the deployment still waits for, sorted (a queryset)."""
    qs = DeploymentFile.objects.filter(deployment=deployment, held=False)
    if after:
        qs = qs.filter(sha256__gt=after)
    return qs.order_by("sha256").values_list("sha256", flat=True).distinct()


def deployment_required_blobs(*, deployment, after="", limit=None) -> list:
    """The sha256s the deployment still waits for (sorted; ``after``/``limit`` page them).

    Read from the deployment's own entries through the partial index of waiting entries:
    the blob table is not consulted, so the cost follows the deployment, not the store.
    """
    qs = deployment_required_query(deployment=deployment, after=after)
    if limit is not None:
        qs = qs[:limit]
    return list(qs)


def deployment_waiting_entries(*, deployment, shas):
    """The deployment's entries of ``shas`` still waiting for their bytes (partial index)."""
    return DeploymentFile.objects.filter(deployment=deployment, held=False, sha256__in=list(shas))



def upload_refusal_list(*, handle, target=None):
    """The handle's refused uploads (the upload log), newest first."""
    qs = UploadRefusal.objects.filter(handle=handle).select_related("created_by")
    if target:
        qs = qs.filter(target=target)
    return qs.order_by("-created_at", "-pk")
