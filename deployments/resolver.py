"""Static-host path resolution over a deployment's manifest (pure: no I/O of its own).

One resolver for the live profile site, signed previews, the internal docs edge and
site-intel replays. A manifest maps ``/path`` -> ``ManifestEntry``; lookups go through a
callable so the caller decides where the manifest comes from (cache, database, a dict).

Rules (API.md, "Site mode and profile routes"):

- ``""``, ``/`` and ``/dir/`` -> ``index.html`` of that directory;
- ``/about`` -> ``/about`` itself, else ``/about.html``; else, when ``/about/index.html``
  exists, a 301 to ``/about/`` (``Resolution.status == 301``, ``entry`` the index), so the
  page's relative links resolve against the folder;
- nothing found -> the deployment's ``/404.html`` with status 404, else a plain 404.

The request path arrives percent-decoded (so ``%2e%2e`` is ``..`` and ``%2f`` is ``/``
here). A path with a ``.``/``..`` segment, a backslash or a control character never
matches anything: there is no filesystem join at all, and the rejection makes the intent
explicit.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

NOT_FOUND_PAGE = "/404.html"
INDEX = "index.html"


@dataclass(frozen=True)
class ManifestEntry:
    path: str
    sha256: str
    size: int
    content_type: str
    confidential: bool = False


@dataclass(frozen=True)
class Resolution:
    """What to serve: ``entry`` with ``status`` (200, 404 for the site's 404.html, or 301:
    the path names a folder whose ``index.html`` is ``entry``; redirect to the path + ``/``)."""

    entry: ManifestEntry
    status: int


Lookup = Callable[[Iterable[str]], dict]


def safe_segments(path: str) -> list[str] | None:
    """The path's segments, or None when it could escape or is malformed."""
    if any(ch == "\\" or ord(ch) < 32 or ord(ch) == 127 for ch in path):
        return None
    segments = [s for s in path.split("/") if s != ""]
    if any(s in (".", "..") for s in segments):
        return None
    return segments


def candidates(path: str) -> list[str] | None:
    """Manifest paths to try, in order, for a request path below the site root."""
    segments = safe_segments(path)
    if segments is None:
        return None
    base = "/" + "/".join(segments)
    if not segments or path.endswith("/"):
        return [base.rstrip("/") + "/" + INDEX]
    return [base, base + ".html", base + "/" + INDEX]


def resolve(path: str, lookup: Lookup) -> Resolution | None:
    """Resolve ``path`` with one batched ``lookup``; None means a plain 404."""
    tries = candidates(path) or []
    found = lookup([*tries, NOT_FOUND_PAGE])
    for number, candidate in enumerate(tries):
        entry = found.get(candidate)
        if entry is not None:
            # The third candidate of "/about" is "/about/index.html": a folder named without its slash.
            return Resolution(entry=entry, status=301 if number == 2 else 200)
    not_found = found.get(NOT_FOUND_PAGE)
    if not_found is not None:
        return Resolution(entry=not_found, status=404)
    return None


def dict_lookup(manifest: dict) -> Lookup:
    """A lookup over an in-memory manifest ``{path: ManifestEntry}`` (tests, replays)."""

    def lookup(paths):
        return {p: manifest[p] for p in paths if p in manifest}

    return lookup
