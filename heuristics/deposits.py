"""Recognise exchange deposit addresses: they forward what they receive to an exchange wallet.

Rule (deposit-address reuse, Victor, "Address clustering heuristics for Ethereum", FC 2020;
thresholds as in Tutela, Tang et al. 2022): an address whose every outgoing payment goes to
wallets labelled as one exchange, and whose every such sweep forwards — within `TAU_BLOCKS`
blocks of the first deposit it sweeps — the amount received since the previous sweep, less
at most a small tolerance, is that exchange's deposit address.

Tolerance: for the native coin `ALPHA_NATIVE` of its unit (0.01 ETH: what gas can eat);
for tokens `ALPHA_RELATIVE` of the amount received (tokens pay no gas, sweeps are exact or
nearly). The sweep must not exceed what arrived.

Where the sweeps go to one unlabelled address, the tracer first checks whether that address is
a service hub (:mod:`heuristics.services`); if so it stands in for the exchange (exchanges' hot
wallets are often unlabelled in public sets).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from tracer.core.models import FEE_SINK, Category, Label, Transfer, TransferKind

#: Blocks within which a deposit must be swept (Tutela: 3,200 blocks ≈ 11 hours on Ethereum).
TAU_BLOCKS = 3_200
#: Native-coin tolerance in the coin's unit (Tutela: 0.01 ETH).
ALPHA_NATIVE = Decimal("0.01")
#: Token tolerance as a fraction of what was received.
ALPHA_RELATIVE = Decimal("0.01")


def _tolerance(received: int, transfer: Transfer) -> int:
    if transfer.asset.contract is None:
        return int(ALPHA_NATIVE * (Decimal(10) ** transfer.asset.decimals))
    return int(ALPHA_RELATIVE * received)


def detect_deposit_address(
    chain: str,
    address: str,
    transfers: Sequence[Transfer],
    labels: Mapping[str, Label | None],
    *,
    tau_blocks: int = TAU_BLOCKS,
) -> Label | None:
    """A deposit-address label for `address` when its history fits the rule, else None.

    `transfers` is the address's history in canonical order; `labels` maps each receiver of
    its outflows to its label (or None).
    """
    exchange: str | None = None
    pending: dict[str, tuple[int, int]] = {}  # asset key -> (received since last sweep, first block)
    sweeps = 0
    for tr in transfers:
        if tr.noise or not tr.moves_value or tr.kind is TransferKind.FEE or tr.sender == tr.receiver:
            continue
        key = tr.asset.key
        if tr.receiver == address:
            received, first = pending.get(key, (0, tr.block))
            pending[key] = (received + tr.amount, first)
            continue
        if tr.sender != address or tr.receiver == FEE_SINK:
            continue
        label = labels.get(tr.receiver)
        if label is None or label.category is not Category.EXCHANGE:
            return None
        if exchange is None:
            exchange = label.name
        elif label.name != exchange:
            return None
        received, first = pending.pop(key, (0, tr.block))
        if tr.amount > received or received - tr.amount > _tolerance(received, tr) or tr.block - first > tau_blocks:
            return None
        sweeps += 1
    if not sweeps or exchange is None:
        return None
    return Label(
        chain=chain,
        address=address,
        category=Category.EXCHANGE_DEPOSIT,
        name=f"{exchange} deposit address",
        source="heuristic:deposit-reuse",
        source_words=f"{sweeps} sweep(s) to {exchange} within {tau_blocks} blocks of the deposits",
    )


def sweep_target(address: str, transfers: Sequence[Transfer]) -> str | None:
    """The one address that every value outflow of `address` goes to (fees aside), or None."""
    targets = {
        tr.receiver
        for tr in transfers
        if tr.sender == address
        and tr.receiver not in (address, FEE_SINK)
        and tr.kind is not TransferKind.FEE
        and tr.moves_value
        and not tr.noise
    }
    return next(iter(targets)) if len(targets) == 1 else None
