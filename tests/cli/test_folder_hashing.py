"""Hashing a folder into the digest-deploy manifest (no server involved)."""

import hashlib
import os

import pytest

from gharart_cli.folder import FolderError, hash_folder


def write(root, rel, data=b"x"):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_paths_are_rooted_forward_slashed_and_map_to_sha256(tmp_path):
    write(tmp_path, "index.html", b"<h1>hi</h1>")
    write(tmp_path, "css/site.css", b"body{}")
    write(tmp_path, "a/b/c.txt", b"deep")
    manifest = hash_folder(tmp_path)
    assert manifest.digest() == {
        "/index.html": hashlib.sha256(b"<h1>hi</h1>").hexdigest(),
        "/css/site.css": hashlib.sha256(b"body{}").hexdigest(),
        "/a/b/c.txt": hashlib.sha256(b"deep").hexdigest(),
    }
    assert manifest.total_bytes == len(b"<h1>hi</h1>") + len(b"body{}") + len(b"deep")


def test_dotfiles_and_vcs_folders_are_skipped_but_well_known_is_kept(tmp_path):
    write(tmp_path, "index.html")
    write(tmp_path, ".git/HEAD")
    write(tmp_path, ".hg/store")
    write(tmp_path, ".env", b"SECRET=1")
    write(tmp_path, "img/.DS_Store")
    write(tmp_path, "__MACOSX/junk")
    write(tmp_path, ".well-known/security.txt", b"Contact: x")
    manifest = hash_folder(tmp_path)
    assert sorted(manifest.digest()) == ["/.well-known/security.txt", "/index.html"]
    assert "/.env" in manifest.skipped and "/.git" in manifest.skipped


def test_identical_files_upload_once(tmp_path):
    write(tmp_path, "a.txt", b"same")
    write(tmp_path, "b/a.txt", b"same")
    manifest = hash_folder(tmp_path)
    assert len(manifest.files) == 2
    assert len(manifest.by_sha256()) == 1


def test_symlink_inside_the_folder_is_deployed_with_its_target_content(tmp_path):
    write(tmp_path, "real.html", b"real")
    os.symlink(tmp_path / "real.html", tmp_path / "alias.html")
    (tmp_path / "dir").mkdir()
    os.symlink("..", tmp_path / "dir" / "loop")  # a loop back to the root must end
    manifest = hash_folder(tmp_path)
    digest = manifest.digest()
    assert digest["/alias.html"] == digest["/real.html"]
    assert not any(p.startswith("/dir/loop") for p in digest)


def test_symlink_escaping_the_folder_is_refused(tmp_path):
    site = tmp_path / "site"
    write(site, "index.html")
    secret = write(tmp_path, "secret.txt", b"private")
    os.symlink(secret, site / "leak.txt")
    with pytest.raises(FolderError) as exc:
        hash_folder(site)
    assert exc.value.code == "unsafe_symlink"
    assert exc.value.details["path"] == "/leak.txt"


def test_symlinked_directory_escaping_the_folder_is_refused(tmp_path):
    site = tmp_path / "site"
    write(site, "index.html")
    write(tmp_path, "outside/x.txt")
    os.symlink(tmp_path / "outside", site / "more")
    with pytest.raises(FolderError) as exc:
        hash_folder(site)
    assert exc.value.code == "unsafe_symlink"


def test_missing_empty_and_non_folder_paths_are_clear_errors(tmp_path):
    with pytest.raises(FolderError) as exc:
        hash_folder(tmp_path / "nope")
    assert exc.value.code == "folder_not_found"
    f = write(tmp_path, "file.txt")
    with pytest.raises(FolderError) as exc:
        hash_folder(f)
    assert exc.value.code == "not_a_folder"
    (tmp_path / "empty").mkdir()
    write(tmp_path, "empty/.gitkeep")
    with pytest.raises(FolderError) as exc:
        hash_folder(tmp_path / "empty")
    assert exc.value.code == "empty_folder"


def test_decomposed_unicode_names_are_sent_composed(tmp_path):
    write(tmp_path, "cafe\u0301.html", b"x")  # "café" as macOS writes it
    assert list(hash_folder(tmp_path).digest()) == ["/caf\u00e9.html"]
