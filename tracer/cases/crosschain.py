"""The case's `[crosschain]` table: whether a trace follows value across bridges, and the resolvers' URLs.

```toml
[crosschain]
follow = true                                   # default; false stops at bridges (--no-crosschain)
thorchain = "https://midgard.ninerealms.com"    # Midgard base URL (--midgard-url)
lifi = "https://li.quest"                       # LI.FI API base URL (--lifi-url)
layerzero = "https://scan.layerzero-api.com"    # LayerZero scan (Stargate)
wormhole = "https://api.wormholescan.io"        # Wormholescan
max_crossings = 4                               # chain changes one path may make (default 4)
```
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from tracer.core.errors import BadCaseFile, BadInput

DEFAULT_MIDGARD = "https://midgard.ninerealms.com"
DEFAULT_LIFI = "https://li.quest"
DEFAULT_LAYERZERO = "https://scan.layerzero-api.com"
DEFAULT_WORMHOLE = "https://api.wormholescan.io"
KEYS = ("follow", "thorchain", "lifi", "layerzero", "wormhole", "max_crossings")
_KEYLIKE = re.compile(r"(api[-_]?key|apikey|token|secret)=", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class CrosschainSpec:
    """How a trace crosses chains (the defaults are public endpoints)."""

    follow: bool = True
    thorchain: str = DEFAULT_MIDGARD
    lifi: str = DEFAULT_LIFI
    layerzero: str = DEFAULT_LAYERZERO
    wormhole: str = DEFAULT_WORMHOLE
    max_crossings: int = 4

    def with_overrides(
        self, *, follow: bool | None = None, midgard_url: str | None = None, lifi_url: str | None = None
    ) -> CrosschainSpec:
        """This spec with command-line overrides (BadInput naming the flag for a bad URL)."""
        spec = self
        for flag, url, field in (("--midgard-url", midgard_url, "thorchain"), ("--lifi-url", lifi_url, "lifi")):
            if url is not None:
                problem = url_problem(url)
                if problem:
                    raise BadInput(f"{flag}: expected {problem}")
                spec = replace(spec, **{field: url.rstrip("/")})
        return spec if follow is None else replace(spec, follow=follow)


def url_problem(url: Any) -> str | None:
    """What makes `url` unusable as a resolver's base URL (the shared source-URL rules, and no key in it)."""
    from chains.http import url_problem as source_url_problem

    problem = source_url_problem(url)
    if problem:
        return problem
    if _KEYLIKE.search(url):
        return "a URL without an API key"
    return None


def parse_crosschain(value: Any, name: str) -> CrosschainSpec:
    """Validate the raw `[crosschain]` table of case file `name` (one-line errors)."""
    if value is None:
        return CrosschainSpec()
    if not isinstance(value, dict):
        raise BadCaseFile(f"{name}: crosschain: expected a table ([crosschain])")
    for key in value:
        if key not in KEYS:
            raise BadCaseFile(f"{name}: unknown key crosschain.{key}; expected one of: {', '.join(KEYS)}")
    spec = CrosschainSpec()
    if "follow" in value:
        if not isinstance(value["follow"], bool):
            raise BadCaseFile(f"{name}: crosschain.follow: expected true or false, got {value['follow']!r}")
        spec = replace(spec, follow=value["follow"])
    for key in ("thorchain", "lifi", "layerzero", "wormhole"):
        if key in value:
            problem = url_problem(value[key])
            if problem:
                raise BadCaseFile(f"{name}: crosschain.{key}: expected {problem}")
            spec = replace(spec, **{key: value[key].strip().rstrip("/")})
    if "max_crossings" in value:
        n = value["max_crossings"]
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= 16:
            raise BadCaseFile(f"{name}: crosschain.max_crossings: expected a whole number from 0 to 16, got {n!r}")
        spec = replace(spec, max_crossings=n)
    return spec
