"""Requests the server makes of itself: site intel fetching a profile page, a site host or a
deployment in-process, through the same views a visitor reaches (no network, no test client)."""

import io
import sys
from urllib.parse import unquote_to_bytes, urlsplit

from django.core.handlers.wsgi import WSGIRequest


def in_process_request(url, *, method="GET", headers=None, host=None) -> WSGIRequest:
    """A request for ``url`` (a percent-encoded path, may carry a query) as a visitor's would
    arrive at the WSGI handler, marked ``gharart_in_process`` (never handed to nginx)."""
    parts = urlsplit(url)
    environ = {
        "REQUEST_METHOD": method.upper(),
        "SCRIPT_NAME": "",
        # WSGI carries the decoded path as latin-1 text; Django decodes it as UTF-8 again.
        "PATH_INFO": unquote_to_bytes(parts.path or "/").decode("iso-8859-1"),
        "QUERY_STRING": parts.query,
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_LENGTH": "0",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multiprocess": True,
        "wsgi.multithread": True,
        "wsgi.run_once": False,
    }
    environ.update({"HTTP_" + k.upper().replace("-", "_"): v for k, v in (headers or {}).items()})
    if host is not None:
        environ["HTTP_HOST"] = host
    request = WSGIRequest(environ)
    request.gharart_in_process = True
    return request
