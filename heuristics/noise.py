"""Noise that real account histories contain, flagged so the engine can ignore it (pure functions).

- ``ZERO_VALUE``: a token transfer of amount 0 (address-poisoning spam, approvals gone wrong).
- ``SPOOFED``: a token transfer whose symbol mimics a well-known token (USDT, USDC, WETH, DAI,
  ...; case and look-alike letters folded) from a contract that is not the real one on that
  chain; or a transfer "from" a traced address in a transaction the traced address did not
  send, moving nothing or a tiny amount (fake `Transfer` events that poison the victim's history).
- ``DUST``: a tiny inbound amount to a traced address from a stranger (an address the traced
  addresses never paid in this history).

Records are never dropped: :func:`detect_noise` returns every record, with `noise` set where it
applies. :func:`flag_noise` does the same for a :class:`HistoryChunk`; the history service
(:mod:`tracer.sources.history`) calls it on what the adapters fetch, so the store keeps the flags
with the records.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Iterable, Mapping

from tracer.core.models import NoiseFlag, Transfer, TransferKind
from tracer.core.protocols import HistoryChunk

#: The real contracts of tokens that address poisoners imitate, per chain and symbol (lowercase).
KNOWN_TOKENS: dict[str, dict[str, set[str]]] = {
    "ethereum": {
        "USDT": {"0xdac17f958d2ee523a2206206994597c13d831ec7"},
        "USDC": {"0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"},
        "WETH": {"0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"},
        "DAI": {"0x6b175474e89094c44da98b954eedeac495271d0f"},
        "WBTC": {"0x2260fac5e5542a773aa44fbcfedf7c193bc2c599"},
    },
    "tron": {
        "USDT": {"tr7nhqjekqxgtci8q8zy4pl8otszgjlj6t"},  # Tether's TRC-20 contract TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t
    },
    "bsc": {
        "USDT": {"0x55d398326f99059ff775485246999027b3197955"},
        "USDC": {"0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d"},
        "WBNB": {"0xbb4cdb9cbd36b01bd1cbaebf2de08d9173bc095c"},
    },
    "polygon": {
        "USDT": {"0xc2132d05d31c914a87c6611c10748aeb04b58e8f"},
        "USDC": {"0x3c499c542cef5e3811e1192ce70d8cc03d5c3359", "0x2791bca1f2de4661ed88a30c99a7a9449aa84174"},
        "WETH": {"0x7ceb23fd6bc0add59e62ac25578270cff1b9f619"},
        "DAI": {"0x8f3cf7ad23cd3cadbd9735aff958023239c6a063"},
    },
    "arbitrum": {
        "USDT": {"0xfd086bc7cd5c481dcc9c85ebe478a1c0b69fcbb9"},
        "USDC": {"0xaf88d065e77c8cc2239327c5edb3a432268e5831", "0xff970a61a04b1ca14834a43f5de4533ebddb5cc8"},
        "WETH": {"0x82af49447d8a07e3bd95bd0d56f35241523fbab1"},
        "DAI": {"0xda10009cbd5d07dd0cecc66161fc93d7c9000da1"},
    },
    "optimism": {
        "USDT": {"0x94b008aa00579c1307b0ef2c499ad98a8ce58e58"},
        "USDC": {"0x0b2c639c533813f4aa9d7837caf62653d097ff85", "0x7f5c764cbc14f9669b88837ca1490cca17c31607"},
        "WETH": {"0x4200000000000000000000000000000000000006"},
        "DAI": {"0xda10009cbd5d07dd0cecc66161fc93d7c9000da1"},
    },
    "base": {
        "USDC": {"0x833589fcd6edb6e08f4c7c32d4f71b54bda02913"},
        "WETH": {"0x4200000000000000000000000000000000000006"},
        "DAI": {"0x50c5725949a6f0c72e6c4a641f24049a917db0cb"},
    },
    "avalanche": {
        "USDT": {"0x9702230a8ea53601f5cd2dc00fdbc13d4df4a8c7"},
        "USDC": {"0xb97ef9ef8734c71904d8002f8b6bc66dd9c48a6e"},
        "WETH.E": {"0x49d5c2bdffac6ce2bfdb6640f4f80f226bc10bab"},
        "WAVAX": {"0xb31f66aa3c1e785363f0875a1b74e27b85fd66c7"},
    },
}

#: `{chain: {symbol: {contract}}}`, or `{symbol: {contract}}` for the chain at hand.
KnownTokens = Mapping[str, Mapping[str, set[str]]] | Mapping[str, set[str]]

#: Dust threshold in whole units, by symbol (stablecoins: one cent); other assets use `DEFAULT_DUST_UNITS`.
DUST_UNITS: dict[str, float] = {"USDT": 0.01, "USDC": 0.01, "DAI": 0.01, "BUSD": 0.01, "TUSD": 0.01, "FDUSD": 0.01}
#: Everything else: 10^-5 whole units (0.00001 ETH; 0.00001 BTC for WBTC).
DEFAULT_DUST_UNITS = 0.00001

# Look-alike letters seen in poisoning tokens (Cyrillic/Greek capitals, fullwidth forms fold via NFKC).
_CONFUSABLES = str.maketrans(
    {"А": "A", "В": "B", "С": "C", "Е": "E", "Н": "H", "І": "I", "К": "K", "М": "M", "О": "O", "Р": "P", "Т": "T",
     "Х": "X", "Ѕ": "S", "Ԁ": "D", "Α": "A", "Β": "B", "Ε": "E", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M",
     "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Χ": "X", "Υ": "Y", "Ζ": "Z", "₮": "T", "0": "O"}
)  # fmt: skip


def canonical_symbol(symbol: str) -> str:
    """Fold case, width, look-alike letters and decorations so `UЅDТ`, `usdt ` and `USD₮` compare equal."""
    folded = unicodedata.normalize("NFKC", symbol).upper().translate(_CONFUSABLES)
    return "".join(ch for ch in folded if ch.isalnum() or ch == ".")


def dust_threshold(transfer: Transfer) -> int:
    """The amount (base units) at or below which an inbound transfer from a stranger is dust."""
    units = DUST_UNITS.get(canonical_symbol(transfer.asset.symbol), DEFAULT_DUST_UNITS)
    return int(units * 10**transfer.asset.decimals)


def _known_for(chain: str, known_tokens: KnownTokens | None) -> dict[str, set[str]]:
    """Accept either {chain: {symbol: contracts}} or a flat {symbol: contracts} for the chain at hand."""
    table = KNOWN_TOKENS if known_tokens is None else known_tokens
    per_chain = table.get(chain)
    source: Mapping[str, set[str]]
    if isinstance(per_chain, Mapping):
        source = per_chain
    elif known_tokens is not None and all(isinstance(v, set | frozenset) for v in known_tokens.values()):
        source = known_tokens  # type: ignore[assignment]  # flat form
    else:
        source = {}
    return {canonical_symbol(s): {c.lower() for c in cs} for s, cs in source.items()}


def detect_noise(
    transfers: Iterable[Transfer],
    *,
    known_tokens: KnownTokens | None = None,
    traced: set[str] | None = None,
) -> list[Transfer]:
    """Every transfer, in the same order, with `noise` flags added where they apply (existing flags kept).

    `known_tokens`: real contracts by symbol, per chain (`{chain: {symbol: {contract}}}`) or for the
    chain at hand (`{symbol: {contract}}`); default :data:`KNOWN_TOKENS`. `traced`: the addresses
    whose history this is (the victim's / the followed addresses); the sender-spoof and dust
    rules need it and are skipped without it. The history must be complete for its block range
    (it is, when it comes from an adapter's `fetch_history`).
    """
    records = list(transfers)
    traced = {*traced, *(a.lower() for a in traced)} if traced else set()  # TRON's base58 keeps its case
    known_by_chain: dict[str, dict[str, set[str]]] = {}
    senders_of_tx: dict[tuple[str, str], str] = {}
    paid_by_traced: set[tuple[str, str]] = set()
    for t in records:
        if t.kind in (TransferKind.FEE, TransferKind.EXTERNAL) and t.position in (0, 1):
            senders_of_tx[(t.chain, t.tx_hash)] = t.sender
        if t.sender in traced and t.receiver in traced:
            continue
        if t.sender in traced and t.moves_value:
            paid_by_traced.add((t.chain, t.receiver))

    out = []
    for t in records:
        flags = set(t.noise)
        if t.kind is TransferKind.TOKEN:
            if t.amount == 0:
                flags.add(NoiseFlag.ZERO_VALUE)
            if t.chain not in known_by_chain:
                known_by_chain[t.chain] = _known_for(t.chain, known_tokens)
            real = known_by_chain[t.chain].get(canonical_symbol(t.asset.symbol))
            if real is not None and (t.asset.contract or "").lower() not in real:
                flags.add(NoiseFlag.SPOOFED)
            tx_sender = senders_of_tx.get((t.chain, t.tx_hash))
            if t.sender in traced and (tx_sender is None or tx_sender not in traced) and t.amount <= dust_threshold(t):
                flags.add(NoiseFlag.SPOOFED)
        if (
            traced
            and t.receiver in traced
            and t.sender not in traced
            and t.kind is not TransferKind.FEE
            and 0 < t.amount <= dust_threshold(t)
            and (t.chain, t.sender) not in paid_by_traced
        ):
            flags.add(NoiseFlag.DUST)
        out.append(t if flags == set(t.noise) else dataclasses.replace(t, noise=frozenset(flags)))
    return out


def flag_noise(
    chunk: HistoryChunk,
    *,
    traced: set[str] | None = None,
    known_tokens: KnownTokens | None = None,
) -> HistoryChunk:
    """`chunk` with :func:`detect_noise` applied to its transfers (same range, same completeness)."""
    flagged = detect_noise(chunk.transfers, known_tokens=known_tokens, traced=traced)
    return dataclasses.replace(chunk, transfers=tuple(flagged))
