"""Site rules shipped inside a deployment: ``/_redirects`` and ``/_headers`` (Netlify / Cloudflare Pages).

Pure code (no I/O of its own), in two halves:

- **Parsing, once per deployment, at ingest** (``compile_site_rules``): both files are read
  when the deployment turns ready and stored, already split into segments and checked,
  in ``Deployment.site_rules``. A line that cannot be read is skipped and reported with
  its line number (warnings ``redirects_invalid`` / ``headers_invalid``); it never fails
  the deployment. At most ``MAX_RULES`` redirect rules are kept.
- **Deciding what answers a path** (``decide``), on every request of every route that
  serves a deployment and in the dashboard's "test a path" box. ``RuleSet`` indexes the
  stored rules by their first path segment, so a path that matches no rule costs one
  dict lookup whatever the number of rules.

Redirect rule semantics (API.md, "Site rules in the deployment"; Netlify's where the
contract is silent): ``FROM TO [STATUS][!]``; the first matching rule wins; without ``!``
a rule applies only where no file answers the path; ``:name`` matches one segment, a
final ``*`` the rest of the path (also nothing: ``/news/*`` matches ``/news``) and is
``:splat`` in TO; a trailing slash in FROM or in the path does not matter. Placeholder
values come from the (already decoded and checked) request segments and are
percent-encoded again in a ``Location``; in an absolute TO they may only appear in the
path or query, never in the scheme or host, so a rule cannot redirect anywhere its text
does not name.
"""

import re
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

from deployments import resolver

REDIRECTS_FILE = "/_redirects"
HEADERS_FILE = "/_headers"
RULE_FILES = (REDIRECTS_FILE, HEADERS_FILE)
MAX_RULES = 1000
MAX_HEADER_BLOCKS = 1000
MAX_FILE_BYTES = 512 * 1024
MAX_LINE_CHARS = 2000
FORMAT_VERSION = 1

REDIRECT_STATUSES = (301, 302, 303, 307, 308)
REWRITE_STATUSES = (200, 404)
STATUSES = REDIRECT_STATUSES + REWRITE_STATUSES
DEFAULT_STATUS = 301

# Decision kinds.
FILE = "file"
REDIRECT = "redirect"
REWRITE = "rewrite"
NOT_FOUND = "not_found"
SLASH = "trailing_slash"
HIDDEN = "rule_file"

_PLACEHOLDER = re.compile(r":([A-Za-z_][A-Za-z0-9_]*)")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
# Characters left as they are when a substituted path goes into a Location header.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"

# --- Headers a _headers file may not set -------------------------------------------------
# Hop-by-hop headers (RFC 9110 section 7.6.1) describe one connection, not the content.
HOP_BY_HOP_HEADERS = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"})
# Headers the platform owns: framing of the body, caching validators, the platform's own
# identity and security headers, and headers that act on the whole origin (which on
# /profiles/ and /previews/ is the dashboard's).
PLATFORM_HEADERS = frozenset(
    {
        "content-length",
        "content-encoding",
        "content-range",
        "accept-ranges",
        "etag",
        "last-modified",
        "location",
        "date",
        "server",
        "age",
        "set-cookie",
        "clear-site-data",
        "strict-transport-security",
        "access-control-allow-credentials",
        "service-worker-allowed",
        "x-content-type-options",
        "x-frame-options",
        "x-request-id",
        "x-accel-redirect",
        "x-accel-buffering",
        "x-sendfile",
        "www-authenticate",
        "retry-after",
    }
)
PLATFORM_HEADER_PREFIXES = ("x-gharart-", "x-accel-")
# Headers whose values add up with the platform's instead of replacing them: every
# Content-Security-Policy in one header (comma-separated) is enforced, so a site's policy
# can only narrow the platform's sandbox; Vary only grows.
MERGED_HEADERS = frozenset({"content-security-policy", "vary"})


def header_refusal(name: str) -> str | None:
    """Why a ``_headers`` file may not set ``name``, or None when it may."""
    lower = name.lower()
    if not _HEADER_NAME.match(name):
        return f"“{name}” is not a valid header name"
    if lower in HOP_BY_HOP_HEADERS:
        return f"{name} is a hop-by-hop header and describes the connection, not the page"
    if lower in PLATFORM_HEADERS or lower.startswith(PLATFORM_HEADER_PREFIXES):
        return f"{name} is set by the platform and cannot be changed by the site"
    return None


# --- Parsing -----------------------------------------------------------------------------

@dataclass
class Compiled:
    """What ``compile_site_rules`` stores (``as_json``) and the warnings it found."""

    redirects: list = field(default_factory=list)
    headers: list = field(default_factory=list)
    redirect_problems: list = field(default_factory=list)
    header_problems: list = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "version": FORMAT_VERSION,
            "redirects": self.redirects,
            "headers": self.headers,
            "redirect_problems": self.redirect_problems,
            "header_problems": self.header_problems,
        }


def _problem(line, text, reason):
    return {"line": line, "text": text[:200], "reason": reason}


def _split_pattern(source):
    """FROM as ``(segments, splat)``, or a reason string when it cannot be a pattern."""
    if not source.startswith("/") or source.startswith("//"):
        return "FROM must be a path starting with a single /"
    if "?" in source or "#" in source:
        return "FROM cannot hold a query string or a fragment"
    segments = [s for s in source.split("/") if s != ""]
    if resolver.safe_segments(source) is None:
        return "FROM holds a dot segment, a backslash or a control character"
    splat = False
    if segments and segments[-1] == "*":
        splat = True
        segments = segments[:-1]
    for segment in segments:
        if "*" in segment:
            return "* may only stand as the last segment of FROM"
        if segment.startswith(":") and not _PLACEHOLDER.fullmatch(segment):
            return f"“{segment}” is not a placeholder name (letters, digits, _)"
    return segments, splat


def _check_target(target, status):
    """None when TO is acceptable for this status, else the reason."""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return "TO holds a control character"
    if target.startswith(("http://", "https://")):
        if status in REWRITE_STATUSES:
            return "an absolute URL can only be the target of a redirect (301, 302, 303, 307 or 308), not of a rewrite"
        netloc = urlsplit(target).netloc
        if "@" in netloc or "\\" in target:
            return "the absolute URL holds credentials or a backslash"
        host = re.sub(r":\d+$", "", netloc)
        if ":" in host and not host.startswith("["):
            return "placeholders cannot stand in the scheme or host of an absolute URL"
        if not host:
            return "the absolute URL has no host"
        return None
    if not target.startswith("/") or target.startswith("//"):
        return "TO must be a path starting with a single / or an absolute http(s) URL"
    path = target.split("?", 1)[0].split("#", 1)[0]
    if resolver.safe_segments(path) is None:
        return "TO holds a dot segment, a backslash or a control character"
    return None


def parse_redirects(text: str) -> tuple[list, list]:
    """``(rules, problems)``: the stored rules and the lines that were skipped (with why)."""
    rules, problems = [], []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        # A comment may also end a line ("/a /b 301 # moved").
        line = re.split(r"\s+#", line, maxsplit=1)[0].strip()
        if len(raw) > MAX_LINE_CHARS:
            problems.append(_problem(number, raw, f"the line is longer than {MAX_LINE_CHARS} characters"))
            continue
        tokens = line.split()
        if len(tokens) < 2:
            problems.append(_problem(number, raw, "a rule needs FROM and TO"))
            continue
        if len(tokens) > 3 or any("=" in t for t in tokens[1:]):
            problems.append(_problem(number, raw, "query-string matching and conditions (Country=, Role=, ...) are not supported"))
            continue
        source, target = tokens[0], tokens[1]
        pattern = _split_pattern(source)
        if isinstance(pattern, str):
            problems.append(_problem(number, raw, pattern))
            continue
        status, force = DEFAULT_STATUS, False
        if len(tokens) == 3:
            code = tokens[2]
            if code.endswith("!"):
                force, code = True, code[:-1]
            if not code.isdigit() or int(code) not in STATUSES:
                problems.append(_problem(number, raw, f"“{tokens[2]}” is not one of the statuses 301, 302, 303, 307, 308, 200, 404 (optionally followed by !)"))
                continue
            status = int(code)
        reason = _check_target(target, status)
        if reason:
            problems.append(_problem(number, raw, reason))
            continue
        if len(rules) >= MAX_RULES:
            problems.append(_problem(number, raw, f"only the first {MAX_RULES} rules are used"))
            continue
        segments, splat = pattern
        rules.append({"line": number, "from": source, "to": target, "status": status, "force": force, "segments": segments, "splat": splat})
    return rules, problems


def parse_headers(text: str) -> tuple[list, list]:
    """``(blocks, problems)``: ``[{"line","pattern","headers":[[name, value], ...]}]``."""
    blocks, problems = [], []
    current = None
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if len(raw) > MAX_LINE_CHARS:
            problems.append(_problem(number, raw, f"the line is longer than {MAX_LINE_CHARS} characters"))
            continue
        if not raw[:1].isspace():
            if not stripped.startswith("/") or stripped.startswith("//") or " " in stripped:
                problems.append(_problem(number, raw, "a path pattern starts with a single / on a line of its own; header lines are indented"))
                current = None
                continue
            if len(blocks) >= MAX_HEADER_BLOCKS:
                problems.append(_problem(number, raw, f"only the first {MAX_HEADER_BLOCKS} path patterns are used"))
                current = None
                continue
            current = {"line": number, "pattern": stripped, "headers": []}
            blocks.append(current)
            continue
        if current is None:
            problems.append(_problem(number, raw, "a header line comes before any path pattern"))
            continue
        name, sep, value = stripped.partition(":")
        name, value = name.strip(), value.strip()
        if not sep or not name:
            problems.append(_problem(number, raw, "a header line reads “Name: value”"))
            continue
        refusal = header_refusal(name)
        if refusal:
            problems.append(_problem(number, raw, refusal))
            continue
        if any(ord(ch) < 32 and ch != "\t" for ch in value):
            problems.append(_problem(number, raw, "the value holds a control character"))
            continue
        current["headers"].append([name, value])
    return [b for b in blocks if b["headers"]], problems


def _text(data: bytes | None):
    if data is None:
        return "", []
    if len(data) > MAX_FILE_BYTES:
        return data[:MAX_FILE_BYTES].decode("utf-8", errors="replace").rsplit("\n", 1)[0], [
            _problem(0, "", f"the file is larger than {MAX_FILE_BYTES // 1024} KB; the rest is ignored")
        ]
    return data.decode("utf-8", errors="replace"), []


def compile_site_rules(*, redirects: bytes | None, headers: bytes | None) -> Compiled:
    """Parse the two rule files (either may be None: not in the deployment)."""
    out = Compiled()
    text, problems = _text(redirects)
    out.redirects, found = parse_redirects(text)
    out.redirect_problems = problems + found
    text, problems = _text(headers)
    out.headers, found = parse_headers(text)
    out.header_problems = problems + found
    return out


# --- Matching ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    index: int
    line: int
    source: str
    target: str
    status: int
    force: bool
    segments: tuple
    splat: bool

    def match(self, segments) -> dict | None:
        n = len(self.segments)
        if len(segments) < n or (not self.splat and len(segments) != n):
            return None
        params = {}
        for pattern, value in zip(self.segments, segments, strict=False):
            if pattern[:1] == ":":
                params[pattern[1:]] = value
            elif pattern != value:
                return None
        if self.splat:
            params["splat"] = "/".join(segments[n:])
        return params

    def describe(self) -> dict:
        return {"line": self.line, "from": self.source, "to": self.target, "status": self.status, "force": self.force}


def _glob(pattern):
    return re.compile("^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$", re.DOTALL)


class _Node:
    """One level of the rule trie: literal segments, one placeholder branch, rules ending here.

    ``exact``/``splat`` keep the lowest rule index ending at this node (all rules, and
    forced ones only), so matching never walks a list of rules.
    """

    __slots__ = ("children", "param", "exact", "exact_forced", "splat", "splat_forced")

    def __init__(self):
        self.children = {}
        self.param = None
        self.exact = self.exact_forced = self.splat = self.splat_forced = None

    def add(self, rule):
        node = self
        for segment in rule.segments:
            if segment[:1] == ":":
                node.param = node.param or _Node()
                node = node.param
            else:
                node = node._child(segment)
        if rule.splat:
            node.splat = rule.index if node.splat is None else node.splat
            if rule.force and node.splat_forced is None:
                node.splat_forced = rule.index
        else:
            node.exact = rule.index if node.exact is None else node.exact
            if rule.force and node.exact_forced is None:
                node.exact_forced = rule.index

    def _child(self, segment):
        child = self.children.get(segment)
        if child is None:
            child = self.children[segment] = _Node()
        return child


class RuleSet:
    """The stored rules of one deployment, indexed for matching (built once per process).

    The index is a trie of FROM segments: finding the first rule that matches a path
    visits at most the path's segments along the literal and placeholder branches that
    exist, whatever the number of rules, and a path no rule can match leaves at once.
    """

    def __init__(self, stored: dict | None):
        stored = stored or {}
        self.rules = [
            Rule(i, r["line"], r["from"], r["to"], r["status"], r["force"], tuple(r["segments"]), r["splat"])
            for i, r in enumerate(stored.get("redirects") or [])
        ]
        self.root = _Node()
        for rule in self.rules:  # in file order, so each node keeps its first rule
            self.root.add(rule)
        self.header_blocks = [(_glob(b["pattern"]), b) for b in stored.get("headers") or []]
        # Header patterns by the literal text before their first "*" (a cheap pre-check).
        self.header_prefixes = [b["pattern"].split("*", 1)[0] for b in stored.get("headers") or []]

    def __bool__(self):
        return bool(self.rules or self.header_blocks)

    def first_match(self, segments, *, forced_only=False):
        """``(rule, params)`` of the first rule (in file order) matching ``segments``, or None."""
        best = None
        count = len(segments)
        stack = [(self.root, 0)]
        while stack:
            node, depth = stack.pop()
            found = node.splat_forced if forced_only else node.splat
            if found is not None and (best is None or found < best):
                best = found
            if depth == count:
                found = node.exact_forced if forced_only else node.exact
                if found is not None and (best is None or found < best):
                    best = found
                continue
            child = node.children.get(segments[depth])
            if child is not None:
                stack.append((child, depth + 1))
            if node.param is not None:
                stack.append((node.param, depth + 1))
        if best is None:
            return None
        rule = self.rules[best]
        return rule, rule.match(segments)

    def headers_for(self, path: str) -> list:
        """``[[name, value], ...]`` of every block whose pattern matches ``path``, in file order."""
        out = []
        for prefix, (regex, block) in zip(self.header_prefixes, self.header_blocks, strict=True):
            if path.startswith(prefix) and regex.match(path):
                out.extend(block["headers"])
        return out


EMPTY = RuleSet(None)


def substitute(target: str, params: dict) -> str:
    """TO with ``:name``/``:splat`` replaced (percent-encoded); unknown names stay as written."""
    if not params or ":" not in target:
        return target
    if target.startswith(("http://", "https://")):
        parts = urlsplit(target)
        head = f"{parts.scheme}://{parts.netloc}"
        rest = target[len(head):]
        return head + _substitute_path(rest, params)
    return _substitute_path(target, params)


def _substitute_path(text, params):
    path, q, query = text.partition("?")

    def repl(safe):
        def inner(match):
            name = match.group(1)
            if name not in params:
                return match.group(0)
            return quote(params[name], safe=safe)

        return inner

    out = _PLACEHOLDER.sub(repl(_PATH_SAFE), path)
    if q:
        out += "?" + _PLACEHOLDER.sub(repl("/:@!$'()*+,;-._~"), query)
    return out


def join_query(location: str, query: str) -> str:
    """``location`` with the request's query string kept (after any query TO has)."""
    if not query:
        return location
    return location + ("&" if "?" in location else "?") + query


@dataclass(frozen=True)
class Decision:
    """What answers a path: a file, a rule's redirect or rewrite, or nothing.

    ``entry`` is the manifest entry whose bytes are served (None for redirects and plain
    404s); ``location`` is site-relative (``/new?x=1``) or an absolute URL; ``rule`` is
    the answering rule's ``describe()``.
    """

    kind: str
    status: int
    entry: resolver.ManifestEntry | None = None
    location: str | None = None
    rule: dict | None = None


def _site_path(segments, trailing):
    path = "/" + "/".join(segments)
    return path + "/" if trailing and segments else path


def hidden_lookup(lookup: resolver.Lookup) -> resolver.Lookup:
    """A manifest lookup that never finds the rule files themselves (they are never served)."""

    def inner(paths):
        return {p: e for p, e in lookup(paths).items() if p not in RULE_FILES}

    return inner


def _resolve_target(target, lookup, status):
    """The decision for a rewrite (200) or a 404 rule to path ``target``."""
    path = target.split("?", 1)[0]
    found = resolver.resolve(path, lookup)
    if found is not None and found.status in (200, 301):
        # A rewrite to a folder serves its index (a rewrite never redirects).
        return found.entry, status
    if found is not None:
        return found.entry, 404  # the site's own 404 page
    return None, 404


def decide(path: str, lookup: resolver.Lookup, rules: RuleSet = EMPTY, *, query: str = "") -> Decision:
    """Decide what answers ``path`` (decoded, below the site root) of one deployment.

    The same function serves every route and the dashboard's "test a path" box.
    """
    lookup = hidden_lookup(lookup)
    segments = resolver.safe_segments(path)
    if segments is not None and len(segments) == 1 and "/" + segments[0] in RULE_FILES:
        return Decision(HIDDEN, 404, entry=lookup([resolver.NOT_FOUND_PAGE]).get(resolver.NOT_FOUND_PAGE))
    found = resolver.resolve(path, lookup)
    file_answers = found is not None and found.status in (200, 301)
    hit = rules.first_match(segments, forced_only=file_answers) if segments is not None and rules.rules else None
    if hit is not None:
        rule, params = hit
        if params is not None:
            target = substitute(rule.target, params)
            if rule.status in REDIRECT_STATUSES:
                return Decision(REDIRECT, rule.status, location=join_query(target, query), rule=rule.describe())
            entry, status = _resolve_target(target, lookup, rule.status)
            return Decision(REWRITE, status, entry=entry, rule=rule.describe())
    if found is None:
        return Decision(NOT_FOUND, 404)
    if found.status == 301:
        return Decision(SLASH, 301, entry=found.entry, location=join_query(quote(_site_path(segments, True), safe=_PATH_SAFE), query))
    if found.status == 404:
        return Decision(NOT_FOUND, 404, entry=found.entry)
    return Decision(FILE, 200, entry=found.entry)


def explain(decision: Decision) -> str:
    """The decision in words, for the dashboard."""
    rule = decision.rule
    where = f"line {rule['line']} of _redirects (“{rule['from']} {rule['to']} {rule['status']}{'!' if rule['force'] else ''}”)" if rule else ""
    if decision.kind == REDIRECT:
        return f"Redirected with status {decision.status} to {decision.location} by {where}."
    if decision.kind == REWRITE:
        if decision.entry is None:
            return f"Rewritten by {where}, but its target does not exist, so the answer is a plain 404."
        if decision.status == 404:
            return f"{decision.entry.path} is served with status 404, by {where}."
        return f"{decision.entry.path} is served (status 200, the address stays the same), by {where}."
    if decision.kind == SLASH:
        return f"Redirected with status 301 to {decision.location}: it is a folder with an index.html, so relative links need the trailing slash."
    if decision.kind == HIDDEN:
        return "The site's rule files are never served: this path answers 404."
    if decision.kind == FILE:
        return f"The file {decision.entry.path} answers (status 200); no rule applies."
    if decision.entry is not None:
        return f"No file and no rule answers: the site's {decision.entry.path} is served with status 404."
    return "No file and no rule answers: a plain 404."
