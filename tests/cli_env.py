"""A test `Environment` whose consoles write to strings (httpie's MockEnvironment idea), and a labelled home."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from tracer.core.models import Category, Label
from tracer.environment import Environment
from tracer.store import Store


def make_env(home: Path) -> tuple[Environment, io.StringIO, io.StringIO]:
    """An environment with captured stdout/stderr, its store under `home` and no environment variables."""
    out, err = io.StringIO(), io.StringIO()
    env = Environment(
        stdout=Console(file=out, width=160, soft_wrap=True),
        stderr=Console(file=err, width=160),
        home=home,
        environ={},
    )
    return env, out, err


def labelled_home(tmp: Path, *, exchange: str, mixer: str) -> Path:
    """A `HEISTTRACE_HOME` under `tmp` whose store labels `exchange` and `mixer` (synthetic, as a user import)."""
    home = tmp / "home"
    home.mkdir(parents=True, exist_ok=True)
    with Store.open(home / "store.sqlite3") as store:
        store.write_user_labels(
            [
                Label("ethereum", exchange, Category.EXCHANGE, "Synthetic Exchange", source="test-synthetic"),
                Label("ethereum", mixer, Category.MIXER, "Synthetic Mixer", source="test-synthetic"),
            ]
        )
    return home
