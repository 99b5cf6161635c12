"""The chain registry: slug, kind, chain id, native asset and explorer links."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tracer.core.errors import BadChain


class ChainKind(StrEnum):
    EVM = "evm"
    UTXO = "utxo"
    TRON = "tron"


#: Chain kinds whose histories are account transfers (one engine traces them all).
ACCOUNT_KINDS: frozenset[ChainKind] = frozenset({ChainKind.EVM, ChainKind.TRON})


@dataclass(frozen=True, slots=True)
class Chain:
    """One supported chain."""

    slug: str
    kind: ChainKind
    chain_id: int | None
    native_symbol: str
    native_decimals: int
    explorer: str  # base URL of the public explorer
    tx_path: str  # appended to `explorer`, with {hash}
    address_path: str  # appended to `explorer`, with {address}

    def tx_url(self, tx_hash: str) -> str:
        return self.explorer + self.tx_path.format(hash=tx_hash)

    def address_url(self, address: str) -> str:
        return self.explorer + self.address_path.format(address=address)


def _evm(slug: str, chain_id: int, symbol: str, explorer: str) -> Chain:
    return Chain(slug, ChainKind.EVM, chain_id, symbol, 18, explorer, "/tx/{hash}", "/address/{address}")


CHAINS: dict[str, Chain] = {
    c.slug: c
    for c in (
        _evm("ethereum", 1, "ETH", "https://etherscan.io"),
        _evm("bsc", 56, "BNB", "https://bscscan.com"),
        _evm("polygon", 137, "POL", "https://polygonscan.com"),
        _evm("arbitrum", 42161, "ETH", "https://arbiscan.io"),
        _evm("optimism", 10, "ETH", "https://optimistic.etherscan.io"),
        _evm("base", 8453, "ETH", "https://basescan.org"),
        _evm("avalanche", 43114, "AVAX", "https://snowtrace.io"),
        Chain("bitcoin", ChainKind.UTXO, None, "BTC", 8, "https://mempool.space", "/tx/{hash}", "/address/{address}"),
        Chain(
            "tron",
            ChainKind.TRON,
            None,
            "TRX",
            6,
            "https://tronscan.org",
            "/#/transaction/{hash}",
            "/#/address/{address}",
        ),
    )
}


def get_chain(slug: str) -> Chain:
    """The chain named `slug`, or a BadChain error listing the known ones."""
    try:
        return CHAINS[slug]
    except (KeyError, TypeError):
        known = ", ".join(CHAINS)
        raise BadChain(f"unknown chain {slug!r}; expected one of: {known}") from None


def chain_by_id(chain_id: int) -> Chain:
    """The EVM chain with this chain id."""
    for chain in CHAINS.values():
        if chain.chain_id == chain_id:
            return chain
    raise BadChain(f"no supported chain has chain id {chain_id}")
