"""The UTXO family behind the one engine interface (:class:`tracer.engines.ChainEngine`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tracer.bundle.result import TraceResult
from tracer.cases.plan import TraceConfig
from tracer.core.protocols import CheckpointStore, LabelLookup, Progress, UtxoHistoryProvider
from tracer.utxo.engine import UtxoEngine, UtxoTraceState
from tracer.utxo.result import build_utxo_result


class UtxoTrace:
    """Runs :class:`tracer.utxo.engine.UtxoEngine` on one UTXO chain and builds its tables."""

    def __init__(
        self,
        config: TraceConfig,
        source: UtxoHistoryProvider,
        *,
        labels: LabelLookup | None = None,
        checkpoints: CheckpointStore | None = None,
        progress: Callable[[Progress], None] | None = None,
    ) -> None:
        self.config = config
        self.engine = UtxoEngine(config, source, labels=labels, checkpoints=checkpoints, progress=progress)
        self.state: UtxoTraceState | None = None

    def run(self) -> None:
        self.state = self.engine.run()

    def result(self, *, manifest: dict[str, Any]) -> TraceResult:
        assert self.state is not None, "run() first"
        return build_utxo_result(self.state, manifest=manifest)

    def evidence_keys(self, result: TraceResult) -> list[str]:
        """The transactions followed and the addresses reached (what raw responses name)."""
        assert self.state is not None, "run() first"
        seeds = [s.address for s in self.config.seeds if s.address]
        return [*sorted(self.state.followed), *sorted(self.state.received), *seeds]


def trace_utxo(
    config: TraceConfig,
    source: UtxoHistoryProvider,
    *,
    labels: LabelLookup | None = None,
    manifest: dict[str, Any] | None = None,
) -> TraceResult:
    """Run a UTXO trace without a checkpoint store and build its tables (tests and benchmarks)."""
    run = UtxoTrace(config, source, labels=labels)
    run.run()
    return run.result(manifest=manifest or {})
