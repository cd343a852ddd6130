from django.db import models
from django.utils import timezone


class Blob(models.Model):
    """Bytes stored once under their sha256. The row exists only once the bytes are in place."""

    sha256 = models.CharField(primary_key=True, max_length=64)
    size = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return self.sha256
