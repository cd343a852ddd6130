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


def verify(*, stdout=None):
    """A report dict: counts, and the sha256s (with their users) that are missing or damaged."""
    users = {}
    for dep_id, path, sha in DeploymentFile.objects.filter(deployment__state=dc.READY).values_list("deployment_id", "path", "sha256").iterator():
        users.setdefault(sha, []).append(f"{dep_id}:{path}")
    for file_id, sha in File.objects.values_list("id", "sha256").iterator():
        users.setdefault(sha, []).append(file_id)
    compressed = 0
    for source, encoding, sha in CompressedBlob.objects.exclude(sha256="").values_list("source_sha256", "encoding", "sha256").iterator():
        users.setdefault(sha, []).append(f"{encoding}:{source}")
        compressed += 1
    rows = dict(Blob.objects.values_list("sha256", "size"))
    report = {"blobs": len(rows), "compressed": compressed, "verified": 0, "bytes": 0, "missing": [], "damaged": [], "unrecorded": []}
    for sha, size in rows.items():
        try:
            actual, actual_size = _rehash(sha)
        except (FileNotFoundError, OSError):
            report["missing"].append({"sha256": sha, "used_by": users.get(sha, [])})
            continue
        if actual != sha or actual_size != size:
            report["damaged"].append({"sha256": sha, "actual_sha256": actual, "size": size, "actual_size": actual_size, "used_by": users.get(sha, [])})
            continue
        report["verified"] += 1
        report["bytes"] += actual_size
    # Referenced by a ready deployment or a file, but with no Blob row at all.
    for sha in sorted(set(users) - set(rows)):
        entry = {"sha256": sha, "used_by": users[sha], "bytes_present": storage.blob_exists(sha)}
        report["unrecorded"].append(entry)
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
