"""Reads for deployments, releases, site mode and function bindings.

The profile route's hot path is ``live_state`` (handle -> site mode, live deployments and
bindings) and ``manifest_lookup`` (deployment + path -> blob). Both are cached: the live
state in the shared cache (and for a few seconds in the process) under a generation
number that promote, rollback, site-mode and binding changes bump after they commit; manifest entries forever (a deployment never
changes), in the shared cache and in a small per-process LRU. A warm request makes no
database query at all.

The shared cache is only a copy: when it cannot be reached, both read the database (with
a logged warning) and the profile route keeps serving. A generation bump that fails is
retried by the process on its next live-state read once the cache answers again.
"""

import hashlib
import threading
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from urllib.parse import unquote

from django.core.cache import cache
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.db.models.fields.json import KeyTransform
from django.utils import timezone

from deployments import constants as dc
from deployments import siterules, storage
from deployments.models import (
    Blob,
    Deployment,
    DeploymentFile,
    FormSubmission,
    FunctionBinding,
    LivePointer,
    Release,
    ScheduledRelease,
    UploadRefusal,
)
from deployments.resolver import ManifestEntry
from gharart import constants as c
from gharart.degraded import CACHE_ERRORS, cache_guard, cache_unavailable
from gharart.errors import ApplicationError
from gharart.models import Handle

LIVE_STATE_TTL = 600
# Longer than any state cached under it; a counter that expires restarts from a new value.
GENERATION_TTL = 30 * 86400
MANIFEST_TTL = 7 * 86400
_MISSING = "-"


# --- Live state (cached) -----------------------------------------------------------------

@dataclass
class BindingSpec:
    id: str
    route: str
    methods: tuple
    function: str
    config: dict
    deployment_id: str | None


@dataclass
class LiveState:
    """What a handle's public routes serve, as cached for the profile route."""

    handle_id: int
    slug: str
    site_mode: str
    deployments: dict = field(default_factory=dict)  # target -> Deployment (a snapshot)
    bindings: list = field(default_factory=list)

    def active_bindings(self):
        live = self.deployments.get(dc.TARGET_SITE)
        live_id = live.id if live is not None else None
        return [b for b in self.bindings if b.deployment_id is None or b.deployment_id == live_id]


def _generation_key(slug):
    return f"deployments:live-gen:{slug}"


def _state_key(slug, generation):
    return f"deployments:live:{slug}:{generation}"


def _slug_of(handle):
    return handle if isinstance(handle, str) else handle.slug


# Per-process memo of live states by (slug, generation). A generation's state never
# changes, so this is safe; the short lifetime only bounds staleness if the shared cache
# loses the generation counter itself.
_local_states: dict = {}
LOCAL_STATE_SECONDS = 5


def _generation(slug):
    """The slug's generation counter; None (and nothing written) for an unknown handle."""
    key = _generation_key(slug)
    generation = cache.get(key)
    if generation is None:
        # Anyone can ask for /profiles/<anything>/: only a real handle gets a key.
        if not Handle.objects.filter(slug=slug).exists():
            return None
        # Start from a value never used before, so states cached under an older counter
        # (lost to eviction, expiry or a cache restart) are never read again.
        cache.add(key, time.time_ns(), timeout=GENERATION_TTL)
        generation = cache.get(key, 0)
    return generation


def live_generation(slug: str):
    """The slug's live-state generation as the shared cache holds it, without the database.

    None when the cache has no counter yet, or a bump is still owed from a cache outage
    (``live_state`` then answers and repairs). Raises CACHE_ERRORS while the cache is down.
    """
    if _failed_bumps:
        return None
    cache_guard()
    return cache.get(_generation_key(slug))


def live_state(slug: str) -> LiveState | None:
    """The cached live state of handle ``slug`` (None for an unknown handle)."""
    try:
        cache_guard()
        _retry_failed_bumps()
        generation = _generation(slug)
    except CACHE_ERRORS as exc:
        cache_unavailable("live state read from the database", exc)
        return _live_state_from_db(slug)
    if generation is None:
        return None
    now = time.monotonic()
    memo = _local_states.get((slug, generation))
    if memo is not None and memo[1] > now:
        return memo[0]
    key = _state_key(slug, generation)
    try:
        state = cache.get(key)
    except CACHE_ERRORS as exc:
        cache_unavailable("live state read from the database", exc)
        return _live_state_from_db(slug)
    if state is None:
        state = _live_state_from_db(slug)
        if state is not None:
            try:
                cache.set(key, state, LIVE_STATE_TTL)
            except CACHE_ERRORS as exc:
                cache_unavailable("live state not cached", exc)
    if state is not None:
        if len(_local_states) > 1000:
            _local_states.clear()
        _local_states[(slug, generation)] = (state, now + LOCAL_STATE_SECONDS)
    return state


def _live_state_from_db(slug):
    handle = Handle.objects.filter(slug=slug).only("id", "slug", "site_mode").first()
    if handle is None:
        return None
    deployments = {p.target: p.deployment for p in LivePointer.objects.filter(handle=handle, deployment__isnull=False).select_related("deployment")}
    bindings = [
        BindingSpec(id=b.id, route=b.route, methods=tuple(b.methods), function=b.function, config=b.config, deployment_id=b.deployment_id)
        for b in FunctionBinding.objects.filter(handle=handle).order_by("created_at")
    ]
    return LiveState(handle_id=handle.id, slug=handle.slug, site_mode=handle.site_mode, deployments=deployments, bindings=bindings)


# Slugs whose generation bump failed while the cache was down: a cache that comes back
# with its old data must not keep serving the state from before the change.
_failed_bumps: set = set()


def _bump(slug):
    key = _generation_key(slug)
    try:
        cache.incr(key)
        cache.touch(key, GENERATION_TTL)
    except ValueError:  # no counter yet (or it was lost): start a fresh one
        cache.set(key, time.time_ns(), timeout=GENERATION_TTL)


def _retry_failed_bumps():
    for slug in list(_failed_bumps):
        _bump(slug)  # raises CACHE_ERRORS while the cache is still down
        _failed_bumps.discard(slug)
        _local_states.clear()


def live_state_invalidate(slug: str):
    """Drop the cached live state of ``slug`` once the current transaction commits."""

    def bump():
        try:
            cache_guard()
            _bump(slug)
        except CACHE_ERRORS as exc:
            _failed_bumps.add(slug)
            cache_unavailable("live state generation not bumped (retried later)", exc)

    transaction.on_commit(bump)


def live_deployment(*, handle, target) -> Deployment | None:
    """The live deployment of ``handle`` (a Handle or slug) for ``target``, from the cache.

    The instance is a snapshot for serving: re-read it before changing it.
    """
    state = live_state(_slug_of(handle))
    if state is None:
        return None
    return state.deployments.get(target)


def live_deployment_ids(*, handle) -> dict:
    """{target: deployment_id} of what is live now (from the database)."""
    return dict(LivePointer.objects.filter(handle=handle, deployment__isnull=False).values_list("target", "deployment_id"))


# --- Manifest lookups (cached forever: deployments are immutable) -------------------------

class _LRU:
    def __init__(self, size):
        self.size = size
        self.data = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            if key in self.data:
                self.data.move_to_end(key)
                return self.data[key]
        return None

    def put(self, key, value):
        with self.lock:
            self.data[key] = value
            self.data.move_to_end(key)
            while len(self.data) > self.size:
                self.data.popitem(last=False)

    def clear(self):
        with self.lock:
            self.data.clear()


_local_manifest = _LRU(20_000)
# Paths a deployment does not hold: anyone can ask for endless ones, so they are kept
# only here (bounded, per process), never in the shared cache, and apart from the hits
# so a scan cannot push real entries out.
_local_missing = _LRU(20_000)


def _file_key(deployment_id, path):
    # v2: content types of compressed files (.gz, .br, ...) were corrected.
    return f"deployments:file:v2:{deployment_id}:{hashlib.sha1(path.encode()).hexdigest()}"


def manifest_lookup(deployment_id: str, paths) -> dict:
    """{path: ManifestEntry} for those of ``paths`` that the deployment holds."""
    paths = list(dict.fromkeys(paths))
    found, missing = {}, []
    for path in paths:
        hit = _local_manifest.get((deployment_id, path))
        if hit is not None and hit != _MISSING:
            found[path] = hit
        elif hit is None and _local_missing.get((deployment_id, path)) is None:
            missing.append(path)
    if not missing:
        return found
    keys = {_file_key(deployment_id, p): p for p in missing}
    try:
        cache_guard()
        cached = cache.get_many(list(keys))
    except CACHE_ERRORS as exc:
        cache_unavailable("manifest read from the database", exc)
        cached = {}
    still = []
    for key, path in keys.items():
        if key in cached:
            value = cached[key]
            _local_manifest.put((deployment_id, path), value)
            if value != _MISSING:
                found[path] = value
        else:
            still.append(path)
    if still:
        rows = DeploymentFile.objects.filter(deployment_id=deployment_id, path__in=still).values_list("path", "sha256", "size", "content_type", "confidential")
        from_db = {r[0]: ManifestEntry(*r) for r in rows}
        to_cache = {}
        for path in still:
            value = from_db.get(path)
            if value is None:
                _local_missing.put((deployment_id, path), _MISSING)
                continue
            to_cache[_file_key(deployment_id, path)] = value
            _local_manifest.put((deployment_id, path), value)
            found[path] = value
        if to_cache:
            try:
                cache_guard()
                cache.set_many(to_cache, MANIFEST_TTL)
            except CACHE_ERRORS as exc:
                cache_unavailable("manifest not cached", exc)
    return found


def manifest_lookup_for(deployment):
    """A resolver lookup bound to one deployment."""
    return lambda paths: manifest_lookup(deployment.id, paths)


# --- Site rules (parsed at ingest; indexed once per process) --------------------------------

_rule_sets = _LRU(512)


def site_rules_for(deployment) -> siterules.RuleSet:
    """The deployment's ``_redirects``/``_headers`` as stored at ingest, indexed for matching."""
    stored = getattr(deployment, "site_rules", None)
    if not stored:
        return siterules.EMPTY
    rules = _rule_sets.get(deployment.id)
    if rules is None:
        rules = siterules.RuleSet(stored)
        _rule_sets.put(deployment.id, rules)
    return rules


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


def deployment_path_decide(deployment, path, *, query=""):
    """What answers ``path`` of ``deployment`` (a file, a rule, a 404): ``siterules.Decision``.

    The one decision behind every route that serves a deployment (``serving.decide``), the
    edge docs' access check and the dashboard's "test a path" box.
    """
    return siterules.decide(path, manifest_lookup_for(deployment), site_rules_for(deployment), query=query)


def deployment_path_explain(*, deployment, path) -> dict:
    """Which rule or file answers ``path`` (with an optional ``?query``), in words and as data."""
    raw = (path or "").strip()
    raw_path, _, query = raw.split("#", 1)[0].partition("?")
    # As a request arrives at the serving function: decoded, below the site root.
    decision = deployment_path_decide(deployment, unquote(raw_path).lstrip("/"), query=query)
    return {"path": raw or "/", "decision": decision, "text": siterules.explain(decision)}


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




def deployment_releases(*, deployment):
    """Releases this deployment took part in (made live, or was replaced)."""
    return Release.objects.filter(Q(deployment=deployment) | Q(previous_deployment=deployment)).select_related("actor", "deployment").order_by("-created_at")


def blobs_held_queries(*, handle_id, lock=False):
    """The two semi-joins behind ``blobs_held`` (in the handle's deployments, in its files), each a function of the wanted hashes."""
    from files.models import File

    blobs = Blob.objects.select_for_update() if lock else Blob.objects.all()
    in_deployments = DeploymentFile.objects.filter(sha256=OuterRef("sha256"), held=True, deployment__handle_id=handle_id)
    in_files = File.objects.filter(sha256=OuterRef("sha256"), handle_id=handle_id)
    return (
        lambda wanted: blobs.filter(sha256__in=wanted).filter(Exists(in_deployments)).values_list("sha256", "size"),
        lambda wanted: blobs.filter(sha256__in=wanted).filter(Exists(in_files)).values_list("sha256", "size"),
    )


def blobs_held(*, handle_id, shas, lock=False) -> dict:
    """{sha256: size} of those of ``shas`` whose bytes the handle already holds.

    A handle holds a blob when one of its deployments lists it as held (sent and verified,
    or held before) or one of its files is those bytes, and the blob is stored. Whether
    another handle holds the same bytes never matters. Two semi-joins driven by the
    indexes on ``sha256`` (one probe per hash, whatever the size of the store);
    ``lock`` takes the blob rows ``FOR UPDATE`` so a cleanup cannot remove them before
    the caller's rows commit.
    """
    rest = list(shas)
    held = {}
    for query in blobs_held_queries(handle_id=handle_id, lock=lock):
        if not rest:
            break
        held.update(query(rest))
        rest = [s for s in rest if s not in held]
    return held


def deployment_required_query(*, deployment, after=""):
    """The distinct sha256s the deployment still waits for, sorted (a queryset)."""
    qs = DeploymentFile.objects.filter(deployment=deployment, held=False)
    if after:
        qs = qs.filter(sha256__gt=after)
    return qs.order_by("sha256").values_list("sha256", flat=True).distinct()


def deployment_required_blobs(*, deployment, after="", limit=None) -> list:
    """The sha256s the deployment still waits for (sorted; ``after``/``limit`` page them).

    Read from the deployment's own entries through the partial index of waiting entries:
    the blob table is not consulted, so the cost follows the deployment, not the store.
    """
    qs = deployment_required_query(deployment=deployment, after=after)
    if limit is not None:
        qs = qs[:limit]
    return list(qs)


def deployment_waiting_entries(*, deployment, shas):
    """The deployment's entries of ``shas`` still waiting for their bytes (partial index)."""
    return DeploymentFile.objects.filter(deployment=deployment, held=False, sha256__in=list(shas))


def deployment_missing_files(*, deployment) -> list:
    """Paths whose bytes are not in storage (checks storage itself; parallel on object storage)."""
    by_sha = {}
    for path, sha in DeploymentFile.objects.filter(deployment=deployment).values_list("path", "sha256"):
        by_sha.setdefault(sha, []).append(path)
    missing = []
    for sha in storage.blobs_missing(by_sha):
        missing.extend(by_sha[sha])
    return sorted(missing)


def deployment_gate_checks(*, deployment) -> list:
    """The preview gate checklist shown by the preview report and the dashboard."""
    return [
        {
            "name": "preview_opened",
            "ok": deployment.preview_opened_at is not None,
            "at": deployment.preview_opened_at,
        },
        {
            "name": "integrity",
            "ok": deployment.integrity_checked_at is not None and not deployment.missing_files,
            "at": deployment.integrity_checked_at,
            "missing_files": list(deployment.missing_files or []),
        },
        {
            "name": "replay",
            "ok": deployment.gate_status != dc.GATE_FAILED,
            "status": deployment.gate_status,
            "replay_run_id": deployment.gate_replay_run_id or None,
            "summary": deployment.gate_summary,
            "at": deployment.gate_updated_at,
        },
    ]


def deployment_gate_open(*, deployment) -> bool:
    """True when a normal (not forced) promote may proceed past the preview gate."""
    return deployment.preview_opened_at is not None and deployment.gate_status != dc.GATE_FAILED


# --- Releases ----------------------------------------------------------------------------

def release_list(*, handle, target=None):
    qs = Release.objects.filter(handle=handle).select_related("actor", "deployment")
    if target:
        qs = qs.filter(target=target)
    return qs.order_by("-created_at", "-pk")


def release_latest(*, handle, target):
    return Release.objects.filter(handle=handle, target=target).order_by("-created_at").first()


# --- Site mode ---------------------------------------------------------------------------

def warning(code, message, **details):
    return {"code": code, "message": message, "details": details}


def site_status(*, handle) -> dict:
    """What the profile route serves and whether the mode matches what is live."""
    live_id = LivePointer.objects.filter(handle=handle, target=dc.TARGET_SITE).values_list("deployment_id", flat=True).first()
    mode = handle.site_mode
    if mode == c.SITE_MODE_LINKS:
        serving = dc.SERVING_LINKS_PAGE
    elif mode == c.SITE_MODE_MAINTENANCE:
        serving = dc.SERVING_MAINTENANCE_PAGE
    else:
        serving = dc.SERVING_DEPLOYMENT if live_id else dc.SERVING_NO_SITE
    details = []
    if live_id and mode != c.SITE_MODE_DEPLOYMENT:
        details.append(
            warning(
                dc.WARNING_SITE_MODE_MISMATCH,
                f"A site deployment is live, but the site mode is “{dict(c.SITE_MODE_CHOICES).get(mode, mode)}”, so /profiles/{handle.slug}/ serves the {serving.replace('_', ' ')} instead of it.",
                mode=mode,
                live_deployment_id=live_id,
            )
        )
    elif not live_id and mode == c.SITE_MODE_DEPLOYMENT:
        details.append(
            warning(
                dc.WARNING_SITE_MODE_MISMATCH,
                "The site mode is “Deployed site” but no site deployment is live, so the profile route answers 404 “no site published”.",
                mode=mode,
                live_deployment_id=None,
            )
        )
    return {
        "mode": mode,
        "live_deployment_id": live_id,
        "serving": serving,
        "warnings": [w["code"] for w in details],
        "warning_details": details,
    }


# --- Function bindings -------------------------------------------------------------------

def binding_list(*, handle):
    return FunctionBinding.objects.filter(handle=handle).order_by("-created_at", "-pk")


def binding_get(*, handle, binding_id) -> FunctionBinding:
    binding = FunctionBinding.objects.filter(handle=handle, pk=binding_id).first()
    if binding is None:
        raise ApplicationError(dc.BINDING_NOT_FOUND, "No such function binding on this handle.", status=404)
    return binding


def binding_status(binding, live_site_id) -> str:
    if binding.deployment_id is None or binding.deployment_id == live_site_id:
        return dc.BINDING_ACTIVE
    return dc.BINDING_STALE


def binding_stale_list(*, handle, live_site_id=None):
    """Bindings pinned to a deployment that is not the live site deployment."""
    if live_site_id is None:
        live_site_id = live_deployment_ids(handle=handle).get(dc.TARGET_SITE)
    return list(FunctionBinding.objects.filter(handle=handle, deployment__isnull=False).exclude(deployment_id=live_site_id).order_by("route"))


def submission_list(*, binding):
    return FormSubmission.objects.filter(binding=binding).order_by("-created_at", "-pk")


# --- Overview panel ----------------------------------------------------------------------

def overview_panel(*, handle, membership):
    """What is live, the site mode and what needs attention, for the handle overview."""
    live = {}
    for pointer in LivePointer.objects.filter(handle=handle, deployment__isnull=False).select_related("deployment", "release", "release__actor"):
        live[pointer.target] = {"deployment": pointer.deployment, "release": pointer.release}
    status = site_status(handle=handle)
    warnings = list(status["warning_details"])
    site_live = live.get(dc.TARGET_SITE)
    stale = binding_stale_list(handle=handle, live_site_id=site_live["deployment"].id if site_live else None)
    if stale:
        warnings.append(
            warning(
                dc.WARNING_STALE_FUNCTION_BINDINGS,
                f"{len(stale)} function binding(s) are pinned to a deployment that is not live and do not answer: " + ", ".join(b.route for b in stale),
                binding_ids=[b.id for b in stale],
            )
        )
    for target, item in live.items():
        dep = item["deployment"]
        if dep.missing_files:
            warnings.append(
                warning(
                    dc.WARNING_MISSING_ARTIFACT_FILES,
                    f"The live {target} deployment v{dep.version} is missing files in storage: " + ", ".join(dep.missing_files[:10]),
                    deployment_id=dep.id,
                    missing_files=dep.missing_files,
                )
            )
    in_flight = Deployment.objects.filter(handle=handle, state__in=(dc.UPLOADING, dc.PROCESSING)).count()
    return {
        "template": "deployments/_overview_panel.html",
        "context": {
            "handle": handle,
            "live_site": site_live,
            "live_docs": live.get(dc.TARGET_DOCS),
            "site_status": status,
            "serving_label": status["serving"].replace("_", " "),
            "warnings": warnings,
            "in_flight": in_flight,
            "now": timezone.now(),
        },
    }


# --- Scheduled releases ------------------------------------------------------------------

def scheduled_release_list(*, handle, state=None, deployment=None):
    """The handle's scheduled releases, newest first (``?state=``, or one deployment's)."""
    qs = ScheduledRelease.objects.filter(handle=handle).select_related("deployment", "created_by")
    if state:
        qs = qs.filter(state=state)
    if deployment is not None:
        qs = qs.filter(deployment_ref=deployment.id)
    return qs.order_by("-created_at", "-pk")


def scheduled_release_get(*, handle, scheduled_id):
    sched = ScheduledRelease.objects.select_related("deployment", "created_by").filter(handle=handle, pk=scheduled_id).first()
    if sched is None:
        raise ApplicationError(dc.SCHEDULED_RELEASE_NOT_FOUND, "No such scheduled release on this handle.", status=404)
    return sched


def upload_refusal_list(*, handle, target=None):
    """The handle's refused uploads (the upload log), newest first."""
    qs = UploadRefusal.objects.filter(handle=handle).select_related("created_by")
    if target:
        qs = qs.filter(target=target)
    return qs.order_by("-created_at", "-pk")
