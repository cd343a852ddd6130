"""docs/deploy/nginx.conf made runnable on this machine (used by the microcache test and bench/proxy_bench.py)."""

import os
import pwd
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[2] / "docs" / "deploy"
SITES = "sites.gharart.com"  # the tests' sites domain (tests/settings.py)


def documented_conf(folder, *, upstream, https_port, http_port, handoff_port, blobs, workers=1):
    """docs/deploy/nginx.conf with this machine's ports, paths, certificates and domain."""
    conf = (DEPLOY / "nginx.conf").read_text()
    replacements = [
        ("user www-data;", f"user {pwd.getpwuid(os.getuid()).pw_name};\ndaemon off;\npid {folder}/nginx.pid;\nerror_log {folder}/error.log warn;"),
        ("worker_processes auto;", f"worker_processes {workers};"),
        ("http {\n", f"http {{\n    access_log off;\n    client_body_temp_path {folder}/body; proxy_temp_path {folder}/proxy;\n"
                     f"    fastcgi_temp_path {folder}/fastcgi; uwsgi_temp_path {folder}/uwsgi; scgi_temp_path {folder}/scgi;\n"),
        ("server 127.0.0.1:8000;", f"server {upstream};"),
        ("127.0.0.1:8081", f"127.0.0.1:{handoff_port}"),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
        ("listen 80 default_server;", f"listen 127.0.0.1:{http_port} default_server;"),
        ("/etc/ssl/gharart/", f"{folder}/"),
        ("/var/cache/nginx/gharart-sites", f"{folder}/cache"),
        ("/srv/gharart/var/media/blobs/", blobs),
        ("gharart-sites.example", SITES),
    ]
    for old, new in replacements:
        assert old in conf, f"docs/deploy/nginx.conf no longer has {old!r}"
        conf = conf.replace(old, new)
    return conf
