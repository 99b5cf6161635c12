"""The subcommand shape shared by the commands that read a finished bundle (`report`, `export`, `show`, ...)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from tracer.environment import Environment


def add_bundle_command(
    subparsers: argparse._SubParsersAction,
    name: str,
    *,
    help: str,
    description: str,
    run: Callable[[argparse.Namespace, Environment], int],
    dir_help: str = "bundle directory",
) -> argparse.ArgumentParser:
    """A subcommand taking the bundle directory as its first argument `DIR` (`args.dir`) and running `run`."""
    parser = subparsers.add_parser(name, help=help, description=description)
    parser.add_argument("dir", type=Path, metavar="DIR", help=dir_help)
    parser.set_defaults(run=run)
    return parser
