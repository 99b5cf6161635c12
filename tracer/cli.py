"""The command line: parse, call one library function, render. Errors map to exit codes here.

Exit codes (docs: README, INTERFACES): 0 done; 2 bad input; 3 data source failed;
4 incomplete trace (bundle still written); 130 interrupted (progress kept).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
import traceback
from collections.abc import Sequence

from tracer import __version__
from tracer.core.errors import TracerError
from tracer.environment import Environment

#: One module per command group; each has `register(subparsers)` and sets `run(args, env) -> int`.
COMMAND_MODULES = (
    "tracer.commands.trace",
    "tracer.commands.fetch",
    "tracer.commands.report",
    "tracer.commands.views",
    "tracer.commands.labels",
    "tracer.commands.cases",
    "tracer.commands.demo",
    "tracer.commands.store",
    "tracer.commands.watch",
    "tracer.commands.freeze",
)

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"heisttrace: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="heisttrace", description="Follow stolen funds after a cryptocurrency hack.")
    parser.add_argument("--version", action="version", version=f"heisttrace {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        if importlib.util.find_spec(name) is None:
            continue
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None, env: Environment | None = None) -> int:
    """Run the CLI; returns the exit code."""
    env = env or Environment()
    parser = build_parser()
    args = parser.parse_args(argv)
    env.debug = bool(args.debug)
    if not getattr(args, "run", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    try:
        return int(args.run(args, env) or 0)
    except TracerError as exc:
        if env.debug:
            env.stderr.print(traceback.format_exc(), markup=False, highlight=False)
        env.stderr.print(f"heisttrace: {exc.message}", markup=False, highlight=False)
        return exc.exit_code
    except KeyboardInterrupt:
        env.stderr.print("heisttrace: interrupted; progress is kept, run the same command to resume.", markup=False)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # a bug: one line unless --debug
        if env.debug:
            raise
        env.stderr.print(
            f"heisttrace: internal error: {type(exc).__name__}: {exc} (run with --debug for details)",
            markup=False,
            highlight=False,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
