"""A small base for explorer emulators: a real HTTP server on 127.0.0.1 (port 0) in a daemon thread.

Subclasses implement :meth:`EmulatorServer.handle` (a :class:`Request` in, a :class:`Reply`
out) and may override :meth:`EmulatorServer.rate_limited_reply` with their source's own
"rate limit" answer. The base adds what every test needs:

- a request counter and a log of (method, path, query) per request;
- an optional server-side rate limit (`rate_limit_per_s`): excess calls get the
  rate-limited reply, as real explorers do;
- a switchable, deterministic :class:`FaultPlan`: a scripted list of faults for the first
  requests, then seeded fractions of 429 (with or without `Retry-After`), 5xx, slow answers,
  connection resets, malformed bodies and the source's rate-limit body.

Usage::

    with MyEmulator(...) as server:
        client.get(server.base_url + "/path")
        server.faults = FaultPlan.mixed(0.10, seed=7)
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import struct
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

from chains.ratelimit import TokenBucket


class Fault(StrEnum):
    """One way an answer can go wrong."""

    TOO_MANY = "429"  # HTTP 429 with Retry-After
    TOO_MANY_BARE = "429-bare"  # HTTP 429 without Retry-After
    SERVER_ERROR = "5xx"  # HTTP 502/503
    SLOW = "slow"  # the right answer, late
    RESET = "reset"  # TCP reset, no answer
    MALFORMED = "malformed"  # HTTP 200 with a truncated body
    RATE_LIMIT_BODY = "rate-limit-body"  # the source's own rate-limit answer (HTTP 200 for explorers)


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """Which answers fail. `script` applies to the first requests in order; then `rates` (fractions) apply.

    The fate of request number n depends only on (`seed`, n), so a run is reproducible
    whenever requests arrive in the same order.
    """

    rates: dict[Fault, float] = field(default_factory=dict)
    script: tuple[Fault | None, ...] = ()
    seed: int = 0
    slow_seconds: float = 0.3
    retry_after: str = "1"

    def __post_init__(self) -> None:
        if sum(self.rates.values()) > 1.0 + 1e-9:
            raise ValueError("fault rates add up to more than 1")

    @classmethod
    def mixed(cls, total: float, *, kinds: tuple[Fault, ...] | None = None, seed: int = 0, **kw: Any) -> FaultPlan:
        """`total` of all answers fail, split evenly over `kinds` (default: every fault kind)."""
        kinds = kinds or tuple(Fault)
        return cls(rates={k: total / len(kinds) for k in kinds}, seed=seed, **kw)

    def fault_for(self, n: int) -> Fault | None:
        """The fault for the n-th request (0-based), or None."""
        if n < len(self.script):
            return self.script[n]
        draw = random.Random(self.seed * 1_000_003 + n).random()
        edge = 0.0
        for kind, rate in self.rates.items():
            edge += rate
            if draw < edge:
                return kind
        return None


@dataclass(frozen=True, slots=True)
class Request:
    """What the emulator received. `query` keeps the last value of each parameter."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class Reply:
    """What the emulator answers."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    #: When set, the body is these chunks, written as they come, then the connection closes (no
    #: Content-Length unless `headers` gives one): endless or truncated answers for hostile tests.
    stream: Iterable[bytes] | None = None

    @classmethod
    def json(cls, payload: Any, status: int = 200, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
        return cls(status, json.dumps(payload, separators=(",", ":")).encode(), "application/json", headers)

    @classmethod
    def text(cls, text: str, status: int = 200) -> Reply:
        return cls(status, text.encode(), "text/plain; charset=utf-8")

    def with_header(self, name: str, value: str) -> Reply:
        return Reply(self.status, self.body, self.content_type, (*self.headers, (name, value)))


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without NODELAY, Nagle + delayed ACK add ~40 ms per answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # silence stderr access logs
        pass

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        emulator = self.server.emulator
        fault, reply = emulator.dispatch(request)
        if fault is Fault.RESET:
            self._reset()
            return
        if fault is Fault.MALFORMED:
            reply = Reply(200, reply.body[: max(1, len(reply.body) // 2)] or b"{", reply.content_type)
        if reply.stream is not None:
            self._stream(reply)
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)

    def _stream(self, reply: Reply) -> None:
        """Write `reply.stream` chunk by chunk until it ends or the client hangs up, then close."""
        self.close_connection = True
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Connection", "close")
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        try:
            for chunk in reply.stream or ():
                self.wfile.write(chunk)
            self.wfile.flush()
        except OSError:
            pass  # the client stopped reading (a body cap): normal here

    def _reset(self) -> None:
        """Close with SO_LINGER 0 so the peer sees a TCP reset."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64
    emulator: EmulatorServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up (and our own resets) are normal here: no traceback on stderr."""


class EmulatorServer:
    """Base of the emulators. Subclasses implement :meth:`handle`."""

    def __init__(self, *, faults: FaultPlan | None = None, rate_limit_per_s: float | None = None) -> None:
        self._lock = threading.Lock()
        self._faults = faults or FaultPlan()
        self._fault_counter = 0
        self.requests = 0
        self.request_log: list[tuple[str, str, dict[str, str]]] = []
        self.faults_served: dict[Fault, int] = {}
        self.rate_limited = 0  # answers refused by `rate_limit_per_s`
        self._limiter = TokenBucket(rate_limit_per_s, max(1, int(rate_limit_per_s))) if rate_limit_per_s else None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- what subclasses provide ----------------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        """Answer one request (no faults here; the base applies them)."""
        raise NotImplementedError

    def rate_limited_reply(self, request: Request) -> Reply:
        """The source's answer when a caller is over its rate limit (default: bare 429)."""
        return Reply.text("Too Many Requests", status=429)

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self) -> Self:
        if self._server is not None:
            return self
        server = _Server(("127.0.0.1", 0), _Handler)
        server.emulator = self
        self._server = server
        name = type(self).__name__
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), name=name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("emulator not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT` (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    # -- faults -------------------------------------------------------------------------------------

    @property
    def faults(self) -> FaultPlan:
        return self._faults

    @faults.setter
    def faults(self, plan: FaultPlan | None) -> None:
        """Switch the fault plan; its script and seeded draws start again from request 0."""
        with self._lock:
            self._faults = plan or FaultPlan()
            self._fault_counter = 0

    def reset_counters(self) -> None:
        with self._lock:
            self.requests = 0
            self.request_log.clear()
            self.faults_served.clear()
            self.rate_limited = 0

    def dispatch(self, request: Request) -> tuple[Fault | None, Reply]:
        """Count, pick the fault, and build the reply (called by the handler thread)."""
        with self._lock:
            self.requests += 1
            self.request_log.append((request.method, request.path, dict(request.query)))
            plan = self._faults
            fault = plan.fault_for(self._fault_counter)
            self._fault_counter += 1
            if fault is not None:
                self.faults_served[fault] = self.faults_served.get(fault, 0) + 1
        if fault is None and self._limiter is not None and not self._limiter.try_acquire():
            with self._lock:
                self.rate_limited += 1
            return None, self.rate_limited_reply(request)
        if fault is Fault.TOO_MANY:
            return fault, Reply.text("Too Many Requests", status=429).with_header("Retry-After", plan.retry_after)
        if fault is Fault.TOO_MANY_BARE:
            return fault, Reply.text("Too Many Requests", status=429)
        if fault is Fault.SERVER_ERROR:
            return fault, Reply.text("<html><body>502 Bad Gateway</body></html>", status=502)
        if fault is Fault.RATE_LIMIT_BODY:
            return fault, self.rate_limited_reply(request)
        if fault is Fault.RESET:
            return fault, Reply()
        if fault is Fault.SLOW:
            time.sleep(plan.slow_seconds)
        return fault, self.handle(request)
