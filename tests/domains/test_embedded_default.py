"""The embedded default: in development the sites domain is localhost:{port}."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def settings_value(env, name):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GHARART_") and k != "DJANGO_SETTINGS_MODULE"}
    clean.update(env)
    code = f"from django.conf import settings; print(settings.{name})"
    result = subprocess.run([sys.executable, "-c", f"import django, os; os.environ['DJANGO_SETTINGS_MODULE']='gharart.settings'; django.setup(); {code}"],
                            env={**clean, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture
def var_dir(tmp_path):
    return {"GHARART_VAR_DIR": str(tmp_path), "SECRET_KEY": "x" * 50}


def test_development_puts_sites_on_localhost_at_the_servers_port(var_dir):
    env = {**var_dir, "GHARART_DEV": "1", "GHARART_PUBLIC_URL": "http://127.0.0.1:8123"}
    assert settings_value(env, "GHARART_SITES_DOMAIN") == "localhost:8123"
    assert settings_value(env, "GHARART_SITES_SCHEME") == "http"


def test_production_needs_its_own_domain_and_honours_the_environment(var_dir):
    assert settings_value(var_dir, "GHARART_SITES_DOMAIN") == "sites.gharart.com"
    env = {**var_dir, "GHARART_SITES_DOMAIN": "gharart-sites.example", "GHARART_HTTPS": "1"}
    assert settings_value(env, "GHARART_SITES_DOMAIN") == "gharart-sites.example"
    assert settings_value(env, "GHARART_SITES_SCHEME") == "https"


def test_make_run_sets_and_prints_the_sites_domain():
    import shutil

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GHARART_")}
    # -n: print the recipe, run nothing.
    result = subprocess.run(["make", "-n", "run", "PORT=8124"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "http://gharart.localhost:8124/" in result.stdout
    run_dev = (REPO / "scripts" / "run_dev.py").read_text()
    assert 'env.setdefault("GHARART_SITES_DOMAIN", f"localhost:{args.port}")' in run_dev
