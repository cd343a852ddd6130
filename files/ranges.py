"""Byte-range ledgers: which bytes of a file one download was sent (pure, no I/O).

A ledger is a sorted list of disjoint, non-touching half-open intervals ``[start, end)``
stored as two-item lists (JSON-friendly). Every function returns a new list.
"""

MAX_PIECES = 64


def _normal(intervals):
    out = []
    for start, end in sorted((int(s), int(e)) for s, e in intervals if int(e) > int(s)):
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return out


def add(ledger, start, end, *, max_pieces=MAX_PIECES):
    """``ledger`` with ``[start, end)`` added.

    A ledger is bounded: past ``max_pieces`` intervals the smallest gaps are filled in, as
    if those bytes had been sent too. That only ever counts more bytes as already sent,
    never fewer, so the bound cannot be used to get bytes for free.
    """
    out = _normal([*ledger, [start, end]])
    while len(out) > max_pieces:
        gaps = [(out[i + 1][0] - out[i][1], i) for i in range(len(out) - 1)]
        _, i = min(gaps)
        out[i : i + 2] = [[out[i][0], out[i + 1][1]]]
    return out


def intersect(ledger, start, end):
    """The parts of ``ledger`` inside ``[start, end)``."""
    out = []
    for s, e in ledger:
        lo, hi = max(s, start), min(e, end)
        if hi > lo:
            out.append([lo, hi])
    return out


def subtract(ledger, intervals):
    """``ledger`` without the bytes of ``intervals``."""
    out = _normal(ledger)
    for start, end in _normal(intervals):
        nxt = []
        for s, e in out:
            if e <= start or s >= end:
                nxt.append([s, e])
                continue
            if s < start:
                nxt.append([s, start])
            if e > end:
                nxt.append([end, e])
        out = nxt
    return out


def total(ledger) -> int:
    return sum(e - s for s, e in ledger)


def overlap(ledger, start, end) -> int:
    """How many bytes of ``[start, end)`` the ledger already holds."""
    return total(intersect(ledger, start, end))


def covers(ledger, size) -> bool:
    return size <= 0 or (len(ledger) == 1 and ledger[0][0] <= 0 and ledger[0][1] >= size)
