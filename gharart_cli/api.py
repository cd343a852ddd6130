"""The HTTP side of the client: one ``Api`` object per run, with retries done once, here.

Every request is retried on network errors, 5xx, 429 ``rate_limited`` and 409
``idempotency_request_in_progress``, with exponential backoff (or the server's
``Retry-After``). That is safe for every route the client calls: GETs and blob PUTs are
idempotent by nature, and every POST carries an ``Idempotency-Key`` that is the same on
each retry, so the server performs it once and replays its first answer.
"""

import random
import time
import uuid
from dataclasses import dataclass, field

import httpx

from gharart_cli import __version__

# Statuses worth another try: the server or a proxy in front of it is overloaded or restarting.
RETRY_STATUSES = frozenset({500, 502, 503, 504})
# Retryable refusals that say when to come back.
RETRY_CODES = frozenset({"rate_limited", "idempotency_request_in_progress"})
# Longest Retry-After the client waits for; a longer one (a daily quota) is reported instead.
MAX_RETRY_AFTER = 120.0
# Rate-limit refusals are expected during a large upload; they get their own, larger budget.
MAX_THROTTLED_WAITS = 30


@dataclass
class ApiError(Exception):
    """An error answer from the server (or no answer at all: ``status`` 0)."""

    code: str
    message: str
    status: int = 0
    request_id: str | None = None
    details: dict = field(default_factory=dict)

    def __str__(self):
        return f"{self.code}: {self.message}"

    def as_dict(self):
        return {
            "code": self.code,
            "message": self.message,
            "status": self.status,
            "request_id": self.request_id,
            "details": self.details,
        }


def error_from_response(response: httpx.Response) -> ApiError:
    request_id = response.headers.get("X-Request-ID")
    try:
        body = response.json()
        err = body["error"]
        return ApiError(
            code=str(err.get("code") or f"http_{response.status_code}"),
            message=str(err.get("message") or response.reason_phrase),
            status=response.status_code,
            request_id=err.get("request_id") or request_id,
            details=err.get("details") or {},
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        # Not the API's envelope: a proxy page or a crash in front of the app.
        return ApiError(
            code=f"http_{response.status_code}",
            message=f"The server answered {response.status_code} {response.reason_phrase}.",
            status=response.status_code,
            request_id=request_id,
        )


def retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


class Api:
    """A small client for the /v2 API that raises ``ApiError`` for every failure."""

    def __init__(self, base_url, token, *, retries=5, backoff=0.5, timeout=60.0, transport=None, sleep=time.sleep):
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.backoff = backoff
        self.sleep = sleep
        headers = {"User-Agent": f"gharart-cli/{__version__} httpx/{httpx.__version__}", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.http = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=15.0),
            transport=transport,
            follow_redirects=False,
            # Parallel uploads reuse their connections instead of opening one per request.
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=32, keepalive_expiry=30.0),
        )

    def close(self):
        self.http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- the one place that sends ---------------------------------------------------------
    def request(self, method, path, *, json=None, params=None, body=None, content_type="application/octet-stream", files=None, data=None, idempotency_key=None, expect=(200, 201, 202, 204)):
        """Send a request, retrying what is safe to retry, and return the decoded JSON (or None).

        ``body`` and ``files`` may be callables returning fresh content, so a retry can
        resend a file from its start. ``idempotency_key=False`` sends no key (a POST that
        is idempotent by its content, like a batch of blobs named by their sha256).
        The client is shared by the upload threads: its pool keeps connections alive.
        """
        headers = {}
        if method == "POST" and idempotency_key is not False:
            headers["Idempotency-Key"] = idempotency_key or new_idempotency_key()
        attempt = 0  # failed tries: network errors, 5xx
        throttled = 0  # times the server said "not now" (429, in-progress 409)
        while True:
            kwargs = {"params": params, "headers": dict(headers)}
            if json is not None:
                kwargs["json"] = json
            if data is not None:
                kwargs["data"] = data
            opened = []
            if body is not None:
                content = body() if callable(body) else body
                opened.append(content)
                kwargs["content"] = content
                kwargs["headers"]["Content-Type"] = content_type
            if files is not None:
                kwargs["files"] = files() if callable(files) else files
                opened.extend(v[1] for v in kwargs["files"].values() if isinstance(v, tuple))
            try:
                response = self.http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                attempt += 1
                if attempt > self.retries:
                    raise ApiError("network_error", f"Could not reach {self.base_url}: {str(exc) or type(exc).__name__}.")
                self.sleep(self._backoff(attempt))
                continue
            finally:
                for handle in opened:
                    if hasattr(handle, "close"):
                        handle.close()
            if response.status_code in expect:
                if response.status_code == 204 or not response.content:
                    return None
                try:
                    return response.json()
                except ValueError:
                    raise ApiError(
                        "invalid_response",
                        f"The server answered {response.status_code} with a body that is not JSON.",
                        status=response.status_code,
                        request_id=response.headers.get("X-Request-ID"),
                    )
            error = error_from_response(response)
            retry_after = retry_after_seconds(response)
            if response.status_code in RETRY_STATUSES and attempt < self.retries:
                attempt += 1
                wait = retry_after if retry_after is not None else self._backoff(attempt)
            elif error.code in RETRY_CODES and throttled < MAX_THROTTLED_WAITS and (retry_after or 0) <= MAX_RETRY_AFTER:
                throttled += 1
                wait = retry_after if retry_after is not None else self._backoff(throttled)
            else:
                raise error
            self.sleep(min(wait, MAX_RETRY_AFTER))

    def _backoff(self, attempt):
        # Full jitter keeps parallel uploads from retrying in lockstep.
        return random.uniform(0, self.backoff * (2 ** (attempt - 1)))

    # --- conveniences -----------------------------------------------------------------------
    def get(self, path, **params):
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None} or None)

    def post(self, path, payload=None, *, idempotency_key=None):
        return self.request("POST", path, json=payload if payload is not None else {}, idempotency_key=idempotency_key)

    def put(self, path, payload):
        return self.request("PUT", path, json=payload)


def new_idempotency_key() -> str:
    return f"gharart-cli-{uuid.uuid4().hex}"
