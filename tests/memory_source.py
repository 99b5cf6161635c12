"""In-memory sources for engine tests: a HistoryProvider over a list of transfers, labels, checkpoints.

Every world built here is synthetic (made up by the tests); no real addresses or amounts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from tracer.core.models import FEE_SINK, Asset, Category, Label, Transfer, TransferKind
from tracer.core.networks import Chain
from tracer.core.protocols import HistoryChunk

CHAIN = "ethereum"
ETH = Asset(CHAIN, None, "ETH", 18)
USDT = Asset(CHAIN, "0x" + "d" * 40, "USDT", 6)
PAGE = 1000  # rows per request, like an explorer page


def addr(n: int) -> str:
    """A synthetic address."""
    return "0x" + f"{n:040x}"


def tx_hash(n: int) -> str:
    return "0x" + f"{n:064x}"


def transfer(
    n: int,
    block: int,
    sender: str,
    receiver: str,
    amount: int,
    *,
    asset: Asset = ETH,
    position: int = 1,
    tx_index: int = 0,
    kind: TransferKind | None = None,
    success: bool = True,
    noise: frozenset = frozenset(),
) -> Transfer:
    """A synthetic transfer in tx number `n` (timestamp = 1_000_000 + 12·block)."""
    if kind is None:
        kind = TransferKind.TOKEN if asset.contract else TransferKind.EXTERNAL
    return Transfer(
        chain=CHAIN,
        tx_hash=tx_hash(n),
        position=position,
        block=block,
        tx_index=tx_index,
        timestamp=1_000_000 + 12 * block,
        sender=sender,
        receiver=receiver,
        asset=asset,
        amount=amount,
        kind=kind,
        success=success,
        noise=noise,
    )


def fee(n: int, block: int, sender: str, amount: int, *, tx_index: int = 0, success: bool = True) -> Transfer:
    return transfer(
        n, block, sender, FEE_SINK, amount, position=0, tx_index=tx_index, kind=TransferKind.FEE, success=success
    )


class MemoryHistory:
    """A HistoryProvider over fixed transfers; counts one request per page of `PAGE` rows."""

    def __init__(self, transfers: Iterable[Transfer]) -> None:
        self._by_address: dict[str, list[Transfer]] = defaultdict(list)
        self._by_tx: dict[str, list[Transfer]] = defaultdict(list)
        tip = 0
        for tr in transfers:
            self._by_address[tr.sender].append(tr)
            if tr.receiver != tr.sender and tr.receiver != FEE_SINK:
                self._by_address[tr.receiver].append(tr)
            self._by_tx[tr.tx_hash].append(tr)
            tip = max(tip, tr.block)
        for rows in self._by_address.values():
            rows.sort(key=lambda t: t.order_key)
        self._tip = tip
        self.requests = 0
        self.calls: list[tuple[str, int | None]] = []

    def tip(self, chain: Chain, *, pin_key: str | None = None) -> int:
        return self._tip

    def history(
        self,
        chain: Chain,
        address: str,
        *,
        start_block: int = 0,
        end_block: int | None = None,
        max_rows: int | None = None,
    ) -> HistoryChunk:
        end = self._tip if end_block is None else end_block
        rows = [t for t in self._by_address.get(address, []) if start_block <= t.block <= end]
        self.calls.append((address, max_rows))
        complete = True
        last = end
        if max_rows is not None and len(rows) > max_rows:
            complete = False
            last = rows[max_rows].block - 1
            rows = [t for t in rows if t.block <= last]
        self.requests += max(1, -(-len(rows) // PAGE))
        return HistoryChunk(tuple(rows), start_block, last, complete)

    def transaction(self, chain: Chain, tx: str) -> Sequence[Transfer]:
        self.requests += 1
        return list(self._by_tx.get(tx.lower(), []))


class MemoryLabels:
    """A LabelLookup over a dict."""

    def __init__(self, labels: dict[str, tuple[Category, str]] | None = None) -> None:
        self._labels = {
            a: Label(CHAIN, a, cat, name, source="test-synthetic") for a, (cat, name) in (labels or {}).items()
        }

    def label(self, chain: str, address: str) -> Label | None:
        return self._labels.get(address)


class MemoryCheckpoints:
    """Checkpoint store in memory."""

    def __init__(self) -> None:
        self.saved: dict[str, bytes] = {}
        self.writes = 0

    def write_checkpoint(self, key: str, state: bytes) -> None:
        self.saved[key] = state
        self.writes += 1

    def read_checkpoint(self, key: str) -> bytes | None:
        return self.saved.get(key)
