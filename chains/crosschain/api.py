"""What every bridge resolver's HTTP API client shares: a base URL, a polite rate off loopback, a request count."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chains.http import HttpClient, is_loopback
from tracer.core.errors import SourceError, SourceRejected


class ResolverApi:
    """One resolver API (Midgard, LI.FI, LayerZero scan, Wormholescan). Subclasses set `source`.

    `key` is sent in `key_header` and registered as a secret (never logged or stored); the public
    rate applies only off loopback; `client` replaces the HTTP client (tests)."""

    source = "api"
    key_header = ""

    def __init__(
        self,
        url: str,
        *,
        public_rate_per_s: float,
        archive: Any = None,
        client: Any = None,
        key: str | None = None,
    ) -> None:
        self.base_url = url.rstrip("/")
        if client is None:
            rate = None if is_loopback(self.base_url) else public_rate_per_s
            headers = {self.key_header: key} if key and self.key_header else None
            client = HttpClient(
                source=self.source, rate_per_s=rate, archive=archive, secrets=(key,) if key else (), headers=headers
            )
        self.client = client

    @property
    def requests(self) -> int:
        return self.client.requests

    def get_object(self, url: str, params: Mapping[str, str] | None = None, *, missing: Any = None) -> dict[str, Any]:
        """The JSON object at `url`; a 404 gives `missing` when it is given (an unknown hash), else fails."""
        try:
            doc = self.client.get_json(url, params=params)
        except SourceRejected as exc:
            if exc.http_status == 404 and missing is not None:
                return dict(missing)
            raise
        if not isinstance(doc, dict):
            raise SourceError(f"{self.source}: {url} did not answer a JSON object")
        return doc
