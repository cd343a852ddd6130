"""Reaching behind the database's back into blob storage, on either backend (for tests)."""

from deployments import storage


def _s3():
    client, bucket, key_of = storage._s3()
    return client, bucket, key_of


def remove_blob_bytes(sha256):
    """Delete a blob's bytes, leaving its row (the 'missing artifact' breakage)."""
    if not storage.is_object_storage():
        import os

        os.unlink(storage.blob_path(sha256))
        return
    client, bucket, key_of = _s3()
    client.delete_object(Bucket=bucket, Key=key_of(storage.blob_name(sha256)))


def damage_blob(sha256, data=b"X"):
    """Overwrite the start of a blob's bytes (same size on disk, other content)."""
    if not storage.is_object_storage():
        with open(storage.blob_path(sha256), "r+b") as fh:
            fh.write(data)
        return
    with storage.blob_open(sha256) as fh:
        original = fh.read()
    client, bucket, key_of = _s3()
    client.put_object(Bucket=bucket, Key=key_of(storage.blob_name(sha256)), Body=data + original[len(data):])


def stored_names():
    """Every name under the blob storage (S3 keys below the location, or local paths)."""
    if not storage.is_object_storage():
        import os

        root = storage.blob_storage().location
        out = []
        for dirpath, _, files in os.walk(root):
            out.extend(os.path.relpath(os.path.join(dirpath, f), root) for f in files)
        return sorted(out)
    client, bucket, key_of = _s3()
    prefix = key_of("x")[:-1]
    names = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        names.extend(obj["Key"][len(prefix):] for obj in page.get("Contents", []))
    return sorted(names)


def uploads_in_progress():
    """Multipart uploads begun and neither completed nor aborted (S3), or blob temp files
    being written (local files): what an abandoned upload would leave behind."""
    if not storage.is_object_storage():
        import os

        tmp = os.path.join(storage.blob_storage().location, "tmp")
        return sorted(os.listdir(tmp)) if os.path.isdir(tmp) else []
    client, bucket, key_of = _s3()
    prefix = key_of("x")[:-1]
    found = []
    for page in client.get_paginator("list_multipart_uploads").paginate(Bucket=bucket, Prefix=prefix):
        found.extend(upload["Key"][len(prefix):] for upload in page.get("Uploads", []))
    return sorted(found)


def leftovers():
    """Every stored name and every upload in progress (both empty: nothing was left)."""
    return {"stored": stored_names(), "in_progress": uploads_in_progress()}
