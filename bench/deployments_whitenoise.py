"""The WhiteNoise side of ``bench/deployments_bench.py``: serves BENCH_SITE_ROOT at /site/
(``index.html`` for directory URLs, as the profile route does)."""

import os

from whitenoise import WhiteNoise


def _not_found(environ, start_response):
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not found"]


application = WhiteNoise(_not_found, root=os.environ["BENCH_SITE_ROOT"], prefix="site/", autorefresh=False, index_file=True)
