"""What a ledger replay returns: where one address's taint went (flows, swaps, pushes, totals).

Also the small vocabulary the replay and its callers share: edge keys, asset keys, the clean-prefix memo.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tracer.core.models import Asset, Transfer

EdgeKey = tuple[str, int]  # (tx hash, position) — unique per chain

_ASSET_KEYS: dict[int, tuple[Asset, str]] = {}


def asset_key(asset: Asset) -> str:
    """`chain:native` or `chain:<contract>` (cached by identity: called once per transfer)."""
    hit = _ASSET_KEYS.get(id(asset))
    if hit is not None and hit[0] is asset:
        return hit[1]
    key = asset.key
    if len(_ASSET_KEYS) > 100_000:
        _ASSET_KEYS.clear()
    _ASSET_KEYS[id(asset)] = (asset, key)
    return key


@dataclass(frozen=True, slots=True)
class Flow:
    """One transfer that carried taint at this address, and how."""

    transfer: Transfer
    taint: int
    poisoned: bool
    kind: str  # transfer | fee | swap-out | swap-in | stolen | attributed | shortfall (thief-funds replays: gained)


@dataclass(frozen=True, slots=True)
class Swap:
    """Taint that changed asset at `address` in one transaction."""

    tx_hash: str
    block: int
    timestamp: int
    address: str
    asset_out: str
    taint_out: int
    asset_in: str
    taint_in: int


@dataclass(slots=True)
class Outcome:
    """Where one address's taint went."""

    pushes: dict[EdgeKey, tuple[Transfer, int, bool]] = field(default_factory=dict)
    flows: list[Flow] = field(default_factory=list)
    unmoved: dict[str, int] = field(default_factory=dict)
    fees: dict[str, int] = field(default_factory=dict)
    stolen: dict[str, int] = field(default_factory=dict)
    swapped_in: dict[str, int] = field(default_factory=dict)
    swapped_out: dict[str, int] = field(default_factory=dict)
    received: dict[str, int] = field(default_factory=dict)  # tainted in (pushed + stolen + swapped in)
    first_tainted: dict[str, int] = field(default_factory=dict)  # asset -> timestamp
    swaps: list[Swap] = field(default_factory=list)
    assets: dict[str, Asset] = field(default_factory=dict)
    poisoned: bool = False


@dataclass(slots=True)
class CleanPrefix:
    """A replay memo for one address: its balances at the start of transaction `index` of its history.

    Before the first transaction that brings taint in, a non-seed address's replay moves only
    clean value and records nothing; its whole state is one clean balance per asset. The next
    replay (new taint arrived later in the history) restarts from there instead of from the
    first transfer. `index` -1 means nothing is memoised yet.
    """

    index: int = -1
    balances: dict[str, int] = field(default_factory=dict)


def bump(table: dict[str, int], key: str, amount: int) -> None:
    if amount:
        table[key] = table.get(key, 0) + amount
