"""The seeds of an account-chain trace: thief and victim addresses, theft transactions, stated amounts.

Mixed into :class:`tracer.account.engine.Engine`: reads each seed's full history, resolves the
stated amounts (caps) into base units, and replays the seeds first, so that what is stolen is
fixed before anything else is traced.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from tracer.account.frontier import Node
from tracer.account.ledger import EdgeKey, Injection, asset_key
from tracer.cases.plan import SeedSpec
from tracer.core.addresses import normalize_address
from tracer.core.errors import BadInput
from tracer.core.models import SERVICE_CATEGORIES, Label, Transfer
from tracer.core.networks import ChainKind, get_chain

#: The role of a seed that continues a trace across chains (the destination payment of a crossing).
BRIDGED = "bridged"


class SeedRules:
    """Mixin: start a trace from its seeds."""

    def _start_seeds(self) -> None:
        cfg = self.config
        seed_nodes: list[Node] = []
        by_chain: dict[str, set[str]] = {}
        thief: dict[Node, dict[str, Any]] = {}
        for seed in cfg.seeds:
            chain = get_chain(seed.chain)
            if chain.kind is ChainKind.UTXO:
                raise BadInput(f"seed on {seed.chain}: UTXO chains are traced by the UTXO tracer, not this engine")
            if seed.address and seed.role != BRIDGED:
                node = (seed.chain, normalize_address(seed.chain, seed.address))
                by_chain.setdefault(seed.chain, set()).add(node[1])
                entry = thief.setdefault(node, {"victim": False, "thief": False, "caps": {}, "uncapped": False})
                if seed.role == "victim":
                    entry["victim"] = True
                    self.state.victims.add(node)
                else:
                    entry["thief"] = True
                    if seed.amount is None:
                        entry["uncapped"] = True
                    else:
                        entry["caps"][(seed.asset or chain.native_symbol, seed.amount)] = True
                if node not in seed_nodes:
                    seed_nodes.append(node)
        tx_edges: dict[Node, dict[EdgeKey, int]] = {}
        for seed in cfg.seeds:
            if seed.tx and (not seed.address or seed.role == BRIDGED):
                found = self._crossing_receiver(seed) if seed.role == BRIDGED else self._theft_receivers(seed)
                for node, edges in found.items():
                    tx_edges.setdefault(node, {}).update(edges)
                    by_chain.setdefault(node[0], set()).add(node[1])
                    if node not in seed_nodes:
                        seed_nodes.append(node)
        for node in seed_nodes:
            self.state.seeds.add(node)
            self.state.hops[node] = 0
            self.state.labels[node] = self._label(node)
        for node in seed_nodes:
            self._begin(node)
            transfers = self._read(node, full=True)
            if transfers is None:
                continue
            entry = thief.get(node, {"victim": False, "thief": False, "caps": {}, "uncapped": False})
            caps = (
                None if entry["uncapped"] or not entry["thief"] else self._resolve_caps(node, entry["caps"], transfers)
            )
            uncapped_thief = entry["thief"] and caps is None
            services = self._service_senders(node, transfers) if uncapped_thief else frozenset()
            self._injections[node] = Injection(
                thief=entry["thief"],
                victim=entry["victim"],
                caps=caps,
                edges=tx_edges.get(node, {}),
                seeds=frozenset(by_chain.get(node[0], set())),
                services=services,
            )
            self._histories[node] = transfers
            self._replay(node)
        self._settle()
        self._bases_ready = True
        self._update_bases()
        for node in sorted(self._pending_score):
            self._rescore(node)
        self._pending_score.clear()

    def _service_senders(self, node: Node, transfers: Sequence[Transfer]) -> frozenset[str]:
        """Labelled services that paid seed `node` in the window (exchange withdrawals, payouts): not theft.

        Each is named in the summary's notes, so an analyst whose theft was paid by a labelled
        wallet (an exchange's own hot wallet) sees why and states the amount or the theft tx."""
        window = self.config.window
        paid: dict[str, int] = {}
        labels: dict[str, Label | None] = {}
        for tr in transfers:
            if tr.receiver != node[1] or tr.sender == node[1] or not tr.moves_value or tr.amount <= 0:
                continue
            if not (window.started(tr) and not window.ended(tr)):
                continue
            if tr.sender not in labels:
                labels[tr.sender] = self._label((node[0], tr.sender))
            label = labels[tr.sender]
            if label is not None and label.category in SERVICE_CATEGORIES:
                paid[tr.sender] = paid.get(tr.sender, 0) + 1
        for sender in sorted(paid):
            label = labels[sender]
            assert label is not None  # counted only with a service label
            self.state.notes.append(
                f"seed {node[1]}: {paid[sender]} payment(s) from {sender} ({label.category}: {label.name}) "
                "are not counted as stolen (a labelled service pays its customers); if they were the theft, "
                "state the amount or give the theft transaction"
            )
        return frozenset(paid)

    def _theft_receivers(self, seed: SeedSpec) -> dict[Node, dict[EdgeKey, int]]:
        """The receivers of a theft transaction and, per inflow edge, how much of it was stolen."""
        fetch = getattr(self.history, "transaction", None)
        if fetch is None:
            raise BadInput(f"seed tx {seed.tx}: this history source cannot look up transactions; give the address")
        transfers: Sequence[Transfer] = fetch(get_chain(seed.chain), seed.tx)
        if not transfers:
            raise BadInput(f"seed tx {seed.tx} on {seed.chain}: no value-moving transfers found")
        net: dict[tuple[str, str], int] = {}
        for tr in transfers:
            if tr.kind.value == "fee" or not tr.moves_value or tr.noise or tr.sender == tr.receiver:
                continue
            k = asset_key(tr.asset)
            net[(tr.receiver, k)] = net.get((tr.receiver, k), 0) + tr.amount
            net[(tr.sender, k)] = net.get((tr.sender, k), 0) - tr.amount
        result: dict[Node, dict[EdgeKey, int]] = {}
        for tr in sorted(transfers, key=lambda t: t.order_key):
            k = asset_key(tr.asset)
            gain = net.get((tr.receiver, k), 0)
            if gain <= 0 or tr.kind.value == "fee" or not tr.moves_value or tr.noise:
                continue
            take = min(gain, tr.amount)
            net[(tr.receiver, k)] = gain - take
            result.setdefault((seed.chain, tr.receiver), {})[(tr.tx_hash, tr.position)] = take
        if not result:
            raise BadInput(f"seed tx {seed.tx} on {seed.chain}: nobody gained value in it")
        return result

    def _crossing_receiver(self, seed: SeedSpec) -> dict[Node, dict[EdgeKey, int]]:
        """A crossing's destination payment (tracer.crosschain): the payments of `seed.asset` to `seed.address`
        in `seed.tx`, tainted up to `seed.amount` (the tainted share the bridge carried), in transfer order."""
        fetch = getattr(self.history, "transaction", None)
        if fetch is None:
            raise BadInput(f"crossing tx {seed.tx}: this history source cannot look up transactions")
        address = normalize_address(seed.chain, seed.address or "")
        edges: dict[EdgeKey, int] = {}
        left: int | None = None
        for tr in sorted(fetch(get_chain(seed.chain), seed.tx or ""), key=lambda t: t.order_key):
            if tr.receiver != address or tr.kind.value == "fee" or not tr.moves_value or tr.noise:
                continue
            if (seed.asset or "native") != tr.asset.asset_id:
                continue
            if left is None:
                left = int(Decimal(seed.amount or "0") * (Decimal(10) ** tr.asset.decimals))
            take = min(left, tr.amount)
            if take > 0:
                edges[(tr.tx_hash, tr.position)] = take
                left -= take
        return {(seed.chain, address): edges} if edges else {}

    def _resolve_caps(
        self, node: Node, wanted: dict[tuple[str, str], bool], transfers: Sequence[Transfer]
    ) -> dict[str, int]:
        """Turn (symbol or contract, decimal amount) into {asset key: base units}."""
        chain = get_chain(node[0])
        caps: dict[str, int] = {}
        for asset_text, amount_text in wanted:
            key, decimals = None, None
            if asset_text.lower() in (chain.native_symbol.lower(), "native"):
                key, decimals = f"{chain.slug}:native", chain.native_decimals
            else:
                matches = {
                    asset_key(t.asset): t.asset.decimals
                    for t in transfers
                    if t.asset.contract
                    and (t.asset.contract == asset_text.lower() or t.asset.symbol.lower() == asset_text.lower())
                }
                if len(matches) > 1:
                    raise BadInput(f"seed {node[1]}: asset {asset_text!r} is ambiguous; give the token contract")
                if not matches:
                    raise BadInput(f"seed {node[1]}: asset {asset_text!r} never reached this address")
                key, decimals = next(iter(matches.items()))
            try:
                units = Decimal(amount_text) * (Decimal(10) ** decimals)
            except InvalidOperation:
                raise BadInput(f"seed {node[1]}: amount {amount_text!r} is not a number") from None
            if units != units.to_integral_value() or units < 0:
                raise BadInput(f"seed {node[1]}: amount {amount_text} has more decimals than the asset ({decimals})")
            caps[key] = caps.get(key, 0) + int(units)
        return caps
