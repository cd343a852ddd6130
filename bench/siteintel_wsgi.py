"""The server side of ``bench/siteintel_bench.py``: Gharart serving handle ``bench``'s
live site at the root of the host (as a custom domain would), plus a ``LinkChecker`` header.

LinkChecker waits 0.1-0.6 s between requests to a host unless the host answers with a
``LinkChecker`` header; the header lets it run at full speed, like the crawler it is
compared with.
"""

from gharart.wsgi import application as gharart_application

PREFIX = "/profiles/bench"


def application(environ, start_response):
    environ["PATH_INFO"] = PREFIX + environ.get("PATH_INFO", "/")

    def start(status, headers, exc_info=None):
        return start_response(status, [*headers, ("LinkChecker", "benchmark")], exc_info)

    return gharart_application(environ, start)
