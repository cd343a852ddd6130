"""Hash a folder into the digest-deploy manifest: ``{"/rel/path": sha256}``.

What a static-site build leaves behind is deployed as is, except what never belongs on a
public site: dotfiles and VCS folders (``.git``, ``.env``, ``.DS_Store``; ``.well-known``
is kept because sites need it) and OS droppings. Symlinks are followed only while they
stay inside the folder; one pointing outside is refused, so a build can never publish
``~/.ssh`` by accident.
"""

import hashlib
import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

# Dot-names that sites legitimately publish.
KEPT_DOT_NAMES = frozenset({".well-known"})
# Non-dot names that are never site content.
SKIPPED_NAMES = frozenset({"__MACOSX", "Thumbs.db", "desktop.ini"})


class FolderError(Exception):
    """The folder cannot be deployed; ``code`` is a stable machine code."""

    def __init__(self, code, message, *, details=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}


@dataclass
class LocalFile:
    path: str  # "/rel/path" as the server will serve it
    location: Path  # where to read the bytes
    sha256: str
    size: int


@dataclass
class FolderManifest:
    root: Path
    files: list[LocalFile] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def digest(self) -> dict[str, str]:
        """The ``files`` map of a digest deploy."""
        return {f.path: f.sha256 for f in self.files}

    def by_sha256(self) -> dict[str, LocalFile]:
        """One local file per distinct content (identical files upload once)."""
        out = {}
        for f in self.files:
            out.setdefault(f.sha256, f)
        return out

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


def is_skipped(name: str) -> bool:
    if name in SKIPPED_NAMES:
        return True
    return name.startswith(".") and name not in KEPT_DOT_NAMES


def sha256_file(location) -> str:
    with open(location, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def hash_folder(folder) -> FolderManifest:
    """Walk ``folder`` and hash every deployable file, or raise ``FolderError``."""
    given = Path(folder)
    if not given.exists():
        raise FolderError("folder_not_found", f"{given} does not exist.")
    if not given.is_dir():
        raise FolderError("not_a_folder", f"{given} is not a folder.")
    root = given.resolve()
    manifest = FolderManifest(root=root)
    # Directories already walked (by real path), so a symlink loop inside the folder ends.
    seen_dirs = {root}

    def walk(directory: Path, rel_parts: tuple[str, ...]):
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except PermissionError as exc:
            raise FolderError("folder_unreadable", f"Cannot read {directory}: {exc.strerror}.")
        for entry in entries:
            parts = (*rel_parts, entry.name)
            rel = "/" + "/".join(parts)
            if is_skipped(entry.name):
                manifest.skipped.append(rel)
                continue
            target = Path(entry.path)
            if entry.is_symlink():
                real = target.resolve()
                if not _within(real, root):
                    raise FolderError(
                        "unsafe_symlink",
                        f"{rel} is a symlink pointing outside the folder ({real}); refusing to deploy it.",
                        details={"path": rel, "target": str(real)},
                    )
                if not real.exists():
                    raise FolderError("broken_symlink", f"{rel} is a symlink to a missing file.", details={"path": rel})
                target = real
            if target.is_dir():
                real_dir = target.resolve()
                if real_dir in seen_dirs:
                    continue
                seen_dirs.add(real_dir)
                walk(target, parts)
            elif target.is_file():
                # macOS writes decomposed names; the server and browsers expect composed ones.
                path = unicodedata.normalize("NFC", rel)
                manifest.files.append(LocalFile(path=path, location=target, sha256=sha256_file(target), size=target.stat().st_size))
            else:
                manifest.skipped.append(rel)  # sockets, FIFOs, devices: not site content

    walk(root, ())
    if not manifest.files:
        raise FolderError("empty_folder", f"{given} holds no files to deploy.")
    return manifest
