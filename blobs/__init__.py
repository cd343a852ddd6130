"""Stored blobs on the wire: one byte-response (``blobs.http``) and its Django adapter."""
