"""Who is the thief, and who is not: attribution by first funding within limits, counterparties, deposit hubs.

The engine's rules about addresses (mixed into :class:`tracer.account.engine.Engine`). The
decisions themselves are pure functions in :mod:`heuristics.attribution` and
:mod:`heuristics.deposits`; this module feeds them the engine's state:

- a non-seed address that serves others (:func:`heuristics.attribution.serves_others`, judged on
  which of its inflows carry stolen value or thief funds) is a counterparty endpoint: what the
  thief's side paid it stays there, its other business is not followed. The judgement is redone
  at every replay, so an address first seen before its thief-side senders were traced is
  reconsidered once their taint arrives (the fixed point does not depend on the order);
- otherwise a fresh address the thief funded is attributed: it gains thief funds (never stolen
  value) from the funding payment on; so is a fresh wallet whose first gas the thief's side paid
  (a thief wallet, or a gas station probed once and found to be no service), from that gas on,
  where that says more than the payment rule;
- a wallet sweeping everything to one unlabelled service hub is that hub's deposit address;
- but no wallet whose gas the thief's side paid (a seed, an attributed address, or a gas station
  that funded two or more of them) is a deposit address: exchanges run their deposit addresses,
  so such a wallet is the thief's own, paying the service (which is then the endpoint). Nor is a
  wallet an unlabelled hub's deposit address when its gas came from another, labelled service (a
  withdrawal). Rechecked once the whole trace is known, so the result does not depend on order.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from typing import Any

from heuristics.attribution import (
    first_gas_payment,
    first_thief_payment,
    funded_by_thief,
    gains_beyond,
    inflow_share,
    serves_others,
)
from heuristics.deposits import detect_deposit_address, gas_funders, payees, sweep_target
from tracer.account.frontier import Node
from tracer.account.ledger import Injection, asset_key
from tracer.core.models import FEE_SINK, SERVICE_CATEGORIES, Category, Label, Transfer, TransferKind
from tracer.core.units import iso

COUNTERPARTY_SOURCE = "heuristic:counterparty"
ATTRIBUTION_SOURCE = "heuristic:first-funder"
DEPOSIT_SOURCE = "heuristic:deposit-reuse"
#: A gas funder that paid this many thief-side wallets is the thief's gas station.
GAS_STATION_MIN_WALLETS = 2
#: How an unlabelled service hub is named when it stands in for an exchange (its deposit addresses carry it).
STAND_IN = "unknown service "


class AddressRules:
    """Mixin: attribution, counterparties and deposit hubs on the engine's state."""

    def _thief_edges(self, node: Node) -> dict[tuple[str, int], int]:
        edges: dict[tuple[str, int], int] = {}
        for table in (self.state.inflows, self.state.tf_inflows):
            for edge, (taint, _, _) in table.get(node, {}).items():
                if taint:
                    edges[edge] = edges.get(edge, 0) + taint
        return edges

    def _share(self, node: Node, transfers: Sequence[Transfer]):
        chain = node[0]
        senders = {tr.sender for tr in transfers if tr.receiver == node[1] and tr.sender != node[1]}
        ignored = set(self._thieves.get(chain, ()))
        ignored |= {a for a, _ in self.state.seeds if a == chain}
        for sender in sorted(senders - ignored):
            label = (
                self.state.labels.get((chain, sender))
                if (chain, sender) in self.state.labels
                else self._label((chain, sender))
            )
            if label is not None and label.is_endpoint:
                ignored.add(sender)  # a withdrawal from a service: not a client of this address
        ignored |= {a for c, a in self.state.seeds if c == chain}
        return inflow_share(node[1], transfers, thief_edges=self._thief_edges(node), ignored=frozenset(ignored))

    def _reached(self, node: Node) -> bool:
        return any(v[0] for v in self.state.inflows.get(node, {}).values()) or any(
            v[0] for v in self.state.tf_inflows.get(node, {}).values()
        )

    def _recheck_counterparties(self) -> bool:
        """Replay the counterparties that no longer serve others once the whole trace is known (their senders
        were reached by taint after they were judged). True when any changed."""
        changed = False
        for node in sorted(self.state.counterparties):
            if serves_others(self._share(node, self._histories[node])) is None:
                self._replay(node)
                changed = True
        return changed

    def _check_counterparty(self, node: Node, transfers: Sequence[Transfer]) -> None:
        """Make `node` a counterparty endpoint while it serves others; undo it when it no longer does."""
        state = self.state
        reason = serves_others(self._share(node, transfers))
        if reason is None:
            if node in state.counterparties:
                del state.counterparties[node]
                state.endpoints.pop(node, None)
                state.labels[node] = self._label(node)
            return
        if state.counterparties.get(node) == reason:
            return
        state.counterparties[node] = reason
        if node in state.attributed:  # it was taken for the thief's before its business showed
            self._unattribute(node)
        label = Label(
            chain=node[0],
            address=node[1],
            category=Category.UNKNOWN_SERVICE,
            name="counterparty",
            source=COUNTERPARTY_SOURCE,
            source_words=f"serves others: {reason}",
        )
        state.endpoints[node] = label
        state.labels[node] = label

    def _unattribute(self, node: Node) -> None:
        """`node` is not the thief's after all: it gains no thief funds and funds no one as the thief."""
        del self.state.attributed[node]
        label = self.state.labels.get(node)
        if label is not None and label.source == ATTRIBUTION_SOURCE:
            self.state.labels[node] = self._label(node)
        self._gas_attributed.discard(node)
        self._value_funded.discard(node)
        self._tf_injections.pop(node, None)
        self._thieves.get(node[0], set()).discard(node[1])

    def _attribute(self, node: Node, transfers: Sequence[Transfer], *, probe: bool = False) -> None:
        """Make `node` thief-controlled when the thief's side paid its first gas (from then on, in the assets that
        reached it tainted), or else when the thief's first payment to it found it empty (in that payment's asset).
        `probe`: a would-be gas station may be probed (see :meth:`_thief_gas`)."""
        state = self.state
        chain = node[0]
        thieves = self._thieves.get(chain)
        if thieves is None:  # the seeds are final before the first replay; attributions are added below
            thieves = self._thieves[chain] = {a for c, a in state.seeds - state.victims if c == chain}
        payment = self._value_payment(node, transfers)
        if payment is None:
            self._value_funded.discard(node)
        else:  # evidence for its gas funder being the thief's gas station, whichever rule attributes it
            self._value_funded.add(node)
        gas = self._thief_gas(node, transfers, payment, probe=probe)
        if gas is not None:
            self._gas_attributed.add(node)
            kind = "address" if gas.sender in thieves else "gas station"
            why = f"fresh address whose first gas the thief's {kind} {gas.sender} paid"
            self._attribute_from(node, gas, self._thief_assets(node), why)
            return
        if node in self._gas_attributed:  # its gas funder is no longer the thief's side
            self._unattribute(node)
        if payment is None:
            return
        self._attribute_from(
            node,
            payment,
            frozenset({asset_key(payment.asset)}),
            f"fresh address first paid by thief-controlled {payment.sender}",
        )

    def _attribute_from(self, node: Node, payment: Transfer, assets: frozenset[str], why: str) -> None:
        """`node` gains thief funds (in `assets`) from `payment` on; labelled thief-controlled."""
        state = self.state
        chain = node[0]
        state.attributed[node] = payment
        self._thieves[chain].add(node[1])
        seeds = frozenset(a for c, a in state.seeds if c == chain)
        self._tf_injections[node] = Injection(
            thief=True, attributed=True, start=payment.order_key, seeds=seeds, assets=assets
        )
        if state.labels.get(node) is None or state.labels[node].source == ATTRIBUTION_SOURCE:
            state.labels[node] = Label(
                chain=chain,
                address=node[1],
                category=Category.HACKER,
                name="thief-controlled",
                source=ATTRIBUTION_SOURCE,
                source_words=f"{why} in {payment.tx_hash}",
            )

    def _value_payment(self, node: Node, transfers: Sequence[Transfer]) -> Transfer | None:
        """The thief's first payment to `node` when it found `node` empty (the value rule), or None."""
        thieves = self._thieves.get(node[0], set())
        payment = first_thief_payment(node[1], (tr for tr in transfers if tr.sender in thieves))
        return payment if payment is not None and funded_by_thief(node[1], transfers, payment) else None

    def _thief_gas(
        self, node: Node, transfers: Sequence[Transfer], payment: Transfer | None, *, probe: bool = False
    ) -> Transfer | None:
        """The payment of `node`'s first gas when the thief's side made it (a thief-controlled address, or a gas
        station that is no service) and it says more than the value rule's `payment`. A station is probed once,
        and only when `probe` (replays read nothing)."""
        gas = first_gas_payment(node[1], transfers)
        if gas is None:
            return None
        chain, funder = node[0], gas.sender
        thieves = self._thieves.get(chain, set())
        if funder not in thieves and funder not in self._stations(chain):
            return None
        if not gains_beyond(node[1], transfers, gas, payment, thieves, self._thief_assets(node)):
            return None  # the value rule says it all: no station needs probing
        if funder in thieves:
            return gas
        station = (chain, funder)
        if station not in self._station_probes and probe:
            self._station_probes[station] = self._probe_station(station)
        return gas if self._station_probes.get(station) else None

    def _thief_assets(self, node: Node) -> frozenset[str]:
        """The asset keys of `node`'s inflows that carry stolen value or thief funds."""
        return frozenset(
            asset_key(tr.asset)
            for table in (self.state.inflows, self.state.tf_inflows)
            for taint, _, tr in table.get(node, {}).values()
            if taint
        )

    def _probe_station(self, station: Node) -> bool:
        """Is the would-be gas station no service? One service probe of its history (no trace of it)."""
        if station in self.state.endpoints:
            return False
        if station not in self._histories and station not in self.state.unexplored:
            self._read(station, full=False)  # makes it an unknown-service endpoint if it is one
        return station not in self.state.endpoints and station not in self.state.unexplored

    def _recheck_gas_attributions(self) -> bool:
        """Replay the wallets whose first gas the thief's side is now known to have paid, or no longer paid
        (gas stations show as the trace grows). True when any changed."""
        state = self.state
        changed = False
        if not self.config.attribution:
            return changed
        for node in sorted(self._histories):
            if node in state.endpoints or node in self._injections:
                continue
            transfers = self._histories[node]
            now = self._thief_gas(node, transfers, self._value_payment(node, transfers), probe=True) is not None
            if now != (node in self._gas_attributed):
                self._replay(node)
                changed = True
        return changed

    def _deposit_of_unlabelled_hub(
        self, node: Node, transfers: Sequence[Transfer], known: dict[str, Label | None]
    ) -> Label | None:
        """The deposit rule where every sweep goes to one unlabelled address that proves a service hub.

        Without a label saying the hub is an exchange, the hub must also have paid the address (an
        exchange tops up its deposit addresses' gas): a wallet that merely forwards everything to a
        service it never got anything from is followed to the service instead.
        """
        target = sweep_target(node[1], transfers)
        if target is None or known.get(target) is not None:
            return None
        hub = (node[0], target)
        if hub not in self.state.endpoints:
            if hub in self._histories or hub in self.state.unexplored:
                return None  # already traced as a wallet, or out of reach
            self._read(hub, full=False)  # the service probe: makes it an unknown-service endpoint if it is one
        label = self.state.endpoints.get(hub)
        if label is None or label.category is not Category.UNKNOWN_SERVICE:
            return None
        stand_in = replace(label, category=Category.EXCHANGE, name=f"{STAND_IN}{target}")
        return detect_deposit_address(node[0], node[1], transfers, {**known, target: stand_in})

    def _thief_side(self, chain: str) -> set[str]:
        """Thief seeds, attributed wallets (not endpoints) and the thief's gas stations (:meth:`_stations`)."""
        return self._thief_wallets(chain, self.state.attributed) | self._stations(chain)

    def _thief_wallets(self, chain: str, attributed: Collection[Node]) -> set[str]:
        """Thief seeds (not victims) and those of `attributed` that are not endpoints, on `chain`."""
        state = self.state
        wallets = {a for c, a in state.seeds - state.victims if c == chain}
        return wallets | {a for c, a in attributed if c == chain and (c, a) not in state.endpoints}

    def _stations(self, chain: str) -> set[str]:
        """The unlabelled gas funders that paid two or more thief wallets: seeds and attributed wallets that the
        value rule alone makes the thief's (a wallet attributed only for its gas is no evidence for its own
        funder). Not an address the trace stopped at, nor the wallet its deposit addresses sweep to: services
        pay gas.

        Only wallets that spread value (pay more than one address) count: a wallet that pays one address only
        may be a deposit address the rule missed, and counting it would make the exchange's own gas funder
        look like the thief's."""
        state = self.state
        signature = (
            chain,
            len(state.attributed),
            hash(frozenset(self._value_funded)),
            len(state.endpoints),
            len(self._not_deposits),
            len(self._histories),
        )
        cached = self._stations_cache.get(chain)
        if cached is not None and cached[0] == signature:
            return cached[1]
        wallets = self._thief_wallets(chain, self._value_funded)
        funded: dict[str, int] = {}
        for address in sorted(wallets - {a for c, a in self._not_deposits if c == chain}):
            spreads, funders = self._gas_facts(chain, address)
            if not spreads:
                continue  # a wallet that pays one address only could be a deposit address itself
            for sender in funders:
                if sender not in wallets:
                    funded[sender] = funded.get(sender, 0) + 1
        services = {a for c, a in state.endpoints if c == chain} | self._deposit_hubs(chain)
        stations = {  # a labelled service, or one the trace found serving others, pays everyone's gas
            s
            for s, n in funded.items()
            if n >= GAS_STATION_MIN_WALLETS and self._label((chain, s)) is None and s not in services
        }
        self._stations_cache[chain] = (signature, stations)
        return stations

    def _deposit_hubs(self, chain: str) -> set[str]:
        """The wallets that the deposit addresses found on `chain` sweep to (an exchange's, even if unlabelled)."""
        hubs = set()
        for node, transfers in self._deposit_histories.items():
            if node[0] == chain and node in self.state.endpoints:
                target = sweep_target(node[1], transfers)
                if target is not None:
                    hubs.add(target)
        return hubs

    def _gas_facts(self, chain: str, address: str) -> tuple[bool, frozenset[str]]:
        """Does the wallet pay two or more addresses, and who paid its gas (cached per history length)."""
        history = self._histories.get((chain, address), ())
        cached = self._gas_cache.get((chain, address))
        if cached is None or cached[0] != len(history):
            cached = (len(history), len(payees(address, history)) >= 2, gas_funders(address, history))
            self._gas_cache[(chain, address)] = cached
        return cached[1], cached[2]

    def _run_by_thief(self, node: Node, transfers: Sequence[Transfer], deposit: Label) -> str | None:
        """Why the would-be deposit address `node` is not one, or None.

        An exchange runs its deposit addresses and pays their gas itself (from its hot wallet or a gas
        funder of its own, labelled or not). Gas from the thief's side, or from another labelled service
        (the wallet's owner withdrew gas from a different exchange), shows a wallet of its own."""
        funders = gas_funders(node[1], transfers)
        if not funders:
            return None
        thief_side = self._thief_side(node[0])
        stand_in = deposit.name.startswith(STAND_IN)
        hubs = {label.entity for a in payees(node[1], transfers) if (label := self._label((node[0], a))) is not None}
        for funder in sorted(funders):
            if funder in thief_side:
                return f"not a deposit address: its gas came from the thief's side ({funder})"
            label = self._label((node[0], funder))
            if label is not None and label.category in SERVICE_CATEGORIES and (stand_in or label.entity not in hubs):
                return f"not the hub's deposit address: its gas came from {label.name} ({funder})"
        return None

    def _recheck_deposits(self) -> bool:
        """Give back to tracing the deposit addresses that the whole trace shows the thief ran. True when any."""
        changed = False
        for node in sorted(self._deposit_histories):
            label = self.state.endpoints.get(node)
            if label is None or label.source != DEPOSIT_SOURCE:
                continue
            transfers = self._deposit_histories[node]
            reason = self._run_by_thief(node, transfers, label)
            if reason is None:
                continue
            self._undo_endpoint(node)
            self._not_deposits[node] = reason
            self._histories[node] = transfers
            self._replay(node)
            changed = True
        return changed

    def _recheck_endpoints(self) -> bool:
        """The rechecks once the trace is known: counterparties, deposit addresses, hubs' deposit addresses."""
        return (
            self._recheck_counterparties()
            or self._recheck_deposits()
            or self._recheck_hub_deposits()
            or self._recheck_gas_attributions()
        )

    def _recheck_hub_deposits(self) -> bool:
        """Attributed wallets that sweep everything to a hub the trace found serving others (a counterparty)
        become that hub's deposit addresses (an instant exchanger's per-order address), unless the thief's
        side ran their gas. True when any changed."""
        state = self.state
        changed = False
        for node in sorted(state.attributed):
            transfers = self._histories.get(node)
            if node in state.endpoints or node in self._not_deposits or not transfers:
                continue
            target = sweep_target(node[1], transfers)
            if target is None or (node[0], target) not in state.counterparties:
                continue
            hub = state.endpoints[(node[0], target)]
            stand_in = replace(hub, category=Category.EXCHANGE, name=f"{STAND_IN}{target}")
            deposit = detect_deposit_address(node[0], node[1], transfers, {target: stand_in})
            if deposit is None or self._run_by_thief(node, transfers, deposit) is not None:
                continue
            self._unattribute(node)
            self._deposit_histories[node] = transfers
            self._make_endpoint(node, deposit)
            self._replay(node)  # as an endpoint: what reached it stays there
            changed = True
        return changed

    def _collect_evidence(self) -> None:
        """Each attributed address's evidence: its funding payment, inflow share of the thief's side, counterparties."""
        state = self.state
        for node in sorted(state.attributed):
            payment = state.attributed[node]
            transfers = self._histories.get(node, [])
            share = self._share(node, transfers)
            key = asset_key(payment.asset)
            ours, theirs = share.thief.get(key, 0), share.outside.get(key, 0)
            receivers = {
                tr.receiver
                for tr in transfers
                if tr.sender == node[1] and tr.receiver not in (node[1], FEE_SINK) and tr.kind is not TransferKind.FEE
            }
            evidence: dict[str, Any] = {
                "funding": "first gas" if node in self._gas_attributed else "first payment",
                "funding_tx": payment.tx_hash,
                "funding_at": iso(payment.timestamp),
                "thief_side_share": f"{ours}/{ours + theirs}" if ours + theirs else "0/0",
                "outside_senders": len(share.outside_senders),
                "receivers": len(receivers),
            }
            if node in self._not_deposits:
                evidence["not_a_deposit_address"] = self._not_deposits[node]
            state.evidence[node] = evidence
