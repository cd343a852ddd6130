"""The crawler: breadth-first, same host, polite, bounded, and recording what it saw.

``crawl()`` walks a site level by level from its start URL. Fetching is delegated to a
*fetcher*: ``HttpFetcher`` (httpx through the SSRF-guarded transport, for registered
hostnames) or ``CallableFetcher`` (an in-process callable returning a Django response:
the handle's own profile site, or a deployment during a replay). Both follow at most N
redirects by hand, so every hop is checked and recorded, and stop reading a body past the
size limit.

The crawler knows nothing about the database: it calls ``on_page`` for each page and asks
``should_stop`` between pages; the Celery task turns those into saved progress and
cancellation.
"""

import contextlib
import functools
import hashlib
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from dataclasses import fields as dataclass_fields
from urllib import robotparser
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx
from django.conf import settings
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from siteintel import constants as c
from siteintel import netguard

USER_AGENT = "GharartSiteIntel/1.0"
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
HTML_TYPES = ("text/html", "application/xhtml+xml")
CSS_TYPES = ("text/css",)
# Elements whose URL is a link worth checking: documents, and what they load. The kind
# recorded for each reference names where it was found.
LINK_SELECTORS = (
    ("a[href]", "href", "a"),
    ("area[href]", "href", "area"),
    ("link[href]", "href", "link"),
    ("img[src]", "src", "img"),
    ("script[src]", "src", "script"),
    ("iframe[src]", "src", "iframe"),
    ("frame[src]", "src", "frame"),
    ("source[src]", "src", "source"),
    ("video[src]", "src", "video"),
    ("video[poster]", "poster", "video"),
    ("audio[src]", "src", "audio"),
    ("track[src]", "src", "track"),
    ("object[data]", "data", "object"),
    ("embed[src]", "src", "embed"),
    ("input[src]", "src", "input"),
)
SRCSET_SELECTORS = ("img[srcset]", "source[srcset]")
SKIPPED_SCHEMES = ("mailto:", "tel:", "javascript:", "data:", "about:", "blob:")
MAX_CRAWL_DELAY = 30.0


# --- URLs -----------------------------------------------------------------------------

MAX_URL_LENGTH = 2000


def normalize_url(url):
    """Canonical form used to dedupe: lowercase scheme/host, no default port, no fragment.
    None for what cannot be crawled (other schemes, no host, over 2,000 characters)."""
    if len(url) > MAX_URL_LENGTH:
        return None
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        return None
    if scheme not in ("http", "https") or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None or port == (443 if scheme == "https" else 80) else f"{host}:{port}"
    out = urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))
    return out if len(out) <= MAX_URL_LENGTH else None


def origin_of(url):
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def path_of(url):
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


# --- What a fetch returns, and what is recorded per page ----------------------------------

@dataclass
class Fetched:
    status: int | None = None
    content_type: str = ""
    body: bytes = b""
    redirect_chain: list = field(default_factory=list)
    final_url: str = ""
    error: str = ""
    response_ms: int = 0
    # The final response's headers (lowercase names).
    headers: dict = field(default_factory=dict)


@dataclass
class PageRecord:
    url: str
    path: str
    depth: int
    status: int | None
    content_type: str
    bytes: int
    sha256: str
    title: str
    links: list
    references: list
    anchors: list
    fragment_links: list
    redirect_chain: list
    final_url: str
    response_ms: int
    error: str

    def as_dict(self):
        return asdict(self)

    def fields(self):
        """The record's fields as a dict (shallow: the lists are the record's own)."""
        return {name: getattr(self, name) for name in PAGE_RECORD_FIELDS}

    @property
    def is_broken(self):
        return self.status is None or self.status >= 400


PAGE_RECORD_FIELDS = tuple(f.name for f in dataclass_fields(PageRecord))


def decode_body(body, content_type=""):
    charset = "utf-8"
    if "charset=" in content_type:
        charset = content_type.split("charset=", 1)[1].split(";", 1)[0].strip().strip('"') or "utf-8"
    try:
        return body.decode(charset, errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)
CSS_IMPORT = re.compile(r"""@import\s+(?:url\(\s*)?(?:"([^"]*)"|'([^']*)'|([^\s'");]+))""", re.I)
CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"\s]*))\s*\)""", re.I)


def css_references(text):
    """``[(url, is_import)]`` of a stylesheet, in order: ``@import`` targets (both the
    ``url()`` and the string form) and every other ``url()``. Comments are skipped."""
    text = CSS_COMMENT.sub(" ", text)
    out = []
    imports = set()
    for match in CSS_IMPORT.finditer(text):
        raw = next(g for g in match.groups() if g is not None)
        out.append((match.start(), raw, True))
        imports.add(match.start())
    for match in CSS_URL.finditer(text):
        raw = next(g for g in match.groups() if g is not None)
        # The url() of an @import was taken above.
        prefix = text[max(0, match.start() - 40):match.start()]
        if re.search(r"@import\s+$", prefix, re.I):
            continue
        out.append((match.start(), raw, False))
    out.sort(key=lambda item: item[0])
    return [(raw.strip(), is_import) for _, raw, is_import in out]


def srcset_urls(value):
    """The image URLs of a ``srcset`` (HTML's candidate parsing: a URL, then descriptors
    up to a comma; a URL may itself contain commas, but not end with one)."""
    urls = []
    pos, n = 0, len(value)
    while pos < n:
        while pos < n and (value[pos].isspace() or value[pos] == ","):
            pos += 1
        start = pos
        while pos < n and not value[pos].isspace():
            pos += 1
        url = value[start:pos]
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            depth = 0
            while pos < n and (depth or value[pos] != ","):
                depth += {"(": 1, ")": -1}.get(value[pos], 0)
                pos += 1
        if url:
            urls.append(url)
    return urls


META_REFRESH_URL = re.compile(r"""^\s*\d*(?:\.\d*)?\s*[;,]?\s*(?:url\s*=\s*)?(['"]?)(.*?)\1\s*$""", re.I | re.S)


def meta_refresh_url(content):
    """The target of ``<meta http-equiv="refresh" content="5; url=/next">``, or None."""
    match = META_REFRESH_URL.match(content or "")
    if not match:
        return None
    url = match.group(2).strip()
    return url or None


@dataclass
class Parsed:
    title: str = ""
    links: list = field(default_factory=list)
    # [{"url", "kind"}]: every checked reference once per (url, kind), in document order.
    references: list = field(default_factory=list)
    # Fragment targets on this page: element ids and <a name>s.
    anchors: list = field(default_factory=list)
    # [{"url", "fragment"}]: links that point at a fragment of a page (this one included).
    fragment_links: list = field(default_factory=list)


@functools.lru_cache(maxsize=32768)
def _resolve(base, raw):
    """``(normalized URL or None, fragment)`` of ``raw`` against ``base``. Pages of one
    directory share ``base`` (see ``_resolution_bases``), so a link every page repeats
    (the navigation, the stylesheet) is resolved once per crawl, not once per page."""
    absolute = urljoin(base, raw)
    return normalize_url(absolute), urlsplit(absolute).fragment


def _resolution_bases(base_url):
    """``(full, directory)``: a relative path resolves the same against the directory of
    the base (everything up to its last ``/``) as against the base itself; a reference
    that starts with ``?`` or ``#`` (or is empty) needs the full base."""
    parts = urlsplit(base_url)
    if parts.scheme and parts.netloc and parts.path.startswith("/") and ";" not in parts.path:
        return base_url, urlunsplit((parts.scheme, parts.netloc, parts.path[: parts.path.rfind("/") + 1], "", ""))
    return base_url, base_url


class ReferenceCollector:
    """Resolves raw references against a base URL and keeps each one once."""

    def __init__(self, base_url):
        self.base_url = base_url
        self._full_base, self._dir_base = _resolution_bases(base_url)
        self.parsed = Parsed()
        self._links = set()
        self._refs = set()
        self._fragments = set()

    def add(self, raw, kind):
        raw = (raw or "").strip()
        if not raw or raw.lower().startswith(SKIPPED_SCHEMES):
            return
        url, fragment = _resolve(self._full_base if raw[0] in "?#" else self._dir_base, raw)
        if url is None:
            return
        if fragment and (url, fragment) not in self._fragments:
            self._fragments.add((url, fragment))
            self.parsed.fragment_links.append({"url": url, "fragment": fragment})
        if raw.startswith("#"):
            return  # a place in this same document: only its fragment is checked
        if url not in self._links:
            self._links.add(url)
            self.parsed.links.append(url)
        if (url, kind) not in self._refs:
            self._refs.add((url, kind))
            self.parsed.references.append({"url": url, "kind": kind})

    def add_css(self, text, *, imports_kind, urls_kind):
        for raw, is_import in css_references(text):
            self.add(raw, imports_kind if is_import else urls_kind)


# What one pass over an HTML document matches (lexbor runs the selector list once, in
# document order); each node is then read by its tag.
HTML_ONE_PASS = ",".join(
    [sel for sel, _, _ in LINK_SELECTORS] + list(SRCSET_SELECTORS)
    + ["title", "base[href]", "meta[http-equiv]", "use", "style", "[style]", "[id]", "a[name]"]
)
# tag -> ((attribute, kind), ...) in the order LINK_SELECTORS lists them.
_LINK_ATTRS = {}
for _selector, _attr, _kind in LINK_SELECTORS:
    _LINK_ATTRS.setdefault(_selector.split("[", 1)[0], []).append((_attr, _kind))
_LINK_ATTRS = {tag: tuple(pairs) for tag, pairs in _LINK_ATTRS.items()}
_SRCSET_TAGS = frozenset(sel.split("[", 1)[0] for sel in SRCSET_SELECTORS)


def parse_html(body, base_url, content_type=""):
    """Title, references, anchors and fragment links of an HTML document: one parse
    (selectolax/lexbor) and one pass over the elements that matter, in document order."""
    tree = HTMLParser(decode_body(body, content_type))
    nodes = [(node, node.tag, node.attributes) for node in tree.css(HTML_ONE_PASS)]
    title = ""
    base_href = None
    for node, tag, _attrs in nodes:
        if tag == "title":
            title = " ".join(node.text().split())[:500]
            break
    for _node, tag, attrs in nodes:
        if tag == "base" and attrs.get("href") is not None:
            base_href = attrs.get("href")
            break
    if base_href is not None:
        base_url = urljoin(base_url, base_href or "")
    refs = ReferenceCollector(base_url)
    refs.parsed.title = title
    anchors = []
    seen = set()
    for node, tag, attrs in nodes:
        for attr, kind in _LINK_ATTRS.get(tag, ()):
            if attr in attrs:
                refs.add(attrs[attr], kind)
        if tag in _SRCSET_TAGS and "srcset" in attrs:
            for raw in srcset_urls(attrs["srcset"] or ""):
                refs.add(raw, "srcset")
        if tag == "meta" and (attrs.get("http-equiv") or "").strip().lower() == "refresh":
            refs.add(meta_refresh_url(attrs.get("content")), "meta_refresh")
        elif tag == "use":
            refs.add(attrs.get("href") or attrs.get("xlink:href"), "svg_use")
        elif tag == "style":
            refs.add_css(node.text(deep=True), imports_kind="style_element", urls_kind="style_element")
        if "style" in attrs:
            refs.add_css(attrs["style"] or "", imports_kind="style_attribute", urls_kind="style_attribute")
        value = attrs.get("id")
        if value and value not in seen:
            seen.add(value)
            anchors.append(value)
    for _node, tag, attrs in nodes:
        value = attrs.get("name") if tag == "a" else None
        if value and value not in seen:
            seen.add(value)
            anchors.append(value)
    refs.parsed.anchors = anchors
    return refs.parsed


def parse_css(body, base_url, content_type=""):
    """References of a stylesheet: ``@import`` and ``url()``, relative to the sheet."""
    refs = ReferenceCollector(base_url)
    refs.add_css(decode_body(body, content_type), imports_kind="css_import", urls_kind="css_url")
    return refs.parsed


def build_record(url, depth, fetched: Fetched) -> PageRecord:
    body = fetched.body
    parsed = Parsed()
    content_type = fetched.content_type.split(";", 1)[0].strip().lower()
    readable = not fetched.error and fetched.status is not None
    if readable and body and content_type in HTML_TYPES:
        parsed = parse_html(body, fetched.final_url or url, fetched.content_type)
    elif readable and body and content_type in CSS_TYPES:
        parsed = parse_css(body, fetched.final_url or url, fetched.content_type)
    return PageRecord(
        url=url,
        path=path_of(url),
        depth=depth,
        status=fetched.status,
        content_type=fetched.content_type[:200],
        bytes=len(body),
        sha256=hashlib.sha256(body).hexdigest() if readable else "",
        title=parsed.title,
        links=parsed.links,
        references=parsed.references,
        anchors=parsed.anchors,
        fragment_links=parsed.fragment_links,
        redirect_chain=fetched.redirect_chain,
        final_url=fetched.final_url,
        response_ms=fetched.response_ms,
        error=fetched.error,
    )


# --- Fetchers ---------------------------------------------------------------------------------

# The page error a failed request records: the first entry whose exception type matches.
FETCH_ERRORS = (
    (netguard.HostnameNotAllowed, c.PAGE_HOSTNAME_NOT_ALLOWED),
    (netguard.ResolutionFailed, c.PAGE_DNS_ERROR),
    (httpx.TimeoutException, c.PAGE_TIMEOUT),
    (httpx.ConnectError, c.PAGE_CONNECT_ERROR),
    (httpx.InvalidURL, c.PAGE_INVALID_URL),
    (httpx.HTTPError, c.PAGE_PROTOCOL_ERROR),
)
FETCH_FAILURES = tuple(kind for kind, _ in FETCH_ERRORS)


def fetch_error(exc):
    return next(code for kind, code in FETCH_ERRORS if isinstance(exc, kind))


class Fetcher:
    """Follows redirects by hand (at most ``max_redirects``) around ``_request``."""

    def __init__(self, *, max_redirects=None, max_body_bytes=None):
        self.max_redirects = settings.SITEINTEL_MAX_REDIRECTS if max_redirects is None else max_redirects
        self.max_body_bytes = settings.SITEINTEL_MAX_BODY_BYTES if max_body_bytes is None else max_body_bytes

    def _request(self, url):  # -> (status, headers (lowercase keys), body, truncated)
        raise NotImplementedError

    def _answer(self, status, headers, chunks):
        """What ``_request`` returns: no body for a redirect, else ``chunks`` cut past ``max_body_bytes``."""
        if status in REDIRECT_STATUSES:
            return status, headers, b"", False
        body, size = [], 0
        for chunk in chunks:
            size += len(chunk)
            if size > self.max_body_bytes:
                return status, headers, b"".join(body), True
            body.append(chunk)
        return status, headers, b"".join(body), False

    def crawl_session(self):
        """A context the crawl runs in (``HttpFetcher``: names resolved and checked once)."""
        return contextlib.nullcontext()

    def _can_follow(self, url):
        return True

    def close(self):
        pass

    def fetch(self, url) -> Fetched:
        started = time.monotonic()
        out = Fetched(final_url=url)
        visited = {url}
        current = url
        try:
            while True:
                status, headers, body, truncated = self._request(current)
                location = headers.get("location")
                if status in REDIRECT_STATUSES and location:
                    target = normalize_url(urljoin(current, location))
                    out.redirect_chain.append({"url": current, "status": status, "location": target or location})
                    if target is None:
                        out.status, out.error = status, c.PAGE_INVALID_URL
                        break
                    if target in visited:
                        out.status, out.error = None, c.PAGE_REDIRECT_LOOP
                        break
                    if len(out.redirect_chain) > self.max_redirects:
                        out.status, out.error = None, c.PAGE_TOO_MANY_REDIRECTS
                        break
                    visited.add(target)
                    out.final_url = target
                    if not self._can_follow(target):
                        out.status = status
                        break
                    current = target
                    continue
                out.status = status
                out.content_type = headers.get("content-type", "")
                out.headers = headers
                out.body = body
                if truncated:
                    out.error = c.PAGE_BODY_TOO_LARGE
                break
        except FETCH_FAILURES as exc:
            out.status, out.error = None, fetch_error(exc)
        out.response_ms = int((time.monotonic() - started) * 1000)
        return out


class HttpFetcher(Fetcher):
    """Fetches over HTTP through ``netguard.GuardedTransport`` (every hop checked)."""

    def __init__(self, *, allow_private=None, timeout=None, concurrency=None, user_agent=USER_AGENT, **kwargs):
        super().__init__(**kwargs)
        concurrency = concurrency or settings.SITEINTEL_CONCURRENCY
        timeout = settings.SITEINTEL_TIMEOUT_SECONDS if timeout is None else timeout
        self.transport = netguard.GuardedTransport(
                allow_private=allow_private,
                limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        )
        self.client = httpx.Client(
            transport=self.transport,
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            headers={"User-Agent": user_agent, "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
        )

    def crawl_session(self):
        return self.transport.resolution_cache()

    def _request(self, url):
        with self.client.stream("GET", url) as response:
            status = response.status_code
            headers = {k.lower(): v for k, v in response.headers.items()}
            return self._answer(status, headers, response.iter_bytes())

    def close(self):
        self.client.close()


class InlineExecutor:
    """Runs each fetch in the calling thread (in-process fetchers touch the database, whose
    connections and transactions belong to the thread)."""

    def __init__(self, *args, **kwargs):
        pass

    def submit(self, fn, *args):
        future = Future()
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # handed to the caller, as a pool would
            future.set_exception(exc)
        return future

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class CallableFetcher(Fetcher):
    """Fetches in-process: ``respond(path)`` returns a Django response for the site's path.

    Only URLs of ``origin`` are served; a redirect elsewhere is recorded, not followed
    (nothing in-process reaches the network). ``path_prefix`` is stripped from redirect
    targets that point at the public route of the same site (``/profiles/<slug>/...``).
    Fetches run one at a time in the calling thread.
    """

    in_process = True

    def __init__(self, *, origin, respond: Callable, path_prefix="", **kwargs):
        super().__init__(**kwargs)
        self.origin = origin_of(normalize_url(origin))
        self.respond = respond
        self.path_prefix = path_prefix.rstrip("/")

    def _can_follow(self, url):
        return origin_of(url) == self.origin

    def _request(self, url):
        path = path_of(url)
        response = self.respond(path)
        try:
            status = response.status_code
            headers = {k.lower(): v for k, v in response.headers.items()}
            location = headers.get("location")
            if location and self.path_prefix:
                parts = urlsplit(location)
                if not parts.netloc and (parts.path == self.path_prefix or parts.path.startswith(self.path_prefix + "/")):
                    rest = parts.path[len(self.path_prefix):] or "/"
                    headers["location"] = rest + (f"?{parts.query}" if parts.query else "")
            source = response.streaming_content if getattr(response, "streaming", False) else [response.content]
            return self._answer(status, headers, source)
        finally:
            # Only a streamed body holds a file to release. close() also sends Django's
            # request_finished signal, which closes this thread's database connection.
            if getattr(response, "streaming", False):
                response.close()


# --- Politeness ---------------------------------------------------------------------------

class Pacer:
    """At least ``delay`` seconds between the starts of two requests to the host."""

    def __init__(self, delay):
        self.delay = max(0.0, float(delay or 0))
        self._lock = threading.Lock()
        self._next = 0.0

    def wait(self):
        if not self.delay:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.delay
        if start > now:
            time.sleep(start - now)


# --- robots.txt ---------------------------------------------------------------------------

class Robots:
    """The site's robots.txt rules (RFC 9309): 4xx allows all, 5xx disallows all."""

    def __init__(self, fetcher, origin, user_agent=USER_AGENT):
        self.user_agent = user_agent
        self.parser = robotparser.RobotFileParser()
        self.status = "absent"
        fetched = fetcher.fetch(origin + "/robots.txt")
        if fetched.status is not None and 200 <= fetched.status < 300 and not fetched.error:
            self.parser.parse(fetched.body.decode("utf-8", errors="replace").splitlines())
            self.status = "parsed"
        elif fetched.status is not None and fetched.status >= 500:
            self.parser.disallow_all = True
            self.status = "unreachable"
        else:
            # 4xx: no rules. A failed fetch (refused address, DNS, timeout) also sets no
            # rules, so the start page is tried and records that error itself.
            self.parser.allow_all = True

    def allowed(self, url):
        return self.parser.can_fetch(self.user_agent, url)

    @property
    def crawl_delay(self):
        try:
            delay = self.parser.crawl_delay(self.user_agent)
        except (AttributeError, TypeError):
            delay = None
        return min(float(delay), MAX_CRAWL_DELAY) if delay else 0.0


# --- The crawl ------------------------------------------------------------------------------

@dataclass
class CrawlOutcome:
    pages_done: int
    pages_found: int
    stop_reason: str
    stats: dict


def crawl(
    start_url,
    *,
    fetcher: Fetcher,
    max_pages,
    max_depth,
    max_seconds=None,
    concurrency=None,
    delay=None,
    obey_robots=True,
    on_page: Callable | None = None,
    should_stop: Callable | None = None,
    resume: list | None = None,
    user_agent=USER_AGENT,
) -> CrawlOutcome:
    """Crawl ``start_url``'s host breadth-first, level by level.

    Guarantees: only URLs of the start URL's scheme+host are fetched (redirects may leave
    it, through the fetcher's checks, but their links are not followed); no URL is fetched
    twice; at most ``max_pages`` pages, none deeper than ``max_depth`` links from the start;
    no new request after ``max_seconds`` or once ``should_stop()`` is true; at most
    ``concurrency`` requests in flight, started at least ``delay`` seconds apart (or the
    site's robots.txt Crawl-delay). ``resume`` (page dicts already recorded) continues a
    crawl without fetching those pages again. ``on_page(record, pages_done, pages_found)``
    is called from the calling thread, in completion order.
    """
    with fetcher.crawl_session():
        return _crawl(
            start_url, fetcher=fetcher, max_pages=max_pages, max_depth=max_depth, max_seconds=max_seconds,
            concurrency=concurrency, delay=delay, obey_robots=obey_robots, on_page=on_page, should_stop=should_stop,
            resume=resume, user_agent=user_agent,
        )


def _crawl(start_url, *, fetcher, max_pages, max_depth, max_seconds, concurrency, delay, obey_robots, on_page, should_stop, resume, user_agent):
    start_url = normalize_url(start_url)
    origin = origin_of(start_url)
    max_seconds = settings.SITEINTEL_MAX_SECONDS if max_seconds is None else max_seconds
    concurrency = max(1, concurrency or settings.SITEINTEL_CONCURRENCY)
    delay = settings.SITEINTEL_DELAY_SECONDS if delay is None else delay
    stats = {"robots_disallowed": 0, "external_links": 0, "robots": "not_checked"}
    robots = None
    if obey_robots:
        robots = Robots(fetcher, origin, user_agent)
        stats["robots"] = robots.status
        delay = max(delay, robots.crawl_delay)
    pacer = Pacer(delay)
    deadline = time.monotonic() + max_seconds

    def same_site(url):
        return origin_of(url) == origin

    # Rebuild the frontier from what an earlier attempt recorded: every same-site link of
    # a recorded page that was not fetched yet, at the depth it was first found.
    done = {page["url"]: page for page in resume or []}
    seen = set(done) | {start_url}
    resumed = {}
    for page in sorted(done.values(), key=lambda p: p["depth"]):
        for link in page.get("links") or []:
            if same_site(link) and link not in seen and page["depth"] + 1 <= max_depth:
                seen.add(link)
                resumed[link] = page["depth"] + 1
    if start_url not in done:
        level, level_depth = [start_url], 0
    else:
        level_depth = min(resumed.values(), default=0)
        level = [u for u, d in resumed.items() if d == level_depth]
    pages_done = len(done)
    stop_reason = c.STOP_COMPLETED

    def found():
        return max(pages_done, min(len(seen) - stats["robots_disallowed"], max_pages))

    def paced_fetch(url):
        pacer.wait()
        return fetcher.fetch(url)

    in_process = getattr(fetcher, "in_process", False)
    if in_process:
        concurrency = 1
    executor = InlineExecutor if in_process else ThreadPoolExecutor
    with executor(max_workers=concurrency, thread_name_prefix="crawl") as pool:
        depth = level_depth
        while level and stop_reason == c.STOP_COMPLETED:
            results = {}
            discovered = set()
            in_flight = {}
            queue = list(enumerate(level))
            queue.reverse()
            while queue or in_flight:
                while queue and len(in_flight) < concurrency and stop_reason == c.STOP_COMPLETED:
                    if pages_done + len(in_flight) >= max_pages:
                        stop_reason = c.STOP_MAX_PAGES
                        break
                    if time.monotonic() >= deadline:
                        stop_reason = c.STOP_TIME_LIMIT
                        break
                    if should_stop is not None and should_stop():
                        stop_reason = c.STOP_CANCELLED
                        break
                    index, url = queue.pop()
                    if robots is not None and not robots.allowed(url):
                        stats["robots_disallowed"] += 1
                        continue
                    in_flight[pool.submit(paced_fetch, url)] = (index, url)
                if not in_flight:
                    break
                finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in finished:
                    index, url = in_flight.pop(future)
                    record = build_record(url, depth, future.result())
                    results[index] = record
                    if depth == 0 and record.redirect_chain and not record.error:
                        # http://host/ -> https://host/: the site lives at the final origin.
                        final = urlsplit(record.final_url)
                        if final.hostname == urlsplit(origin).hostname and origin_of(record.final_url) != origin:
                            origin = origin_of(record.final_url)
                    for link in record.links:
                        if not same_site(link):
                            stats["external_links"] += 1
                        elif depth + 1 <= max_depth and link not in seen:
                            seen.add(link)
                            discovered.add(link)
                    pages_done += 1
                    if on_page is not None:
                        on_page(record, pages_done, found())
            if queue and stop_reason == c.STOP_COMPLETED:
                stop_reason = c.STOP_MAX_PAGES
            # The next level: what an earlier attempt left at that depth, then the new
            # links in the order they appear on this level's pages.
            next_level = [u for u, d in resumed.items() if d == depth + 1]
            for index in sorted(results):
                for link in results[index].links:
                    if link in discovered:
                        next_level.append(link)
                        discovered.discard(link)
            depth += 1
            level = next_level
    if level and stop_reason == c.STOP_COMPLETED:
        stop_reason = c.STOP_MAX_PAGES
    return CrawlOutcome(pages_done=pages_done, pages_found=found(), stop_reason=stop_reason, stats=stats)
