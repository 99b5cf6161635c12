"""The continuation across chains: taint that entered a bridge is resolved to its destination payment, which
becomes a seed on the destination chain carrying the tainted share; the trace goes on there.

Round 0 is the case's own trace. After each round, every transaction in which tainted value stayed at
a bridge (an endpoint labelled `bridge`, or a protocol's own contract) is a crossing candidate. A
resolver (:mod:`tracer.crosschain.resolvers`) names the destination payment(s); each becomes a
`bridged` seed on its chain with ``paid × tainted ÷ amount the bridge took in`` (haircut-
proportional, floored to the base unit), and the next round traces those seeds under the same
policy, with the address budget that is left. An unresolved or pending crossing leaves the bridge
as the endpoint and names the gap.

Accounting: on the source chain, the resolved taint moves from `endpoints` to `bridged_out`; on the
destination chain, the seeded taint is `bridged_in` (not `stolen`). So each chain's sheet closes
to the base unit: ``stolen + swapped_in + bridged_in = swapped_out + bridged_out + endpoints +
unmoved + fees + below_threshold + unexplored + excluded``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from heuristics.crossing_match import Arrival, match_amount_time
from tracer.bundle.result import TraceResult
from tracer.cases.plan import SeedSpec, TracePlan, Window
from tracer.core.crossings import PENDING, REFUNDED, RESOLVED, CrossingOut, Resolution
from tracer.core.errors import BadInput, OfflineGap, SourceError
from tracer.core.networks import ChainKind, get_chain
from tracer.core.units import format_units, iso
from tracer.crosschain.accounting import apply_bridged_in, apply_bridged_out, asset_decimals, merge_rounds
from tracer.crosschain.resolvers import (
    KNOWN_CONTRACTS,
    AcrossResolver,
    CachedResolution,
    CrossingRequest,
    LayerZeroResolver,
    LifiResolver,
    ThorchainResolver,
    WormholeResolver,
    unresolved,
)

BRIDGE = "bridge"
RoundRunner = Callable[[TracePlan, Any], tuple[TraceResult, list[str]]]


@dataclass
class _Candidate:
    request: CrossingRequest
    kept: dict[str, int]  # bridge address -> taint it kept in the transaction


def follow_crossings(
    plan: TracePlan,
    first: TraceResult,
    *,
    sources: Any,
    store: Any,
    run_round: RoundRunner,
    build_sources: Callable[[TracePlan, Any], Any],
) -> tuple[TraceResult, list[str]]:
    """Resolve the crossings of `first` (round 0) and trace their destinations, round after round."""
    from chains.crosschain.lifi import LifiClient
    from chains.crosschain.messaging import LayerZeroScan, WormholeScan
    from chains.crosschain.midgard import MidgardClient

    spec = plan.crosschain
    cache = CachedResolution(store, offline=plan.offline)
    midgard = MidgardClient(url=spec.thorchain, archive=store)
    lifi = LifiClient(url=spec.lifi, key=os.environ.get("LIFI_API_KEY") or None, archive=store)
    chains = _ChainAccess(plan, store, sources, build_sources)
    resolvers = [
        ThorchainResolver(midgard, chains.op_returns),
        LifiResolver(lifi),
        AcrossResolver(chains.logs),
        LayerZeroResolver(LayerZeroScan(url=spec.layerzero, archive=store), chains.facts, chains.payment_to),
        WormholeResolver(WormholeScan(url=spec.wormhole, archive=store), chains.payment_to),
    ]
    rounds, crossings, gaps, notes, keys = [first], [], [], [], []
    current, done = first, set()
    visited = int(first.summary.get("counts", {}).get("addresses_visited", 0))
    for depth in range(spec.max_crossings):
        seeds: list[SeedSpec] = []
        decimals = asset_decimals(current)
        chains.known_decimals(decimals)
        for cand in _candidates(current, decimals, chains):
            req = cand.request
            if (req.chain, req.tx_hash, req.asset_key) in done:
                continue
            done.add((req.chain, req.tx_hash, req.asset_key))
            resolution = _resolve(req, resolvers, cache, chains)
            records, new_seeds = _continue(req, resolution, chains, depth)
            crossings.extend(records)
            if resolution.status in (RESOLVED, REFUNDED) and new_seeds:
                apply_bridged_out(current, req.chain, req.asset_key, cand.kept, req.tx_hash)
                seeds.extend(new_seeds)
            else:
                status = resolution.status
                if status in (RESOLVED, REFUNDED):
                    status = f"{status}, but no destination payment was found on its chain"
                text = (
                    f"crossing {req.chain} {req.tx_hash} ({resolution.protocol}): {status}"
                    f"{' — ' + resolution.note if resolution.note else ''}; the bridge is the endpoint"
                )
                # pending: the answer will come (the trace is incomplete); otherwise the bridge stays an endpoint
                (gaps if resolution.status == PENDING else notes).append(text)
        if not seeds:
            break
        if depth + 1 == spec.max_crossings:
            notes.append(f"crossing limit ({spec.max_crossings}) reached: bridges met after it stay endpoints")
        budget = plan.config.max_addresses
        if budget is not None:
            budget = max(1, budget - visited)
        window = Window(until_time=plan.config.window.until_time)
        config = replace(plan.config, seeds=tuple(seeds), window=window, max_addresses=budget)
        dest_plan = replace(plan, config=config, sources={s.chain: plan.source_for(s.chain) for s in seeds})
        current, more = run_round(dest_plan, chains.sources_for(dest_plan))
        keys.extend(more)
        apply_bridged_in(current, seeds)
        visited += int(current.summary.get("counts", {}).get("addresses_visited", 0))
        rounds.append(current)
    merged = merge_rounds(rounds, seeds=first.summary.get("seeds", []))
    merged.summary["crossings"] = sorted(crossings, key=_crossing_order)
    if notes:
        merged.summary["notes"] = [*merged.summary.get("notes", []), *notes]
    if gaps:
        merged.summary["gaps"] = [*merged.summary.get("gaps", []), *gaps]
        merged.summary["complete"] = False
    _graph_links(merged, crossings)
    return merged, keys


# ------------------------------------------------------------------------------- candidates


def _candidates(result: TraceResult, decimals: dict[str, int], chains: _ChainAccess) -> list[_Candidate]:
    """Per (transaction, asset): taint that stayed at bridge addresses, what entered them, who paid."""
    names = {
        (row["chain"], row["address"]): row["label"]
        for row in result.endpoints.iter_rows(named=True)
        if row["category"] == BRIDGE
    }
    bridges = set(names)
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in result.flows.iter_rows(named=True):
        chain = row["chain"]
        src = (chain, row["from"]) in bridges or row["from"] in KNOWN_CONTRACTS
        dst = (chain, row["to"]) in bridges or row["to"] in KNOWN_CONTRACTS
        if not (src or dst):
            continue
        key = f"{chain}:{row['asset_id']}"
        places = decimals.get(key)
        if places is None:
            continue
        scale = Decimal(10) ** places
        taint = int(Decimal(row["tainted_amount"]) * scale)
        group = groups.setdefault(
            (chain, row["tx_hash"], key),
            {"kept": {}, "in": 0, "tainted": 0, "sender": "", "time": row["timestamp"], "symbol": row["asset"]},
        )
        if dst:
            group["kept"][row["to"]] = group["kept"].get(row["to"], 0) + taint
        if src:
            group["kept"][row["from"]] = group["kept"].get(row["from"], 0) - taint
        if dst and not src:
            group["in"] += int(Decimal(row["amount"]) * scale)
            group["tainted"] += taint
            group["sender"] = group["sender"] or row["from"]
    found = []
    for (chain, tx, key), g in sorted(groups.items()):
        kept = {a: v for a, v in g["kept"].items() if v > 0}
        if not kept or g["in"] <= 0:
            continue
        request = CrossingRequest(
            chain,
            tx,
            g["sender"],
            frozenset(kept) | frozenset(g["kept"]),
            key,
            g["in"],
            g["tainted"],
            _unix(g["time"]),
            symbol=g["symbol"],
            label=next((names[(chain, a)] for a in sorted(kept) if (chain, a) in names), ""),
        )
        found.append(_Candidate(request, kept))
    return found


def _unix(text: str) -> int:
    from datetime import datetime

    try:
        return int(datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp())
    except ValueError:
        return 0


# ------------------------------------------------------------------------------- resolving


def _resolve(req: CrossingRequest, resolvers: list[Any], cache: CachedResolution, chains: _ChainAccess) -> Resolution:
    def ask() -> Resolution:
        if get_chain(req.chain).kind is ChainKind.UTXO:  # THORChain inbounds carry their memo in an OP_RETURN
            for resolver in resolvers:
                answer = resolver.resolve_utxo(req) if hasattr(resolver, "resolve_utxo") else None
                if answer is not None:
                    return answer
            return unresolved(req, "no swap memo in the transaction's OP_RETURN (labelled bridge without a resolver)")
        facts = chains.facts(req.chain, req.tx_hash)
        if facts is None:
            return unresolved(req, f"{req.chain} source cannot read the transaction's calldata and logs")
        for resolver in resolvers:
            answer = resolver.resolve(req, facts)
            if answer is not None:
                return answer
        return _fallback(req, chains)

    try:
        return cache.get(req.chain, req.tx_hash, ask)
    except OfflineGap as gap:
        return unresolved(req, gap.message)
    except (SourceError, BadInput) as exc:
        return unresolved(req, f"the resolver failed: {exc.message}")


#: Wrapped twins a bridge may pay out instead of the asset it took in.
TWINS = {"ETH": "WETH", "WETH": "ETH", "BTC": "WBTC", "WBTC": "BTC", "USDC.E": "USDC", "USDC": "USDC.E"}


def _fallback(req: CrossingRequest, chains: _ChainAccess) -> Resolution:
    """A labelled bridge without a resolver: the one arrival of the same asset (or its wrapped twin) at the
    same address on another traced chain, within the window and tolerance (`method = "amount-time"`)."""
    symbols = {req.symbol.upper(), TWINS.get(req.symbol.upper(), req.symbol.upper())}
    src_decimals = chains.decimals_of(req.asset_key)
    arrivals, looked = [], []
    for chain in chains.other_account_chains(req.chain):
        looked.append(chain)
        for t in chains.inflows(chain, req.sender):
            if t.asset.symbol.upper() not in symbols or t.timestamp < req.timestamp:
                continue
            comparable = t.amount * 10**src_decimals // 10**t.asset.decimals
            out = CrossingOut(
                chain, t.tx_hash, t.receiver, t.asset.asset_id, t.asset.symbol, t.amount, t.asset.decimals
            )
            arrivals.append(Arrival(out, t.timestamp, comparable))
    if not looked:
        return unresolved(req, "no resolver recognised the deposit and the case names no other chain to match on")
    name = req.label or "bridge"
    answer = match_amount_time(name, req.amount_in, req.timestamp, arrivals)
    where = ", ".join(looked)
    return replace(answer, note=f"{answer.note} (same address on {where})")


def _continue(
    req: CrossingRequest, res: Resolution, chains: _ChainAccess, depth: int
) -> tuple[list[dict[str, Any]], list[SeedSpec]]:
    """The crossing records (one per destination payment) and the destination seeds."""
    source_decimals = chains.decimals_of(req.asset_key)
    base = {
        "protocol": res.protocol,
        "status": res.status,
        "method": res.method,
        "confidence": res.confidence,
        "crossing": depth + 1,
        "from": {
            "chain": req.chain,
            "tx": req.tx_hash,
            "address": req.sender,
            "bridge": sorted(req.bridges)[0] if req.bridges else "",
            "asset": req.asset_key,
            "amount": format_units(req.tainted, source_decimals),
            "bridge_received": format_units(req.amount_in, source_decimals),
            "timestamp": iso(req.timestamp) if req.timestamp else "",
        },
        "evidence": list(res.evidence),
        "checks": dict(sorted(res.checks.items())),
        "note": res.note,
    }
    if res.status not in (RESOLVED, REFUNDED) or not res.outs:
        return [{**base, "to": None}], []
    records, seeds = [], []
    for out in res.outs:
        paid = chains.paid(out)
        if paid is None or paid <= 0:
            records.append(
                {
                    **base,
                    "status": "unresolved",
                    "to": _to(out, 0, 0),
                    "note": f"{base['note']}; the destination payment was not found on {out.chain}".strip("; "),
                }
            )
            continue
        out = chains.described(out)
        share = paid * req.tainted // req.amount_in
        records.append({**base, "to": _to(out, share, paid)})
        if share > 0:
            seeds.append(
                SeedSpec(
                    chain=out.chain,
                    address=out.address,
                    tx=out.tx_hash,
                    role="bridged",
                    label=f"{res.protocol} crossing from {req.chain} {req.tx_hash}",
                    amount=format_units(share, out.decimals),
                    asset=out.asset,
                )
            )
    if not seeds:
        return records, []
    return records, seeds


def _to(out: CrossingOut, share: int, paid: int) -> dict[str, Any]:
    return {
        "chain": out.chain,
        "tx": out.tx_hash,
        "address": out.address,
        "asset": f"{out.chain}:{out.asset}",
        "symbol": out.symbol,
        "amount": format_units(share, out.decimals),
        "paid": format_units(paid, out.decimals),
        "refund": out.refund,
    }


def _crossing_order(c: dict[str, Any]) -> tuple:
    to = c.get("to") or {}
    return (
        c["crossing"],
        c["from"]["chain"],
        c["from"]["tx"],
        c["from"]["asset"],
        to.get("chain", ""),
        to.get("tx", ""),
    )


def _graph_links(result: TraceResult, crossings: list[dict[str, Any]]) -> None:
    """One edge per followed crossing, from the bridge on the source chain to the recipient on the destination."""
    graph = result.graph
    for c in crossings:
        to = c.get("to")
        if not to or c["status"] not in (RESOLVED, REFUNDED):
            continue
        src, dst = f"{c['from']['chain']}:{c['from']['bridge']}", f"{to['chain']}:{to['address']}"
        for node, chain, address in ((src, c["from"]["chain"], c["from"]["bridge"]), (dst, to["chain"], to["address"])):
            if node not in graph:
                graph.add_node(node, chain=chain, address=address, role="crossing", category="", label="", hop=0)
        graph.add_edge(
            src,
            dst,
            key=f"crossing:{c['from']['tx']}:{to['tx']}",
            tx_hash=to["tx"],
            position=-1,
            block=-1,
            asset=to["symbol"],
            asset_id=to["asset"].split(":", 1)[1],
            amount=to["paid"],
            tainted_amount=to["amount"],
            hop=0,
            crossing=f"{c['protocol']} ({c['method']}, confidence {c['confidence']:g})",
        )


# ------------------------------------------------------------------------------- chain access


class _ChainAccess:
    """Reads the follow-up needs on any chain: a transaction's facts, a payment, OP_RETURNs, decimals."""

    def __init__(self, plan: TracePlan, store: Any, sources: Any, build: Callable[[TracePlan, Any], Any]) -> None:
        self.plan, self.store, self.build = plan, store, build
        self.sources = {"first": sources}
        self._decimals: dict[str, int] = {}
        self._symbols: dict[str, str] = {}

    def sources_for(self, plan: TracePlan) -> Any:
        return self.build(plan, self.store)

    def _plan_for(self, chain: str) -> TracePlan:
        seed = SeedSpec(chain=chain, address=None, tx="0x", role="bridged")
        return replace(
            self.plan, config=replace(self.plan.config, seeds=(seed,)), sources={chain: self.plan.source_for(chain)}
        )

    def known_decimals(self, decimals: dict[str, int]) -> None:
        self._decimals.update(decimals)

    def _service(self, chain: str) -> Any:
        first = self.sources["first"]
        if get_chain(chain).kind is ChainKind.UTXO and chain in first.utxo:
            return first.utxo[chain]
        if chain in (getattr(first.account, "adapters", None) or {}):
            return first.account
        if chain not in self.sources:
            self.sources[chain] = self.build(self._plan_for(chain), self.store)
        built = self.sources[chain]
        return built.utxo.get(chain) if get_chain(chain).kind is ChainKind.UTXO else built.account

    def facts(self, chain: str, tx_hash: str) -> Any:
        adapters = getattr(self._service(chain), "adapters", {}) or {}
        fetch = getattr(adapters.get(chain), "fetch_tx_facts", None)
        return None if fetch is None else fetch(get_chain(chain), tx_hash)

    def op_returns(self, chain: str, txid: str) -> list[bytes]:
        service = self._service(chain)
        fetch = getattr(getattr(service, "adapter", None), "fetch_op_returns", None)
        return [] if fetch is None else fetch(get_chain(chain), txid)

    def paid(self, out: CrossingOut) -> int | None:
        """What `out.address` received of `out.asset` in `out.tx_hash` (base units), read on its chain."""
        try:
            service = self._service(out.chain)
            if get_chain(out.chain).kind is ChainKind.UTXO:
                tx = service.tx(out.tx_hash)
                return sum(o.value for o in tx.outputs if o.address == out.address)
            transfers = service.transaction(get_chain(out.chain), out.tx_hash)
        except (SourceError, BadInput, OfflineGap):
            return None
        paid = 0
        for t in transfers:
            if t.receiver == out.address.lower() and t.asset.asset_id == out.asset and t.moves_value:
                paid += t.amount
                self._decimals[f"{out.chain}:{out.asset}"] = t.asset.decimals
                self._symbols[f"{out.chain}:{out.asset}"] = t.asset.symbol
        return paid

    def payment_to(self, chain: str, tx_hash: str, address: str) -> CrossingOut | None:
        """What `address` received in `tx_hash` on `chain`: the asset it got most of (base units)."""
        try:
            transfers = self._service(chain).transaction(get_chain(chain), tx_hash)
        except (SourceError, BadInput, OfflineGap):
            return None
        totals: dict[str, list[Any]] = {}
        for t in transfers:
            if t.receiver == address.lower() and t.moves_value and not t.noise and t.kind.value != "fee":
                row = totals.setdefault(t.asset.asset_id, [0, t.asset])
                row[0] += t.amount
        if not totals:
            return None
        asset_id, (amount, asset) = max(totals.items(), key=lambda kv: (kv[1][0], kv[0]))
        return CrossingOut(chain, tx_hash.lower(), address.lower(), asset_id, asset.symbol, amount, asset.decimals)

    def described(self, out: CrossingOut) -> CrossingOut:
        """`out` with the decimals and symbol of the asset as its chain reads it (when the payment was read)."""
        key = f"{out.chain}:{out.asset}"
        if key not in self._decimals:
            return out
        return replace(out, decimals=self._decimals[key], symbol=self._symbols.get(key) or out.symbol)

    def other_account_chains(self, chain: str) -> list[str]:
        """The EVM chains the case configures a source for, other than `chain` (where a fallback looks)."""
        return sorted(c for c in self.plan.case_sources if c != chain and get_chain(c).kind is ChainKind.EVM)

    def inflows(self, chain: str, address: str) -> list[Any]:
        """What `address` received on `chain` (its whole history, store first); [] when it cannot be read."""
        try:
            service = self._service(chain)
            chunk = service.history(get_chain(chain), address, start_block=0)
        except (SourceError, BadInput, OfflineGap):
            return []
        return [
            t
            for t in chunk.transfers
            if t.receiver == address and t.moves_value and not t.noise and t.kind.value != "fee"
        ]

    def logs(self, chain: str, address: str, topics: dict[int, str]) -> list[tuple[str, int, Any]]:
        adapters = getattr(self._service(chain), "adapters", {}) or {}
        fetch = getattr(adapters.get(chain), "fetch_logs", None)
        return [] if fetch is None else fetch(get_chain(chain), address, topics)

    def decimals_of(self, key: str) -> int:
        chain, asset = key.split(":", 1)
        if key in self._decimals:
            return self._decimals[key]
        return get_chain(chain).native_decimals if asset == "native" else self._decimals.get(key, 0)
