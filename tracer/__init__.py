"""heisttrace: follow stolen funds after a cryptocurrency exchange hack."""

from __future__ import annotations

__version__ = "0.1.0"
