"""The one HTTP client every data source goes through.

It owns the `requests.Session`, the per-(host, key) token bucket, a bound on concurrent
requests, timeouts, retries with exponential backoff and full jitter, `Retry-After`, and key
redaction. Failures are classified once, here:

- retried: timeouts, connection errors and resets, HTTP 429 and 5xx, unparsable JSON bodies
  (in :meth:`HttpClient.get_json` / :meth:`HttpClient.post_json`), and whatever the source's
  `classify` hook returns as :class:`RetriableSourceError` (explorer "rate limit" bodies);
- not retried: other 4xx answers -> :class:`SourceRejected` whose ``http_status`` attribute
  holds the status (adapters map 404 to "not found" by that, not by message text); whatever
  `classify` returns otherwise -> raised as is (normally :class:`SourceRejected`);
- retries used up -> :class:`RetriesExhausted`. The client never returns ``None``.

Every secret given in `secrets` (API keys in query strings or headers) is replaced by
``***`` in log lines (logger ``heisttrace.http``), exception messages and the URLs handed
to the response archive. Exceptions are raised ``from None`` so no chained `requests`
error can leak an unredacted URL.
"""

from __future__ import annotations

import email.utils
import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter

from chains.ratelimit import LIMITERS, TokenBucket, key_fingerprint
from tracer.core.errors import BadInput, RetriableSourceError, RetriesExhausted, SourceError, SourceRejected
from tracer.core.protocols import ResponseArchive
from tracer.core.redact import REDACTED, redact_text, secret_forms  # noqa: F401 - REDACTED re-exported

LOG = logging.getLogger("heisttrace.http")
# A library logs, the application decides what to show: without this, Python's last-resort handler
# would print every retry notice to stderr and turn the CLI's one-line error into a screenful.
LOG.addHandler(logging.NullHandler())

_USER_AGENT = "heisttrace/0.1 (+https://github.com/heisttrace)"


def _host(url: str) -> str:
    """`hostname[:port]` of `url`, without userinfo (what a shared budget may store)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return f"{host}:{parts.port}" if parts.port else host


def is_loopback(url: str) -> bool:
    """True for URLs on this machine (emulators, a local node): no public rate limit applies."""
    host = (urlsplit(url).hostname or "").lower()
    return host in {"localhost", "::1"} or host.startswith("127.")


class _RedactingFilter(logging.Filter):
    """Redacts every secret any client was given, and every key in a URL, from third-party log records."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact_text(message, self.forms)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_THIRD_PARTY_FILTER = _RedactingFilter()
for _name in ("urllib3", "urllib3.connectionpool", "urllib3.util.retry", "requests"):
    logging.getLogger(_name).addFilter(_THIRD_PARTY_FILTER)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try: `attempts` in total, backoff `backoff_base * 2**n` capped at `backoff_max`.

    With `jitter` the wait is drawn uniformly from [0, backoff] ("full jitter"). A server's
    `Retry-After` is honoured up to `max_retry_after` seconds. `timeout` is per request (s).
    """

    attempts: int = 6
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    jitter: bool = True
    timeout: float = 30.0
    max_retry_after: float = 120.0
    #: Keep retrying rate limits and server errors (429, 5xx, "rate limit" bodies) until they have lasted
    #: this long (s) *and* `attempts` tries are used up: a long outage ends a run, a rate limit never does.
    #: Connection failures and timeouts end after `attempts` (a wrong or unreachable URL fails fast).
    max_outage: float = 0.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")

    def gives_up(self, *, failures: int, waited: float) -> bool:
        """True when `failures` consecutive failures spanning `waited` seconds of waiting end the request."""
        return failures >= self.attempts and waited >= self.max_outage

    def backoff(self, failures: int, rng: random.Random) -> float:
        """Seconds to wait after the `failures`-th consecutive failure (1-based)."""
        ceiling = min(self.backoff_max, self.backoff_base * (2 ** (failures - 1)))
        return rng.uniform(0.0, ceiling) if self.jitter else ceiling


#: The default cap on one response body (bytes): generous for any explorer page or RPC answer.
DEFAULT_MAX_BODY_BYTES = 256 * 1024 * 1024
#: The default length of a rate limit or outage that ends a run (s); `HEISTTRACE_MAX_OUTAGE` overrides it.
DEFAULT_MAX_OUTAGE_S = 600.0
MAX_REDIRECTS = 5
#: Adaptive rate (AIMD): halve on a rate-limit answer, then grow back by this fraction per success.
_RATE_FLOOR = 0.05
_RATE_GROWTH = 0.02
_LOOPBACK_CEILING = 1000.0


def default_max_body_bytes() -> int:
    """The body cap: `HEISTTRACE_MAX_BODY_BYTES` when set, else :data:`DEFAULT_MAX_BODY_BYTES`."""
    raw = os.environ.get("HEISTTRACE_MAX_BODY_BYTES", "")
    if not raw.strip():
        return DEFAULT_MAX_BODY_BYTES
    if not raw.strip().isdigit() or int(raw) < 1:
        raise BadInput(f"HEISTTRACE_MAX_BODY_BYTES: expected a positive number of bytes, got {raw!r}")
    return int(raw)


def default_retry_policy() -> RetryPolicy:
    """The production policy: a long outage (default minutes, `HEISTTRACE_MAX_OUTAGE` seconds) ends a run."""
    raw = os.environ.get("HEISTTRACE_MAX_OUTAGE", "")
    try:
        outage = float(raw) if raw.strip() else DEFAULT_MAX_OUTAGE_S
    except ValueError:
        raise BadInput(f"HEISTTRACE_MAX_OUTAGE: expected a number of seconds, got {raw!r}") from None
    return RetryPolicy(max_outage=max(0.0, outage))


class _Waiting:
    """Which sources are sleeping on a rate limit right now (for the live progress line)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_source: dict[str, int] = {}

    def enter(self, source: str) -> None:
        with self._lock:
            self._by_source[source] = self._by_source.get(source, 0) + 1

    def leave(self, source: str) -> None:
        with self._lock:
            left = self._by_source.get(source, 1) - 1
            if left > 0:
                self._by_source[source] = left
            else:
                self._by_source.pop(source, None)

    def sources(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(sorted(self._by_source))


RATE_LIMIT_WAITS = _Waiting()


def rate_limit_status() -> str:
    """'' or e.g. 'waiting on etherscan rate limit' (shown by the live line)."""
    sources = RATE_LIMIT_WAITS.sources()
    return f"waiting on {', '.join(sources)} rate limit" if sources else ""


def is_rate_limit(problem: Exception) -> bool:
    """True for a rate-limit answer (HTTP 429, or an explorer's "rate limit" body)."""
    text = problem.message if isinstance(problem, SourceError) else str(problem)
    lowered = text.lower()
    return "429" in lowered or "rate limit" in lowered or "too many requests" in lowered


class ResponseTooLarge(SourceRejected):
    """A body over the source's cap: not retried (an endless body would be endless again)."""


def url_problem(url: object) -> str | None:
    """What makes `url` unusable as an http(s) source URL (to follow "expected ..."), or None if usable."""
    if not isinstance(url, str) or not url.strip():
        return "a non-empty http:// or https:// URL"
    if any(c.isspace() for c in url):
        return "an http:// or https:// URL without spaces"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in 0-65535
    except ValueError as exc:
        return f"a well-formed http:// or https:// URL ({exc})"
    if parts.scheme not in ("http", "https"):
        return "an http:// or https:// URL"
    if not parts.hostname:
        return "an http:// or https:// URL with a host"
    return None


def check_url(url: str, *, what: str) -> str:
    """`url` when usable as a source URL; else :class:`BadInput` naming `what` (the URL itself is not echoed:
    it may carry a key)."""
    problem = url_problem(url)
    if problem:
        raise BadInput(f"{what}: expected {problem}")
    return url


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or HTTP-date), or None if absent/garbled."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def json_body(response: requests.Response) -> Any:
    """The response's JSON, parsed once and cached on the response (classify hooks use this too).

    Raises :class:`RetriableSourceError` when the body is not JSON (truncated or garbled answers).
    """
    cached = getattr(response, "_heisttrace_json", _MISSING)
    if cached is not _MISSING:
        return cached
    try:
        parsed = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        raise RetriableSourceError(f"malformed JSON body ({len(response.content)} bytes)") from None
    response._heisttrace_json = parsed  # type: ignore[attr-defined]
    return parsed


_MISSING = object()


class HttpClient:
    """One data source's HTTP client (see the module docstring for the failure policy)."""

    def __init__(
        self,
        *,
        source: str,
        rate_per_s: float | None,
        burst: int = 1,
        max_concurrency: int = 4,
        retry: RetryPolicy | None = None,
        secrets: Sequence[str] = (),
        archive: ResponseArchive | None = None,
        classify: Callable[[requests.Response], Exception | None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        seed: int | None = None,
        headers: Mapping[str, str] | None = None,
        max_body_bytes: int | None = None,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.source = source
        self.rate_per_s = rate_per_s
        self.burst = burst
        self.retry = retry or default_retry_policy()
        if max_body_bytes is None:
            max_body_bytes = default_max_body_bytes()
        if max_body_bytes < 1:
            raise ValueError("max_body_bytes must be positive")
        self.max_body_bytes = int(max_body_bytes)
        self.secrets = tuple(s for s in secrets if s)
        self.archive = archive
        self.classify = classify
        self._sleep = sleep
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self._count_lock = threading.Lock()
        self._requests = 0
        self._fingerprint = key_fingerprint(self.secrets)
        self._buckets: dict[str, TokenBucket] = {}
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(max_concurrency, 4), max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = _USER_AGENT
        if headers:
            self.session.headers.update(headers)
        self._patterns = secret_forms(self.secrets)
        _THIRD_PARTY_FILTER.forms.update(self._patterns)

    # -- public API ---------------------------------------------------------------------------

    @property
    def requests(self) -> int:
        """HTTP requests sent so far (every attempt counts)."""
        with self._count_lock:
            return self._requests

    def redact(self, text: str) -> str:
        """`text` with every secret (raw or URL-encoded) and every key in a URL as ``***``
        (:func:`tracer.core.redact.redact_text`)."""
        return redact_text(text, self._patterns)

    def get(
        self, url: str, *, params: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None
    ) -> requests.Response:
        """GET with retries; returns the successful response (2xx/3xx, accepted by `classify`)."""
        return self._send("GET", url, params=params, headers=headers, payload=None, parse=None)[0]

    def get_json(
        self, url: str, *, params: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None
    ) -> Any:
        """GET and parse JSON; malformed bodies are retried like transient failures."""
        return self._send("GET", url, params=params, headers=headers, payload=None, parse=json_body)[1]

    def post_json(self, url: str, payload: Any, *, headers: Mapping[str, str] | None = None) -> Any:
        """POST a JSON payload (JSON-RPC) and parse the JSON answer, with the same retry policy."""
        return self._send("POST", url, params=None, headers=headers, payload=payload, parse=json_body)[1]

    def post_json_response(
        self, url: str, payload: Any, *, headers: Mapping[str, str] | None = None
    ) -> tuple[requests.Response, Any]:
        """Like :meth:`post_json`, also returning the response (its raw body is evidence, hashed)."""
        return self._send("POST", url, params=None, headers=headers, payload=payload, parse=json_body)

    def close(self) -> None:
        self.session.close()

    # -- internals ----------------------------------------------------------------------------

    def _bucket(self, url: str, *, create: bool = False) -> TokenBucket | None:
        """The shared bucket of (host, key); None without a configured rate until a server rate-limits us."""
        host = urlsplit(url).netloc.lower()
        bucket = self._buckets.get(host)
        if bucket is None:
            shared = LIMITERS.existing(host, self._fingerprint)
            if shared is None and self.rate_per_s is None and not create:
                return None
            if shared is None:
                rate = self.rate_per_s if self.rate_per_s is not None else _LOOPBACK_CEILING
                shared = LIMITERS.bucket(host, self._fingerprint, rate=rate, burst=self.burst)
            bucket = self._buckets[host] = shared
        return bucket

    def _slow_down(self, url: str) -> TokenBucket:
        """A rate-limit answer: halve the rate everyone sharing this key uses (AIMD decrease)."""
        bucket = self._bucket(url, create=True)
        assert bucket is not None
        bucket.scale(0.5, floor=_RATE_FLOOR)
        return bucket

    def _pause(self, seconds: float, *, rate_limited: bool) -> None:
        """Sleep `seconds`; while a rate limit is the reason, the live line says so."""
        if not rate_limited:
            self._sleep(seconds)
            return
        RATE_LIMIT_WAITS.enter(self.source)
        try:
            self._sleep(seconds)
        finally:
            RATE_LIMIT_WAITS.leave(self.source)

    def _shared_wait(self, url: str, bucket: TokenBucket, wait: float) -> float:
        """Book this request's slot with other processes using the key (0 when no shared budget is set)."""
        shared = LIMITERS.shared
        if shared is None:
            return 0.0
        return shared.reserve(_host(url), self._fingerprint, bucket.rate, delay=wait)

    def _shared_defer(self, url: str, seconds: float) -> None:
        if LIMITERS.shared is not None:
            LIMITERS.shared.defer(_host(url), self._fingerprint, seconds)

    def _speed_up(self, bucket: TokenBucket | None) -> None:
        """A success: grow the rate back toward the configured one (AIMD increase)."""
        if bucket is not None:
            ceiling = self.rate_per_s if self.rate_per_s is not None else _LOOPBACK_CEILING
            bucket.grow(_RATE_GROWTH, ceiling=ceiling)

    def _count(self) -> None:
        with self._count_lock:
            self._requests += 1

    def _backoff(self, failures: int) -> float:
        with self._rng_lock:
            return self.retry.backoff(failures, self._rng)

    def _describe(self, method: str, url: str) -> str:
        parts = urlsplit(url)
        return self.redact(f"{method} {parts.scheme}://{parts.netloc}{parts.path}")

    def _send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        payload: Any,
        parse: Callable[[requests.Response], Any] | None,
    ) -> tuple[requests.Response, Any]:
        where = self._describe(method, url)
        last_problem = "no attempt made"
        failures = 0
        waited = 0.0
        rate_limited = False
        while True:
            bucket = self._bucket(url)
            if bucket is not None:
                wait = bucket.reserve()
                shared = self._shared_wait(url, bucket, wait)
                if max(wait, shared) > 0:  # a slot another process took counts as waiting on the rate limit
                    self._pause(max(wait, shared), rate_limited=rate_limited or shared > wait + 0.05)
            retry_after: float | None = None
            rate_limited = answered = False
            try:
                response = self._attempt(method, url, params=params, headers=headers, payload=payload)
                problem = self._check(response)
                if problem is None:
                    parsed = parse(response) if parse is not None else None
                    self._archive(response)
                    self._speed_up(bucket)
                    return response, parsed
                if not isinstance(problem, RetriableSourceError):
                    raise problem
                rate_limited = is_rate_limit(problem)
                answered = True  # the server is up and answering: worth waiting out (rate limit, 5xx)
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                last_problem = self.redact(problem.message if isinstance(problem, SourceError) else str(problem))
            except RetriableSourceError as exc:  # raised by `parse` (malformed body)
                last_problem = self.redact(exc.message)
            except requests.Timeout:
                last_problem = f"timed out after {self.retry.timeout:g} s"
            except (
                requests.ConnectionError,
                requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError,
            ) as exc:
                last_problem = f"connection failed ({self._exception_kind(exc)})"
            except requests.RequestException as exc:
                raise SourceRejected(
                    f"{self.source}: {where} could not be sent: {self.redact(type(exc).__name__)}"
                ) from None
            failures += 1
            # An unreachable host fails after `attempts`; a server that answers "later" is waited out.
            if self.retry.gives_up(failures=failures, waited=waited if answered else float("inf")):
                break
            delay = self._backoff(min(failures, 30))
            if retry_after is not None:
                delay = max(delay, min(retry_after, self.retry.max_retry_after))
            LOG.warning("%s: %s: %s; retry %d in %.2f s", self.source, where, last_problem, failures, delay)
            if rate_limited:  # slow down everyone sharing this key; the bucket makes us (and them) wait
                self._slow_down(url).defer(delay)
                self._shared_defer(url, delay)
            elif retry_after is not None and bucket is not None:
                bucket.defer(delay)
            elif delay > 0:
                self._sleep(delay)
            waited += delay
        message = f"{self.source}: {where} failed after {failures} attempts: {last_problem} (over {waited:.0f} s)"
        LOG.error("%s", message)
        raise RetriesExhausted(message)

    def _attempt(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        payload: Any,
    ) -> requests.Response:
        """One request, following same-host redirects only (a key never travels to another host)."""
        origin = urlsplit(url).netloc.lower()
        with self._slots:
            for _hop in range(MAX_REDIRECTS + 1):
                self._count()
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    headers=dict(headers) if headers else None,
                    json=payload,
                    timeout=self.retry.timeout,
                    allow_redirects=False,
                    stream=True,
                )
                self._read_body(response)
                location = response.headers.get("Location") if response.is_redirect else None
                if not location:
                    break
                target = urljoin(response.url, location)
                if urlsplit(target).netloc.lower() != origin:
                    raise SourceRejected(
                        f"{self.source}: {self._describe(method, url)} redirected to another host "
                        f"({self.redact(urlsplit(target).netloc)}); not followed, so no key leaves its host"
                    )
                url, params = target, None
                if response.status_code in (301, 302, 303) and method == "POST":
                    method, payload = "GET", None
            else:
                where = self._describe(method, url)
                raise SourceRejected(f"{self.source}: {where}: more than {MAX_REDIRECTS} redirects")
        LOG.debug("%s: %s -> HTTP %d", self.source, self.redact(response.url), response.status_code)
        return response

    def _read_body(self, response: requests.Response) -> None:
        """Read the whole body in chunks, refusing one over :attr:`max_body_bytes` (never held in full)."""
        cap = self.max_body_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            response.close()
            raise self._too_large(response)
        chunks: list[bytes] = []
        total = 0
        for chunk in response.iter_content(chunk_size=64 * 1024):
            total += len(chunk)
            if total > cap:
                response.close()
                raise self._too_large(response)
            chunks.append(chunk)
        response._content = b"".join(chunks)  # type: ignore[attr-defined]
        response._content_consumed = True  # type: ignore[attr-defined]

    def _too_large(self, response: requests.Response) -> ResponseTooLarge:
        where = self._describe(response.request.method or "GET", response.url)
        return ResponseTooLarge(
            f"{self.source}: {where} answered with a body over {self.max_body_bytes:,} bytes; refused "
            "(raise the source's max_body_bytes if the answer is genuine)"
        )

    def _check(self, response: requests.Response) -> Exception | None:
        """None when the answer is usable; otherwise the classified exception (retriable or not)."""
        status = response.status_code
        if status == 429:
            return RetriableSourceError(f"HTTP 429 Too Many Requests{self._retry_after_note(response)}")
        if status >= 500:
            return RetriableSourceError(f"HTTP {status} from the server")
        if status >= 400:
            snippet = self.redact(response.text[:200].strip().replace("\n", " "))
            detail = f": {snippet}" if snippet else ""
            where = self._describe(response.request.method or "GET", response.url)
            rejected = SourceRejected(f"{self.source}: {where} answered HTTP {status}{detail}")
            rejected.http_status = status  # for adapters: 404 = not found
            return rejected
        if self.classify is not None:
            try:
                verdict = self.classify(response)
            except RetriableSourceError as exc:
                return exc
            if verdict is not None:
                if isinstance(verdict, SourceError):
                    return type(verdict)(self.redact(verdict.message))
                return verdict
        return None

    @staticmethod
    def _retry_after_note(response: requests.Response) -> str:
        value = response.headers.get("Retry-After")
        return f" (Retry-After: {value})" if value else ""

    @staticmethod
    def _exception_kind(exc: Exception) -> str:
        text = str(exc).lower()
        if "reset" in text:
            return "connection reset"
        if "refused" in text:
            return "connection refused"
        if "aborted" in text or "remote end closed" in text:
            return "connection closed by the server"
        return type(exc).__name__

    def _archive(self, response: requests.Response) -> None:
        if self.archive is not None:
            self.archive.archive_response(source=self.source, url=self.redact(response.url), body=response.content)
