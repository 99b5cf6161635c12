"""The one context object the CLI passes around (console, paths, clock).

Tests build their own `Environment` to capture output and isolate the store.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console


def default_home() -> Path:
    """`HEISTTRACE_HOME`, else the user data dir (e.g. ~/.local/share/heisttrace)."""
    configured = os.environ.get("HEISTTRACE_HOME")
    if configured:
        return Path(configured).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("heisttrace", appauthor=False))


@dataclass
class Environment:
    """Console, store location, environment variables and clock for one CLI run."""

    stdout: Console = field(default_factory=lambda: Console(soft_wrap=True))
    stderr: Console = field(default_factory=lambda: Console(stderr=True, soft_wrap=True))
    home: Path = field(default_factory=default_home)
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    clock: Callable[[], float] = time.time
    debug: bool = False

    @property
    def store_path(self) -> Path:
        return self.home / "store.sqlite3"

    def api_key(self, name: str) -> str | None:
        """An API key from the environment (never logged)."""
        value = self.environ.get(name, "").strip()
        return value or None
