"""SYNTHETIC Bitcoin peel-chain worlds with ground truth, for clustering-aware tracing.

Everything here is made up (addresses from :func:`chains.emulators.esplora.synthetic_address`,
no key exists for any of them); the labels say "(synthetic)". A world, from one seed:

- **theft**: a victim's two coins pay the thief (the stolen output) and the victim's change;
  the thief fans the stolen coin out into `chains` chain heads;
- **peel chains**: each head peels `hops` payments off, one per hop, the rest to a fresh change
  address of the thief (payments 1-6 % of the coin, ~30 % of them round amounts, deposit
  addresses of several script types). A payment goes to:
  - a **fresh exchange deposit address** (most of them) at one of `exchanges` exchanges;
  - a **merchant** (unlabelled) who later co-spends it with its own addresses, one of which
    received an exchange *withdrawal* (a link to the exchange that clustering must not make);
  - a fresh **thief address that enters a CoinJoin** (5 × equal outputs) in which a labelled
    exchange hot wallet also takes part: a CoinJoin must never link its participants;
  - a **custodian** that spends it in one service-sized batch of `batch_inputs` inputs which
    also holds a labelled exchange address: the merge is refused as service-sized.
- **exchanges**: every exchange has one labelled hot wallet. Each consolidation spends the
  deposits waiting (thieves' and innocent customers') *together with* a coin of the labelled
  hot wallet, into the hot wallet. A share (`presweep_share`) of the thief's deposits is first
  pre-swept together with a customer's static (reused) deposit address only, whose other deposit
  the exchange consolidates with the hot wallet later: found one address history away
  (`cluster_depth` ≥ 1).

Ground truth (:class:`PeelTruth`): the thief's exchange deposits and their exchange, the merchant,
CoinJoin and custodian payments (never exchange endpoints), the stolen amount.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from chains.emulators.esplora import synthetic_address, synthetic_tx, synthetic_txid
from tracer.core.models import Category, Label, UtxoTx

BTC = 10**8
FEE = 2_000
START = 800_000
SCRIPT_KINDS: tuple[str, ...] = ("p2wpkh", "p2wpkh", "p2sh", "p2pkh")


@dataclass(frozen=True)
class PeelKnobs:
    """The shape of one world."""

    seed: int = 1
    chains: int = 10
    hops: int = 14
    exchanges: int = 3
    stolen_btc: int = 1_000
    merchant_share: float = 0.15
    coinjoins: int = 10
    custodians: int = 2
    presweep_share: float = 0.2
    batch_inputs: int = 800
    customers_per_block: int = 2
    consolidate_every: int = 5
    #: a payment is this many per mille of the coin (drawn uniformly)
    pay_permille: tuple[int, int] = (10, 60)
    #: consolidations pay the labelled hot wallet (else a fresh, unlabelled cold wallet)
    sweep_to_hot: bool = True
    #: script types of deposit addresses (the thief's change is always p2wpkh)
    deposit_kinds: tuple[str, ...] = SCRIPT_KINDS


@dataclass
class PeelTruth:
    """What really happened (the benchmark's answer key)."""

    theft_txid: str = ""
    stolen: int = 0
    deposits: dict[str, str] = field(default_factory=dict)  # thief deposit address -> exchange label name
    presweeps: set[str] = field(default_factory=set)  # deposits linked only one history away
    merchants: set[str] = field(default_factory=set)
    coinjoin_entries: set[str] = field(default_factory=set)  # thief addresses that entered a CoinJoin
    custodians: set[str] = field(default_factory=set)
    hot_wallets: dict[str, str] = field(default_factory=dict)  # hot wallet address -> label name


class SyntheticLabels:
    """The label book of a world: the exchanges' hot wallets (SYNTHETIC)."""

    def __init__(self, labels: list[Label]) -> None:
        self.labels = {lb.address: lb for lb in labels}

    def label(self, chain: str, address: str) -> Label | None:
        return self.labels.get(address) if chain == "bitcoin" else None


@dataclass
class PeelWorld:
    txs: list[UtxoTx]
    labels: SyntheticLabels
    truth: PeelTruth
    knobs: PeelKnobs


class _Builder:
    def __init__(self, knobs: PeelKnobs) -> None:
        self.k = knobs
        self.rng = random.Random(knobs.seed)
        self.txs: list[UtxoTx] = []
        self.truth = PeelTruth()
        self.n = 0
        self.tag = f"w{knobs.seed}"
        names = [f"Exchange{chr(65 + i)}" for i in range(knobs.exchanges)]
        self.exchanges = names
        self.hot = {x: synthetic_address(f"{self.tag}-{x}-hot", "p2wpkh") for x in names}
        self.hot_coin: dict[str, tuple[str, int, int]] = {}  # exchange -> (txid, vout, value) of its hot wallet coin
        self.hot_block: dict[str, int] = dict.fromkeys(
            names, START - 10
        )  # block of the hot coin (spends never earlier)
        self.waiting: dict[str, list[tuple[str, int, str, int]]] = {x: [] for x in names}  # deposits to sweep
        self.static: dict[str, list[tuple[str, int, str, int]]] = {x: [] for x in names}  # reused customer coins
        for x in names:
            self.truth.hot_wallets[self.hot[x]] = f"{x} hot wallet (synthetic)"
            seed_coin = (synthetic_txid(f"{self.tag}-{x}-seed"), 0, self.hot[x], 50 * BTC)
            fund = self.tx("fund-hot", [seed_coin], [(self.hot[x], 50 * BTC - FEE)], START - 10)
            self.hot_coin[x] = (fund.txid, 0, 50 * BTC - FEE)

    def name(self, what: str) -> str:
        self.n += 1
        return f"{self.tag}-{what}-{self.n}"

    def address(self, what: str, kind: str = "p2wpkh") -> str:
        return synthetic_address(self.name(what), kind)

    def hot_spend_block(self, x: str, block: int) -> int:
        """A block at or after both `block` and the hot wallet coin's own block."""
        self.hot_block[x] = max(block, self.hot_block[x])
        return self.hot_block[x]

    def tx(self, what: str, ins: list, outs: list, block: int) -> UtxoTx:
        fee = sum(v for *_, v in ins) - sum(v for _, v in outs)
        assert fee >= 0, (what, fee)
        t = synthetic_tx(self.name(what), ins, outs, block=block)
        self.txs.append(t)
        return t

    def outside_coin(self, owner: str, value: int) -> tuple[str, int, str, int]:
        """A coin from outside the served world (its funding transaction is not served)."""
        return (synthetic_txid(self.name("outside")), 0, owner, value)

    # -- exchanges ---------------------------------------------------------------------------------

    def customers(self, block: int) -> None:
        for _ in range(self.k.customers_per_block):
            x = self.rng.choice(self.exchanges)
            user, dep = self.address("user"), self.address("cust-deposit", self.rng.choice(SCRIPT_KINDS))
            value = self.rng.randint(1, 300) * BTC // 100
            t = self.tx("customer", [self.outside_coin(user, value + FEE)], [(dep, value)], block)
            self.waiting[x].append((t.txid, 0, dep, value))

    def consolidate(self, x: str, block: int) -> None:
        coins = self.waiting[x]
        if self.static[x] and self.rng.random() < 0.7:
            coins = [*coins, self.static[x].pop(0)]
        if not coins:
            return
        hot_txid, hot_vout, hot_value = self.hot_coin[x]
        ins = [*coins, (hot_txid, hot_vout, self.hot[x], hot_value)]
        total = sum(v for *_, v in ins)
        left = total - FEE * len(ins)
        if self.k.sweep_to_hot:
            t = self.tx("consolidation", ins, [(self.hot[x], left)], self.hot_spend_block(x, block))
            self.hot_coin[x] = (t.txid, 0, left)
        else:  # to a cold wallet; the hot wallet keeps a coin of what it put in
            hot_back = hot_value - FEE
            outs = [(self.address(f"{x}-cold"), left - hot_back), (self.hot[x], hot_back)]
            t = self.tx("consolidation", ins, outs, self.hot_spend_block(x, block))
            self.hot_coin[x] = (t.txid, 1, hot_back)
        self.waiting[x] = []

    def presweep(self, x: str, deposit: tuple[str, int, str, int], block: int) -> None:
        """Sweep the deposit with a static customer deposit address only (whose next deposit is consolidated)."""
        static = self.address("static-deposit")
        first = self.tx("static-in", [self.outside_coin(self.address("user"), BTC + FEE)], [(static, BTC)], block)
        second = self.tx("static-in", [self.outside_coin(self.address("user"), BTC + FEE)], [(static, BTC)], block)
        ins = [deposit, (first.txid, 0, static, BTC)]
        total = sum(v for *_, v in ins)
        self.tx("presweep", ins, [(self.address("ex-internal"), total - 2 * FEE)], block + 1)
        self.static[x].append((second.txid, 0, static, BTC))

    def withdrawal(self, x: str, to: str, value: int, block: int) -> tuple[str, int, str, int]:
        hot_txid, hot_vout, hot_value = self.hot_coin[x]
        rest = hot_value - value - FEE
        ins = [(hot_txid, hot_vout, self.hot[x], hot_value)]
        t = self.tx("withdrawal", ins, [(to, value), (self.hot[x], rest)], self.hot_spend_block(x, block))
        self.hot_coin[x] = (t.txid, 1, rest)
        return (t.txid, 0, to, value)

    # -- payment destinations ------------------------------------------------------------------------

    def to_merchant(self, coin: tuple[str, int, str, int], block: int) -> None:
        """The merchant co-spends the payment with its own coins, one of them an exchange withdrawal."""
        own = [self.outside_coin(self.address("merchant-own"), self.rng.randint(1, 50) * BTC // 100)]
        own.append(self.withdrawal(self.rng.choice(self.exchanges), self.address("merchant-own"), BTC // 10, block))
        ins = [coin, *own]
        total = sum(v for *_, v in ins)
        at = max(block + 2, self.txs[-1].block or 0)
        self.tx("merchant-spend", ins, [(self.address("merchant-supplier"), total - 3 * FEE)], at)

    def to_coinjoin(self, coin: tuple[str, int, str, int], block: int) -> None:
        """The thief's coin enters a 5-party equal-output CoinJoin with a labelled hot wallet taking part."""
        denom = min(coin[3], 2 * BTC) - 50_000
        x = self.rng.choice(self.exchanges)
        hot_txid, hot_vout, hot_value = self.hot_coin[x]
        ins = [coin, (hot_txid, hot_vout, self.hot[x], hot_value)]
        ins += [self.outside_coin(self.address("cj-peer"), denom + 60_000) for _ in range(3)]
        outs = [(self.address("cj-out"), denom) for _ in range(5)]
        outs += [(self.address("cj-change"), v - denom - FEE) for *_, v in ins if v - denom - FEE > 1_000]
        t = self.tx("coinjoin", ins, outs, self.hot_spend_block(x, block + 1))
        idx = next(i for i, o in enumerate(t.outputs) if o.value == hot_value - denom - FEE)
        self.hot_coin[x] = (t.txid, idx, hot_value - denom - FEE)

    def to_custodian(self, coin: tuple[str, int, str, int], block: int) -> None:
        """A custodian spends the payment in one huge batch that also holds a labelled exchange coin."""
        x = self.rng.choice(self.exchanges)
        hot_txid, hot_vout, hot_value = self.hot_coin[x]
        ins = [coin, (hot_txid, hot_vout, self.hot[x], hot_value)]
        ins += [self.outside_coin(self.address("custody"), BTC // 100) for _ in range(self.k.batch_inputs - 2)]
        total = sum(v for *_, v in ins)
        outs = [(self.address("custody-out"), total - hot_value - FEE), (self.hot[x], hot_value)]
        t = self.tx("custody-batch", ins, outs, self.hot_spend_block(x, block + 1))
        self.hot_coin[x] = (t.txid, 1, hot_value)

    # -- the theft ---------------------------------------------------------------------------------

    def build(self) -> PeelWorld:
        k, rng = self.k, self.rng
        victim, thief = self.address("victim", "p2sh"), self.address("thief")
        stolen = k.stolen_btc * BTC
        theft = self.tx(
            "theft",
            [self.outside_coin(victim, stolen // 2 + BTC), self.outside_coin(victim, stolen // 2 + BTC)],
            [(thief, stolen), (victim, 2 * BTC - FEE)],
            START,
        )
        self.truth.theft_txid, self.truth.stolen = theft.txid, stolen
        share = (stolen - FEE) // k.chains
        heads = [(self.address("head"), share) for _ in range(k.chains)]
        heads[-1] = (heads[-1][0], stolen - FEE - share * (k.chains - 1))
        fan = self.tx("fan-out", [(theft.txid, 0, thief, stolen)], heads, START + 1)
        coins = [(fan.txid, n, a, v) for n, (a, v) in enumerate(heads)]
        kinds = ["deposit"] * (k.chains * k.hops)
        special = ["coinjoin"] * k.coinjoins + ["custodian"] * k.custodians
        special += ["merchant"] * int(k.merchant_share * len(kinds))
        for n, what in enumerate(special):
            kinds[(n * 7919) % len(kinds)] = what  # spread over the chains deterministically
        for hop in range(k.hops):
            block = START + 2 + 3 * hop
            self.customers(block)
            for c in range(k.chains):
                txid, vout, holder, value = coins[c]
                what = kinds[hop * k.chains + c]
                pay = value * rng.randint(*k.pay_permille) // 1000
                if rng.random() < 0.3:
                    pay = max(BTC // 100, pay // (BTC // 100) * (BTC // 100))
                if what == "deposit":
                    x = rng.choice(self.exchanges)
                    to = self.address(f"deposit-{x}", rng.choice(k.deposit_kinds))
                elif what == "merchant":
                    to = self.address("merchant", rng.choice(SCRIPT_KINDS))
                elif what == "coinjoin":
                    to = self.address("premix")
                    pay = max(pay, BTC // 10)
                else:
                    to = self.address("custodian", rng.choice(SCRIPT_KINDS))
                change = self.address("change")
                rest = value - pay - FEE
                outs = [(to, pay), (change, rest)] if rng.random() < 0.5 else [(change, rest), (to, pay)]
                t = self.tx("peel", [(txid, vout, holder, value)], outs, block)
                pay_vout = 0 if outs[0][0] == to else 1
                paid = (t.txid, pay_vout, to, pay)
                coins[c] = (t.txid, 1 - pay_vout, change, rest)
                if what == "deposit":
                    self.truth.deposits[to] = f"{x} hot wallet (synthetic)"
                    if rng.random() < k.presweep_share:
                        self.truth.presweeps.add(to)
                        self.presweep(x, paid, block)
                    else:
                        self.waiting[x].append(paid)
                elif what == "merchant":
                    self.truth.merchants.add(to)
                    self.to_merchant(paid, block)
                elif what == "coinjoin":
                    self.truth.coinjoin_entries.add(to)
                    self.to_coinjoin(paid, block)
                else:
                    self.truth.custodians.add(to)
                    self.to_custodian(paid, block)
            if hop % k.consolidate_every == k.consolidate_every - 1 or hop == k.hops - 1:
                for x in self.exchanges:
                    self.consolidate(x, block + 2)
        for x in self.exchanges:  # the static deposits still waiting are consolidated at the end
            while self.static[x]:
                self.consolidate(x, self.hot_block[x] + 1)
        labels = SyntheticLabels(
            [Label("bitcoin", a, Category.EXCHANGE, name, "synthetic") for a, name in self.truth.hot_wallets.items()]
        )
        return PeelWorld(self.txs, labels, self.truth, k)


def build_world(knobs: PeelKnobs | None = None) -> PeelWorld:
    """A SYNTHETIC peel-chain world and its ground truth (deterministic for a seed)."""
    return _Builder(knobs or PeelKnobs()).build()
