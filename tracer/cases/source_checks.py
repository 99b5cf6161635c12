"""Checks of the values a case file gives its sources: a request rate, a source URL."""

from __future__ import annotations

import re
from typing import Any

#: The highest request rate (per second) a case file or --rate may ask for.
MAX_RATE = 1000
_KEY_IN_URL = re.compile(r"(?i)[?&;](api[-_]?key|apikey|key|token)=[^&#;]")


def rate_problem(rate: Any) -> str | None:
    """None when `rate` is a usable request rate (requests per second), else what is expected."""
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not (0 < rate <= MAX_RATE):
        return f"requests per second, above 0 and at most {MAX_RATE}"
    return None


def url_problem(url: str) -> str | None:
    """What is wrong with a source URL, or None."""
    if not isinstance(url, str) or not url.strip():
        return "a non-empty URL"
    if not re.match(r"https?://[^\s/?#]+", url):
        return "an http:// or https:// URL"
    if _KEY_IN_URL.search(url):
        return "a URL without an API key (set ETHERSCAN_API_KEY or TRONGRID_API_KEY instead)"
    return None
