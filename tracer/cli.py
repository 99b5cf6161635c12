"""The command line: parse, call one library function, render. Errors map to exit codes here.

Exit codes (docs: README, INTERFACES): 0 done; 2 bad input; 3 data source failed;
4 incomplete trace (bundle still written); 130 interrupted by Ctrl-C, 143 by SIGTERM, 129 by SIGHUP (progress kept).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import signal
import sys
import threading
import traceback
from collections.abc import Iterator, Sequence

from tracer.core.errors import TracerError
from tracer.core.version import __version__
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
    "tracer.commands.prices",
    "tracer.commands.watch",
    "tracer.commands.freeze",
    "tracer.commands.bulk",
)

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class SignalInterrupt(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where Ctrl-C would be, so the same cleanup and checkpoint run."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signal_name = signal.Signals(signum).name
        self.exit_code = 128 + signum  # 143 for SIGTERM, 129 for SIGHUP


@contextlib.contextmanager
def interrupt_signals() -> Iterator[None]:
    """While the command runs, SIGTERM and SIGHUP behave like Ctrl-C (progress kept, one line)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def raise_interrupt(signum: int, _frame: object) -> None:
        raise SignalInterrupt(signum)

    wanted = [s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s is not None]
    previous = {s: signal.signal(s, raise_interrupt) for s in wanted}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        from tracer.core.redact import redact_text

        message = redact_text(message)  # a mistyped argument may be a URL with a key
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
        with interrupt_signals():
            return int(args.run(args, env) or 0)
    except TracerError as exc:
        if env.debug:
            env.stderr.print(traceback.format_exc(), markup=False, highlight=False)
        env.stderr.print(f"heisttrace: {exc.message}", markup=False, highlight=False)
        return exc.exit_code
    except KeyboardInterrupt as exc:
        what = f"{exc.signal_name} received" if isinstance(exc, SignalInterrupt) else "interrupted"
        env.stderr.print(f"heisttrace: {what}; progress is kept, run the same command to resume.", markup=False)
        return exc.exit_code if isinstance(exc, SignalInterrupt) else EXIT_INTERRUPTED
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
