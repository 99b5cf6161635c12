"""What stolen value can reach at all: a full-information haircut replay of a benchmark world.

The expert answer names every terminal the launderers paid, but the generated world decides
how much stolen value each payment can carry: an address topped up with clean value before it
pays (an unrecorded inflow), or paying before any stolen value reached it, passes on little or
nothing. This replay knows the whole world (every transaction, no requests, no budget, no
thresholds) and moves the benchmark token's taint under haircut (METHODS §1: an outflow `a`
from a holder of balance `B` and taint `T` carries `a·T // B`), starting from what the seeds
receive in the window from non-seeds that are not labelled services (the theft of issue 13).

It is a ceiling for any value-based tracer, used by the diagnosis only: a terminal that this
replay reaches with no stolen value at all cannot be found by following stolen value. The
score itself always counts every expert terminal.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def haircut_reach(
    txs: Iterable[Any], *, token: str, seeds: Iterable[str], since_block: int, services: Iterable[str]
) -> dict[str, int]:
    """Units of stolen `token` each address receives over the whole world (addresses reached only)."""
    seed_set, service_set = set(seeds), set(services)
    balance: dict[str, int] = {}
    taint: dict[str, int] = {}
    received: dict[str, int] = {}
    for tx in sorted(txs, key=lambda t: (t.block, t.tx_index)):
        if not tx.success:
            continue
        for t in tx.tokens:
            if t.token != token or not t.value:
                continue
            held, dirty = balance.get(t.sender, 0), taint.get(t.sender, 0)
            carried = dirty if t.value >= held else t.value * dirty // held  # draining carries all
            balance[t.sender] = max(0, held - t.value)  # an unseen balance (a mint, a hot wallet) is clean
            taint[t.sender] = dirty - carried
            if (
                t.to in seed_set
                and t.sender not in seed_set
                and t.sender not in service_set
                and tx.block >= since_block
            ):
                carried = t.value  # the theft itself
            balance[t.to] = balance.get(t.to, 0) + t.value
            if carried:
                taint[t.to] = taint.get(t.to, 0) + carried
                received[t.to] = received.get(t.to, 0) + carried
    return received
