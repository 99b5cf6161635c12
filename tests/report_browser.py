"""Drive real headless Chromium over the DevTools protocol (for the report's acceptance tests and benchmark).

Chromium starts with background networking off and a fresh profile; the DevTools websocket is
spoken with `websockets.sync` (already installed with web3). A page records console messages,
uncaught exceptions, log entries, every network request and any JavaScript dialog (alert).
"""

from __future__ import annotations

import base64
import itertools
import json
import struct
import subprocess
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

from tracer.report.pdf import CHROMIUM_BASE_FLAGS
from tracer.report.pdf import find_chromium as chromium_path

FLAGS = (
    *CHROMIUM_BASE_FLAGS,
    "--disable-default-apps",
    "--disable-extensions",
    "--mute-audio",
    "--remote-debugging-port=0",
    "--window-size=1400,1000",
)


@dataclass
class PageLog:
    console: list[dict[str, Any]] = field(default_factory=list)  # Runtime.consoleAPICalled params
    exceptions: list[dict[str, Any]] = field(default_factory=list)
    log_entries: list[dict[str, Any]] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and error log entries, as text."""
        found = [
            " ".join(str(a.get("value", a.get("description", ""))) for a in c.get("args", []))
            for c in self.console
            if c.get("type") in ("error", "assert")
        ]
        found += [e.get("exceptionDetails", {}).get("text", "exception") + " " + json.dumps(e) for e in self.exceptions]
        found += [e["entry"].get("text", "") for e in self.log_entries if e["entry"].get("level") == "error"]
        return found


class Browser:
    """One headless Chromium with a fresh profile; use as a context manager."""

    def __init__(self, *, timeout: float = 30.0) -> None:
        binary = chromium_path()
        if binary is None:
            raise RuntimeError("chromium is not installed")
        self.timeout = timeout
        self._profile = tempfile.TemporaryDirectory(prefix="heisttrace-chromium-")
        self._process = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={self._profile.name}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._ids = itertools.count(1)
        self._events: list[dict[str, Any]] = []
        self._connection = connect(self._browser_url(), max_size=None, open_timeout=timeout)
        self._ws = self._connection.__enter__()

    def _browser_url(self) -> str:
        marker = Path(self._profile.name) / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if marker.exists():
                lines = marker.read_text().split()
                if len(lines) >= 2:
                    return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
            if self._process.poll() is not None:
                raise RuntimeError(f"chromium exited with {self._process.returncode}")
            time.sleep(0.05)
        raise RuntimeError("chromium did not open its DevTools port")

    # ------------------------------------------------------------------ protocol

    def send(self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None) -> dict:
        ident = next(self._ids)
        message: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._ws.send(json.dumps(message))
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == ident:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def _receive(self, deadline: float) -> dict[str, Any]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no answer from chromium in time")
        message = json.loads(self._ws.recv(timeout=remaining))
        if "method" in message:
            self._events.append(message)
        return message

    def wait_event(self, method: str, *, session: str, timeout: float | None = None) -> dict[str, Any]:
        deadline = time.monotonic() + (timeout or self.timeout)
        seen = 0
        while True:
            for event in self._events[seen:]:
                if event.get("method") == method and event.get("sessionId") == session:
                    return event
            seen = len(self._events)
            self._receive(deadline)

    def open(self, url: str, *, init_script: str = "") -> Page:
        """A new tab with logging on, navigated to `url`, after its load event."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session)
        for domain in ("Runtime", "Log", "Network", "Page"):
            self.send(f"{domain}.enable", session=session)
        if init_script:
            self.send("Page.addScriptToEvaluateOnNewDocument", {"source": init_script}, session=session)
        self._events.clear()
        started = time.monotonic()
        self.send("Page.navigate", {"url": url}, session=session)
        self.wait_event("Page.loadEventFired", session=session)
        page.load_seconds = time.monotonic() - started
        return page

    def close(self) -> None:
        try:
            self._connection.__exit__(None, None, None)
        finally:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._profile.cleanup()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def ws(self) -> ClientConnection:
        return self._ws


class Page:
    """One tab; `log()` collects what it did so far."""

    def __init__(self, browser: Browser, session: str) -> None:
        self.browser = browser
        self.session = session
        self.load_seconds = 0.0

    def evaluate(self, expression: str, *, await_promise: bool = False) -> Any:
        result = self.browser.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": await_promise},
            session=self.session,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, *, timeout: float = 20.0) -> float:
        """Poll `expression` until truthy; seconds waited."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.evaluate(expression):
                return time.monotonic() - started
            time.sleep(0.02)
        raise TimeoutError(f"page never satisfied {expression}")

    def settle(self, seconds: float = 0.3) -> None:
        """Let pending events (dialogs, late errors) arrive."""
        self.evaluate(f"new Promise(r => setTimeout(r, {int(seconds * 1000)}))", await_promise=True)

    def screenshot(self, selector: str, *, scale: float = 0.5) -> tuple[int, int, list[bytes]]:
        """PNG screenshot of one element, decoded to rows of RGB(A) pixels."""
        box = self.evaluate(
            f"(() => {{ const r = document.querySelector({json.dumps(selector)}).getBoundingClientRect();"
            " return [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height]; })()"
        )
        clip = {"x": box[0], "y": box[1], "width": box[2], "height": box[3], "scale": scale}
        data = self.browser.send(
            "Page.captureScreenshot",
            {"format": "png", "clip": clip, "captureBeyondViewport": True},
            session=self.session,
        )["data"]
        return decode_png(base64.b64decode(data))

    def log(self) -> PageLog:
        log = PageLog()
        for event in self.browser._events:
            if event.get("sessionId") != self.session:
                continue
            method, params = event["method"], event.get("params", {})
            if method == "Runtime.consoleAPICalled":
                log.console.append(params)
            elif method == "Runtime.exceptionThrown":
                log.exceptions.append(params)
            elif method == "Log.entryAdded":
                log.log_entries.append(params)
            elif method == "Network.requestWillBeSent":
                log.requests.append(params["request"]["url"])
            elif method == "Page.javascriptDialogOpening":
                log.dialogs.append(params.get("message", ""))
        return log


def decode_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit, non-interlaced RGB/RGBA PNG into (width, channels, rows)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            if depth != 8 or colour not in (2, 6) or interlace:
                raise ValueError("unsupported PNG layout")
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + ((left + up) >> 1)) & 0xFF
            elif kind == 4:
                corner = previous[i - channels] if i >= channels else 0
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, channels, rows


def content_fraction(width: int, channels: int, rows: list[bytes], *, tolerance: int = 24) -> float:
    """Share of pixels that differ from the most common colour (the background)."""
    counts: dict[bytes, int] = {}
    for row in rows:
        for x in range(0, width * channels, channels):
            px = row[x : x + 3]
            counts[px] = counts.get(px, 0) + 1
    background = max(counts, key=lambda k: counts[k])
    differing = sum(
        n for px, n in counts.items() if max(abs(a - b) for a, b in zip(px, background, strict=True)) > tolerance
    )
    return differing / max(sum(counts.values()), 1)
