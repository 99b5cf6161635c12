"""PDF through headless Chromium's print-to-PDF (the report's own HTML, printed with its print styles)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from tracer.core.errors import TracerError

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: Headless, sandbox-free Chromium that phones nowhere (shared with the browser-driven tests).
CHROMIUM_BASE_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)
CHROMIUM_FLAGS = (*CHROMIUM_BASE_FLAGS, "--no-pdf-header-footer")


class RendererMissing(TracerError):
    """No headless browser is installed to print the PDF (exit 1: the environment, not the input)."""

    exit_code = 1


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome binary on PATH, or None."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def write_pdf(html: str, out: Path, *, timeout: float = 120.0) -> Path:
    """Print `html` to `out` with headless Chromium; RendererMissing/TracerError with one line on failure."""
    browser = find_chromium()
    if browser is None:
        raise RendererMissing(
            "PDF needs headless Chromium and none was found on PATH (install the `chromium` package, "
            "or use --format html and print it from a browser)"
        )
    with tempfile.TemporaryDirectory(prefix="heisttrace-pdf-") as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(html, encoding="utf-8")
        target = out.resolve()
        command = [
            browser,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={Path(tmp) / 'profile'}",
            "--virtual-time-budget=10000",
            "--run-all-compositor-stages-before-draw",
            f"--print-to-pdf={target}",
            page.as_uri(),
        ]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise TracerError(f"Chromium did not finish printing the PDF within {timeout:.0f} s") from None
        if result.returncode != 0 or not target.is_file() or target.stat().st_size == 0:
            last = (result.stderr.strip().splitlines() or ["no output"])[-1][:200]
            raise TracerError(f"Chromium failed to print the PDF (exit {result.returncode}: {last})")
    return target
