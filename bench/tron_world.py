"""A **synthetic** USDT-TRC20 laundering world on TRON, served by the TronGrid emulator, with its answer.

Nothing here is real chain data. Deterministic from a seed. What the generator builds, in the
ways laundering on TRON usually looks after an exchange hack:

* **Theft.** A victim wallet sends ``stolen`` USDT (the real contract address
  ``TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t``, synthetic transfers) to the thief, the seed of the trace.
* **Split.** The thief splits it over ``splits`` fresh addresses.
* **Peel chains.** Each split address starts a chain of ``peel_hops`` hops; at every hop a small
  share (5-15 %) is peeled to an exchange deposit address and the rest moves on. A chain ends
  at a deposit address, at the hub (``hub_chains`` chains), or rests at its last hop
  (``resting_chains`` chains).
* **Exchange deposit addresses.** Every deposit address belongs to one of the exchanges; the
  exchange tops up its TRX for the energy fee a few blocks after a deposit, then sweeps the whole
  USDT balance to its hot wallet (deposits in quick succession are swept together). Every exchange
  also serves ``customers`` unrelated customers (own deposit address, sweeps, withdrawals). Two
  exchanges use hot wallets named by the **bundled** TRON labels (GraphSense TagPacks: Binance and
  KuCoin USDT reserves) so bundled labels resolve; the others get synthetic labels (source
  ``synthetic-bench``), as an investigator's own import would add.
* **Hub.** An unlabelled instant-exchange collector with ``hub_users`` unrelated users paying in and
  being paid out (a service by its size: :mod:`heuristics.services`).
* **Blocks.** One every 3 s, with one slot in ``missed_every`` missed (a gap in time, as on mainnet);
  the emulator repeats rows at page edges (``edge_duplicates``), as TronGrid does.
* **TRX fees.** Every USDT transfer burns TRX for energy (``fee``), paid by its sender. Laundering
  addresses get their TRX from a synthetic energy-rental wallet before their first move.
* **Noise.** TRX and USDT dust from strangers at laundering addresses; address poisoning: zero-value
  ``transferFrom`` events "from" a laundering address to a look-alike of its real counterparty (same
  first and last characters), and transfers of a fake token that copies USDT's symbol, name and
  decimals, sent from the look-alike.

**Answer.** sources = the thief; laundering = split addresses and peel hops; terminals = the
deposit addresses and the hub that the laundering addresses paid. The hot wallets (beyond the
deposit addresses), the energy-rental wallet, dusters and poisoners are not part of it.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field

from chains.emulators.trongrid import Trc20Move, TronToken, TronTx, TronWorld
from tracer.core.addresses import b58check_encode
from tracer.core.models import Category, Label

LABEL_SOURCE = "synthetic-bench"
USDT = TronToken("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "USDT", 6, "Tether USD")
USD = 10**6  # USDT base units per dollar; also sun per TRX
#: Hot wallets named by the bundled labels (tracer/labels/labeldata, GraphSense TagPacks).
BUNDLED_HOT_WALLETS = ("TAzsQ9Gx8eqFNFSKbeXrbi45CuVPHzA8wr", "TEWzF5ZsaWMh6sTNDPrYaPJrK8TTMGfwCC")
ENERGY_FEE = 13_844_850  # sun burnt for a USDT transfer to a holder without energy (synthetic, typical size)
BANDWIDTH_FEE = 1_100_000  # sun burnt for a TRX transfer without free bandwidth


@dataclass(frozen=True, slots=True)
class TronWorldOptions:
    seed: int = 17
    stolen: int = 8_000_000 * USD
    splits: int = 8
    peel_hops: int = 4
    exchanges: int = 4
    customers: int = 6
    hub_users: int = 1_050
    hub_chains: int = 2
    resting_chains: int = 1
    dusters: int = 12
    poisoners: int = 12
    start_block: int = 60_000_000
    #: One block slot in this many is missed (mainnet misses a few; the block clock must cope).
    missed_every: int | None = 200
    #: TronGrid repeats rows at page edges (the adapter must drop the repeats).
    edge_duplicates: bool = True


@dataclass
class TronBenchWorld:
    """The world, its labels, the answer and the trace window (all synthetic)."""

    world: TronWorld
    labels: list[Label]
    thief: str
    laundering: set[str]
    terminals: set[str]
    deposits: set[str]
    hub: str
    hot_wallets: dict[str, str]  # exchange name -> hot wallet
    fake_token: TronToken
    since: int
    missed_every: int | None = None
    edge_duplicates: bool = False
    stats: dict[str, int] = field(default_factory=dict)

    def case_toml(self, url: str, *, case_id: str = "synthetic-tron-bench") -> str:
        return f"""[case]
id = "{case_id}"
title = "SYNTHETIC USDT-TRC20 laundering world (benchmark, not a real case)"

[[seeds]]
chain = "tron"
address = "{self.thief}"

[trace]
since = {self.since}

[source]
tron = {{ kind = "tron", url = "{url}" }}
"""


class _Gen:
    def __init__(self, options: TronWorldOptions) -> None:
        self.o = options
        self.rng = random.Random(options.seed)
        self.world = TronWorld()
        self.block = options.start_block
        self.n = 0
        self.funded: set[str] = set()

    def address(self, tag: str) -> str:
        self.n += 1
        digest = hashlib.sha256(f"synthetic-tron-bench|{self.o.seed}|{tag}|{self.n}".encode()).digest()
        return b58check_encode(b"\x41" + digest[:20])

    def lookalike(self, target: str) -> str:
        """A synthetic address with the first two and last two characters of `target` (address poisoning)."""
        for i in range(2_000_000):
            digest = hashlib.sha256(f"lookalike|{target}|{i}".encode()).digest()
            candidate = b58check_encode(b"\x41" + digest[:20])
            if candidate[:2] == target[:2] and candidate[-2:] == target[-2:] and candidate != target:
                return candidate
        raise RuntimeError("no look-alike found")  # pragma: no cover - 58² tries on average

    def txid(self) -> str:
        self.n += 1
        return hashlib.sha256(f"synthetic-tron-bench-tx|{self.o.seed}|{self.n}".encode()).hexdigest()

    def tick(self, lo: int = 1, hi: int = 3) -> int:
        self.block += self.rng.randint(lo, hi)
        return self.block

    def trx(self, sender: str, to: str, amount: int, *, fee: int = 0) -> None:
        self.world.add(TronTx(self.txid(), self.tick(), sender, to=to, amount=amount, fee=fee))

    def usdt(self, sender: str, to: str, value: int, *, token: TronToken = USDT, owner: str | None = None) -> None:
        owner = owner or sender
        fee = ENERGY_FEE if token is USDT else 0
        move = Trc20Move(token, sender, to, value)
        self.world.add(TronTx(self.txid(), self.tick(), owner, contract=token.contract, fee=fee, trc20=(move,)))


def generate_tron_world(options: TronWorldOptions | None = None) -> TronBenchWorld:
    """The synthetic world described in the module docstring."""
    o = options or TronWorldOptions()
    g = _Gen(o)
    rng = g.rng
    labels: list[Label] = []
    hot: dict[str, str] = {}
    for i in range(o.exchanges):
        name = f"Synthetic Exchange {chr(65 + i)}"
        if i < len(BUNDLED_HOT_WALLETS):
            hot[name] = BUNDLED_HOT_WALLETS[i]  # labelled by the bundled TagPacks, not by us
        else:
            hot[name] = g.address("hot")
            labels.append(Label("tron", hot[name], Category.EXCHANGE, f"{name} hot wallet", source=LABEL_SOURCE))
    victim, thief, energy, hub = g.address("victim"), g.address("thief"), g.address("energy"), g.address("hub")
    crowd = [g.address("crowd") for _ in range(8)]

    # Before the theft: wallets funded by exchange withdrawals (TRX), the energy seller stocked.
    for wallet in hot.values():
        g.trx(crowd[0], wallet, 500_000 * USD)
        g.usdt(crowd[1], wallet, 1_000_000 * USD)
    g.trx(hot[next(iter(hot))], energy, 200_000 * USD, fee=BANDWIDTH_FEE)
    g.usdt(hot[next(iter(hot))], victim, o.stolen + 10 * USD)
    g.trx(hot[next(iter(hot))], victim, 1_000 * USD, fee=BANDWIDTH_FEE)
    g.funded.add(victim)
    g.trx(energy, thief, 150 * USD, fee=BANDWIDTH_FEE)  # the thief's TRX for fees, bought before the theft
    g.funded.add(thief)
    since = g.tick(5, 5)  # the trace window opens after the thief's own preparations

    pending: list[tuple[str, str]] = []  # (deposit address, exchange) waiting for their sweep
    balances: dict[str, int] = {}
    deposits: set[str] = set()
    terminals: set[str] = set()
    laundering: set[str] = set()
    last_paid: dict[str, str] = {}

    def gas(address: str) -> None:
        if address not in g.funded:
            g.funded.add(address)
            g.trx(energy, address, rng.randint(60, 140) * USD, fee=BANDWIDTH_FEE)

    def pay(sender: str, to: str, value: int) -> None:
        gas(sender)
        g.usdt(sender, to, value)
        balances[sender] = balances.get(sender, 0) - value
        balances[to] = balances.get(to, 0) + value
        last_paid[sender] = to

    def new_deposit() -> tuple[str, str]:
        exchange = rng.choice(sorted(hot))
        address = g.address("deposit")
        deposits.add(address)
        return address, exchange

    def sweep_due(force: bool = False) -> None:
        keep = []
        for address, exchange in pending:
            if force or rng.random() < 0.5:
                amount = balances.get(address, 0)
                if amount > 0:
                    g.trx(hot[exchange], address, 30 * USD, fee=BANDWIDTH_FEE)  # TRX for the sweep's energy
                    g.usdt(address, hot[exchange], amount)
                    balances[address] = 0
            else:
                keep.append((address, exchange))
        pending[:] = keep

    # The theft and the split.
    pay(victim, thief, o.stolen)
    shares = [rng.randint(60, 140) for _ in range(o.splits)]
    split_amounts = [o.stolen * s // sum(shares) for s in shares]
    split_amounts[-1] = o.stolen - sum(split_amounts[:-1])
    splits = [g.address("split") for _ in range(o.splits)]
    for address, amount in zip(splits, split_amounts, strict=True):
        pay(thief, address, amount)
        laundering.add(address)

    # Peel chains.
    ends = ["hub"] * o.hub_chains + ["rest"] * o.resting_chains
    ends += ["deposit"] * (o.splits - len(ends))
    rng.shuffle(ends)
    for start, end in zip(splits, ends, strict=True):
        current = start
        for _hop in range(o.peel_hops):
            amount = balances[current]
            peel = amount * rng.randint(5, 15) // 100
            deposit, exchange = new_deposit()
            pay(current, deposit, peel)
            terminals.add(deposit)
            pending.append((deposit, exchange))
            nxt = g.address("hop")
            pay(current, nxt, amount - peel)
            laundering.add(nxt)
            current = nxt
            sweep_due()
        if end == "hub":
            pay(current, hub, balances[current])
            terminals.add(hub)
        elif end == "deposit":
            deposit, exchange = new_deposit()
            pay(current, deposit, balances[current])
            terminals.add(deposit)
            pending.append((deposit, exchange))
        # "rest": the funds stay at the last hop
    sweep_due(force=True)

    # Unrelated customers of every exchange, the hub's users.
    for _exchange, wallet in sorted(hot.items()):
        for _ in range(o.customers):
            customer, deposit = g.address("customer"), g.address("customer-deposit")
            amount = rng.randint(100, 20_000) * USD
            g.usdt(crowd[2], customer, amount)
            g.usdt(customer, deposit, amount)
            g.trx(wallet, deposit, 30 * USD, fee=BANDWIDTH_FEE)
            g.usdt(deposit, wallet, amount)
            g.usdt(wallet, g.address("withdrawal"), rng.randint(10, 5_000) * USD)
    for _ in range(o.hub_users):
        user = g.address("hub-user")
        g.usdt(user, hub, rng.randint(50, 9_000) * USD)
        g.usdt(hub, g.address("hub-payee"), rng.randint(50, 9_000) * USD)

    # Noise at the laundering addresses: dust, zero-value poisoning and the fake USDT.
    fake = TronToken(g.address("fake-usdt"), "USDT", 6, "Tether USD")
    targets = sorted(laundering | {thief})
    for _ in range(o.dusters):
        duster, target = g.address("duster"), rng.choice(targets)
        if rng.random() < 0.5:
            g.trx(duster, target, rng.randint(1, 9))  # a few sun
        else:
            g.usdt(duster, target, rng.randint(1, 9_000))  # under a cent
    for _ in range(o.poisoners):
        victim_of = rng.choice([a for a in targets if a in last_paid])
        lookalike = g.lookalike(last_paid[victim_of])
        poisoner = g.address("poisoner")
        g.usdt(victim_of, lookalike, 0, owner=poisoner)  # transferFrom(victim_of, lookalike, 0) by the poisoner
        g.usdt(lookalike, victim_of, rng.randint(1, 500) * USD, token=fake, owner=poisoner)
    stats = {
        "transactions": len(g.world.txs),
        "laundering": len(laundering),
        "terminals": len(terminals),
        "deposits": len(deposits & terminals),
        "hub_users": o.hub_users,
        "blocks": g.world.tip - o.start_block,
    }
    return TronBenchWorld(
        world=g.world,
        labels=labels,
        thief=thief,
        laundering=laundering,
        terminals=terminals,
        deposits=deposits & terminals,
        hub=hub,
        hot_wallets=hot,
        fake_token=fake,
        since=since,
        missed_every=o.missed_every,
        edge_duplicates=o.edge_duplicates,
        stats=stats,
    )
