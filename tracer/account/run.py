"""The account-chain family behind the one engine interface (:class:`tracer.engines.ChainEngine`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tracer.account.engine import Engine, TraceState
from tracer.account.result import build_result
from tracer.bundle.result import TraceResult
from tracer.cases.plan import TraceConfig
from tracer.core.protocols import CheckpointStore, HistoryProvider, LabelLookup, Progress


class AccountTrace:
    """Runs :class:`tracer.account.engine.Engine` and builds its tables."""

    def __init__(
        self,
        config: TraceConfig,
        history: HistoryProvider,
        *,
        labels: LabelLookup | None = None,
        checkpoints: CheckpointStore | None = None,
        progress: Callable[[Progress], None] | None = None,
    ) -> None:
        self.config = config
        self.history = history
        self.engine = Engine(config, history=history, labels=labels, checkpoints=checkpoints, progress=progress)
        self.state: TraceState | None = None

    def run(self) -> None:
        self.state = self.engine.run()

    def result(self, *, manifest: dict[str, Any]) -> TraceResult:
        assert self.state is not None, "run() first"
        extra = dict(manifest)
        describe = getattr(self.history, "manifest", None)
        if callable(describe):
            extra.update(describe())
        return build_result(self.state, manifest=extra)

    def evidence_keys(self, result: TraceResult) -> list[str]:
        """The addresses whose history was read and the theft transactions (what raw responses name)."""
        read = result.addresses.filter(~result.addresses["role"].is_in(["below-threshold", "unexplored"]))[
            "address"
        ].to_list()
        return [*read, *(seed.tx for seed in self.config.seeds if seed.tx)]
