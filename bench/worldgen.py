"""Turn an expert ground-truth case into an EVM world that the Etherscan emulator serves.

The expert flows are real (LaunderNetEvm41, read at run time); everything around them is
**synthetic** and generated here, deterministically from a seed, to look like what a real
chain adds around a laundering operation:

* **Asset.** The data gives only USD values. Every expert flow becomes a transfer of one
  synthetic ERC-20, ``USDG`` ("USD-equivalent, synthetic benchmark token", 6 decimals,
  reference price exactly 1 USD), so cents map to base units exactly (1 cent = 10,000 units).
  Rows that share a transaction hash stay one transaction: their `Transfer` events are
  emitted in causal order (a row whose sender receives in the same transaction comes after
  the row that pays it), sent by the first payer. Gas is paid in ETH.
* **Balances.** The experts recorded only illicit flows, valued in USD at different times, so
  an address can send more than the records bring in. Before such an outflow the generator
  adds the missing amount just in time: into a *source* it comes from a synthetic victim (the
  theft), anywhere else from a fresh, unlabelled sender funded by an exchange withdrawal
  (an *unrecorded inflow*: clean value, which dilutes taint exactly as it would on chain).
  With ``unrecorded="unseen"`` no such sender is made: the address simply spends more than its
  served history shows (a robustness check: some sources omit rows).
* **Exchange deposit addresses.** A terminal that the experts tagged as an exchange deposit
  sweeps its whole balance to that exchange's hot wallet 3-40 blocks after a deposit (deposits
  in quick succession are swept together), after the exchange tops up its gas. Each hot
  wallet is synthetic and shared with ``users_per_exchange`` unrelated customers, each with
  their own deposit address, sweeps and withdrawals.
* **Service hubs.** A terminal tagged as a service (mixer, bridge, instant exchanger, an
  exchange's own wallet, a casino, a marketplace) gets ``hub_users`` unrelated users who pay
  in and are paid out: a contract (Etherscan-style ``Project: Contract`` names) pays out
  through calls by its relayer, a service wallet pays out itself. A routing contract *inside*
  the expert flows (DEX router, bridge aggregator, settlement contract) gets ``router_users``
  unrelated pass-through transactions (user -> router -> pool, in one transaction, the router
  keeping a 0.1 % fee).
* **Noise at the thieves.** Dust (1-99 cents of USDG from strangers), zero-value
  ``transferFrom`` events out of the thief to a look-alike address, and transfers of a fake
  token that copies USDG's symbol, from a look-alike of a real counterparty (address poisoning).
* **Victims' history.** Victims (synthetic ones, and the upstream ``OSRC`` addresses of the
  Atomic Wallet data) were funded by exchange withdrawals weeks earlier and made a few
  ordinary payments before the theft.
* **Gas funding.** Every address of the case that sends a transaction is first sent ETH for
  its gas: the thieves' addresses by one of a few synthetic gas stations or by an exchange
  withdrawal, deposit addresses by their exchange before each sweep, victims and service
  operators by an exchange. (The gas of the unrelated crowd is not modelled, to keep worlds small.)

**Labels.** The generator labels only what it invents and an investigator would import: the
synthetic exchanges' hot wallets (source ``synthetic-bench``; ``label_hot_wallets=False`` leaves them
unlabelled, a robustness check). It never labels a terminal or
a laundering address of the answer file; the expert tags are used only to decide how the
surroundings of an address behave (a deposit address sweeps, a service has heavy traffic).
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum

from bench.confounders import Confounders, ConfounderTruth, add_confounders, theft_by_asset
from bench.groundtruth import FlowRecord, GroundTruthCase
from chains.emulators.world import EvmWorld
from tracer.core.models import Category, Label
from tracer.demo.builder import ETHER, Token, WorldBuilder

TOKEN_DECIMALS = 6
UNITS_PER_CENT = 10 ** (TOKEN_DECIMALS - 2)
LABEL_SOURCE = "synthetic-bench"
NULL_ADDRESS = "0x" + "0" * 40
TOKEN_SYMBOL = "USDG"
TOKEN_NAME = "USD-equivalent (synthetic benchmark token)"


class AddressKind(StrEnum):
    """How an address of the expert graph behaves in the generated world."""

    SOURCE = "source"  # a seed of the trace (thief)
    VICTIM = "victim"  # upstream of the sources in the expert data
    LAUNDERER = "launderer"  # an address the launderers control
    ROUTER = "router"  # a routing contract inside the flows (pass-through)
    DEPOSIT = "deposit"  # terminal exchange deposit address (sweeps to a hot wallet)
    SERVICE = "service"  # terminal service with heavy unrelated traffic
    HOLDER = "holder"  # terminal where the funds rest


@dataclass(frozen=True, slots=True)
class WorldOptions:
    """Knobs of the generator (defaults are what `make bench` uses)."""

    seed: int = 20261128
    users_per_exchange: int = 1500
    hub_users: int = 1200
    router_users: int = 1200
    dust_share: float = 0.3
    poison_share: float = 0.3
    gas_stations: int = 4
    #: How an address's unrecorded inflows appear: "clean-sender" (a transfer from a fresh sender funded
    #: by an exchange withdrawal) or "unseen" (no transfer at all: the address just spends more than its
    #: history shows, as with a source that omits rows) — a robustness check of the tracer.
    unrecorded: str = "clean-sender"
    #: False: the synthetic hot wallets carry no label (as many real ones in public label sets).
    label_hot_wallets: bool = True
    #: SYNTHETIC confounders of issue 13 (bench/confounders.py); None: the standard world, unchanged.
    confounders: Confounders | None = None


@dataclass
class GeneratedWorld:
    """A world around one case, with what a user would know about it."""

    slug: str
    title: str
    world: EvmWorld
    token: Token
    seeds: tuple[str, ...]
    since_block: int
    labels: list[Label]
    kinds: dict[str, AddressKind]
    purposes: dict[str, str] = field(default_factory=dict)  # synthetic address -> what it was made for
    diluted: frozenset[str] = frozenset()  # expert addresses that got an unrecorded inflow
    stats: dict[str, int] = field(default_factory=dict)
    confounders: ConfounderTruth | None = None  # what the synthetic confounders are (None: not added)
    theft: dict[str, int] = field(default_factory=dict)  # asset key -> true theft in base units

    def case_toml(
        self, *, api_url: str, max_addresses: int = 3000, policy: str | None = None, attribution: bool = True
    ) -> str:
        """A case file (INTERFACES §2) that traces the seeds through the Etherscan-compatible `api_url`."""
        lines = [
            "[case]",
            f'id = "{self.slug}-bench"',
            f'title = "{self.title} (benchmark: expert flows + synthetic surroundings)"',
            'notes = "Expert flows from LaunderNetEvm41 (BlockSec MFTracer); every other transaction is synthetic."',
            "",
        ]
        for seed in self.seeds:
            lines += ["[[seeds]]", 'chain = "ethereum"', f'address = "{seed}"', 'role = "thief"', ""]
        lines += ["[trace]", f"since = {self.since_block}", f"max_addresses = {max_addresses}"]
        if policy:
            lines.append(f'policy = "{policy}"')
        if not attribution:
            lines.append("attribution = false")
        lines += ["", "[source]", f'ethereum = {{ kind = "etherscan", url = "{api_url}" }}', ""]
        # one chain only: no bridge resolver is asked (none is served; nothing leaves loopback)
        lines += ["[crosschain]", "follow = false", ""]
        return "\n".join(lines)


_HOLDER_WORDS = ("terminus", "exploiter", "transit_", ".eth", "gnosissafeproxy", "hacker", "phishing", "null address")
_SERVICE_WORDS = (
    "router", "bridge", "swap", "diamond", "settlement", "inbox", "protocol", "portal", "pool", "exchange",
    "tornado", "thorchain", "exch", "changenow", "changehero", "fixedfloat", "sideshift", "simpleswap", "swft",
    "hot wallet", "stake", "roobet", "rollbit", "duelbits", "bovada", "opensea", "seaport", "wyre", "bitpay",
    "sellix", "custody", "cobo", "paxos", "coinspot", "binance", "coinbase", "kraken", "kucoin", "bingx",
    "hop", "across", "symbiosis", "cbridge", "celer", "avalanche", "arbitrum", "secret network", "token",
)  # fmt: skip


_CONTRACT_WORDS = (
    "router", "bridge", "portal", "pool", "tornado", "protocol", "inbox", "diamond", "settlement", "seaport",
    "proxy", "token", "helper", "spoke", "fees",
)  # fmt: skip


def is_contract_like(label: str) -> bool:
    """Etherscan names contracts `Project: Contract`; wallets of exchanges and services are EOAs."""
    low = label.lower()
    if "wallet" in low:
        return False
    return any(word in low for word in _CONTRACT_WORDS)


def classify_label(label: str) -> AddressKind:
    """What an expert tag says about behaviour: HOLDER, DEPOSIT, ROUTER-like service or unknown (HOLDER)."""
    low = label.lower()
    if not low or any(word in low for word in _HOLDER_WORDS):
        return AddressKind.HOLDER
    if "_deposit_" in low:
        return AddressKind.DEPOSIT
    if ":" in low or any(word in low for word in _SERVICE_WORDS) or re.match(r"^[\w.]+ \d+\b", low):
        return AddressKind.SERVICE
    return AddressKind.HOLDER


def exchange_of(label: str) -> str:
    """`Binance_Deposit_0x12ab` -> `Binance`."""
    return label.split("_Deposit_")[0].strip() or "Exchange"


def classify_case(case: GroundTruthCase) -> dict[str, AddressKind]:
    """A behaviour for every address of the expert graph."""
    tags = case.labels_of()
    kinds: dict[str, AddressKind] = {}
    for address in case.addresses:
        tag = tags.get(address, "")
        if address in case.sources:
            kinds[address] = AddressKind.SOURCE
        elif address in case.terminals:
            kinds[address] = classify_label(tag)
        elif address in case.upstream:
            kinds[address] = AddressKind.VICTIM
        elif tag and "_deposit_" not in tag.lower() and classify_label(tag) is AddressKind.SERVICE:
            kinds[address] = AddressKind.ROUTER
        else:
            kinds[address] = AddressKind.LAUNDERER
    return kinds


class _Generator:
    def __init__(self, case: GroundTruthCase, options: WorldOptions) -> None:
        self.case = case
        self.options = options
        self.rng = random.Random(f"{options.seed}:{case.slug}")
        first = case.flows[0]
        self.b = WorldBuilder(
            seed=f"heisttrace-bench:{options.seed}:{case.slug}",
            anchor_block=first.block,
            anchor_timestamp=first.timestamp,
        )
        for f in case.flows:
            self.b.pin_timestamp(f.block, f.timestamp)
        self.token = Token(self.b.contract("usdg"), TOKEN_SYMBOL, TOKEN_NAME, TOKEN_DECIMALS)
        self.fake_token = Token(self.b.contract("fake-usdg"), TOKEN_SYMBOL, TOKEN_NAME, TOKEN_DECIMALS)
        self.kinds = classify_case(case)
        self.tags = case.labels_of()
        self.first_block = case.flows[0].block
        self.last_block = max(f.block for f in case.flows)
        self.labels: list[Label] = []
        self.hot_wallets: dict[str, str] = {}
        self.stats: dict[str, int] = defaultdict(int)
        self.balance: dict[str, int] = defaultdict(int)
        self.inflow_blocks: dict[str, int] = {}
        self.exchange_funded: set[str] = set()
        self.diluted: set[str] = set()
        self.deposits: dict[str, list[tuple[int, int]]] = {}
        self.unrelated: set[str] = set()  # unrelated users: their gas is not modelled
        self.gas_stations = [self.b.address("gas-station", i) for i in range(options.gas_stations)]

    # -- helpers -------------------------------------------------------------------------------
    def hot_wallet(self, exchange: str) -> str:
        key = exchange.lower()
        if key not in self.hot_wallets:
            address = self.b.address("hot-wallet", key)
            self.hot_wallets[key] = address
            if self.options.label_hot_wallets:
                self.labels.append(
                    Label(
                        chain="ethereum",
                        address=address,
                        category=Category.EXCHANGE,
                        name=f"{exchange} hot wallet (synthetic)",
                        source=LABEL_SOURCE,
                        source_words="synthetic exchange hot wallet invented by bench/worldgen.py",
                    )
                )
            # Treasury: the hot wallet starts liquid (a mint long before the case).
            self.b.token_tx(
                block=self.first_block - 400_000,
                sender=self.b.address("treasury", key),
                transfers=[(self.token, NULL_ADDRESS, address, 10**9 * 10**TOKEN_DECIMALS)],
                order=0,
            )
        return self.hot_wallets[key]

    def withdraw(self, exchange: str, to: str, amount: int, block: int) -> None:
        """An exchange pays `amount` USDG to `to` (sent by its hot wallet)."""
        hot = self.hot_wallet(exchange)
        self.b.token_tx(block=block, sender=hot, transfers=[(self.token, hot, to, amount)], order=20)

    def spread_block(self, *, before: int = 150_000, after: int = 30_000) -> int:
        return self.rng.randint(self.first_block - before, self.last_block + after)

    def cents(self, low: int, high: int) -> int:
        return self.rng.randint(low, high) * UNITS_PER_CENT

    # -- expert flows ----------------------------------------------------------------------------
    def emit_expert_flows(self) -> None:
        by_tx: dict[str, list[FlowRecord]] = defaultdict(list)
        for f in self.case.flows:
            by_tx[f.tx_hash].append(f)
        ordered = sorted(by_tx.values(), key=lambda rows: (rows[0].block, rows[0].timestamp, rows[0].tx_hash))
        for rows in ordered:
            rows = _causal_order(rows)
            block = rows[0].block
            # Cover shortfalls just in time (before this transaction in the same block).
            running = dict(self.balance)
            for row in rows:
                amount = row.usd_cents * UNITS_PER_CENT
                have = running.get(row.sender, 0)
                if have < amount:
                    self.cover_shortfall(row.sender, amount - have, block)
                    running[row.sender] = amount
                running[row.sender] = running.get(row.sender, 0) - amount
                running[row.receiver] = running.get(row.receiver, 0) + amount
            payer = rows[0].sender
            sender = self.operator(payer) if payer in self.b.contracts else payer
            to = rows[0].receiver if len(rows) > 1 else None
            self.b.token_tx(
                block=block,
                sender=sender,
                to=to,
                transfers=[(self.token, r.sender, r.receiver, r.usd_cents * UNITS_PER_CENT) for r in rows],
                tx_hash=rows[0].tx_hash,
                order=50,
            )
            for row in rows:
                amount = row.usd_cents * UNITS_PER_CENT
                self.balance[row.sender] -= amount
                self.balance[row.receiver] += amount
                self.inflow_blocks.setdefault(row.receiver, block)
                if self.kinds.get(row.receiver) is AddressKind.DEPOSIT:
                    self.deposits.setdefault(row.receiver, []).append((block, amount))
            self.stats["expert_transactions"] += 1
        self.stats["expert_flows"] = len(self.case.flows)

    def operator(self, hub: str) -> str:
        """The EOA that submits a contract's own transactions (solver, relayer, keeper)."""
        return self.b.address("operator", hub)

    def cover_shortfall(self, address: str, amount: int, block: int) -> None:
        kind = self.kinds.get(address)
        if kind is AddressKind.SOURCE:
            victim = self.b.address("victim", f"{address}:{block}")
            self.victim_history(victim, amount, block)
            self.b.token_tx(block=block, sender=victim, transfers=[(self.token, victim, address, amount)], order=10)
            self.stats["synthetic_thefts"] += 1
            self.stats["synthetic_theft_cents"] += amount // UNITS_PER_CENT
        elif kind is AddressKind.VICTIM:
            self.victim_history(address, amount, block)
        else:
            if self.options.unrecorded == "clean-sender":
                funder = self.b.address("unrecorded", f"{address}:{block}")
                exchange = self.rng.choice(_RETAIL_EXCHANGES)
                self.withdraw(exchange, funder, amount, block - self.rng.randint(20, 2_000))
                self.b.token_tx(block=block, sender=funder, transfers=[(self.token, funder, address, amount)], order=10)
            self.stats["unrecorded_inflows"] += 1
            self.diluted.add(address)
            self.stats["unrecorded_inflow_cents"] += amount // UNITS_PER_CENT
        self.balance[address] += amount
        self.inflow_blocks.setdefault(address, block)

    def victim_history(self, victim: str, amount: int, theft_block: int) -> None:
        """A victim was paid by an exchange weeks before and spent a little, then was robbed."""
        exchange = self.rng.choice(_RETAIL_EXCHANGES)
        spent = 0
        start = theft_block - self.rng.randint(50_000, 200_000)
        payments = self.rng.randint(1, 4)
        top_up = amount + self.cents(100, 500_000) * payments
        self.withdraw(exchange, victim, top_up, start)
        for i in range(payments):
            pay = min(self.cents(100, 500_000), top_up - amount - spent)
            if pay <= 0:
                break
            merchant = self.b.address("merchant", self.rng.randint(0, 50))
            self.b.token_tx(
                block=start + (i + 1) * self.rng.randint(100, 5_000) // payments + 1,
                sender=victim,
                transfers=[(self.token, victim, merchant, pay)],
            )
            spent += pay
        self.stats["victim_histories"] += 1

    def sweeps(self) -> None:
        """Deposit addresses forward their whole balance to the exchange's hot wallet 3-40 blocks after a deposit.

        A sweep takes everything that arrived before its block, so deposits in quick succession
        are swept together, as exchanges do.
        """
        for deposit in sorted(self.deposits):
            hot = self.hot_wallet(exchange_of(self.tags.get(deposit, "")))
            receipts = sorted(self.deposits[deposit])
            i = 0
            while i < len(receipts):
                at = receipts[i][0] + self.rng.randint(3, 40)
                amount = 0
                while i < len(receipts) and receipts[i][0] < at:
                    amount += receipts[i][1]
                    i += 1
                self.b.eth_tx(block=at - 1, sender=hot, to=deposit, value=self.b.fee() * 2, order=20)
                self.b.token_tx(block=at, sender=deposit, transfers=[(self.token, deposit, hot, amount)], order=30)
                self.stats["deposit_sweeps"] += 1

    # -- surroundings ----------------------------------------------------------------------------
    def exchange_customers(self) -> None:
        """Thousands of unrelated customers per hot wallet: deposit, gas top-up, sweep, withdrawal."""
        for key, hot in sorted(self.hot_wallets.items()):
            for i in range(self.options.users_per_exchange):
                user = self.b.address(f"customer:{key}", i)
                deposit = self.b.address(f"customer-deposit:{key}", i)
                self.unrelated.add(user)
                amount = self.cents(500, 2_000_000)
                block = self.spread_block()
                self.withdraw(self.rng.choice(_RETAIL_EXCHANGES), user, amount, block - self.rng.randint(10, 5_000))
                self.b.token_tx(block=block, sender=user, transfers=[(self.token, user, deposit, amount)], order=40)
                self.b.eth_tx(block=block + 1, sender=hot, to=deposit, value=self.b.fee() * 2, order=20)
                self.exchange_funded.add(deposit)
                self.b.token_tx(block=block + 2, sender=deposit, transfers=[(self.token, deposit, hot, amount)])
                out = self.b.address(f"customer-withdrawal:{key}", i)
                self.b.token_tx(
                    block=block + self.rng.randint(3, 3_000),
                    sender=hot,
                    transfers=[(self.token, hot, out, self.cents(500, 2_000_000))],
                    order=20,
                )
                self.stats["unrelated_exchange_customers"] += 1

    def service_hubs(self) -> None:
        """Unrelated users pay into terminal services and get paid out by them."""
        hubs = sorted(a for a, k in self.kinds.items() if k is AddressKind.SERVICE)
        for hub in hubs:
            # A contract is called by its relayer/keeper to pay out; a service wallet (EOA) pays itself.
            payer = self.operator(hub) if hub in self.b.contracts else hub
            for i in range(self.options.hub_users):
                user = self.b.address(f"hub-user:{hub}", i)
                self.unrelated.add(user)
                amount = self.cents(1_000, 5_000_000)
                block = self.spread_block()
                self.withdraw(self.rng.choice(_RETAIL_EXCHANGES), user, amount, block - self.rng.randint(10, 500))
                self.b.token_tx(block=block, sender=user, transfers=[(self.token, user, hub, amount)], order=40)
                payee = self.b.address(f"hub-payee:{hub}", i)
                self.b.token_tx(
                    block=block + self.rng.randint(1, 600),
                    sender=payer,
                    to=hub if payer != hub else None,
                    transfers=[(self.token, hub, payee, amount * 99 // 100)],
                    order=60,
                )
                self.stats["unrelated_service_users"] += 1

    def routers(self) -> None:
        """Unrelated pass-through traffic through routing contracts (user -> router -> pool, one tx)."""
        for router in sorted(a for a, k in self.kinds.items() if k is AddressKind.ROUTER):
            pools = [self.b.contract(f"pool:{router}", i) for i in range(3)]
            for i in range(self.options.router_users):
                user = self.b.address(f"router-user:{router}", i)
                self.unrelated.add(user)
                amount = self.cents(1_000, 2_000_000)
                block = self.spread_block()
                self.withdraw(self.rng.choice(_RETAIL_EXCHANGES), user, amount, block - self.rng.randint(10, 500))
                self.b.token_tx(
                    block=block,
                    sender=user,
                    to=router,
                    transfers=[
                        (self.token, user, router, amount),
                        (self.token, router, self.rng.choice(pools), amount - amount // 1000),
                    ],
                    order=40,
                )
                self.stats["unrelated_router_users"] += 1

    def noise_at_thieves(self) -> None:
        """Dust, zero-value transferFrom and fake-token look-alike transfers aimed at the launderers."""
        targets = sorted(a for a, k in self.kinds.items() if k in (AddressKind.SOURCE, AddressKind.LAUNDERER))
        counterparties: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
        for f in self.case.flows:
            counterparties[f.sender].append((f.receiver, f.block, f.usd_cents * UNITS_PER_CENT))
        funded_dusters: set[str] = set()
        for target in targets:
            start = self.inflow_blocks.get(target, self.first_block)
            if self.rng.random() < self.options.dust_share:
                for _ in range(self.rng.randint(1, 3)):
                    stranger = self.b.address("duster", self.rng.randint(0, 40))
                    if stranger not in funded_dusters:
                        funded_dusters.add(stranger)
                        self.withdraw(_RETAIL_EXCHANGES[0], stranger, 10_000 * UNITS_PER_CENT, self.first_block - 9_000)
                    self.b.token_tx(
                        block=start + self.rng.randint(1, 5_000),
                        sender=stranger,
                        transfers=[(self.token, stranger, target, self.cents(1, 99))],
                        order=45,
                    )
                    self.stats["dust_transfers"] += 1
            if counterparties.get(target) and self.rng.random() < self.options.poison_share:
                receiver, block, amount = self.rng.choice(counterparties[target])
                attacker = self.b.address("poisoner", self.rng.randint(0, 10))
                lookalike = self.b.lookalike(receiver, "poison", target)
                at = block + self.rng.randint(1, 20)
                # Zero-value transferFrom: the event shows the thief "sending" 0 to a look-alike.
                self.b.token_tx(
                    block=at,
                    sender=attacker,
                    to=self.token.address,
                    transfers=[(self.token, target, lookalike, 0)],
                    order=70,
                )
                # A fake token with the same symbol, "from" the look-alike, with a plausible amount.
                self.b.token_tx(
                    block=at + 1,
                    sender=attacker,
                    to=self.fake_token.address,
                    transfers=[(self.fake_token, lookalike, target, amount)],
                    order=70,
                )
                self.stats["poisoning_transfers"] += 2

    def gas_funding(self) -> None:
        """Everyone who sends a transaction first receives ETH for gas."""
        counts = self.b.sent_counts()
        firsts = self.b.first_sent_block()
        thieves = {a for a, k in self.kinds.items() if k in (AddressKind.SOURCE, AddressKind.LAUNDERER)}
        hot_wallets = set(self.hot_wallets.values())
        genesis = self.b.address("genesis")
        for station in self.gas_stations:
            self.b.eth_tx(block=self.first_block - 300_000, sender=genesis, to=station, value=10_000 * ETHER, order=0)
        for hot in self.hot_wallets.values():
            self.b.eth_tx(block=self.first_block - 400_000, sender=genesis, to=hot, value=100_000 * ETHER, order=0)
        for sender in sorted(counts):
            if sender in hot_wallets or sender == genesis or sender in self.gas_stations:
                continue
            if (
                sender in self.exchange_funded
                or sender in self.unrelated
                or self.kinds.get(sender) is AddressKind.DEPOSIT
            ):
                continue  # their exchange tops them up before each sweep
            value = counts[sender] * self.b.fee(multi_hop=True) * 3 // 2 + ETHER // 100
            block = firsts[sender] - self.rng.randint(2, 400)
            if sender in thieves and self.rng.random() < 0.7:
                funder = self.rng.choice(self.gas_stations)
            else:
                funder = self.hot_wallet(self.rng.choice(_RETAIL_EXCHANGES))
            self.b.eth_tx(block=block, sender=funder, to=sender, value=value, order=5)
            self.stats["gas_fundings"] += 1

    def run(self) -> GeneratedWorld:
        for name in _RETAIL_EXCHANGES:
            self.hot_wallet(name)
        for address, kind in self.kinds.items():
            if kind is AddressKind.DEPOSIT:
                self.hot_wallet(exchange_of(self.tags.get(address, "")))
        for address, kind in self.kinds.items():
            if kind is AddressKind.ROUTER or (
                kind is AddressKind.SERVICE and is_contract_like(self.tags.get(address, ""))
            ):
                self.b.contracts.add(address)
        self.emit_expert_flows()
        confounding = add_confounders(self, self.options.confounders) if self.options.confounders else None
        if confounding is not None:
            confounding.sweep_interleaved()
        else:
            self.sweeps()
        self.service_hubs()
        self.routers()
        self.exchange_customers()
        self.noise_at_thieves()
        self.gas_funding()
        world = self.b.build()
        self.stats["transactions"] = len(world.txs)
        self.stats["hot_wallets"] = len(self.hot_wallets)
        since = min(
            (t.block for s in self.case.sources for t in world.txs_touching(s) if any(k.to == s for k in t.tokens)),
            default=self.first_block,
        )
        if confounding is not None:
            self.stats.update(confounding.truth.as_stats())
        labelled_services = {lab.address for lab in self.labels}
        theft = theft_by_asset(
            world.txs,
            seeds=self.case.sources,
            since_block=since,
            services=labelled_services,
            assets={"native": "ethereum:native", self.token.address: f"ethereum:{self.token.address}"},
        )
        return GeneratedWorld(
            slug=self.case.slug,
            title=self.case.info.title,
            world=world,
            token=self.token,
            seeds=tuple(sorted(self.case.sources)),
            since_block=since,
            labels=self.labels,
            kinds=self.kinds,
            purposes=dict(self.b.purposes),
            diluted=frozenset(self.diluted),
            stats=dict(sorted(self.stats.items())),
            confounders=confounding.truth if confounding is not None else None,
            theft=theft,
        )


_RETAIL_EXCHANGES = ("Synthetic Exchange A", "Synthetic Exchange B", "Synthetic Exchange C")


def _causal_order(rows: list[FlowRecord]) -> list[FlowRecord]:
    """Rows of one transaction, payers before those they pay (stable otherwise)."""
    remaining = list(rows)
    ordered: list[FlowRecord] = []
    while remaining:
        receivers = {r.receiver for r in remaining}
        ready = [r for r in remaining if r.sender not in receivers] or remaining[:1]
        ordered.append(ready[0])
        remaining.remove(ready[0])
    return ordered


def generate_world(case: GroundTruthCase, options: WorldOptions | None = None) -> GeneratedWorld:
    """The benchmark world around `case` (deterministic for the same case and options)."""
    return _Generator(case, options or WorldOptions()).run()
