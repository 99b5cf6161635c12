"""What the change rules that look beyond the transaction need, read within the trace's budget.

- `locktime` and `fee-rate` compare a hop with the transactions spending its outputs: those are
  read (they are the spenders the trace follows next; each counts towards the budget once);
- `fresh-address` needs each output address's first payment: its history is read (through the
  same counted, stored reader as clustering's).

The other rules (optimal-change, address-type, non-round, address-reuse, peel-shape) look at the
transaction only and cost nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from heuristics.change import ChangeContext
from tracer.core.models import UtxoTx
from tracer.core.protocols import UtxoHistoryProvider
from tracer.utxo.clusters import HistoryReader

SPENDER_RULES = frozenset({"locktime", "fee-rate"})
HISTORY_RULES = frozenset({"fresh-address"})
LONG_HISTORY = "(a history too long to read)"


def change_context(
    tx: UtxoTx,
    rules: Iterable[str],
    source: UtxoHistoryProvider,
    fetched: dict[str, UtxoTx],
    reader: HistoryReader,
    may_read: Callable[[], bool],
) -> ChangeContext:
    """The context `rules` need for `tx` (empty when none of them looks beyond the transaction)."""
    wanted = set(rules)
    spenders: dict[tuple[str, int], UtxoTx] = {}
    first_seen: dict[str, str] = {}
    if wanted & SPENDER_RULES:
        for out in tx.outputs:
            spender = source.spender(tx.txid, out.index)
            if spender is None:
                continue
            if spender not in fetched and may_read():
                fetched[spender] = source.tx(spender)
            if spender in fetched:
                spenders[(tx.txid, out.index)] = fetched[spender]
    if wanted & HISTORY_RULES:
        for out in tx.outputs:
            if out.address is None:
                continue
            history = reader.history(out.address)
            if history is None and out.address in reader.too_long:
                first_seen[out.address] = LONG_HISTORY  # hundreds of transactions: not a fresh address
                continue
            first = next((t.txid for t in history or () if any(o.address == out.address for o in t.outputs)), None)
            if first is not None:
                first_seen[out.address] = first
    return ChangeContext(first_seen=first_seen, spenders=spenders)
