"""Reads of deployments: the history list, one deployment, its files, rule files and warnings."""

from collections import Counter

from django.db.models.fields.json import KeyTransform

from deployments import constants as dc
from deployments import siterules, storage
from deployments.models import (
    Deployment,
    DeploymentFile,
)
from deployments.selectors.site import warning
from gharart.errors import ApplicationError

# --- Deployments -------------------------------------------------------------------------

# Columns a list row never shows and that can be large (a 20,000-file deployment's rules,
# its deploy log, its missing-file list): left in the table, loaded only when one is opened.
LIST_DEFERRED = ("site_rules", "log", "missing_files", "gate_summary")


def deployment_list(*, handle, target=None, state=None):
    # The handle is joined, not fetched once per row (the serializer shows its slug). Of the
    # rules only the problem lines are read, for the warnings' wording.
    qs = (
        Deployment.objects.filter(handle=handle)
        .select_related("created_by", "handle")
        .defer(*LIST_DEFERRED)
        .annotate(
            listed_redirect_problems=KeyTransform("redirect_problems", "site_rules"),
            listed_header_problems=KeyTransform("header_problems", "site_rules"),
        )
    )
    if target:
        qs = qs.filter(target=target)
    if state:
        qs = qs.filter(state=state)
    return qs.order_by("-created_at", "-pk")


def deployment_get(*, handle, deployment_id) -> Deployment:
    dep = Deployment.objects.select_related("created_by").filter(handle=handle, pk=deployment_id).first()
    if dep is None:
        raise ApplicationError(dc.DEPLOYMENT_NOT_FOUND, "No such deployment on this handle.", status=404)
    return dep




def deployment_files_by_type(*, deployment) -> dict:
    """{"text/html": 3, "image/png": 1, ...} (parameters like charset dropped)."""
    counts = Counter()
    for ctype in DeploymentFile.objects.filter(deployment=deployment).values_list("content_type", flat=True):
        counts[ctype.split(";")[0].strip()] += 1
    return dict(sorted(counts.items()))




def _lines_in_words(problems):
    lines = [p["line"] for p in problems if p["line"]]
    if not lines:
        return ""
    if len(lines) == 1:
        return f"line {lines[0]}"
    shown = ", ".join(str(n) for n in lines[:10])
    return f"lines {shown}" + (f" and {len(lines) - 10} more" if len(lines) > 10 else "")


def deployment_warning_details(*, deployment) -> list:
    """The deployment's warnings, each ``{"code","message","details"}`` (line numbers for rule files)."""
    out = []
    for code in deployment.warnings or []:
        if code in (dc.WARNING_REDIRECTS_INVALID, dc.WARNING_HEADERS_INVALID):
            problems = _rule_problems(deployment, "redirect_problems" if code == dc.WARNING_REDIRECTS_INVALID else "header_problems")
            name = "_redirects" if code == dc.WARNING_REDIRECTS_INVALID else "_headers"
            where = _lines_in_words(problems)
            message = f"{len(problems)} line(s) of {name} could not be used and are skipped" + (f" ({where})" if where else "") + "; the rest of the site is served."
            out.append(warning(code, message, file=name, lines=[p["line"] for p in problems], problems=problems))
        else:
            out.append(warning(code, dc.WARNING_MESSAGES.get(code, code)))
    return out


def _rule_kind(status):
    return "redirect" if status in siterules.REDIRECT_STATUSES else ("rewrite" if status == 200 else "not found")


def _rule_words(rule):
    """What a redirect rule does, in words, for the dashboard's rules table."""
    status = rule["status"]
    if status in siterules.REDIRECT_STATUSES:
        what = f"Redirect ({status})"
    elif status == 200:
        what = "Serves the target at the same address"
    else:
        what = "Serves the target as “not found” (404)"
    return what + (", even where a file exists" if rule["force"] else ", where no file exists")


def _rule_problems(deployment, key) -> list:
    """The rule file's problem lines: from the list's annotation, else from ``site_rules``."""
    listed = f"listed_{key}"
    if hasattr(deployment, listed):
        return getattr(deployment, listed) or []
    return (deployment.site_rules or {}).get(key) or []


def deployment_site_rules_summary(*, deployment, first=10) -> dict:
    """What the dashboard shows of a deployment's rule files: counts, skipped lines, the first rules."""
    rules = deployment.site_rules or {}
    redirects = rules.get("redirects") or []
    headers = rules.get("headers") or []
    return {
        "has_rules": bool(rules),
        "redirect_count": len(redirects),
        "header_block_count": len(headers),
        "first_redirects": [
            {**r, "status_text": f"{r['status']}{'!' if r['force'] else ''}", "kind": _rule_kind(r["status"]), "what": _rule_words(r)}
            for r in redirects[:first]
        ],
        "first_headers": headers[:first],
        "redirect_problems": rules.get("redirect_problems") or [],
        "header_problems": rules.get("header_problems") or [],
    }



def deployment_missing_files(*, deployment) -> list:
    """Paths whose bytes are not in storage (checks storage itself; parallel on object storage)."""
    by_sha = {}
    for path, sha in DeploymentFile.objects.filter(deployment=deployment).values_list("path", "sha256"):
        by_sha.setdefault(sha, []).append(path)
    missing = []
    for sha in storage.blobs_missing(by_sha):
        missing.extend(by_sha[sha])
    return sorted(missing)


