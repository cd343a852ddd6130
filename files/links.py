"""Magic-link tokens and recipient rules.

A token is 32 random bytes (URL-safe); only its sha256 is stored. The URL names the file,
so a token is useless for any other file even before its hash is looked up.
"""

import hashlib
import secrets
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.urls import reverse

TOKEN_BYTES = 32


def token_new() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def public_file_url(file_id: str, token: str | None = None) -> str:
    url = settings.GHARART_PUBLIC_URL + reverse("public-file", kwargs={"file_id": file_id})
    if token:
        url += "?" + urlencode({"token": token})
    return url


def normalize_email(value: str) -> str:
    value = (value or "").strip()
    local, sep, domain = value.rpartition("@")
    return f"{local}{sep}{domain.lower()}" if sep else value


def is_email(value: str) -> bool:
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


def is_domain(value: str) -> bool:
    # A domain is what follows "@" in a valid address.
    return bool(value) and "@" not in value and is_email(f"x@{value}") and "." in value


def parse_entries(raw) -> list[str]:
    """Recipients from a list, or a string separated by commas, spaces or new lines."""
    if raw is None:
        return []
    if isinstance(raw, str):
        raw = [raw]
    out = []
    for item in raw:
        for part in str(item).replace(",", " ").replace(";", " ").split():
            if part:
                out.append(part)
    return out


def clean_recipients(raw) -> tuple[list[str], list[str]]:
    """Normalised, de-duplicated recipients (``name@x.com`` or ``@x.com``) and the errors."""
    cleaned, errors = [], []
    for entry in parse_entries(raw):
        entry = entry.strip().lower()
        if entry.startswith("@"):
            ok = is_domain(entry[1:])
        else:
            ok = is_email(entry)
        if not ok:
            errors.append(f"'{entry[:100]}' is neither an email address nor an @domain entry.")
        elif entry not in cleaned:
            cleaned.append(entry)
    if len(cleaned) > 500:
        errors.append("At most 500 recipients.")
    return cleaned, errors


def email_matches(email: str, *, emails=(), domains=()) -> bool:
    """True when ``email`` is one of ``emails`` or its domain is exactly one of ``domains``."""
    email = (email or "").strip().lower()
    if not email or "@" not in email:
        return False
    domain = email.rpartition("@")[2]
    return email in {e.lower() for e in emails} or domain in {d.lower().lstrip("@") for d in domains}


def recipient_allowed(email: str, recipients) -> bool:
    emails = [r for r in recipients if not r.startswith("@")]
    domains = [r[1:] for r in recipients if r.startswith("@")]
    return email_matches(email, emails=emails, domains=domains)
