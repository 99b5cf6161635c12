"""THORChain (and Maya) transaction memos: the grammar, decoded as a pure function.

Facts from ../shared/docs/CROSSCHAIN.md (THORNode `x/thorchain/memo/`): cut everything after
`|`, split on `:`; function names are case-insensitive. A swap is
``SWAP:ASSET:DEST[/REFUND]:LIMIT[/INTERVAL/QUANTITY]:AFFILIATES:FEES[:aggregator fields]`` with
the names `swap`, `s`, `=` (and `=<`, a limit swap). Outbounds carry ``OUT:<inbound id>``,
refunds ``REFUND:<inbound id>``. Anything else (liquidity, bonds, vault housekeeping) is
``other``: not a customer swap.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

#: One-letter (and `tr`) asset codes a memo may use instead of `CHAIN.SYMBOL`.
SHORT_ASSETS = {
    "a": "AVAX.AVAX",
    "b": "BTC.BTC",
    "c": "BCH.BCH",
    "d": "DOGE.DOGE",
    "e": "ETH.ETH",
    "f": "BASE.ETH",
    "g": "GAIA.ATOM",
    "l": "LTC.LTC",
    "r": "THOR.RUNE",
    "s": "BSC.BNB",
    "x": "XRP.XRP",
    "tr": "TRON.TRX",
}
#: THORChain chain codes -> heisttrace chain slugs (chains heisttrace can trace).
CHAIN_SLUGS = {
    "BTC": "bitcoin",
    "ETH": "ethereum",
    "BSC": "bsc",
    "AVAX": "avalanche",
    "BASE": "base",
    "TRON": "tron",
}
SWAP_NAMES = frozenset({"swap", "s", "=", "=<"})
MAX_AFFILIATES = 5
#: Vault housekeeping memos: never customer flows.
HOUSEKEEPING = frozenset({"migrate", "consolidate", "ragnarok", "yggdrasilfund", "yggdrasilreturn"})


class MemoError(ValueError):
    """A memo that does not follow the grammar (THORChain refunds such inbounds)."""


@dataclass(frozen=True, slots=True)
class ThorAsset:
    """A THORChain asset: `kind` is `l1` (`CHAIN.SYMBOL`), `synth` (`/`), `trade` (`~`) or `secured` (`-`)."""

    chain: str  # THORChain chain code, upper case (BTC, ETH, ...)
    symbol: str  # upper case, with the contract part for tokens (USDT-0XDAC1...)
    kind: str = "l1"

    @property
    def text(self) -> str:
        sep = {"l1": ".", "synth": "/", "trade": "~", "secured": "-"}[self.kind]
        return f"{self.chain}{sep}{self.symbol}"

    @property
    def leaves_thorchain(self) -> bool:
        """True when a swap into it pays out on its own chain (synth, trade and secured assets stay inside)."""
        return self.kind == "l1" and self.chain != "THOR"

    @property
    def contract(self) -> str | None:
        """The token contract (or its fuzzy tail, e.g. `EC7`) after the symbol's `-`; None for a native coin."""
        return self.symbol.split("-", 1)[1] if "-" in self.symbol else None

    @property
    def fuzzy(self) -> bool:
        """True when the contract is abbreviated (`ETH.USDT-ec7`): THORChain matches it to a pool."""
        contract = self.contract
        return contract is not None and len(contract) < 42

    @property
    def chain_slug(self) -> str | None:
        """The heisttrace chain this asset pays out on, when heisttrace knows it."""
        return CHAIN_SLUGS.get(self.chain) if self.leaves_thorchain else None


@dataclass(frozen=True, slots=True)
class Memo:
    """A decoded memo. `action` is `swap`, `out`, `refund`, or `other` (`function` keeps the name used)."""

    raw: str
    action: str
    function: str
    asset: ThorAsset | None = None
    destination: str | None = None  # None: back to the sender
    refund_address: str | None = None
    limit: int = 0  # minimum output, 1e8 units (0: none)
    interval: int | None = None  # streaming: blocks between sub-swaps
    quantity: int | None = None  # streaming: sub-swaps (0: the network decides)
    affiliates: tuple[str, ...] = ()
    fees: tuple[int, ...] = ()  # basis points, one per affiliate (or one for all)
    extra: tuple[str, ...] = ()  # aggregator fields, as given
    inbound_id: str | None = None  # OUT:/REFUND: the inbound they answer

    @property
    def streaming(self) -> bool:
        return self.interval is not None


def parse_asset(text: str) -> ThorAsset:
    """`CHAIN.SYMBOL` (or synth `/`, trade `~`, secured `-`), or a short code; upper-cased."""
    raw = text.strip()
    if not raw:
        raise MemoError("empty asset")
    short = SHORT_ASSETS.get(raw.lower())
    if short is not None:
        raw = short
    value = raw.upper()
    for sep, kind in ((".", "l1"), ("/", "synth"), ("~", "trade"), ("-", "secured")):
        chain, found, symbol = value.partition(sep)
        if found and chain.isalnum() and symbol:
            if kind == "l1" and ("/" in chain or "~" in chain):
                continue
            return ThorAsset(chain, symbol, kind)
    raise MemoError(f"asset {text!r} is not CHAIN.SYMBOL (or a short code)")


def parse_amount(text: str, what: str) -> int:
    """A non-negative whole number, also in `1e6` notation; empty is 0."""
    if not text.strip():
        return 0
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise MemoError(f"{what} {text!r} is not a number") from None
    if not value.is_finite() or value < 0 or value != value.to_integral_value():
        raise MemoError(f"{what} {text!r} is not a whole non-negative number")
    return int(value)


def parse_memo(text: str) -> Memo:
    """Decode one memo (BTC OP_RETURN text, EVM calldata or `Deposit` memo); MemoError when malformed."""
    raw = text.strip().strip("\x00")
    body = raw.split("|", 1)[0]
    parts = body.split(":")
    function = parts[0].strip()
    name = function.lower()
    if not function:
        raise MemoError("empty memo")
    if name in ("out", "refund"):
        if len(parts) < 2 or not parts[1].strip():
            raise MemoError(f"{function} memo without the inbound id")
        return Memo(raw, name, function, inbound_id=parts[1].strip().upper())
    if name not in SWAP_NAMES:
        return Memo(raw, "other", function)
    if len(parts) < 3:
        raise MemoError("swap memo without an asset and destination")
    asset = parse_asset(parts[1])
    dest, _, refund = parts[2].partition("/")
    limit, interval, quantity = 0, None, None
    if len(parts) > 3:
        pieces = parts[3].split("/")
        if len(pieces) not in (1, 3):
            raise MemoError(f"limit {parts[3]!r} is LIMIT or LIMIT/INTERVAL/QUANTITY")
        limit = parse_amount(pieces[0], "limit")
        if len(pieces) == 3:
            interval = parse_amount(pieces[1], "streaming interval")
            quantity = parse_amount(pieces[2], "streaming quantity")
    affiliates: tuple[str, ...] = ()
    fees: tuple[int, ...] = ()
    if len(parts) > 4 and parts[4].strip():
        affiliates = tuple(a.strip() for a in parts[4].split("/"))
        if len(affiliates) > MAX_AFFILIATES or not all(affiliates):
            raise MemoError(f"affiliates {parts[4]!r}: one to {MAX_AFFILIATES} names separated by '/'")
    if len(parts) > 5 and parts[5].strip():
        fees = tuple(parse_amount(f, "affiliate fee") for f in parts[5].split("/"))
    if fees and len(fees) not in (1, len(affiliates)):
        raise MemoError(f"{len(fees)} affiliate fees for {len(affiliates)} affiliates")
    if affiliates and not fees:
        raise MemoError("affiliates without fees")
    return Memo(
        raw,
        "swap",
        function,
        asset=asset,
        destination=dest.strip() or None,
        refund_address=refund.strip() or None,
        limit=limit,
        interval=interval,
        quantity=quantity,
        affiliates=affiliates,
        fees=fees,
        extra=tuple(parts[6:]),
    )


def is_housekeeping(text: str) -> bool:
    """True for vault housekeeping memos (`MIGRATE:…`, `consolidate`, `ragnarok`): not customer flows."""
    return text.strip().split(":", 1)[0].lower() in HOUSEKEEPING


def inbound_id(tx_hash: str) -> str:
    """THORChain's id for an EVM inbound: the hash without `0x`, upper case."""
    return tx_hash.strip().removeprefix("0x").removeprefix("0X").upper()
