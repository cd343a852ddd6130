"""Reads of what is live: the live-state cache and manifest lookups of the profile route.

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
from collections import OrderedDict
from dataclasses import dataclass, field
from urllib.parse import unquote

from django.core.cache import cache
from django.db import transaction

from deployments import constants as dc
from deployments import siterules
from deployments.models import (
    Deployment,
    DeploymentFile,
    FunctionBinding,
    LivePointer,
)
from deployments.resolver import ManifestEntry
from gharart.degraded import CACHE_ERRORS, cache_guard, cache_unavailable
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


