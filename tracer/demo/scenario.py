"""The demo case: a SYNTHETIC exchange hack, laundered the way real ones are (docs/METHODS §5).

Every entity is fictional and every label says ``synthetic``. The story:

1. "Kestrel Exchange" (fictional) loses 2,400 ETH and 1,500,000 DUSD (a fictional stablecoin)
   from its hot wallet to two addresses of the thief (one for ETH, one for tokens).
2. The token address swaps all DUSD to ETH on a fictional DEX router (sends DUSD, receives
   ETH in the same transaction) and passes the ETH to the main address.
3. The ETH is split into 24 fresh addresses.
4. Eight of them make a small test deposit to an exchange deposit address at "Osprey Exchange"
   (fictional) and then deposit the rest; deposit addresses sweep to Osprey's hot wallet.
5. Six run a peel chain: each hop pays a slice to an Osprey deposit address and passes the rest on.
6. Six deposit in 10 ETH notes into a fictional mixer pool.
7. Four send to a fictional bridge.

Around it: thousands of unrelated users of the exchanges, the mixer and the bridge; dust and
address-poisoning transfers to the thief; the hot wallet's history before the theft; gas funding.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from chains.emulators.world import EvmWorld
from tracer.core.models import Category, Label
from tracer.demo.builder import ETHER, Token, WorldBuilder

LABEL_SOURCE = "synthetic-demo"
CASE_ID = "demo-synthetic-kestrel-hack"
CASE_TITLE = "SYNTHETIC DEMO: fictional Kestrel Exchange hot-wallet hack (not a real case)"
CASE_NOTES = (
    "Synthetic scenario shipped with heisttrace for the offline demo. Every address, entity and "
    "transaction is fictional; it follows the laundering playbook of real exchange hacks: a DEX swap, "
    "a split into fresh addresses, test deposits, exchange deposit addresses, a peel chain, a mixer and a bridge."
)
THEFT_BLOCK = 19_000_000
STOLEN_ETH = 2_400 * ETHER
STOLEN_DUSD = 1_500_000 * 10**6
SWAP_RATE_DUSD_PER_ETH = 2_500  # the DEX gives 1 ETH for 2,500 DUSD


@dataclass
class DemoScenario:
    """The world, the labels a user would import, and the case to trace."""

    world: EvmWorld
    labels: list[Label]
    thief: str
    token_thief: str
    victim: str
    dusd: Token
    since_block: int
    entities: dict[str, str]  # role -> address, for examples and tests

    def case_toml(self, *, api_url: str, policy: str | None = None) -> str:
        """The demo's case file (INTERFACES §2), reading from the emulated explorer at `api_url`."""
        lines = [
            "[case]",
            f'id = "{CASE_ID}"',
            f'title = "{CASE_TITLE}"',
            f'notes = "{CASE_NOTES}"',
            "",
        ]
        # What the (fictional) exchange reported stolen, per receiving address, with amount and
        # asset: dust and fake tokens sent to the thief later are not loot.
        stolen = ((self.thief, "2400", "ETH"), (self.token_thief, "1500000", self.dusd.address))
        for address, amount, asset in stolen:
            lines += [
                "[[seeds]]",
                'chain = "ethereum"',
                f'address = "{address}"',
                'label = "Kestrel hacker (synthetic)"',
                'role = "thief"',
                f'amount = "{amount}"',
                f'asset = "{asset}"',
                "",
            ]
        lines += [
            "[trace]",
            f"since = {self.since_block}",
            "max_hops = 25",
            "max_addresses = 600",
        ]
        if policy:
            lines.append(f'policy = "{policy}"')
        lines += ["", "[source]", f'ethereum = {{ kind = "etherscan", url = "{api_url}" }}', ""]
        return "\n".join(lines)


class _Demo:
    def __init__(self, seed: int, unrelated_users: int) -> None:
        self.rng = random.Random(seed)
        self.users = unrelated_users
        self.b = WorldBuilder(seed=f"heisttrace-demo:{seed}", anchor_block=THEFT_BLOCK)
        self.labels: list[Label] = []
        self.dusd = Token(self.b.contract("dusd"), "DUSD", "Demo USD (synthetic stablecoin)", 6)
        self.fake_dusd = Token(self.b.contract("fake-dusd"), "DUSD", "Demo USD (synthetic stablecoin)", 6)
        self.genesis = self.b.address("genesis")
        self.entities: dict[str, str] = {}

    def label(self, address: str, category: Category, name: str) -> str:
        self.labels.append(
            Label(
                chain="ethereum",
                address=address,
                category=category,
                name=f"{name} (synthetic)",
                source=LABEL_SOURCE,
                source_words="fictional entity of the heisttrace demo",
            )
        )
        return address

    def fund_gas(self, address: str, block: int, *, funder: str | None = None, value: int = ETHER // 10) -> None:
        self.b.eth_tx(block=block, sender=funder or self.genesis, to=address, value=value, order=5)

    def build(self) -> DemoScenario:
        b, rng = self.b, self.rng
        kestrel = self.label(b.address("kestrel-hot"), Category.EXCHANGE, "Kestrel Exchange hot wallet")
        osprey = self.label(b.address("osprey-hot"), Category.EXCHANGE, "Osprey Exchange hot wallet")
        router = self.label(b.contract("heron-router"), Category.DEX, "Heron Swap router")
        mixer = self.label(b.contract("mixer-pool"), Category.MIXER, "Veil mixer 10 ETH pool")
        bridge = self.label(b.contract("lark-bridge"), Category.BRIDGE, "Lark Bridge deposit contract")
        thief = b.address("thief")
        token_thief = b.address("token-thief")
        self.entities.update(
            kestrel=kestrel,
            osprey=osprey,
            router=router,
            mixer=mixer,
            bridge=bridge,
            thief=thief,
            dusd=self.dusd.address,
            token_thief=token_thief,
        )
        # Liquidity and history before the theft.
        b.eth_tx(block=THEFT_BLOCK - 90_000, sender=self.genesis, to=kestrel, value=10_000 * ETHER, order=0)
        b.eth_tx(block=THEFT_BLOCK - 90_000, sender=self.genesis, to=osprey, value=50_000 * ETHER, order=0)
        b.eth_tx(block=THEFT_BLOCK - 90_000, sender=self.genesis, to=router, value=100_000 * ETHER, order=0)
        b.token_tx(
            block=THEFT_BLOCK - 90_000,
            sender=self.genesis,
            transfers=[(self.dusd, "0x" + "0" * 40, kestrel, 5_000_000 * 10**6)],
            order=0,
        )
        self.exchange_users("kestrel", kestrel)
        self.exchange_users("osprey", osprey)
        self.service_users("mixer", mixer, note=10 * ETHER)
        self.service_users("bridge", bridge, note=None)

        # 1. The theft (thief funded with gas by an unrelated-looking address first).
        self.fund_gas(thief, THEFT_BLOCK - 50)
        self.fund_gas(token_thief, THEFT_BLOCK - 50)
        b.eth_tx(block=THEFT_BLOCK, sender=kestrel, to=thief, value=STOLEN_ETH)
        b.token_tx(block=THEFT_BLOCK, sender=kestrel, transfers=[(self.dusd, kestrel, token_thief, STOLEN_DUSD)])
        # Noise at the thief: dust, a zero-value transferFrom, a fake-token look-alike.
        for i in range(6):
            duster = b.address("duster", i)
            self.fund_gas(duster, THEFT_BLOCK + 2)
            b.eth_tx(block=THEFT_BLOCK + 5 + i, sender=duster, to=thief, value=10**12 * (i + 1))
        poisoner = b.address("poisoner")
        self.fund_gas(poisoner, THEFT_BLOCK + 2)
        look = b.lookalike(router, "poison")
        b.token_tx(
            block=THEFT_BLOCK + 40, sender=poisoner, to=self.dusd.address, transfers=[(self.dusd, token_thief, look, 0)]
        )
        b.token_tx(
            block=THEFT_BLOCK + 41,
            sender=poisoner,
            transfers=[(self.fake_dusd, look, token_thief, STOLEN_DUSD)],
            order=60,
        )

        # 2. Swap DUSD -> ETH on the router (one transaction: DUSD in, ETH out).
        swapped = STOLEN_DUSD // 10**6 // SWAP_RATE_DUSD_PER_ETH * ETHER
        b.token_tx(
            block=THEFT_BLOCK + 20,
            sender=token_thief,
            to=router,
            transfers=[(self.dusd, token_thief, router, STOLEN_DUSD)],
            internals=[(router, token_thief, swapped)],
        )
        b.eth_tx(block=THEFT_BLOCK + 30, sender=token_thief, to=thief, value=swapped)
        total = STOLEN_ETH + swapped  # 3,000 ETH

        # 3. Split into 24 fresh addresses.
        splits = [b.address("split", i) for i in range(24)]
        share = (total - 2 * ETHER) // len(splits)
        for i, fresh in enumerate(splits):
            b.eth_tx(block=THEFT_BLOCK + 100 + i, sender=thief, to=fresh, value=share)
        block = THEFT_BLOCK + 600
        # 4. Test deposits then real deposits to Osprey deposit addresses (which sweep to the hot wallet).
        for i, fresh in enumerate(splits[:8]):
            deposit = b.address("osprey-deposit", i)
            self.deposit(fresh, deposit, osprey, ETHER // 10, block + i * 30)
            self.deposit(fresh, deposit, osprey, share - ETHER // 10 - ETHER // 50, block + 900 + i * 30)
        # 5. Peel chains: each hop pays 4-9 % to a fresh Osprey deposit address.
        for i, fresh in enumerate(splits[8:14]):
            holder, balance = fresh, share
            at = block + 2_000 + i * 200
            for hop in range(5):
                slice_ = balance * rng.randint(4, 9) // 100
                deposit = b.address("peel-deposit", f"{i}:{hop}")
                self.deposit(holder, deposit, osprey, slice_, at)
                nxt = b.address("peel", f"{i}:{hop}")
                balance = balance - slice_ - ETHER // 50
                b.eth_tx(block=at + 1, sender=holder, to=nxt, value=balance)
                holder, at = nxt, at + 20
            self.entities[f"peel_end_{i}"] = holder
        # 6. Mixer deposits in 10 ETH notes.
        for i, fresh in enumerate(splits[14:20]):
            notes = int((share - ETHER // 20) // (10 * ETHER))
            for n in range(notes):
                b.eth_tx(block=block + 4_000 + i * 50 + n, sender=fresh, to=mixer, value=10 * ETHER)
        # 7. Bridge.
        for i, fresh in enumerate(splits[20:]):
            b.eth_tx(block=block + 6_000 + i * 10, sender=fresh, to=bridge, value=share - ETHER // 50)
        # Gas for everyone the thief controls, from the thief's own gas station.
        station = b.address("gas-station")
        self.fund_gas(station, THEFT_BLOCK - 5_000, value=50 * ETHER)
        for fresh in splits:
            self.fund_gas(fresh, THEFT_BLOCK + 90, funder=station, value=ETHER // 20)
        return DemoScenario(
            world=b.build(),
            labels=self.labels,
            thief=thief,
            token_thief=token_thief,
            victim=kestrel,
            dusd=self.dusd,
            since_block=THEFT_BLOCK,
            entities=self.entities,
        )

    def deposit(self, sender: str, deposit: str, hot: str, value: int, block: int) -> None:
        """`sender` pays an exchange deposit address, which the exchange sweeps to its hot wallet."""
        self.b.eth_tx(block=block, sender=sender, to=deposit, value=value)
        self.b.eth_tx(block=block + 6, sender=deposit, to=hot, value=value - 21_000 * self.b.gas_price)

    def exchange_users(self, name: str, hot: str) -> None:
        for i in range(self.users):
            user = self.b.address(f"{name}-user", i)
            deposit = self.b.address(f"{name}-user-deposit", i)
            block = THEFT_BLOCK + self.rng.randint(-60_000, 20_000)
            value = self.rng.randint(1, 400) * ETHER // 100
            self.fund_gas(user, block - 10, value=value + ETHER // 100)
            self.deposit(user, deposit, hot, value, block)
            self.b.eth_tx(
                block=block + self.rng.randint(10, 900), sender=hot, to=self.b.address(f"{name}-out", i), value=value
            )

    def service_users(self, name: str, hub: str, *, note: int | None) -> None:
        operator = self.b.address(f"{name}-relayer")
        self.fund_gas(operator, THEFT_BLOCK - 80_000, value=100 * ETHER)
        for i in range(self.users // 2):
            user = self.b.address(f"{name}-user", i)
            value = note or self.rng.randint(1, 2_000) * ETHER // 100
            block = THEFT_BLOCK + self.rng.randint(-60_000, 20_000)
            self.fund_gas(user, block - 10, value=value + ETHER // 100)
            self.b.eth_tx(block=block, sender=user, to=hub, value=value)
            payee = self.b.address(f"{name}-payee", i)
            self.b.eth_tx(
                block=block + self.rng.randint(5, 3_000),
                sender=operator,
                to=hub,
                value=0,
                internals=[(hub, payee, value * 997 // 1000)],
                order=60,
            )


def build_scenario(*, seed: int = 2024, unrelated_users: int = 1_000) -> DemoScenario:
    """The synthetic demo world (deterministic for the same seed)."""
    return _Demo(seed, unrelated_users).build()
