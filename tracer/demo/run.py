"""Run the SYNTHETIC demo through the same code path as a real case.

EtherscanEmulator on 127.0.0.1 -> source factory (Etherscan adapter) -> store (a temporary one) ->
engine -> result bundle -> reporter. :func:`trace_world` is that path for any world; the
quality benchmark uses it too.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from chains.emulators.world import EvmWorld
from tracer.core.errors import BadInput
from tracer.core.models import Label

EXIT_OK = 0
EXIT_INCOMPLETE = 4


@dataclass
class WorldTrace:
    """A finished trace of an emulated world, with its cost."""

    result: Any  # tracer.bundle.result.TraceResult
    requests: int
    seconds: float
    case_path: Path


def load_label_book(extra: Sequence[Label]) -> Any:
    """The bundled label sets plus `extra` (what a user's own label import would add)."""
    from tracer.labels.book import load_labels

    book = load_labels()
    return book.with_labels(list(extra)) if extra else book


def trace_world(
    world: EvmWorld,
    case_toml: Callable[[str], str],
    *,
    work_dir: Path,
    extra_labels: Sequence[Label] = (),
    policy: str | None = None,
    strategy: str | None = None,
    max_addresses: int | None = None,
    labels: Any = None,
) -> WorldTrace:
    """Serve `world` from the Etherscan emulator and trace the case `case_toml(api_url)` against it.

    The store lives in `work_dir` (start from an empty directory to measure cold requests).
    The adapter runs without its client-side rate limit (the emulator is on loopback).
    """
    from chains.emulators.etherscan import EtherscanEmulator
    from tracer.api import trace
    from tracer.cases.plan import build_plan
    from tracer.sources.factory import build_sources
    from tracer.store import Store

    work_dir.mkdir(parents=True, exist_ok=True)
    book = labels if labels is not None else load_label_book(extra_labels)
    with EtherscanEmulator(world) as emulator:
        case_path = work_dir / "case.toml"
        case_path.write_text(case_toml(emulator.api_url), encoding="utf-8")
        plan = build_plan(case_path, policy=policy, strategy=strategy, max_addresses=max_addresses)
        store = Store.open(work_dir / "store.sqlite3")
        try:
            sources = build_sources(plan, store)
            started = time.perf_counter()
            result = trace(plan, history=sources.account, labels=book, store=store)
            seconds = time.perf_counter() - started
            requests = sources.requests
        finally:
            store.close()
    return WorldTrace(result=result, requests=requests, seconds=seconds, case_path=case_path)


@dataclass
class DemoOutcome:
    out: Path
    seconds: float
    requests: int
    complete: bool

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.complete else EXIT_INCOMPLETE


#: The demo's price file: SYNTHETIC hourly prices (fictional, not market data).
SYNTHETIC_PRICES = Path(__file__).with_name("prices_synthetic.csv")


def run_demo(
    out: Path | str,
    *,
    console: Console | None = None,
    policy: str | None = None,
    seed: int = 2024,
) -> DemoOutcome:
    """Build the synthetic scenario, trace it offline, print the views, write the bundle to `out`."""
    from tracer.demo.scenario import CASE_TITLE, build_scenario
    from tracer.valuation.apply import value_result
    from tracer.valuation.book import file_book

    console = console or Console()
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise BadInput(f"--out {out} is a file; give a directory for the bundle")
    started = time.perf_counter()
    console.print(f"[bold]{CASE_TITLE}[/bold]")
    console.print("Everything below is synthetic: fictional entities, served by a local emulated explorer.\n")
    scenario = build_scenario(seed=seed)
    with tempfile.TemporaryDirectory(prefix="heisttrace-demo-") as tmp:
        traced = trace_world(
            scenario.world,
            lambda url: scenario.case_toml(api_url=url, policy=policy),
            work_dir=Path(tmp),
            extra_labels=scenario.labels,
        )
        result = traced.result
        result.summary.setdefault("title", CASE_TITLE)
        result.summary.setdefault("notes", [])
        if isinstance(result.summary["notes"], list):
            result.summary["notes"].append("SYNTHETIC DEMO: every entity, address and transaction is fictional.")
        value_result(result, file_book(SYNTHETIC_PRICES))
        result.summary["notes"].append("SYNTHETIC DEMO: USD values come from a synthetic price file, not market data.")
        result.write(out)
    show_views(out, console)
    elapsed = time.perf_counter() - started
    console.print(
        f"\nWrote the bundle to {out}/ (open {out / 'report.html'}). "
        f"{traced.requests} explorer requests, {elapsed:.1f} s. Synthetic data, labelled synthetic."
    )
    return DemoOutcome(out=out, seconds=elapsed, requests=traced.requests, complete=bool(result.complete))


def show_views(bundle_dir: Path, console: Console, *, paths: int = 3) -> None:
    """Print the reporter's balance sheet, endpoint categories and top paths for a written bundle."""
    from tracer.report import terminal
    from tracer.report.bundle import read_bundle
    from tracer.report.casefile import analyse_bundle

    case = analyse_bundle(read_bundle(bundle_dir), top_paths=paths)
    console.print(terminal.balance_sheet(case))
    console.print(terminal.endpoints_by_category(case))
    for index, path in enumerate(case.paths[:paths], start=1):
        console.print(terminal.path_panel(case, path, index))
