"""heisttrace: follow stolen funds after a cryptocurrency exchange hack."""

from __future__ import annotations

from tracer.core.version import __version__

__all__ = ["__version__"]


def __getattr__(name: str) -> object:
    """`tracer.trace` and `tracer.compare_policies`, imported on first use (keeps `import tracer` light)."""
    if name in ("trace", "compare_policies"):
        from tracer import api

        return getattr(api, name)
    raise AttributeError(f"module 'tracer' has no attribute {name!r}")
