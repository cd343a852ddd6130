"""The production recipes in docs/deploy/ are valid for the real tools (skipped without them)."""

import shutil
import subprocess
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "docs" / "deploy"


def test_the_caddyfile_is_valid():
    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.skip("caddy is not installed (apt-get install caddy)")
    result = subprocess.run([caddy, "validate", "--config", str(DEPLOY / "Caddyfile"), "--adapter", "caddyfile"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    text = (DEPLOY / "Caddyfile").read_text()
    assert "ask http://127.0.0.1:8000/_gharart/tls-ask" in text and "on_demand" in text


def test_the_nginx_conf_is_valid(tmp_path):
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    openssl = shutil.which("openssl")
    if nginx is None or openssl is None:
        pytest.skip("nginx or openssl is not installed")
    # Throwaway certificates where the recipe expects the real ones.
    conf = (DEPLOY / "nginx.conf").read_text()
    for name in ("app", "sites-wildcard"):
        subprocess.run(
            [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test",
             "-keyout", str(tmp_path / f"{name}.key.pem"), "-out", str(tmp_path / f"{name}.fullchain.pem")],
            check=True, capture_output=True, timeout=60,
        )
    conf = conf.replace("/etc/ssl/gharart/", f"{tmp_path}/").replace("/var/cache/nginx/gharart-sites", f"{tmp_path}/cache")
    (tmp_path / "nginx.conf").write_text(conf)
    result = subprocess.run(
        [nginx, "-t", "-q", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-g", f"error_log {tmp_path}/error.log; pid {tmp_path}/nginx.pid;"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "server_name *.gharart-sites.example" in conf and "proxy_set_header Host $host" in conf
