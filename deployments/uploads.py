"""Receiving a deployment archive as it arrives, without spooling it whole on the web node.

An archive up to ``DEPLOY_INLINE_MAX_BYTES`` is unpacked by the request itself: its bytes
go to a private temp file of at most that size (the bounded spool). Past that, the spool
is handed to a ``storage.BlobWriter`` and the rest streams straight into blob storage
(on S3 a multipart upload, one part in memory); a worker unpacks it from there.
"""

import hashlib
import os
import tempfile

from django.conf import settings

from deployments import archives, storage
from deployments import constants as dc


def archive_upload_cap(limits=None) -> int:
    """The largest archive upload taken in: a little more than the largest site (headers,
    incompressible data)."""
    limits = limits or archives.Limits.from_settings()
    return limits.max_total_bytes + max(limits.max_total_bytes // 10, 1024 * 1024)


def archive_too_large(limits=None):
    limits = limits or archives.Limits.from_settings()
    return archives.InvalidArtifact(dc.REASON_ARCHIVE_TOO_LARGE, f"The archive is larger than the limit of {limits.max_total_bytes} bytes.", max_bytes=limits.max_total_bytes)


class ArchiveReceiver(storage.AbortOnExit):
    """The sink of one archive upload (``write``, ``finish``, ``abort``; see the module).

    After ``finish``: ``sha256``, ``size``, and either ``path`` (a small archive, spooled
    here: unpack it now) or ``commit()`` (a large one, in blob storage once committed).
    """

    def __init__(self, *, limits=None, inline_max=None):
        self.limits = limits or archives.Limits.from_settings()
        self.max_size = archive_upload_cap(self.limits)
        self.inline_max = settings.DEPLOY_INLINE_MAX_BYTES if inline_max is None else inline_max
        self.size = 0
        self.sha256 = None
        self.writer = None
        self._digest = hashlib.sha256()
        fd, self.path = tempfile.mkstemp(dir=archives._tmp_dir(), prefix="artifact-")
        self._spool = os.fdopen(fd, "w+b")

    @property
    def inline(self) -> bool:
        return self.writer is None

    def write(self, data):
        try:
            self.size += len(data)
            if self.size > self.max_size:
                raise archive_too_large(self.limits)
            if self.writer is None and self.size <= self.inline_max:
                self._digest.update(data)
                self._spool.write(data)
                return
            if self.writer is None:
                # Too large to unpack here: what was spooled goes first, then every byte
                # streams into blob storage as it arrives.
                self.writer = storage.BlobWriter()
                self._spool.seek(0)
                while chunk := self._spool.read(archives.CHUNK):
                    self.writer.write(chunk)
                self._drop_spool()
            self.writer.write(data)
        except BaseException:
            self.abort()
            raise

    def finish(self):
        if self.writer is None:
            self._spool.flush()
            self.sha256 = self._digest.hexdigest()
        else:
            self.sha256 = self.writer.finish().sha256

    def commit(self) -> storage.BlobInfo:
        """A large archive: put it in blob storage under its hash (for the worker)."""
        return self.writer.commit()

    def _drop_spool(self):
        if self._spool is not None:
            self._spool.close()
            self._spool = None
        if self.path is not None:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
            self.path = None

    def abort(self):
        """Nothing left behind: the spool file goes, an uncommitted blob is dropped."""
        self._drop_spool()
        if self.writer is not None:
            self.writer.abort()


def archive_receive(upload, *, limits=None) -> ArchiveReceiver:
    """Stream any Django ``UploadedFile`` through an ``ArchiveReceiver`` (finished)."""
    receiver = ArchiveReceiver(limits=limits)
    try:
        chunks = upload.chunks(archives.CHUNK) if hasattr(upload, "chunks") else iter(lambda: upload.read(archives.CHUNK), b"")
        for chunk in chunks:
            receiver.write(chunk)
        receiver.finish()
    except BaseException:
        receiver.abort()
        raise
    return receiver
