"""max_downloads with real download clients (aria2c, curl, wget) against a live server.

A split download (aria2c, 8 connections) and a resumed one (``curl -C -``, ``wget -c``)
each cost one download; a counted download finishes after the limit is reached.
"""

import os
import shutil
import subprocess

import pytest

from files import constants as fc
from files.models import FileDownload
from tests.files.conftest import make_file

TIMEOUT = 180


def need(binary):
    if shutil.which(binary) is None:
        pytest.skip(f"{binary} is not installed (apt-get install -y {binary if binary != 'aria2c' else 'aria2'})")


def run(*argv):
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=TIMEOUT, check=False)


@pytest.fixture
def server(transactional_db, live_server, settings):
    settings.GHARART_PUBLIC_URL = live_server.url
    return live_server


@pytest.fixture
def shared(server, handle, users):
    """``shared(size)`` -> (file, url, bytes) of a public file that may be downloaded once."""

    def make(size, name="dataset.bin"):
        data = os.urandom(size)
        file = make_file(handle, users["owner"], data=data, name=name, access=fc.ACCESS_PUBLIC, max_downloads=1)
        return file, f"{server.url}/v2/public/files/{file.id}", data

    return make


def test_aria2c_with_eight_connections_costs_one_download(shared, tmp_path):
    need("aria2c")
    file, url, data = shared(32 * 1024 * 1024)
    log = tmp_path / "aria2.log"
    args = ["aria2c", "-x8", "-s8", "-k1M", "--file-allocation=none", "--allow-overwrite=true", "--auto-file-renaming=false"]
    result = run(*args, f"--log={log}", "--log-level=debug", "-d", tmp_path, "-o", "copy.bin", url)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert (tmp_path / "copy.bin").read_bytes() == data
    ranges_asked = log.read_text(errors="replace").count("Range: bytes=")
    assert ranges_asked >= 4, "aria2c did not split the download"
    file.refresh_from_db()
    assert file.download_count == 1 and FileDownload.objects.filter(file=file).count() == 1
    # The one allowed download is used: the same client asking for every byte again is
    # refused, and so is a range that does not start at byte 0 from anyone else.
    again = run(*args, "-d", tmp_path, "-o", "again.bin", url)
    assert again.returncode != 0
    if shutil.which("curl"):
        other = run("curl", "-sS", "-o", os.devnull, "-w", "%{http_code}", "-r", "1-", "-A", "another-client/1.0", url)
        assert other.stdout == "410"
    file.refresh_from_db()
    assert file.download_count == 1
    assert file.bytes_served <= len(data) + min(16 * 1024 * 1024, len(data) // 2)


def test_curl_resumes_a_download_even_after_the_limit_is_reached(shared, tmp_path):
    need("curl")
    file, url, data = shared(3 * 1000 * 1000)
    part = tmp_path / "part.bin"
    assert run("curl", "-sS", "-f", "-r", "0-999999", "-o", part, url).returncode == 0
    assert part.stat().st_size == 1_000_000
    # The limit of one is now used: another client is refused ...
    other = run("curl", "-sS", "-o", os.devnull, "-w", "%{http_code}", "-A", "another-client/1.0", url)
    assert other.stdout == "410"
    # ... while the counted download resumes where it stopped.
    result = run("curl", "-sS", "-f", "-C", "-", "-o", part, url)
    assert result.returncode == 0, result.stderr
    assert part.read_bytes() == data
    file.refresh_from_db()
    assert file.download_count == 1 and file.bytes_served == len(data)


def test_wget_continues_a_partial_download_as_the_same_download(shared, tmp_path):
    need("wget")
    file, url, data = shared(3 * 1000 * 1000)
    part = tmp_path / "part.bin"
    first = run("wget", "-q", "--header", "Range: bytes=0-1499999", "-O", part, url)
    assert first.returncode == 0 and part.stat().st_size == 1_500_000
    result = run("wget", "-q", "-c", "-O", part, url)
    assert result.returncode == 0, result.stderr
    assert part.read_bytes() == data
    file.refresh_from_db()
    assert file.download_count == 1 and file.bytes_served == len(data)
    # A fresh full download by wget is a second copy: refused.
    assert run("wget", "-q", "-O", tmp_path / "again.bin", url).returncode != 0
