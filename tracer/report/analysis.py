"""Per-address views and swap detection over a bundle's flows (pure functions, no I/O)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from tracer.report.bundle import ZERO, Bundle, FlowRow

NodeKey = tuple[str, str]  # (chain, address)
ROLE_RANK = {"seed": 0, "endpoint": 1, "transit": 2, "unexplored": 3}
#: Role of an address that only appears as a sender in flows.csv (e.g. the victim paying the thief).
EXTERNAL = "external"


def node_id(chain: str, address: str) -> str:
    """The node id used in graphs and exports: `chain:address`."""
    return f"{chain}:{address}"


@dataclass(frozen=True, slots=True)
class Swap:
    """In one transaction, `address` paid `asset_out` and received `asset_in` (taint crossed assets)."""

    chain: str
    tx_hash: str
    address: str
    asset_out: str
    tainted_out: Decimal
    asset_in: str
    tainted_in: Decimal
    timestamp: str
    counterparty: str  # who received the paid asset (the router or pool)


@dataclass
class AddressView:
    """Everything the bundle says about one address."""

    chain: str
    address: str
    role: str = EXTERNAL
    category: str = ""
    label: str = ""
    label_source: str = ""
    hop: int | None = None
    first_tainted_at: str = ""
    tainted_in: dict[str, Decimal] = field(default_factory=dict)
    tainted_out: dict[str, Decimal] = field(default_factory=dict)
    senders: dict[NodeKey, Decimal] = field(default_factory=dict)  # counterparty -> taint share received
    receivers: dict[NodeKey, Decimal] = field(default_factory=dict)  # counterparty -> taint share sent
    swaps: list[Swap] = field(default_factory=list)

    @property
    def key(self) -> NodeKey:
        return (self.chain, self.address)

    @property
    def id(self) -> str:
        return node_id(self.chain, self.address)

    @property
    def name(self) -> str:
        """The label, else a shortened address; a heuristic label (generic) follows the shortened address."""
        if self.label and self.label_source.startswith("heuristic:"):
            return f"{short_address(self.address)} ({self.label})"
        return self.label or short_address(self.address)


def short_address(address: str) -> str:
    return address if len(address) <= 14 else f"{address[:8]}…{address[-4:]}"


def extract_swaps(flows: list[FlowRow]) -> list[Swap]:
    """Swaps: inside one transaction an address pays taint in asset A that it held before (received in an
    earlier transaction) and receives taint in asset B ≠ A. The pool on the other side is symmetric but never
    held A before, which tells the two apart."""
    by_tx: dict[tuple[str, str], list[FlowRow]] = defaultdict(list)
    first_in: dict[tuple[str, str, str], list[tuple[int, str]]] = defaultdict(
        list
    )  # (chain, addr, asset) -> (block, tx)
    for flow in flows:
        if not flow.is_fee:
            by_tx[(flow.chain, flow.tx_hash)].append(flow)
            first_in[(flow.chain, flow.receiver, flow.asset)].append((flow.block, flow.tx_hash))

    def held_before(chain: str, address: str, asset: str, block: int, tx: str) -> bool:
        return any(b <= block and t != tx for b, t in first_in.get((chain, address, asset), ()))

    swaps = []
    for (chain, tx), rows in sorted(by_tx.items()):
        if len(rows) < 2:
            continue
        paid: dict[tuple[str, str], list[FlowRow]] = defaultdict(list)
        got: dict[tuple[str, str], list[FlowRow]] = defaultdict(list)
        for row in rows:
            paid[(row.sender, row.asset)].append(row)
            got[(row.receiver, row.asset)].append(row)
        for (address, asset_out), out_rows in sorted(paid.items()):
            for (receiver, asset_in), in_rows in sorted(got.items()):
                if receiver != address or asset_in == asset_out:
                    continue
                if not held_before(chain, address, asset_out, out_rows[0].block, tx):
                    continue
                swaps.append(
                    Swap(
                        chain=chain,
                        tx_hash=tx,
                        address=address,
                        asset_out=asset_out,
                        tainted_out=sum((r.tainted_amount for r in out_rows), ZERO),
                        asset_in=asset_in,
                        tainted_in=sum((r.tainted_amount for r in in_rows), ZERO),
                        timestamp=min(r.timestamp for r in out_rows + in_rows),
                        counterparty=min(r.receiver for r in out_rows),
                    )
                )
    return swaps


def bundle_swaps(bundle: Bundle) -> list[Swap]:
    """Swaps seen in flows.csv, plus any the engine listed in summary.json's `swaps` that flows do not show."""
    swaps = extract_swaps(bundle.flows)
    seen = {(s.chain, s.tx_hash, s.address, s.asset_out, s.asset_in) for s in swaps}
    listed = bundle.summary.get("swaps")
    for raw in listed if isinstance(listed, list) else []:
        if not isinstance(raw, dict):
            continue
        try:
            swap = Swap(
                chain=str(raw["chain"]),
                tx_hash=str(raw["tx_hash"]),
                address=str(raw["address"]),
                asset_out=str(raw["asset_out"]),
                tainted_out=Decimal(str(raw.get("tainted_out", "0"))),
                asset_in=str(raw["asset_in"]),
                tainted_in=Decimal(str(raw.get("tainted_in", "0"))),
                timestamp=str(raw.get("timestamp", "")),
                counterparty="",
            )
        except (KeyError, ArithmeticError):
            continue
        key = (swap.chain, swap.tx_hash, swap.address, swap.asset_out, swap.asset_in)
        if key not in seen:
            seen.add(key)
            swaps.append(swap)
    swaps.sort(key=lambda s: (s.chain, s.timestamp, s.tx_hash, s.address, s.asset_out, s.asset_in))
    return swaps


def swap_flow_keys(swaps: list[Swap], flows: list[FlowRow]) -> set[tuple[str, str, int]]:
    """(chain, tx, position) of every flow that is a leg of a swap."""
    legs = {(s.chain, s.tx_hash, s.address, s.asset_out, s.asset_in) for s in swaps}
    by_tx: dict[tuple[str, str], list[tuple[str, str, str]]] = defaultdict(list)
    for chain, tx, address, out_asset, in_asset in legs:
        by_tx[(chain, tx)].append((address, out_asset, in_asset))
    keys = set()
    for flow in flows:
        for address, out_asset, in_asset in by_tx.get((flow.chain, flow.tx_hash), ()):
            if (flow.sender == address and flow.asset == out_asset) or (
                flow.receiver == address and flow.asset == in_asset
            ):
                keys.add((flow.chain, flow.tx_hash, flow.position))
    return keys


def summarize_addresses(bundle: Bundle) -> dict[NodeKey, AddressView]:
    """One view per traced address: addresses.csv merged with flows (taint out, counterparties) and swaps."""
    views: dict[NodeKey, AddressView] = {}

    def view(chain: str, address: str, role: str = EXTERNAL) -> AddressView:
        found = views.get((chain, address))
        if found is None:
            found = views[(chain, address)] = AddressView(chain=chain, address=address, role=role)
        return found

    for row in bundle.addresses:
        v = view(row.chain, row.address, row.role)
        if ROLE_RANK.get(row.role, 3) < ROLE_RANK.get(v.role, 3):
            v.role = row.role
        v.category = v.category or row.category
        v.label = v.label or row.label
        v.label_source = v.label_source or row.label_source
        if row.hop is not None:
            v.hop = row.hop if v.hop is None else min(v.hop, row.hop)
        if row.first_tainted_at and (not v.first_tainted_at or row.first_tainted_at < v.first_tainted_at):
            v.first_tainted_at = row.first_tainted_at
        v.tainted_in[row.asset] = v.tainted_in.get(row.asset, ZERO) + row.tainted_in
    for ep in bundle.endpoints:
        v = view(ep.chain, ep.address)
        v.role = "seed" if v.role == "seed" else "endpoint"
        v.category = v.category or ep.category
        v.label = v.label or ep.label
        v.label_source = v.label_source or ep.label_source
    for flow in bundle.flows:
        if flow.is_fee:
            continue
        share = bundle.share(flow.asset, flow.tainted_amount)
        src = view(flow.chain, flow.sender)
        dst = view(flow.chain, flow.receiver)
        src.tainted_out[flow.asset] = src.tainted_out.get(flow.asset, ZERO) + flow.tainted_amount
        src.receivers[dst.key] = src.receivers.get(dst.key, ZERO) + share
        dst.senders[src.key] = dst.senders.get(src.key, ZERO) + share
    for swap in bundle_swaps(bundle):
        view(swap.chain, swap.address).swaps.append(swap)
    return views


def taint_share(view: AddressView, bundle: Bundle) -> Decimal:
    """How much of the case passed through an address: its taint in, as shares of each asset, summed."""
    return sum((bundle.share(asset, amount) for asset, amount in view.tainted_in.items()), ZERO)


@dataclass(frozen=True, slots=True)
class Arrival:
    """Tainted value reaching an endpoint in one flow."""

    timestamp: str
    chain: str
    address: str
    category: str
    asset: str
    amount: Decimal
    tx_hash: str


def endpoint_arrivals(bundle: Bundle, views: dict[NodeKey, AddressView]) -> list[Arrival]:
    """Every tainted flow into an endpoint, in time order (the timeline of the case)."""
    arrivals = []
    for flow in bundle.flows:
        view = views.get((flow.chain, flow.receiver))
        if flow.is_fee or view is None or view.role != "endpoint" or flow.tainted_amount <= 0:
            continue
        arrivals.append(
            Arrival(
                timestamp=flow.timestamp,
                chain=flow.chain,
                address=flow.receiver,
                category=view.category,
                asset=flow.asset,
                amount=flow.tainted_amount,
                tx_hash=flow.tx_hash,
            )
        )
    arrivals.sort(key=lambda a: (a.timestamp, a.chain, a.tx_hash, a.address, a.asset))
    return arrivals


def find_address(views: dict[NodeKey, AddressView], query: str) -> AddressView:
    """The address named `query` (`chain:address` or a bare address, any case); BadInput if unknown/ambiguous."""
    from tracer.core.errors import BadInput

    chain, _, address = query.rpartition(":") if ":" in query else ("", "", query)
    wanted = address.strip()
    if wanted[:2].lower() == "0x" and len(wanted) == 42:
        from tracer.core.addresses import validate_evm

        validate_evm(wanted)  # a mixed-case address must match its EIP-55 checksum (BadAddress otherwise)
    matches = [
        v
        for v in views.values()
        if (v.address == wanted or v.address.lower() == wanted.lower()) and (not chain or v.chain == chain)
    ]
    if not matches:
        raise BadInput(f"{query!r} is not an address of this trace (see addresses.csv)")
    if len(matches) > 1:
        chains = ", ".join(sorted(v.chain for v in matches))
        raise BadInput(f"{query} appears on several chains ({chains}); write it as chain:address")
    return matches[0]
