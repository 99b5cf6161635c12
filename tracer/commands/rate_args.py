"""`--rate N`: requests per second for every source of a command (overrides the case file's `rate`)."""

from __future__ import annotations

import argparse

from tracer.cases.case import rate_problem
from tracer.core.errors import BadInput


def add_rate_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rate",
        type=float,
        metavar="N",
        help="requests per second to each source (default: the case file's rate, else the source's own: "
        "3/s for public Etherscan); processes sharing one key and store share it",
    )


def checked_rate(rate: float | None) -> float | None:
    """`rate` when usable (None stays None); BadInput naming --rate otherwise."""
    if rate is not None and rate_problem(rate):
        raise BadInput(f"--rate: expected {rate_problem(rate)}, got {rate:g}")
    return rate
