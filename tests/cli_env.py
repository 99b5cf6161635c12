"""A test `Environment` whose consoles write to strings (httpie's MockEnvironment idea)."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from tracer.environment import Environment


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
