"""The shared HTTP client against a real HTTP server on 127.0.0.1 (chains.emulators.server)."""

from __future__ import annotations

import email.utils
import logging
import threading
import time
import traceback
from collections.abc import Iterator

import pytest
import requests

from chains.emulators.server import EmulatorServer, Fault, FaultPlan, Reply, Request
from chains.http import HttpClient, RetryPolicy, json_body, parse_retry_after
from chains.ratelimit import RateLimiterRegistry, TokenBucket, key_fingerprint
from tracer.core.errors import RetriableSourceError, RetriesExhausted, SourceRejected

KEY = "K3YSECRET9zz"
HEADER_KEY = "hdr-secret-77"


class EchoServer(EmulatorServer):
    """Answers {"ok": true, "path": ...}; `/missing` is a 404, `/busy` reports a rate-limit body."""

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.in_flight = 0
        self.max_in_flight = 0
        self.hold = 0.0
        self._gauge = threading.Lock()

    def handle(self, request: Request) -> Reply:
        with self._gauge:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.hold:
                time.sleep(self.hold)
            if request.path == "/missing":
                return Reply.text("no such thing", status=404)
            if request.path == "/busy":
                return Reply.json({"status": "0", "result": "Max calls per sec rate limit reached (3/sec)"})
            return Reply.json({"ok": True, "path": request.path, "body": request.body.decode()})
        finally:
            with self._gauge:
                self.in_flight -= 1

    def rate_limited_reply(self, request: Request) -> Reply:
        return Reply.json({"status": "0", "message": "NOTOK", "result": "Max calls per sec rate limit reached"})


class Recorder:
    """An injected sleep: records the waits instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def server() -> Iterator[EchoServer]:
    with EchoServer() as srv:
        yield srv


def make_client(sleep: Recorder | None = None, **kw: object) -> HttpClient:
    options: dict[str, object] = {
        "source": "test",
        "rate_per_s": None,
        "retry": RetryPolicy(attempts=4, backoff_base=0.01, backoff_max=0.05, timeout=0.5),
        "secrets": [KEY, HEADER_KEY],
        "sleep": sleep or Recorder(),
        "seed": 1,
    }
    options.update(kw)
    return HttpClient(**options)  # type: ignore[arg-type]


def test_success_returns_parsed_json_and_counts(server: EchoServer) -> None:
    client = make_client()
    assert client.get_json(server.base_url + "/a") == {"ok": True, "path": "/a", "body": ""}
    assert client.post_json(server.base_url + "/rpc", {"id": 1})["body"] == '{"id": 1}'
    assert client.requests == server.requests == 2


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (Fault.TOO_MANY, "HTTP 429"),
        (Fault.TOO_MANY_BARE, "HTTP 429"),
        (Fault.SERVER_ERROR, "HTTP 502"),
        (Fault.SLOW, "timed out"),
        (Fault.RESET, "connection"),
        (Fault.MALFORMED, "malformed JSON"),
    ],
)
def test_each_transient_fault_is_retried_then_succeeds(server: EchoServer, fault: Fault, expected: str) -> None:
    server.faults = FaultPlan(script=(fault, fault), slow_seconds=0.6)
    sleep = Recorder()
    client = make_client(sleep, retry=RetryPolicy(attempts=3, backoff_base=0.01, timeout=0.2))
    assert client.get_json(server.base_url + "/x")["ok"] is True
    assert server.requests == 3
    assert len(sleep.waits) >= 2  # rate limits also pace the next request through the shared bucket


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (Fault.TOO_MANY, "HTTP 429"),
        (Fault.TOO_MANY_BARE, "HTTP 429"),
        (Fault.SERVER_ERROR, "HTTP 502"),
        (Fault.SLOW, "timed out after 0.2 s"),
        (Fault.RESET, "connection"),
        (Fault.MALFORMED, "malformed JSON"),
    ],
)
def test_persistent_fault_raises_retries_exhausted_clearly(server: EchoServer, fault: Fault, expected: str) -> None:
    server.faults = FaultPlan(script=(fault,) * 3, slow_seconds=0.6)
    client = make_client(retry=RetryPolicy(attempts=3, backoff_base=0.01, timeout=0.2))
    with pytest.raises(RetriesExhausted) as info:
        client.get_json(server.base_url + "/x", params={"apikey": KEY})
    message = str(info.value)
    assert "after 3 attempts" in message and expected in message
    assert "\n" not in message and KEY not in message
    assert server.requests == 3
    assert info.value.__cause__ is None and info.value.__context__ is None


def test_retry_after_seconds_is_honoured(server: EchoServer) -> None:
    server.faults = FaultPlan(script=(Fault.TOO_MANY,), retry_after="7")
    sleep = Recorder()
    make_client(sleep).get_json(server.base_url + "/x")
    assert sleep.waits and sleep.waits[0] == pytest.approx(7.0, abs=0.05)


def test_retry_after_http_date_is_honoured(server: EchoServer) -> None:
    server.faults = FaultPlan(
        script=(Fault.TOO_MANY,), retry_after=email.utils.formatdate(time.time() + 30, usegmt=True)
    )
    sleep = Recorder()
    make_client(sleep).get_json(server.base_url + "/x")
    assert 25.0 <= sleep.waits[0] <= 31.0


def test_retry_after_is_capped(server: EchoServer) -> None:
    server.faults = FaultPlan(script=(Fault.TOO_MANY,), retry_after="86400")
    sleep = Recorder()
    make_client(sleep, retry=RetryPolicy(attempts=2, max_retry_after=12)).get_json(server.base_url + "/x")
    assert sleep.waits[0] == pytest.approx(12, abs=0.1)  # waited on the shared bucket: once, capped
    assert max(sleep.waits) < 12.1


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after("120") == 120
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == pytest.approx(10.0)
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0.0


def test_backoff_is_exponential_with_full_jitter() -> None:
    import random

    policy = RetryPolicy(backoff_base=1.0, backoff_max=8.0)
    rng = random.Random(3)
    draws = [[policy.backoff(n, rng) for _ in range(200)] for n in (1, 2, 3, 4, 6)]
    for ceiling, values in zip((1, 2, 4, 8, 8), draws, strict=True):
        assert all(0 <= v <= ceiling for v in values)
        assert max(values) > ceiling * 0.8 and min(values) < ceiling * 0.2
    assert RetryPolicy(backoff_base=1.0, jitter=False).backoff(3, rng) == 4.0


def test_client_errors_are_rejected_without_retry(server: EchoServer) -> None:
    client = make_client()
    with pytest.raises(SourceRejected, match="HTTP 404: no such thing") as info:
        client.get(server.base_url + "/missing", params={"apikey": KEY})
    assert server.requests == 1
    assert info.value.http_status == 404  # type: ignore[attr-defined]


def test_classify_hook_retries_rate_limit_bodies_and_raises_rejections(server: EchoServer) -> None:
    def classify(response: requests.Response) -> Exception | None:
        body = json_body(response)
        if isinstance(body, dict) and body.get("status") == "0":
            if "rate limit" in str(body.get("result")):
                return RetriableSourceError("rate limit body")
            return SourceRejected(f"rejected: {body.get('result')} {KEY}")
        return None

    server.faults = FaultPlan(script=(Fault.RATE_LIMIT_BODY,))
    client = make_client(classify=classify)
    assert client.get_json(server.base_url + "/x")["ok"] is True
    assert server.requests == 2
    with pytest.raises(RetriesExhausted, match="rate limit body"):
        client.get_json(server.base_url + "/busy")
    rejecting = make_client(classify=lambda r: SourceRejected(f"bad key {KEY}"))
    with pytest.raises(SourceRejected) as info:
        rejecting.get_json(server.base_url + "/x")
    assert KEY not in str(info.value) and "***" in str(info.value)


def test_unreachable_host_is_a_clear_error() -> None:
    with EchoServer() as srv:
        url = srv.base_url + "/x"
    client = make_client(retry=RetryPolicy(attempts=2, backoff_base=0.01, timeout=0.5))
    with pytest.raises(RetriesExhausted, match="connection"):
        client.get(url, params={"apikey": KEY})


def test_key_never_appears_in_logs_errors_or_archive(server: EchoServer, caplog: pytest.LogCaptureFixture) -> None:
    archived: list[str] = []

    class Archive:
        def archive_response(self, *, source: str, url: str, body: bytes) -> str:
            archived.append(url)
            return "0" * 64

    caplog.set_level(logging.DEBUG)
    client = make_client(archive=Archive(), retry=RetryPolicy(attempts=3, backoff_base=0.01, timeout=0.2))
    faults = (Fault.TOO_MANY, Fault.SERVER_ERROR, Fault.RESET, Fault.MALFORMED, Fault.SLOW, Fault.TOO_MANY_BARE)
    server.faults = FaultPlan(script=faults * 2, slow_seconds=0.5)
    errors: list[str] = []
    for _ in range(8):
        try:
            client.get_json(
                server.base_url + "/x", params={"apikey": KEY, "q": "1"}, headers={"TRON-PRO-API-KEY": HEADER_KEY}
            )
        except RetriesExhausted as exc:
            errors.append(str(exc) + "".join(traceback.format_exception(exc)))
    with pytest.raises(SourceRejected) as info:
        client.get(server.base_url + "/missing", params={"apikey": KEY})
    errors.append("".join(traceback.format_exception(info.value)))
    assert errors and archived and caplog.records
    captured = caplog.text + "\n".join(errors) + "\n".join(archived)
    assert "urllib3" in {r.name.split(".")[0] for r in caplog.records}  # third-party URL logs were captured too
    assert KEY not in captured and HEADER_KEY not in captured
    assert all("apikey=***" in url for url in archived)
    assert client.redact(f"x?apikey={KEY}&token=abc") == "x?apikey=***&token=***"


def test_concurrency_is_bounded(server: EchoServer) -> None:
    server.hold = 0.05
    client = make_client(max_concurrency=2)
    threads = [threading.Thread(target=client.get_json, args=(server.base_url + "/x",)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert server.max_in_flight == 2
    assert client.requests == server.requests == 8


def test_rate_limit_spaces_requests(server: EchoServer) -> None:
    client = make_client(rate_per_s=40.0, sleep=time.sleep)
    start = time.monotonic()
    for _ in range(11):
        client.get(server.base_url + "/x")
    assert time.monotonic() - start >= 10 / 40 * 0.9


def test_token_bucket_with_fake_clock() -> None:
    now = [0.0]
    bucket = TokenBucket(2.0, burst=2, clock=lambda: now[0])
    assert [bucket.reserve() for _ in range(4)] == [0.0, 0.0, 0.5, 1.0]
    now[0] = 10.0
    assert bucket.try_acquire() and bucket.try_acquire() and not bucket.try_acquire()


def test_defer_holds_the_whole_bucket_back() -> None:
    now = [0.0]
    bucket = TokenBucket(10.0, burst=1, clock=lambda: now[0])
    assert bucket.reserve() == 0.0
    now[0] = 1.0
    bucket.defer(3.0)
    assert bucket.reserve() == pytest.approx(3.0)  # another thread asking now waits out the Retry-After
    now[0] = 4.2
    assert bucket.reserve() == 0.0


def test_registry_shares_buckets_per_host_and_key() -> None:
    registry = RateLimiterRegistry()
    fp = key_fingerprint([KEY])
    assert KEY not in fp and len(fp) == 12
    a = registry.bucket("h:1", fp, rate=3)
    assert registry.bucket("h:1", fp, rate=3) is a
    assert registry.bucket("h:1", key_fingerprint(["other"]), rate=3) is not a
    assert registry.bucket("h:2", fp, rate=3) is not a
    assert registry.bucket("h:1", fp, rate=5).rate == 5
