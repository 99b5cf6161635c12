"""The bridges' own contracts, known without a label book: THORChain routers, the LI.FI diamond, Across SpokePools
(addresses from ../shared/docs/CROSSCHAIN.md), and the addresses they pay inside a deposit (a THORChain vault the
router forwards ETH to, the bridge the LI.FI diamond hands tokens to).

While a trace follows crossings, :class:`BridgeLabels` answers `bridge` for those addresses when the label book
has nothing for them, and :class:`BridgeAwareHistory` learns the payees from the deposit transactions the engine
reads for a bridge (its conduit rule): so the taint stops at the bridge, where a resolver picks it up, instead of
spreading through a vault's unrelated business.
"""

from __future__ import annotations

from typing import Any

from chains.crosschain.across import SPOKE_POOLS
from chains.crosschain.evm_inbound import LIFI_DIAMOND, THORCHAIN_ROUTERS
from tracer.core.models import Category, Label, TransferKind
from tracer.core.networks import ChainKind, get_chain

SOURCE = "heisttrace:crosschain"


def known_contract(chain: str, address: str) -> str | None:
    """The name of a bridge contract heisttrace knows on `chain`, or None."""
    if get_chain(chain).kind is not ChainKind.EVM:
        return None
    address = address.lower()
    if chain == "ethereum" and address in THORCHAIN_ROUTERS:
        return "THORChain router"
    if address == LIFI_DIAMOND:
        return "LI.FI diamond"
    if SPOKE_POOLS.get(chain) == address:
        return f"Across SpokePool ({chain})"
    return None


class BridgeLabels:
    """A :class:`tracer.core.protocols.LabelLookup`: the label book first, then the known and learned contracts."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.learned: dict[tuple[str, str], str] = {}

    def label(self, chain: str, address: str) -> Label | None:
        found = self.inner.label(chain, address) if self.inner is not None else None
        if found is not None:
            return found
        name = known_contract(chain, address) or self.learned.get((chain, address.lower()))
        if name is None:
            return None
        words = "a bridge's own contract (protocol facts, CROSSCHAIN.md)"
        return Label(chain, address, Category.BRIDGE, name, source=SOURCE, source_words=words)

    def learn(self, chain: str, transfers: Any) -> None:
        """Addresses a known bridge contract paid inside one deposit transaction (not the sender, not its payers)."""
        transfers = list(transfers)
        payers = {t.sender for t in transfers}
        for t in transfers:
            name = known_contract(chain, t.sender)
            if name is None or t.kind is TransferKind.FEE or not t.moves_value:
                continue
            paid_back = any(u.sender == t.receiver and u.receiver == t.sender for u in transfers)
            if paid_back or known_contract(chain, t.receiver) or t.receiver in payers - {t.sender}:
                continue  # a DEX the contract swapped through, or the customer: not the bridge
            self.learned.setdefault((chain, t.receiver), f"paid by the {name} in {t.tx_hash}")


class BridgeAwareHistory:
    """The account history, unchanged, except that each transaction read teaches :class:`BridgeLabels` its payees."""

    def __init__(self, inner: Any, labels: BridgeLabels) -> None:
        self._inner = inner
        self._labels = labels

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def transaction(self, chain: Any, tx_hash: str) -> Any:
        transfers = self._inner.transaction(chain, tx_hash)
        self._labels.learn(getattr(chain, "slug", chain), transfers)
        return transfers
