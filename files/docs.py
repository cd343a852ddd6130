"""Internal docs access: who may read which page of a handle's live ``docs`` deployment.

Rules, in order: members always pass (also confidential pages and outside the window);
confidential pages (a ``confidential_paths`` glob, or the page's own classification meta
tag found at deploy time) are members-only; outside ``starts_at``/``ends_at`` nobody
else passes; ``public`` lets anyone read the rest; ``partners`` lets in a partner signed
in through ``/_edge/docs/<handle>/_access`` (a signed cookie bound to the policy version).
"""

import fnmatch
import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from deployments.constants import TARGET_DOCS
from deployments.selectors.live import live_deployment
from files import constants as fc
from files import links
from files.models import DocsAccessPolicy, DocsSigninUse
from gharart.clock import db_now

logger = logging.getLogger("gharart.files.docs")


# --- Reading the live docs deployment -------------------------------------------------------


def live_docs_deployment(*, handle):
    return live_deployment(handle=handle, target=TARGET_DOCS)


def docs_pages(*, deployment):
    """``[(path, confidential_flag)]`` of a docs deployment, paths with a leading '/'."""
    if deployment is None:
        return []
    rows = deployment.files.all().values_list("path", "confidential")
    return [("/" + path.lstrip("/"), bool(flag)) for path, flag in rows]


def path_matches(path: str, patterns) -> bool:
    """Glob match (``*`` crosses '/'); ``/finance/*`` also covers ``/finance`` itself."""
    path = "/" + (path or "").lstrip("/")
    for pattern in patterns or ():
        if fnmatch.fnmatchcase(path, pattern):
            return True
        if pattern.endswith("/*") and path.rstrip("/") == pattern[:-2].rstrip("/"):
            return True
    return False


def policy_warnings(*, handle, policy, pages=None):
    """``policy_too_permissive``, ``confidential_not_covered`` and ``confidential_path_unused``.

    ``confidential_path_unused`` lists confidential paths that match no page of the live
    docs deployment (a typo protects nothing); it needs a deployment with pages.
    """
    if pages is None:
        try:
            pages = docs_pages(deployment=live_docs_deployment(handle=handle))
        except Exception:  # a warning must never break reading the policy
            logger.exception("could not read the live docs deployment of %s", handle)
            pages = []
    flagged = sorted(path for path, flag in pages if flag)
    by_path = sorted(path for path, _ in pages if path_matches(path, policy.confidential_paths))
    confidential_exist = bool(flagged or by_path) or (not pages and bool(policy.confidential_paths))
    warnings = []
    public_domains = sorted(d for d in policy.partner_domains if d.lower() in fc.PUBLIC_MAIL_DOMAINS)
    partner_domains_open = policy.visibility == fc.VISIBILITY_PARTNERS and public_domains
    if confidential_exist and (policy.visibility == fc.VISIBILITY_PUBLIC or partner_domains_open):
        if policy.visibility == fc.VISIBILITY_PUBLIC:
            message = (
                "Anyone can read the internal docs, and some are confidential. Confidential pages stay "
                "members-only, but check that nothing sensitive sits outside the confidential paths."
            )
        else:
            message = (
                f"Partner domain(s) {', '.join(public_domains)} are public mail providers: anyone with an "
                "address there can sign in. List those partners by email address instead."
            )
        warnings.append({"code": fc.WARNING_POLICY_TOO_PERMISSIVE, "message": message, "domains": public_domains})
    not_covered = [p for p in flagged if not path_matches(p, policy.confidential_paths)]
    if not_covered:
        warnings.append(
            {
                "code": fc.WARNING_CONFIDENTIAL_NOT_COVERED,
                "message": (
                    "These pages declare themselves confidential but match no confidential path. They are "
                    "served to members only; add a confidential path so the rule is explicit."
                ),
                "paths": not_covered[:100],
            }
        )
    unused = [pattern for pattern in policy.confidential_paths if pages and not any(path_matches(path, [pattern]) for path, _ in pages)]
    if unused:
        warnings.append(
            {
                "code": fc.WARNING_CONFIDENTIAL_PATH_UNUSED,
                "message": (
                    "These confidential paths match no page of the live docs, so they protect nothing today. "
                    "Check them for typos (paths start with / and * matches any characters)."
                ),
                "paths": unused[:100],
            }
        )
    return warnings


# --- Window and partners ------------------------------------------------------------------


def window_open(policy, now=None) -> bool:
    """Inside ``starts_at``/``ends_at`` (or the campaign's window when the policy follows one),
    by the database's clock."""
    starts_at, ends_at = policy.window_starts_at, policy.window_ends_at
    if starts_at is None and ends_at is None:
        return True
    now = now or db_now()
    if starts_at and now < starts_at:
        return False
    if ends_at and now >= ends_at:
        return False
    return True


def partner_allowed(policy, email) -> bool:
    return policy.visibility == fc.VISIBILITY_PARTNERS and links.email_matches(
        email, emails=policy.partner_emails, domains=policy.partner_domains
    )


@dataclass(frozen=True)
class DocsAccess:
    """The policy's answer for one reader and one page: ``kind`` (a ``VIEWER_*``) when the
    page may be read, else ``refusals``, every rule that keeps the reader out, the one the
    edge answers with (``code``) first."""

    kind: str = ""
    refusals: tuple = ()

    @property
    def allowed(self) -> bool:
        return bool(self.kind)

    @property
    def code(self) -> str:
        return self.refusals[0] if self.refusals else ""


def page_confidential(policy, path, flagged=False) -> bool:
    """Members-only by its own classification meta tag, or by a ``confidential_paths`` glob."""
    return bool(flagged) or path_matches(path, policy.confidential_paths)


def access_decide(*, policy, member, partner, confidential, open_now=None) -> DocsAccess:
    """The one docs access rule: the edge asks it for each request, the dashboard preview for
    each page.

    Members always read. Anyone else, in this order: outside the window nobody
    (``docs_access_window_closed``); ``public`` lets anyone in, ``partners`` a signed-in
    partner (``partner``: a valid cookie for the current policy), otherwise nobody
    (``docs_access_denied``: sign in); a confidential page stays members-only
    (``docs_members_only``).
    """
    if member:
        return DocsAccess(kind=fc.VIEWER_MEMBER)
    refusals = []
    if not (window_open(policy) if open_now is None else open_now):
        refusals.append(fc.DOCS_ACCESS_WINDOW_CLOSED)
    if policy.visibility == fc.VISIBILITY_PUBLIC:
        kind = fc.VIEWER_PARTNER if partner else fc.VIEWER_PUBLIC
    elif partner and policy.visibility == fc.VISIBILITY_PARTNERS:
        kind = fc.VIEWER_PARTNER
    else:
        refusals.append(fc.DOCS_ACCESS_DENIED)
    if confidential:
        refusals.append(fc.DOCS_MEMBERS_ONLY)
    return DocsAccess(refusals=tuple(refusals)) if refusals else DocsAccess(kind=kind)


def who_can_read(*, policy, pages):
    """Rows for the dashboard preview: each page and who may read it now (``access_decide``)."""
    rows = []
    open_now = window_open(policy)
    for path, flag in sorted(pages):
        confidential = page_confidential(policy, path, flag)
        anyone = access_decide(policy=policy, member=False, partner=False, confidential=confidential, open_now=open_now)
        partner = access_decide(policy=policy, member=False, partner=True, confidential=confidential, open_now=open_now)
        if anyone.allowed:
            readers, why = "Anyone", "visibility is public"
        elif partner.allowed:
            who = ", ".join(policy.partner_emails + ["@" + d for d in policy.partner_domains])
            readers, why = f"Members and partners ({who})", "visibility is partners"
        elif fc.DOCS_MEMBERS_ONLY in partner.refusals:  # the most lasting reason first
            readers, why = "Members only", "confidential (" + ("meta tag" if flag else "path rule") + ")"
        elif fc.DOCS_ACCESS_WINDOW_CLOSED in partner.refusals:
            readers, why = "Members only", "outside the access window"
        else:
            readers, why = "Members only", "visibility is members"
        rows.append({"path": path, "readers": readers, "why": why, "confidential": confidential})
    return rows


# --- Partner sign-in and cookie --------------------------------------------------------------


def _salt(slug):
    return f"gharart.docs-access:{slug}"


def cookie_path(slug):
    return f"/_edge/docs/{slug}/"


def cookie_value(*, slug, email, version) -> str:
    return signing.dumps({"h": slug, "e": email, "v": version}, salt=_salt(slug) + ":cookie", compress=True)


def cookie_email(*, request, slug, policy):
    """The partner email in a valid cookie for this handle and this policy version, else None."""
    raw = request.COOKIES.get(fc.DOCS_COOKIE_NAME)
    if not raw:
        return None
    try:
        data = signing.loads(raw, salt=_salt(slug) + ":cookie", max_age=fc.DOCS_COOKIE_MAX_AGE)
    except signing.BadSignature:
        return None
    if data.get("h") != slug or data.get("v") != policy.version:
        return None  # another handle's cookie, or signed before the policy changed
    email = data.get("e", "")
    return email if partner_allowed(policy, email) else None


def signin_token(*, slug, email, version, next_path="/") -> str:
    # "j": a random ID, so each link can be used once (signin_token_use).
    data = {"h": slug, "e": email, "v": version, "n": next_path, "j": secrets.token_urlsafe(16)}
    return signing.dumps(data, salt=_salt(slug) + ":signin", compress=True)


def _signin_data(*, token, slug, policy):
    try:
        data = signing.loads(token or "", salt=_salt(slug) + ":signin", max_age=fc.DOCS_SIGNIN_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("h") != slug or data.get("v") != policy.version:
        return None
    if not partner_allowed(policy, data.get("e", "")):
        return None
    return data


def signin_token_read(*, token, slug, policy):
    """``(email, next_path)`` from a valid, unexpired sign-in token for the current policy."""
    data = _signin_data(token=token, slug=slug, policy=policy)
    if data is None:
        return None
    next_path = data.get("n") or "/"
    return data["e"], next_path if next_path.startswith("/") and not next_path.startswith("//") else "/"


def signin_token_use(*, token, slug, policy):
    """Like ``signin_token_read``, once: the link's ID is recorded and a second use is None.

    Recorded in the database (one row per sign-in, unique on the ID's hash), so every
    process agrees; rows older than a link's lifetime are removed as new ones arrive.
    """
    signed = signin_token_read(token=token, slug=slug, policy=policy)
    data = _signin_data(token=token, slug=slug, policy=policy) if signed else None
    if data is None or not isinstance(data.get("j"), str) or not data["j"]:
        return None
    digest = hashlib.sha256(f"{slug}:{data['j']}".encode()).hexdigest()
    now = timezone.now()
    try:
        with transaction.atomic():
            DocsSigninUse.objects.create(jti_hash=digest, used_at=now)
    except IntegrityError:
        return None
    DocsSigninUse.objects.filter(used_at__lt=now - timedelta(seconds=fc.DOCS_SIGNIN_MAX_AGE + 60)).delete()
    return signed


def signin_send(*, handle_id, email, next_path="/"):
    """Email a sign-in link when the policy lets ``email`` in now; otherwise do nothing."""
    policy = DocsAccessPolicy.objects.select_related("handle").filter(handle_id=handle_id).first()
    if policy is None or not partner_allowed(policy, email) or not window_open(policy):
        return False
    slug = policy.handle.slug
    token = signin_token(slug=slug, email=email, version=policy.version, next_path=next_path)

    url = f"{settings.GHARART_PUBLIC_URL}{cookie_path(slug)}_access?{urlencode({'token': token})}"
    context = {"handle": policy.handle, "url": url, "email": email, "minutes": fc.DOCS_SIGNIN_MAX_AGE // 60}
    message = EmailMultiAlternatives(
        subject=f"Sign in to the {policy.handle.display_name or slug} internal docs",
        body=render_to_string("files/email/docs_signin.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email],
    )
    message.attach_alternative(render_to_string("files/email/docs_signin.html", context), "text/html")
    message.send()
    return True
