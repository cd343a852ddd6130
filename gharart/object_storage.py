"""The S3-compatible blob storage configuration (django-storages + botocore).

Settings build the ``blobs`` storage from the ``GHARART_S3_*`` variables with
``blob_storage_config``; tests and benchmarks call it too, so every process speaks to
object storage with the same bounded timeouts and retries: a server that is down or
frozen fails a request within ``connect_timeout``/``read_timeout`` times
``max_attempts`` seconds, and the request answers 503 ``service_unavailable``
(``gharart/degraded.py``) instead of hanging a web worker.
"""

CONNECT_TIMEOUT = 2.0
READ_TIMEOUT = 5.0
MAX_ATTEMPTS = 2


def client_config(*, connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT, max_attempts=MAX_ATTEMPTS, path_style=False):
    from botocore.config import Config

    return Config(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"max_attempts": max_attempts, "mode": "standard"},
        signature_version="s3v4",
        s3={"addressing_style": "path" if path_style else "auto"},
        # Many threads of one process (ingest, parallel HEADs) share one client.
        max_pool_connections=32,
        # Checksums on every PUT/GET are the default of recent botocore; S3-compatible
        # servers do not all speak them, and every blob is sha256-verified by us anyway.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )


def blob_storage_config(*, bucket, endpoint_url=None, region=None, access_key=None, secret_key=None, location="blobs",
                        presign_seconds=60, connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT, max_attempts=MAX_ATTEMPTS):
    """The ``STORAGES["blobs"]`` entry for a bucket (credentials: arguments, else ``AWS_*``)."""
    options = {
        "bucket_name": bucket,
        "endpoint_url": endpoint_url or None,
        "region_name": region or None,
        "location": location,
        "file_overwrite": True,
        "default_acl": None,
        "querystring_auth": True,
        "querystring_expire": presign_seconds,
        "client_config": client_config(
            connect_timeout=connect_timeout, read_timeout=read_timeout, max_attempts=max_attempts, path_style=bool(endpoint_url)
        ),
    }
    if access_key:
        options["access_key"] = access_key
        options["secret_key"] = secret_key
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}


def is_unreachable(exc) -> bool:
    """True for what botocore raises when object storage cannot be reached or is failing."""
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return status >= 500 or exc.response.get("Error", {}).get("Code") in ("SlowDown", "ServiceUnavailable", "RequestTimeout")
    return isinstance(exc, BotoCoreError)
