"""SYNTHETIC confounders around an expert case (issue 13): innocent parties a tracer must not draw in.

Applied by :mod:`bench.worldgen` when ``WorldOptions.confounders`` is set; with it unset the world
is exactly the standard one. Every address made here is synthetic and recorded in
:class:`ConfounderTruth`, which says what is innocent. Four kinds, each with its own knobs in
:class:`Confounders` (defaults are what the benchmark uses):

1. **Deposit addresses, interleaved** (``deposit_addresses`` new ones at the synthetic retail
   exchanges, plus every expert-tagged deposit terminal). After each thief deposit an unrelated
   customer deposits into the same address *before* the sweep (1-3 blocks later); the exchange
   then sweeps either each deposit on its own or both together (``combined_sweep_share``), to its
   labelled hot wallet. The sweep's gas comes from a separate, unlabelled gas funder of the
   exchange (``gas_funder_share``) or from the hot wallet itself.
   *Truth*: an endpoint holding exactly what the thief deposited; the customer's deposit is innocent.
2. **Instant-exchanger per-order addresses** (``exchanger_orders``): the thief pays a fresh address
   per order, which forwards the whole amount 1-30 blocks later to the exchanger's hub; the hub
   never funded it (its gas comes from the exchanger's separate gas wallet). Each hub also serves
   ``exchanger_crowd`` unrelated orders and pays them out. The first hub is labelled (instant
   exchanger, source ``synthetic-bench``), the others are unlabelled.
   *Truth*: each per-order address is an endpoint holding what the thief paid; hub, gas wallet and
   crowd are innocent.
3. **OTC / merchant counterparties** (``otc_counterparties``): a fresh address that the thief pays
   first (so first-funder attribution would fire), then receives from ``otc_clients`` (30-80)
   unrelated clients ``otc_multiple`` (100-250×) what the thief paid, and pays on to
   ``otc_payees`` (120-200) innocent payees. *Truth*: an endpoint holding what the thief paid;
   clients and payees are innocent; everything above the thief's payment is innocent inflow.
4. **Exchange withdrawals to laundering addresses** (``exchange_withdrawals``): a labelled
   synthetic hot wallet pays a laundering address (never a seed) 20-100 % of what it received from
   the thieves, between its first inflow and the end of the case. *Truth*: not stolen.

The thief's payments of kinds 1-3 are funded without touching the expert flows: a synthetic
victim pays a seed the amount (a theft, so `stolen` grows by exactly that), and the seed pays it
(directly, or through the chosen laundering address, which keeps its expert balance).
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tracer.core.models import Category, Label

if TYPE_CHECKING:
    from bench.worldgen import _Generator

LABEL_SOURCE = "synthetic-bench"


@dataclass(frozen=True, slots=True)
class Confounders:
    """Knobs of the four confounder kinds (see the module docstring)."""

    deposit_addresses: int = 4
    combined_sweep_share: float = 0.5
    gas_funder_share: float = 0.5
    exchanger_orders: int = 8
    exchangers: int = 2
    exchanger_crowd: int = 150
    otc_counterparties: int = 3
    otc_clients: tuple[int, int] = (30, 80)
    otc_multiple: tuple[int, int] = (100, 250)
    otc_payees: tuple[int, int] = (120, 200)
    exchange_withdrawals: int = 5
    payment_cents: tuple[int, int] = (50_000, 2_000_000)  # 500 - 20,000 USD per thief payment


#: The counts issue 13 reports from its held-out world (12 deposit and 48 per-order addresses), more OTC
#: desks and withdrawals: a robustness world of the quality benchmark.
HEAVY_CONFOUNDERS = Confounders(
    deposit_addresses=12, exchanger_orders=48, exchangers=3, otc_counterparties=4, exchange_withdrawals=10
)
QUICK_CONFOUNDERS = Confounders(exchanger_crowd=20, otc_clients=(30, 35), otc_payees=(100, 110))


@dataclass
class ConfounderTruth:
    """What the confounders are: endpoints with the thief's exact amount, innocent parties, withdrawals."""

    #: address -> (kind, units of the benchmark token the thief paid it)
    endpoints: dict[str, tuple[str, int]] = field(default_factory=dict)
    #: address -> units of innocent value it received (endpoints only)
    innocent_inflow: dict[str, int] = field(default_factory=dict)
    #: every innocent address made here (customers, clients, payees, hubs, gas funders, crowd)
    innocent: set[str] = field(default_factory=set)
    #: (tx hash, laundering address, units) of each exchange withdrawal into the laundering graph
    withdrawals: list[tuple[str, str, int]] = field(default_factory=list)

    def as_stats(self) -> dict[str, int]:
        kinds: dict[str, int] = {}
        for kind, _ in self.endpoints.values():
            kinds[f"confounder_{kind}"] = kinds.get(f"confounder_{kind}", 0) + 1
        return {
            **kinds,
            "confounder_innocent_addresses": len(self.innocent),
            "confounder_exchange_withdrawals": len(self.withdrawals),
        }


class _Confounding:
    def __init__(self, gen: _Generator, knobs: Confounders) -> None:
        self.g = gen
        self.b = gen.b
        self.k = knobs
        self.rng = random.Random(f"{gen.options.seed}:{gen.case.slug}:confounders")
        self.truth = ConfounderTruth()
        self.payers = sorted(a for a, kind in gen.kinds.items() if str(kind) in ("source", "launderer"))
        self.source = sorted(gen.case.sources)[0]

    def cents(self, low: int, high: int) -> int:
        from bench.worldgen import UNITS_PER_CENT

        return self.rng.randint(low, high) * UNITS_PER_CENT

    def transfer(self, block: int, sender: str, to: str, amount: int, *, order: int = 55) -> str:
        return self.b.token_tx(block=block, sender=sender, transfers=[(self.g.token, sender, to, amount)], order=order)

    def innocent_user(self, purpose: str, index: int | str, amount: int, block: int) -> str:
        """An unrelated user, funded by a retail exchange withdrawal before `block`."""
        from bench.worldgen import _RETAIL_EXCHANGES

        user = self.b.address(purpose, index)
        self.g.unrelated.add(user)
        self.truth.innocent.add(user)
        self.g.withdraw(self.rng.choice(_RETAIL_EXCHANGES), user, amount, block - self.rng.randint(5, 500))
        return user

    def thief_pays(self, kind: str, to: str) -> tuple[int, int]:
        """A thief payment to `to`, funded by a fresh synthetic theft into a seed; returns (block, amount)."""
        payer = self.rng.choice(self.payers)
        start = self.g.inflow_blocks.get(payer, self.g.first_block)
        block = self.rng.randint(start + 3, max(start + 3, self.g.last_block)) if payer != self.source else start + 3
        amount = self.cents(*self.k.payment_cents)
        victim = self.b.address("confounder-victim", to)
        self.g.victim_history(victim, amount, block - 2)
        self.transfer(block - 2, victim, self.source, amount, order=10)
        if payer != self.source:
            self.transfer(block - 1, self.source, payer, amount)
        self.transfer(block, payer, to, amount)
        self.truth.endpoints[to] = (kind, amount)
        self.g.stats["confounder_theft_cents"] += amount // 10_000
        return block, amount

    def gas(self, funder: str, to: str, block: int) -> None:
        self.b.eth_tx(block=block, sender=funder, to=to, value=self.b.fee() * 3, order=20)

    # -- 1. deposit addresses -------------------------------------------------------------------
    def deposits(self) -> None:
        from bench.worldgen import _RETAIL_EXCHANGES

        for i in range(self.k.deposit_addresses):
            exchange = _RETAIL_EXCHANGES[i % len(_RETAIL_EXCHANGES)]
            deposit = self.b.address("confounder-deposit", i)
            block, amount = self.thief_pays("deposit", deposit)
            self.g.exchange_funded.add(deposit)
            self.g.deposits.setdefault(deposit, []).append((block, amount))
            self.g.tags[deposit] = f"{exchange}_Deposit_synthetic"

    def sweep_interleaved(self) -> None:
        """Every deposit address: a customer deposits before each sweep; sweeps per deposit or combined."""
        from bench.worldgen import exchange_of

        for deposit in sorted(self.g.deposits):
            exchange = exchange_of(self.g.tags.get(deposit, ""))
            hot = self.g.hot_wallet(exchange)
            thief_total = sum(a for _, a in self.g.deposits[deposit])
            kind, _ = self.truth.endpoints.get(deposit, ("deposit", 0))
            self.truth.endpoints[deposit] = (kind, thief_total)
            for n, (block, amount) in enumerate(sorted(self.g.deposits[deposit])):
                other = self.cents(500, 2_000_000)
                at = block + self.rng.randint(1, 3)
                user = self.innocent_user(f"confounder-customer:{deposit}", n, other, at)
                self.transfer(at, user, deposit, other, order=45)
                self.truth.innocent_inflow[deposit] = self.truth.innocent_inflow.get(deposit, 0) + other
                sweep = at + self.rng.randint(2, 30)
                parts = [amount + other] if self.rng.random() < self.k.combined_sweep_share else [amount, other]
                funder = hot
                if self.rng.random() < self.k.gas_funder_share:
                    funder = self.b.address("confounder-gas-funder", exchange.lower())
                    self.truth.innocent.add(funder)
                for j, part in enumerate(parts):
                    self.gas(funder, deposit, sweep + 2 * j - 1)
                    self.transfer(sweep + 2 * j, deposit, hot, part, order=30)
                    self.g.stats["deposit_sweeps"] += 1

    # -- 2. instant exchanger -----------------------------------------------------------------
    def exchangers(self) -> None:
        hubs = [self.b.address("confounder-exchanger-hub", i) for i in range(self.k.exchangers)]
        gas_wallets = [self.b.address("confounder-exchanger-gas", i) for i in range(self.k.exchangers)]
        self.truth.innocent.update(hubs + gas_wallets)
        self.g.labels.append(
            Label(
                chain="ethereum",
                address=hubs[0],
                category=Category.INSTANT_EXCHANGER,
                name="Synthetic Instant Exchanger hub (synthetic)",
                source=LABEL_SOURCE,
                source_words="synthetic instant exchanger invented by bench/confounders.py",
            )
        )
        for i in range(self.k.exchanger_orders):
            n = i % len(hubs)
            order = self.b.address("confounder-order", i)
            block, amount = self.thief_pays("per-order", order)
            self.forward(order, hubs[n], gas_wallets[n], block, amount)
        for n, hub in enumerate(hubs):
            for i in range(self.k.exchanger_crowd):
                order = self.b.address(f"confounder-crowd-order:{n}", i)
                amount = self.cents(1_000, 500_000)
                block = self.g.spread_block()
                user = self.innocent_user(f"confounder-crowd:{n}", i, amount, block)
                self.transfer(block, user, order, amount, order=40)
                self.truth.innocent.add(order)
                self.forward(order, hub, gas_wallets[n], block, amount)
                payee = self.b.address(f"confounder-crowd-payee:{n}", i)
                self.truth.innocent.add(payee)
                self.transfer(block + self.rng.randint(40, 400), hub, payee, amount * 99 // 100, order=60)

    def forward(self, order: str, hub: str, gas_wallet: str, block: int, amount: int) -> None:
        at = block + self.rng.randint(1, 30)
        self.gas(gas_wallet, order, at - 1)
        self.g.unrelated.add(order)
        self.transfer(at, order, hub, amount, order=30)

    # -- 3. OTC / merchant counterparties ---------------------------------------------------------
    def counterparties(self) -> None:
        for i in range(self.k.otc_counterparties):
            desk = self.b.address("confounder-otc", i)
            block, amount = self.thief_pays("counterparty", desk)
            clients = self.rng.randint(*self.k.otc_clients)
            volume = amount * self.rng.randint(*self.k.otc_multiple)
            received = 0
            for c in range(clients):
                part = volume // clients
                at = block + 10 + self.rng.randint(1, 20_000)
                client = self.innocent_user(f"confounder-otc-client:{i}", c, part, at)
                self.transfer(at, client, desk, part, order=40)
                received += part
            self.truth.innocent_inflow[desk] = received
            payees = self.rng.randint(*self.k.otc_payees)
            self.gas(self.g.hot_wallet("Synthetic Exchange A"), desk, block + 20_040)
            self.g.unrelated.add(desk)
            for p in range(payees):
                payee = self.b.address(f"confounder-otc-payee:{i}", p)
                self.truth.innocent.add(payee)
                self.transfer(block + 20_050 + p, desk, payee, (received + amount) // (payees + 1))

    # -- 4. exchange withdrawals ------------------------------------------------------------------
    def withdrawals(self) -> None:
        from bench.worldgen import _RETAIL_EXCHANGES

        launderers = sorted(a for a, kind in self.g.kinds.items() if str(kind) == "launderer" and a in self.g.balance)
        received: dict[str, int] = {}
        for f in self.g.case.flows:
            received[f.receiver] = received.get(f.receiver, 0) + f.usd_cents * 10_000
        for i in range(min(self.k.exchange_withdrawals, len(launderers))):
            to = self.rng.choice(launderers)
            start = self.g.inflow_blocks.get(to, self.g.first_block)
            block = self.rng.randint(start + 1, max(start + 1, self.g.last_block))
            amount = max(received.get(to, 0) * self.rng.randint(20, 100) // 100, 10_000)
            hot = self.g.hot_wallet(_RETAIL_EXCHANGES[i % len(_RETAIL_EXCHANGES)])
            tx = self.b.token_tx(block=block, sender=hot, transfers=[(self.g.token, hot, to, amount)], order=15)
            self.truth.withdrawals.append((tx, to, amount))

    def run(self) -> ConfounderTruth:
        self.deposits()
        self.exchangers()
        self.counterparties()
        self.withdrawals()
        return self.truth


def add_confounders(gen: _Generator, knobs: Confounders) -> _Confounding:
    """Add the four kinds to `gen`'s world (before sweeps); call `.sweep_interleaved()` in place of sweeps."""
    confounding = _Confounding(gen, knobs)
    confounding.run()
    return confounding


def theft_by_asset(
    txs: Iterable[Any], *, seeds: Iterable[str], since_block: int, services: Iterable[str], assets: dict[str, str]
) -> dict[str, int]:
    """The true theft per asset key: what the seeds received in the window from non-seeds that are not
    labelled services (issue 13's definition). `assets` maps a token contract (or "native") to its key."""
    seed_set, service_set = set(seeds), set(services)
    theft: dict[str, int] = {}

    def add(key: str | None, sender: str, to: str | None, value: int) -> None:
        if key and value and to in seed_set and sender not in seed_set and sender not in service_set:
            theft[key] = theft.get(key, 0) + value

    for tx in txs:
        if tx.block < since_block or not tx.success:
            continue
        add(assets.get("native"), tx.sender, tx.to, tx.value)
        for internal in tx.internals:
            add(assets.get("native"), internal.sender, internal.to, internal.value)
        for t in tx.tokens:
            add(assets.get(t.token), t.sender, t.to, t.value)
    return dict(sorted(theft.items()))
