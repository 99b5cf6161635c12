"""A small helper that writes deterministic EVM worlds (for the demo and the benchmark generator).

Addresses and hashes come from a seeded hash, so the same seed gives the same world byte
for byte. Transactions are collected with a block and an in-block order key; `build()`
assigns transaction indexes and nonces and returns an :class:`~chains.emulators.world.EvmWorld`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from chains.emulators.world import EvmWorld, WorldInternal, WorldTokenTransfer, WorldTx

GWEI = 10**9
ETHER = 10**18
TOKEN_GAS = 65_000
MULTI_HOP_GAS = 180_000
ETH_GAS = 21_000


@dataclass(frozen=True, slots=True)
class Token:
    """An ERC-20 contract as the world emits it."""

    address: str
    symbol: str
    name: str
    decimals: int


@dataclass(slots=True)
class _Pending:
    block: int
    order: int
    seq: int
    hash: str
    sender: str
    to: str | None
    value: int
    gas_used: int
    gas_price: int
    success: bool
    input: str
    internals: tuple[tuple[str, str, int], ...]
    tokens: tuple[tuple[Token, str, str, int], ...]


@dataclass
class WorldBuilder:
    """Collects transactions; `build()` orders them and returns the world."""

    seed: str
    chain_id: int = 1
    anchor_block: int = 18_000_000
    anchor_timestamp: int = 1_693_526_400  # 2023-09-01T00:00:00Z
    seconds_per_block: int = 12
    gas_price: int = 20 * GWEI
    _counter: int = 0
    _pending: list[_Pending] = field(default_factory=list)
    _timestamps: dict[int, int] = field(default_factory=dict)
    contracts: set[str] = field(default_factory=set)
    purposes: dict[str, str] = field(default_factory=dict)  # address -> what it was made for

    # -- names -------------------------------------------------------------------------------
    def _digest(self, *parts: object) -> str:
        return hashlib.sha256(":".join(str(p) for p in (self.seed, *parts)).encode()).hexdigest()

    def address(self, purpose: str, index: int | str = 0) -> str:
        """A fresh address, the same for the same seed, purpose and index."""
        address = "0x" + self._digest("address", purpose, index)[:40]
        self.purposes.setdefault(address, purpose.split(":")[0])
        return address

    def lookalike(self, target: str, purpose: str, index: int | str = 0) -> str:
        """An address sharing the first and last four hex digits of `target` (address poisoning)."""
        middle = self._digest("lookalike", target, purpose, index)[:32]
        address = "0x" + target[2:6] + middle + target[-4:]
        self.purposes.setdefault(address, "lookalike")
        return address

    def contract(self, purpose: str, index: int | str = 0) -> str:
        """A fresh contract address (recorded in the world's contract set)."""
        address = self.address(f"contract:{purpose}", index)
        self.contracts.add(address)
        return address

    def tx_hash(self) -> str:
        self._counter += 1
        return "0x" + self._digest("tx", self._counter)

    # -- time --------------------------------------------------------------------------------
    def pin_timestamp(self, block: int, timestamp: int) -> None:
        """Use a known timestamp for `block` (earliest pin wins)."""
        self._timestamps.setdefault(block, timestamp)

    def timestamp(self, block: int) -> int:
        known = self._timestamps.get(block)
        if known is not None:
            return known
        return self.anchor_timestamp + (block - self.anchor_block) * self.seconds_per_block

    # -- transactions ------------------------------------------------------------------------
    def token_tx(
        self,
        *,
        block: int,
        sender: str,
        transfers: list[tuple[Token, str, str, int]],
        to: str | None = None,
        order: int = 50,
        tx_hash: str | None = None,
        gas_used: int | None = None,
        internals: list[tuple[str, str, int]] | None = None,
    ) -> str:
        """A transaction whose effects are ERC-20 `Transfer` events (token, from, to, amount), in log order.

        `internals` adds native-value internal calls to the same transaction (a swap paying out ETH).
        """
        if not transfers:
            raise ValueError("a token transaction needs at least one transfer")
        target = to if to is not None else transfers[0][0].address
        gas = gas_used or (TOKEN_GAS if len(transfers) == 1 and not internals else MULTI_HOP_GAS)
        return self._add(block, order, tx_hash, sender, target, 0, gas, tuple(internals or ()), tuple(transfers))

    def eth_tx(
        self,
        *,
        block: int,
        sender: str,
        to: str,
        value: int,
        internals: list[tuple[str, str, int]] | None = None,
        order: int = 50,
        tx_hash: str | None = None,
    ) -> str:
        """A native-value transaction, optionally with internal calls (from, to, value)."""
        gas = ETH_GAS if not internals else 60_000
        return self._add(block, order, tx_hash, sender, to, value, gas, tuple(internals or ()), ())

    def _add(
        self,
        block: int,
        order: int,
        tx_hash: str | None,
        sender: str,
        to: str | None,
        value: int,
        gas_used: int,
        internals: tuple[tuple[str, str, int], ...],
        tokens: tuple[tuple[Token, str, str, int], ...],
    ) -> str:
        digest = (tx_hash or self.tx_hash()).lower()
        self._counter += 1
        self._pending.append(
            _Pending(
                block, order, self._counter, digest, sender, to, value, gas_used, self.gas_price, True, "0x",
                internals, tokens,
            )
        )  # fmt: skip
        return digest

    def fee(self, *, multi_hop: bool = False) -> int:
        """What one token transaction costs its sender in wei."""
        return (MULTI_HOP_GAS if multi_hop else TOKEN_GAS) * self.gas_price

    def sent_counts(self) -> dict[str, int]:
        """How many transactions each address sends (to size gas funding)."""
        counts: dict[str, int] = {}
        for p in self._pending:
            counts[p.sender] = counts.get(p.sender, 0) + 1
        return counts

    def first_sent_block(self) -> dict[str, int]:
        firsts: dict[str, int] = {}
        for p in self._pending:
            if p.block < firsts.get(p.sender, 1 << 62):
                firsts[p.sender] = p.block
        return firsts

    def build(self) -> EvmWorld:
        """Order by (block, order, insertion), assign tx indexes and nonces, return the world."""
        self._pending.sort(key=lambda p: (p.block, p.order, p.seq))
        nonces: dict[str, int] = {}
        next_index: dict[int, int] = {}
        txs = []
        for p in self._pending:
            index = next_index.get(p.block, 0)
            next_index[p.block] = index + 1
            nonce = nonces.get(p.sender, 0)
            nonces[p.sender] = nonce + 1
            txs.append(
                WorldTx(
                    hash=p.hash,
                    block=p.block,
                    tx_index=index,
                    timestamp=self.timestamp(p.block),
                    sender=p.sender,
                    to=p.to,
                    value=p.value,
                    gas_used=p.gas_used,
                    gas_price=p.gas_price,
                    success=p.success,
                    input="0xa9059cbb" if p.tokens else "0x",
                    nonce=nonce,
                    internals=tuple(
                        WorldInternal(sender=s, to=t, value=v, trace_id=f"0_{i}")
                        for i, (s, t, v) in enumerate(p.internals)
                    ),
                    tokens=tuple(
                        WorldTokenTransfer(
                            token=tok.address,
                            sender=s,
                            to=t,
                            value=v,
                            log_index=i,
                            symbol=tok.symbol,
                            name=tok.name,
                            decimals=tok.decimals,
                        )
                        for i, (tok, s, t, v) in enumerate(p.tokens)
                    ),
                )
            )
        world = EvmWorld(chain_id=self.chain_id)
        world.add(txs)
        world.contracts.update(self.contracts)
        return world
