"""Upload progress: a redrawn bar on a terminal, a few plain lines in CI logs.

Both go to stderr, so stdout stays for results (and the one ``--json`` line).
"""

import sys
import threading

BAR_WIDTH = 30


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


class Progress:
    """Counts blobs and bytes sent; thread-safe (uploads run in a pool)."""

    def __init__(self, total_blobs: int, total_bytes: int, *, stream=None, tty=None, quiet=False):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.quiet = quiet
        self.total_blobs = total_blobs
        self.total_bytes = total_bytes
        self.done_blobs = 0
        self.done_bytes = 0
        self._last_tenth = -1
        self._lock = threading.Lock()

    def advance(self, path: str, size: int):
        with self._lock:
            self.done_blobs += 1
            self.done_bytes += size
            if self.quiet:
                return
            if self.tty:
                self._draw()
            else:
                self._line(path)

    def _draw(self):
        share = self.done_bytes / self.total_bytes if self.total_bytes else self.done_blobs / max(1, self.total_blobs)
        filled = int(BAR_WIDTH * share)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        self.stream.write(
            f"\r[{bar}] {self.done_blobs}/{self.total_blobs} files  "
            f"{human_bytes(self.done_bytes)}/{human_bytes(self.total_bytes)}"
        )
        if self.done_blobs == self.total_blobs:
            self.stream.write("\n")
        self.stream.flush()

    def _line(self, path: str):
        # Every file for small uploads; every 10% for large ones, so CI logs stay readable.
        tenth = int(10 * self.done_blobs / max(1, self.total_blobs))
        if self.total_blobs > 20 and tenth == self._last_tenth and self.done_blobs != self.total_blobs:
            return
        self._last_tenth = tenth
        self.stream.write(f"uploaded {self.done_blobs}/{self.total_blobs} {path} ({human_bytes(self.done_bytes)})\n")
        self.stream.flush()

    def finish(self):
        with self._lock:
            if self.tty and not self.quiet and 0 < self.done_blobs < self.total_blobs:
                self.stream.write("\n")
                self.stream.flush()
