"""Recognise exchange deposit addresses, as exchanges run them: drained by sweeps to one exchange wallet.

Rule (deposit-address reuse, Victor, "Address clustering heuristics for Ethereum", FC 2020;
thresholds as in Tutela, Tang et al. 2022, loosened to how exchanges actually sweep): an
address is an exchange's deposit address when

- every value outflow (fees aside) goes to wallets labelled as one exchange (one entity: its
  numbered wallets count as one) or to one service hub standing in for it, and there is at
  least one such sweep;
- every deposit of a swept asset is swept within `TAU_BLOCKS` blocks: a sweep of that asset
  follows it inside the window (deposits and sweeps may interleave: a second deposit before
  the first sweep, one sweep for several deposits, partial sweeps), unless it arrived after
  the last sweep (still pending at the end of the history);
- no sweep takes more than the address held (a sweep of value the history does not show is
  not a deposit address's), and after the last sweep it holds at most a tolerance of what
  it received before it: `ALPHA_NATIVE` of the coin's unit (0.01 ETH: what gas can leave) or
  `ALPHA_RELATIVE` of the amount received for tokens.

Where the gas for a token sweep comes from (the hub, or a separate gas funder of the exchange)
does not matter to this rule: the native coin is only checked when it is swept. The tracer
then refuses the label when the gas came from the thief's own side (see :func:`gas_funders`):
an exchange runs its deposit addresses, so a wallet whose fees the thief paid is the thief's,
paying the service itself. The amount at the address is what was deposited (the tracer counts
its tainted inflows there).

Where the sweeps go to one unlabelled address, the tracer first checks whether that address is
a service hub (:mod:`heuristics.services`); if so it stands in for the exchange (exchanges' hot
wallets and instant exchangers' collectors are often unlabelled in public sets).
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


#: Labelled categories whose wallets sweep deposit addresses.
HUB_CATEGORIES = frozenset({Category.EXCHANGE, Category.INSTANT_EXCHANGER})


def _counts(tr: Transfer) -> bool:
    return not tr.noise and tr.moves_value and tr.kind is not TransferKind.FEE and tr.sender != tr.receiver


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
    hub: Label | None = None
    sweeps: dict[str, list[int]] = {}  # asset key -> sweep blocks
    last_sweep: dict[str, int] = {}  # asset key -> position of its last sweep in `transfers`
    for i, tr in enumerate(transfers):
        if not _counts(tr) or tr.sender != address or tr.receiver == FEE_SINK or tr.amount == 0:
            continue
        label = labels.get(tr.receiver)
        if label is None or label.category not in HUB_CATEGORIES:
            return None
        if hub is None:
            hub = label
        elif label.entity != hub.entity:  # one exchange may sweep to several of its numbered wallets
            return None
        sweeps.setdefault(tr.asset.key, []).append(tr.block)
        last_sweep[tr.asset.key] = i
    if hub is None:
        return None
    balance: dict[str, int] = {}
    received: dict[str, int] = {}  # received before the last sweep of the asset
    for i, tr in enumerate(transfers):
        key = tr.asset.key
        blocks = sweeps.get(key)
        if blocks is None or not _counts(tr):
            continue
        if tr.receiver == address:
            balance[key] = balance.get(key, 0) + tr.amount
            if tr.block <= blocks[-1]:
                received[key] = received.get(key, 0) + tr.amount
                swept_by = next(b for b in blocks if b >= tr.block)
                if swept_by - tr.block > tau_blocks:
                    return None
        elif tr.sender == address and tr.receiver != FEE_SINK:
            balance[key] = balance.get(key, 0) - tr.amount
            if balance[key] < 0:
                return None
        elif tr.sender == address:  # a fee in the swept (native) asset
            balance[key] = max(balance.get(key, 0) - tr.amount, 0)
        if i == last_sweep[key]:  # after the last sweep (not the first of several in its block)
            residual = balance[key]
            if residual > _tolerance(received.get(key, 0), tr):
                return None
    count = sum(len(b) for b in sweeps.values())
    return Label(
        chain=chain,
        address=address,
        category=Category.EXCHANGE_DEPOSIT,
        name=f"{hub.name} deposit address",
        source="heuristic:deposit-reuse",
        source_words=f"{count} sweep(s) to {hub.name}, each deposit swept within {tau_blocks} blocks, left near zero",
    )


def payees(address: str, transfers: Sequence[Transfer]) -> frozenset[str]:
    """Every address that `address` paid value to (fees and noise aside)."""
    return frozenset(
        tr.receiver
        for tr in transfers
        if tr.sender == address
        and tr.receiver not in (address, FEE_SINK)
        and tr.kind is not TransferKind.FEE
        and tr.moves_value
        and not tr.noise
    )


def sweep_target(address: str, transfers: Sequence[Transfer]) -> str | None:
    """The one address that every value outflow of `address` goes to (fees aside), or None."""
    targets = payees(address, transfers)
    return next(iter(targets)) if len(targets) == 1 else None


def gas_funders(address: str, transfers: Sequence[Transfer]) -> frozenset[str]:
    """Who paid `address` the native coin it spends on fees, when it never sends the native coin on.

    Empty when the address moves the native coin itself (then its native inflows are deposits,
    not gas): only a pure gas top-up says who runs the address."""
    if any(
        _counts(tr) and tr.sender == address and tr.receiver != FEE_SINK and tr.asset.contract is None and tr.amount
        for tr in transfers
    ):
        return frozenset()
    return frozenset(
        tr.sender
        for tr in transfers
        if _counts(tr) and tr.receiver == address and tr.asset.contract is None and tr.amount > 0
    )
