"""The WhiteNoise side of ``bench/files_bench.py``: serves BENCH_WHITENOISE_ROOT at /files/."""

import os

from whitenoise import WhiteNoise


def _not_found(environ, start_response):
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not found"]


application = WhiteNoise(_not_found, root=os.environ["BENCH_WHITENOISE_ROOT"], prefix="files/", autorefresh=False)
