"""POST alerts to a webhook, with retries; what it does not accept stays queued in the store."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

RETRIES = 3
BACKOFF_SECONDS = 0.2


def post_alert(
    url: str,
    alert: dict[str, Any],
    *,
    retries: int = RETRIES,
    timeout: float = 10.0,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """True when the webhook answered 2xx within `retries` attempts (growing pauses between them)."""
    import requests

    body = json.dumps(alert, sort_keys=True).encode()
    for attempt in range(retries):
        try:
            response = requests.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=timeout)
            if 200 <= response.status_code < 300:
                return True
        except requests.RequestException:
            pass
        if attempt + 1 < retries:
            sleep(BACKOFF_SECONDS * (attempt + 1))
    return False
