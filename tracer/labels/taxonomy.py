"""One taxonomy: map what a source says (its category words, slugs, tags) onto :class:`Category`.

Each mapper is a pure function of the source's own words and returns ``(category, confidence)``
or ``None`` when the words say nothing our taxonomy covers. The words themselves are kept by
the caller as the label's ``source_words``; nothing here invents a category from an address.
"""

from __future__ import annotations

import re

from tracer.core.errors import BadInput
from tracer.core.models import Category

# --------------------------------------------------------------------------- our own words

#: Aliases accepted wherever a user names a category (CSV import, CLI), besides the enum values.
_ALIASES: dict[str, Category] = {
    "exchange": Category.EXCHANGE,
    "cex": Category.EXCHANGE,
    "hot-wallet": Category.EXCHANGE,
    "cold-wallet": Category.EXCHANGE,
    "exchange-deposit": Category.EXCHANGE_DEPOSIT,
    "deposit": Category.EXCHANGE_DEPOSIT,
    "mixer": Category.MIXER,
    "mixing-service": Category.MIXER,
    "coinjoin": Category.MIXER,
    "bridge": Category.BRIDGE,
    "defi-bridge": Category.BRIDGE,
    "dex": Category.DEX,
    "defi-dex": Category.DEX,
    "aggregator": Category.DEX,
    "dex-aggregator": Category.DEX,
    "instant-exchanger": Category.INSTANT_EXCHANGER,
    "instant-exchange": Category.INSTANT_EXCHANGER,
    "swap-service": Category.INSTANT_EXCHANGER,
    "otc": Category.OTC,
    "otc-desk": Category.OTC,
    "sanctioned": Category.SANCTIONED,
    "sanction": Category.SANCTIONED,
    "ofac": Category.SANCTIONED,
    "hacker": Category.HACKER,
    "exploiter": Category.HACKER,
    "hack": Category.HACKER,
    "service-hack": Category.HACKER,
    "perpetrator": Category.HACKER,
    "phishing": Category.PHISHING,
    "phish-hack": Category.PHISHING,
    "scam": Category.PHISHING,
    "ponzi-scheme": Category.PHISHING,
    "sextortion": Category.PHISHING,
    "gambling": Category.GAMBLING,
    "ransomware": Category.RANSOMWARE,
    "other-service": Category.OTHER_SERVICE,
    "service": Category.OTHER_SERVICE,
    "unknown-service": Category.UNKNOWN_SERVICE,
}


def _slug(word: str) -> str:
    return re.sub(r"[\s_]+", "-", word.strip().lower())


def parse_category(word: str) -> Category:
    """Our category for a user-given word (enum value, alias or GraphSense term); BadInput when unknown."""
    slug = _slug(word)
    if slug in _ALIASES:
        return _ALIASES[slug]
    mapped = graphsense_category(category=word, abuse=None)
    if mapped is not None:
        return mapped[0]
    known = ", ".join(c.value for c in Category)
    raise BadInput(f"unknown label category {word!r}; expected one of: {known} (or a GraphSense category)")


# --------------------------------------------------------------------------- GraphSense TagPacks

#: GraphSense / INTERPOL category terms (https://github.com/graphsense/dw-vocabulary) -> ours.
GRAPHSENSE_CATEGORIES: dict[str, Category] = {
    "exchange": Category.EXCHANGE,
    "mixing_service": Category.MIXER,
    "coinjoin": Category.MIXER,
    "defi_dex": Category.DEX,
    "dex": Category.DEX,
    "defi_bridge": Category.BRIDGE,
    "bridge": Category.BRIDGE,
    "otc_broker": Category.OTC,
    "otc": Category.OTC,
    "gambling": Category.GAMBLING,
    "perpetrator": Category.HACKER,
    "hacker": Category.HACKER,
    "miner": Category.OTHER_SERVICE,
    "mining_service": Category.OTHER_SERVICE,
    "service": Category.OTHER_SERVICE,
    "wallet_service": Category.OTHER_SERVICE,
    "payment_processor": Category.OTHER_SERVICE,
    "market": Category.OTHER_SERVICE,
    "marketplace": Category.OTHER_SERVICE,
    "atm": Category.OTHER_SERVICE,
    "defi": Category.OTHER_SERVICE,
    "defi_lending": Category.OTHER_SERVICE,
    "ico_wallet": Category.OTHER_SERVICE,
    "shop": Category.OTHER_SERVICE,
    "faucet": Category.OTHER_SERVICE,
    "hosting": Category.OTHER_SERVICE,
    "vpn": Category.OTHER_SERVICE,
}

#: GraphSense abuse terms -> ours. Abuse wins over category (a hacked exchange's thief is a hacker).
GRAPHSENSE_ABUSES: dict[str, Category] = {
    "service_hack": Category.HACKER,
    "hack": Category.HACKER,
    "sanction": Category.SANCTIONED,
    "ransomware": Category.RANSOMWARE,
    "scam": Category.PHISHING,
    "phishing": Category.PHISHING,
    "ponzi_scheme": Category.PHISHING,
    "sextortion": Category.PHISHING,
    "investment_fraud": Category.PHISHING,
}

#: GraphSense confidence ids -> our confidence (our own calibration, documented in docs/LABELS.md).
GRAPHSENSE_CONFIDENCE: dict[str, float] = {
    "ownership": 1.0,
    "override": 1.0,
    "authority_data": 0.95,
    "service_data": 0.9,
    "forensic": 0.8,
    "ledger_immanent": 0.8,
    "web_crawl": 0.6,
    "untrusted_transaction": 0.3,
}
DEFAULT_CONFIDENCE = 0.5

#: Our category -> the GraphSense term written on export.
GRAPHSENSE_EXPORT: dict[Category, tuple[str, str | None]] = {
    Category.EXCHANGE: ("exchange", None),
    Category.EXCHANGE_DEPOSIT: ("exchange", None),
    Category.MIXER: ("mixing_service", None),
    Category.BRIDGE: ("defi_bridge", None),
    Category.DEX: ("defi_dex", None),
    Category.INSTANT_EXCHANGER: ("exchange", None),
    Category.OTC: ("otc_broker", None),
    Category.SANCTIONED: ("user", "sanction"),
    Category.HACKER: ("perpetrator", "service_hack"),
    Category.PHISHING: ("perpetrator", "phishing"),
    Category.GAMBLING: ("gambling", None),
    Category.RANSOMWARE: ("perpetrator", "ransomware"),
    Category.OTHER_SERVICE: ("service", None),
    Category.UNKNOWN_SERVICE: ("service", None),
}

_AUTHORITY_SOURCE = re.compile(r"treasury\.gov|ofac", re.IGNORECASE)


def graphsense_category(
    *, category: str | None, abuse: str | None, source: str = ""
) -> tuple[Category, float | None] | None:
    """Our category for a GraphSense tag (confidence None = take the tag's own), or None when unmapped.

    `user` tags count as sanctioned only when their source is the US Treasury / OFAC.
    """
    if abuse:
        mapped = GRAPHSENSE_ABUSES.get(_snake(abuse))
        if mapped is not None:
            return mapped, None
    if category:
        snake = _snake(category)
        if snake in GRAPHSENSE_CATEGORIES:
            return GRAPHSENSE_CATEGORIES[snake], None
        if snake == "user" and _AUTHORITY_SOURCE.search(source or ""):
            return Category.SANCTIONED, None
        slug = _slug(category)
        if slug in _ALIASES and slug not in ("service", "deposit"):
            return _ALIASES[slug], None
    return None


def graphsense_confidence(value: object) -> float:
    """Our confidence for a GraphSense confidence id (or a number 0..1 / 0..100)."""
    if isinstance(value, bool):
        return DEFAULT_CONFIDENCE
    if isinstance(value, int | float):
        number = float(value)
        return max(0.0, min(1.0, number / 100 if number > 1 else number))
    if isinstance(value, str):
        return GRAPHSENSE_CONFIDENCE.get(_snake(value), DEFAULT_CONFIDENCE)
    return DEFAULT_CONFIDENCE


def _snake(word: str) -> str:
    return re.sub(r"[\s-]+", "_", str(word).strip().lower())


# --------------------------------------------------------------------------- Forta / Etherscan blacklists

_SCAM_WORDS = re.compile(r"phish|scam|ponzi|\brug\b|rug pull|honeypot|fake|drainer|spam", re.IGNORECASE)
_HACK_WORDS = re.compile(r"hacker|exploit|attacker|heist", re.IGNORECASE)


def forta_category(tag: str, list_name: str) -> tuple[Category, float]:
    """Category of an Etherscan blacklist row (`etherscan-heist-list`, `-exploit-list`, `-phish-hack-list`)."""
    list_slug = list_name.lower()
    if "phish" in list_slug:
        return (Category.HACKER, 0.8) if _HACK_WORDS.search(tag) else (Category.PHISHING, 0.8)
    if _SCAM_WORDS.search(tag) and not _HACK_WORDS.search(tag):
        return Category.PHISHING, 0.85
    return Category.HACKER, 0.9


# --------------------------------------------------------------------------- Etherscan label cloud


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: Slugs that name a centralised exchange.
EXCHANGE_SLUGS = _words(
    "abcc allbit ascendex bgogo binance bitcoin-suisse bitfinex bithumb bitmart bitmex bitpie bitstamp bittrex "
    "blockfi celsius-network cobinhood coinbase coinbit coinhako coinlist coinmetro coinone coinsquare coss-io "
    "crex24 crypto-com deribit digifinex ftx gate-io gemini hitbtc hoo-com hotbit huobi korbit kraken kryptono "
    "kucoin latoken lcx-ag liquid maskex nexo okx paribu poloniex quadrigacx remitano resfinex tidex topbtc "
    "trade-io upbit wirex yunbi zb-com bybit mexc bitget exchange"
)
#: Slugs of bridges and cross-chain messaging.
BRIDGE_SLUGS = _words(
    "bridge across-protocol axelar celer-network connext hop-protocol multichain synapse wormhole optics "
    "polygon-matic arbitrum-one arbitrum-nova starknet optimism-bridge orbit-bridge"
)
#: Slugs of decentralised exchanges and aggregators.
DEX_SLUGS = _words(
    "dex 0x-protocol 1inch airswap balancer bancor cow-protocol curve-fi dex-ag dydx idex kyberswap loopring "
    "mcdex pancakeswap paraswap sushiswap sudoswap swipeswap tokenlon uniswap dodo traderjoe quickswap "
    "switcheo hydro-protocol bscswap burgerswap mdex pangolin trader-joe dexalot"
)
INSTANT_EXCHANGER_SLUGS = _words("changenow shapeshift sideshift fixedfloat simpleswap changelly")
MIXER_SLUGS = _words("ethereum-mixer typhoon-cash typhoon-network mixer")
#: Etherscan blacklist slugs (present in the non-Ethereum dumps) -> the list name `forta_category` reads.
BLACKLIST_SLUGS = {"heist": "heist", "exploit": "exploit", "phish-hack": "phish-hack", "scam": "phish-hack"}
#: Slugs that describe a person or a status, not what the address is; ignored when mapping.
IGNORED_SLUGS = _words(
    "airdrop-hunter take-action old-contract website-down sybil-delegate maker-vault-owner buidlguidl-builders "
    "proposer-fee-recipient gitcoin-grants multisig-owner mev-bot mev-builder blocked spam-token high-risk "
    "something-fishy flagged-by-sec deprecated v1 v2 opportunist backrunning-bots white-hat-group parity-bug "
    "bugs token-migration token-sale ico-wallets meme adult charity donate company-funds dao-funds "
    "balancer-vested-shareholders bridged-token token-contract contract-deployer validator system-contract "
    "delegate compromised burn"
)

_TOKEN_NAME = re.compile(
    r"\([A-Za-z0-9$.\-+ ]{1,12}\)\s*$|\btoken\b|deployer|\bcontract\b|wrapped|beacon|depositor|shares$"
    r"|\bstaking\b|\bvesting\b|governance|verifier|\btrees?\b|\bmultisig\b|\bimpl\b|airdrop|distributor|treasury",
    re.IGNORECASE,
)
_INSTANT_NAME = re.compile(r"changenow|simpleswap|fixedfloat|sideshift|changelly|\bexch\b|swft|stealthex", re.I)
_TORNADO_POOL = re.compile(r"tornado\.cash: ([\d,.]+ |mixer|router|proxy)", re.IGNORECASE)
_DEPOSIT_NAME = re.compile(r"\bdeposit\b(?! funder| supplier)", re.IGNORECASE)
_OTC_NAME = re.compile(r"\botc\b", re.IGNORECASE)
_BRIDGE_NAME = re.compile(r"bridge|gateway|escrow|portal|router|relay", re.IGNORECASE)
_DEX_NAME = re.compile(
    r"uniswap|sushiswap|swap router|aggregat|1inch|0x: exchange|curve\.fi|balancer|pancakeswap", re.I
)


def etherscan_category(name: str, slugs: list[str] | tuple[str, ...]) -> tuple[Category, float] | None:
    """Our category for an Etherscan label-cloud entry (name tag + label slugs), or None when unmapped."""
    tags = set(slugs)
    tokenish = bool(_TOKEN_NAME.search(name)) or "token-contract" in tags
    for slug, list_name in BLACKLIST_SLUGS.items():
        if slug in tags:
            return forta_category(name, list_name)
    if "tornado-cash" in tags:
        if "ofac-sanctions-lists" in tags or _TORNADO_POOL.search(name):
            return Category.MIXER, 0.9
        return Category.OTHER_SERVICE, 0.6
    if tags & MIXER_SLUGS and not tokenish:
        return Category.MIXER, 0.85
    if "ofac-sanctions-lists" in tags:
        # a sanctioned thief (e.g. "Ronin Bridge Exploiter") is still a thief: tracing goes on through it
        return (Category.HACKER, 0.9) if _HACK_WORDS.search(name) else (Category.SANCTIONED, 0.9)
    if _DEPOSIT_NAME.search(name) and not tokenish and (tags & EXCHANGE_SLUGS or _mentions_exchange(name)):
        return Category.EXCHANGE_DEPOSIT, 0.8  # e.g. "ShapeShift: Binance Deposit"
    if (tags & INSTANT_EXCHANGER_SLUGS or _INSTANT_NAME.search(name)) and not tokenish:
        return Category.INSTANT_EXCHANGER, 0.8
    if "binance-deposit" in tags:
        return Category.EXCHANGE_DEPOSIT, 0.85
    exchange = tags & EXCHANGE_SLUGS
    if exchange and not tokenish:
        if _DEPOSIT_NAME.search(name):
            return Category.EXCHANGE_DEPOSIT, 0.8
        return Category.EXCHANGE, 0.9
    if "gambling" in tags and not tokenish:
        return Category.GAMBLING, 0.8
    if (tags & {"hot-wallet", "cold-wallet", "fiat-gateway"}) and not tokenish:
        return Category.EXCHANGE, 0.75
    if "otc" in tags and not tokenish:
        return Category.OTC, 0.8
    if tags & BRIDGE_SLUGS and not tokenish and ("bridge" in tags or _BRIDGE_NAME.search(name)):
        return Category.BRIDGE, 0.85
    if (tags & DEX_SLUGS or _DEX_NAME.search(name)) and not tokenish:
        return Category.DEX, 0.8
    if tags - IGNORED_SLUGS and name.strip():
        return Category.OTHER_SERVICE, 0.5
    return None


def _mentions_exchange(name: str) -> bool:
    words = set(re.findall(r"[a-z0-9]+", name.lower()))
    return any(slug in words for slug in EXCHANGE_SLUGS if "-" not in slug and slug != "exchange")


def refine_by_name(category: Category, name: str) -> Category:
    """A service category claimed for a token or a service's contract (not a wallet) becomes other-service.

    Used by the bundled-data build for scraped packs (GraphSense's Etherscan word-cloud packs tag
    exchange tokens and Tornado Cash governance contracts as exchange / mixing_service).
    """
    service = category in (Category.EXCHANGE, Category.MIXER, Category.EXCHANGE_DEPOSIT)
    if service and _TOKEN_NAME.search(name) and not _TORNADO_POOL.search(name):
        return Category.OTHER_SERVICE
    return category


def exchange_wallet_kind(words: str) -> str | None:
    """`hot` or `cold` when a source's words say which exchange wallet this is, else None."""
    lowered = words.lower()
    if "cold" in lowered:
        return "cold"
    if "hot" in lowered:
        return "hot"
    return None
