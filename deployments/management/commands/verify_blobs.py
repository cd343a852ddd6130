"""``manage.py verify_blobs``: re-hash every stored blob and report what is missing or damaged.

For operators after a restore, a disk incident or a storage migration. Every ``Blob`` row
is read back from storage (streamed) and hashed; every file of a ready deployment, every shared file and every stored
compressed (br/gzip) form of a deployed text file must have its blob. Exit status 1 when anything is missing or damaged,
or when object storage cannot be reached (then nothing is reported as missing). On S3 the
objects are streamed with ranged GETs, so memory stays constant whatever their size.

    python manage.py verify_blobs            # a summary and one line per problem
    python manage.py verify_blobs --json     # one JSON object (for scripts)
"""

import hashlib
import json

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Exists, OuterRef

from deployments import constants as dc
from deployments import storage
from deployments.models import Blob, CompressedBlob, DeploymentFile
from files.models import File


def _rehash(sha256):
    digest = hashlib.sha256()
    size = 0
    with storage.blob_open(sha256) as fh:
        while chunk := fh.read(storage.CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


PAGE = 1000


def _users_of(sha256):
    """Who uses a blob: ``dep_id:path`` of ready deployments and file IDs (indexed on sha256)."""
    users = [
        f"{dep_id}:{path}"
        for dep_id, path in DeploymentFile.objects.filter(sha256=sha256, deployment__state=dc.READY).order_by("deployment_id", "path").values_list("deployment_id", "path")
    ]
    users += list(File.objects.filter(sha256=sha256).order_by("id").values_list("id", flat=True))
    users += [f"{encoding}:{source}" for source, encoding in CompressedBlob.objects.filter(sha256=sha256).order_by("source_sha256", "encoding").values_list("source_sha256", "encoding")]
    return users


def blob_pages(page=PAGE):
    """Every blob row, ``page`` at a time, in sha256 order (keyset pages over the primary key)."""
    last = ""
    while True:
        rows = list(Blob.objects.filter(sha256__gt=last).order_by("sha256").values_list("sha256", "size")[:page])
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def unrecorded_queries():
    """References with no blob row: anti-joins (``NOT EXISTS``) against the blob primary key."""
    no_row = ~Exists(Blob.objects.filter(sha256=OuterRef("sha256")))
    return (
        DeploymentFile.objects.filter(deployment__state=dc.READY).filter(no_row).values_list("sha256", flat=True).distinct(),
        File.objects.filter(no_row).values_list("sha256", flat=True).distinct(),
        CompressedBlob.objects.exclude(sha256="").filter(no_row).values_list("sha256", flat=True).distinct(),
    )


def verify(*, stdout=None):
    """A report dict: counts, and the sha256s (with their users) that are missing or damaged.

    Memory stays bounded whatever the store's size: blobs are read a page at a time and
    the users of a blob are looked up only when it has a problem.
    """
    compressed = CompressedBlob.objects.exclude(sha256="").count()
    report = {"blobs": 0, "compressed": compressed, "verified": 0, "bytes": 0, "missing": [], "damaged": [], "unrecorded": []}
    for rows in blob_pages():
        for sha, size in rows:
            report["blobs"] += 1
            try:
                actual, actual_size = _rehash(sha)
            except (FileNotFoundError, OSError):
                report["missing"].append({"sha256": sha, "used_by": _users_of(sha)})
                continue
            if actual != sha or actual_size != size:
                report["damaged"].append({"sha256": sha, "actual_sha256": actual, "size": size, "actual_size": actual_size, "used_by": _users_of(sha)})
                continue
            report["verified"] += 1
            report["bytes"] += actual_size
    # Referenced by a ready deployment, a file or a compressed form, but with no Blob row at all.
    unrecorded = set()
    for qs in unrecorded_queries():
        unrecorded.update(qs.iterator())
    for sha in sorted(unrecorded):
        report["unrecorded"].append({"sha256": sha, "used_by": _users_of(sha), "bytes_present": storage.blob_exists(sha)})
    report["ok"] = not (report["missing"] or report["damaged"] or report["unrecorded"])
    return report


class Command(BaseCommand):
    help = "Re-hash every stored blob; report blobs that are missing, damaged or referenced without a row."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, **options):
        try:
            report = verify()
        except storage.StorageUnavailable as exc:
            # Not "everything is missing": nothing could be checked. Run it again later.
            raise CommandError(f"Object storage could not be reached, nothing was verified: {exc.__cause__ or exc}")
        if options["json"]:
            self.stdout.write(json.dumps(report))
        else:
            self.stdout.write(f"{report['verified']} of {report['blobs']} blobs verified ({report['bytes']} bytes; {report['compressed']} of them compressed forms of deployed text files).")
            for kind in ("missing", "damaged", "unrecorded"):
                for entry in report[kind]:
                    used = ", ".join(entry["used_by"][:5]) or "nothing"
                    self.stdout.write(f"{kind.upper()} {entry['sha256']} (used by {used})")
        if not report["ok"]:
            raise CommandError(f"{len(report['missing'])} missing, {len(report['damaged'])} damaged, {len(report['unrecorded'])} referenced without a row")
