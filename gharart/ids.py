"""Opaque, prefixed identifiers (``dep_...``, ``file_...``, ``req_...``).

Each prefix has a named function so model fields can use it as a default and migrations
can refer to it.
"""

import secrets
import string

_ALPHABET = string.ascii_lowercase + string.digits
# Random bytes below 252 (7 x 36) map uniformly onto the alphabet; the others are dropped.
_TABLE = bytes(ord(_ALPHABET[i % len(_ALPHABET)]) for i in range(256))
_REJECT = bytes(range(252, 256))


def new_id(prefix: str, length: int = 20) -> str:
    out = b""
    while len(out) < length:
        out += secrets.token_bytes(length + 8).translate(_TABLE, _REJECT)
    return f"{prefix}_" + out[:length].decode()


def new_dep_id() -> str:
    return new_id("dep")


def new_rel_id() -> str:
    return new_id("rel")


def new_fb_id() -> str:
    return new_id("fb")


def new_crawl_id() -> str:
    return new_id("crawl")


def new_replay_id() -> str:
    return new_id("replay")


def new_file_id() -> str:
    return new_id("file")


def new_sup_id() -> str:
    return new_id("sup")


def new_esc_id() -> str:
    return new_id("esc")


def new_cr_id() -> str:
    return new_id("cr")


def new_req_id() -> str:
    return new_id("req")


def new_pat_id() -> str:
    return new_id("pat")


def new_ml_id() -> str:
    return new_id("ml")


def new_dl_id() -> str:
    return new_id("dl")


def new_sub_id() -> str:
    return new_id("sub")


def new_aud_id() -> str:
    return new_id("aud")


def new_host_id() -> str:
    return new_id("host")


def new_pol_id() -> str:
    return new_id("pol")


def new_acc_id() -> str:
    return new_id("acc")


def new_sched_id() -> str:
    return new_id("sched")


def new_lock_id() -> str:
    return new_id("lock")


def new_cmp_id() -> str:
    return new_id("cmp")
