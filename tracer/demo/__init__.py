"""The bundled SYNTHETIC demo case and the plumbing to trace it offline.

`heisttrace demo` runs :func:`tracer.demo.run.run_demo`. Library users and the examples
open a :func:`demo_session`: the demo world served by the Etherscan emulator on 127.0.0.1,
a store, a history service and the label book, ready for :func:`tracer.trace`::

    from tracer import trace
    from tracer.demo import demo_session

    with demo_session("work/") as demo:
        result = trace(demo.case_path, history=demo.history, labels=demo.labels, store=demo.store)

Everything in the demo is fictional and labelled synthetic.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tracer.demo.scenario import DemoScenario, build_scenario


@dataclass
class DemoSession:
    """A running emulated explorer over the demo world, with what `tracer.trace` needs."""

    scenario: DemoScenario
    api_url: str
    case_path: Path
    store: Any  # tracer.store.Store
    history: Any  # tracer.sources.history.HistoryService
    labels: Any  # tracer.labels.book.LabelBook


@contextmanager
def demo_session(work_dir: Path | str, *, seed: int = 2024, policy: str | None = None) -> Iterator[DemoSession]:
    """Serve the demo world on 127.0.0.1 and open a store in `work_dir` (no network, no key)."""
    from chains.emulators.etherscan import EtherscanEmulator
    from tracer.cases.plan import build_plan
    from tracer.demo.run import load_label_book
    from tracer.sources.factory import build_sources
    from tracer.store import Store

    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    scenario = build_scenario(seed=seed)
    with EtherscanEmulator(scenario.world) as emulator:
        case_path = work / "case.toml"
        case_path.write_text(scenario.case_toml(api_url=emulator.api_url, policy=policy), encoding="utf-8")
        store = Store.open(work / "store.sqlite3")
        try:
            history = build_sources(build_plan(case_path), store).account
            yield DemoSession(
                scenario=scenario,
                api_url=emulator.api_url,
                case_path=case_path,
                store=store,
                history=history,
                labels=load_label_book(scenario.labels),
            )
        finally:
            store.close()


__all__ = ["DemoScenario", "DemoSession", "build_scenario", "demo_session"]
