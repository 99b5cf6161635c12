"""Bridge deposits as an EVM transaction states them (calldata and logs), translated into records.

Facts from ../shared/docs/CROSSCHAIN.md:

- THORChain: the router's `depositWithExpiry(address vault, address asset, uint256 amount, string
  memo, uint256 expiration)` (selector `0x44bc937b`) and its `Deposit(address indexed to, address
  indexed asset, uint256 amount, string memo)` log (looked for in *any* transaction: aggregators
  call the router); a plain send to a vault with the memo as the UTF-8 calldata. Failed
  transactions are ignored.
- LI.FI: the diamond's `LiFiTransferStarted(BridgeData)` log (bridge name, receiver, destination
  chain id, amount) and, for non-EVM destinations, `BridgeToNonEVMChain(bytes32 indexed
  transactionId, uint256 indexed destinationChainId, bytes receiver)`.
"""

from __future__ import annotations

from collections.abc import Iterable

from eth_abi import decode as abi_decode
from eth_abi.exceptions import DecodingError

from chains.evm_decode import topic_address
from tracer.core.crossings import BridgeDeposit, EvmTxFacts
from tracer.core.networks import CHAINS

ZERO_ADDRESS = "0x" + "0" * 40
THORCHAIN_ROUTERS = frozenset(
    {"0xd37bbe5744d730a1d98d8dc97c42f0ca46ad7146", "0x3624525075b88b24ecc29ce226b0cec1ffcb6976"}
)
DEPOSIT_WITH_EXPIRY = "0x44bc937b"
DEPOSIT_TOPIC = "0xef519b7eb82aaf6ac376a6df2d793843ebfd593de5f1a0601d3cc6ab49ebb395"
LIFI_DIAMOND = "0x1231deb6f5749ef6ce6943a275a1d3e7486f4eae"
LIFI_STARTED_TOPIC = "0xcba69f43792f9f399347222505213b55af8e0b0b54b893085c2e27ecbe1644f1"
LIFI_BRIDGE_DATA = "(bytes32,string,string,address,address,address,uint256,uint256,bool,bool)"


def _bytes(hex_text: str) -> bytes:
    body = (hex_text or "").removeprefix("0x").removeprefix("0X")
    return bytes.fromhex(body) if body else b""


def _memo_text(raw: bytes) -> str | None:
    try:
        text = raw.decode("utf-8").strip("\x00").strip()
    except UnicodeDecodeError:
        return None
    return text if text and text.isprintable() else None


def thorchain_deposits(
    facts: EvmTxFacts, *, routers: Iterable[str] = THORCHAIN_ROUTERS, vaults: Iterable[str] = ()
) -> list[BridgeDeposit]:
    """THORChain inbounds in one transaction: router `Deposit` logs, else the router call, else a vault send."""
    if not facts.success:
        return []
    routers = {r.lower() for r in routers}
    vaults = {v.lower() for v in vaults}
    found: list[BridgeDeposit] = []
    for log in facts.logs:
        if log.address.lower() not in routers or not log.topics or log.topics[0].lower() != DEPOSIT_TOPIC:
            continue
        try:
            vault, asset = topic_address(log.topics[1]), topic_address(log.topics[2])
            amount, memo = abi_decode(["uint256", "string"], _bytes(log.data))
        except (IndexError, ValueError, DecodingError):
            continue
        found.append(_thor(facts, log.address.lower(), vault, asset, int(amount), memo))
    if found:
        return found
    to = (facts.to or "").lower()
    data = _bytes(facts.input)
    if to in routers and facts.input.lower().startswith(DEPOSIT_WITH_EXPIRY):
        try:
            vault, asset, amount, memo, _ = abi_decode(["address", "address", "uint256", "string", "uint256"], data[4:])
        except (ValueError, DecodingError):
            return []
        return [_thor(facts, to, vault.lower(), asset.lower(), int(amount), memo)]
    if to in vaults and facts.value > 0:
        memo = _memo_text(data)
        if memo is not None:
            return [BridgeDeposit("thorchain", facts.chain, facts.tx_hash, to, None, facts.value, memo=memo)]
    return []


def _thor(facts: EvmTxFacts, router: str, vault: str, asset: str, amount: int, memo: str) -> BridgeDeposit:
    token = None if asset == ZERO_ADDRESS else asset
    return BridgeDeposit("thorchain", facts.chain, facts.tx_hash, router, token, amount, memo=memo, join_key=vault)


def lifi_deposits(facts: EvmTxFacts, *, diamonds: Iterable[str] = (LIFI_DIAMOND,)) -> list[BridgeDeposit]:
    """LI.FI transfers started in one transaction (`LiFiTransferStarted` logs of the diamond)."""
    if not facts.success:
        return []
    diamonds = {d.lower() for d in diamonds}
    found = []
    for log in facts.logs:
        if log.address.lower() not in diamonds or not log.topics or log.topics[0].lower() != LIFI_STARTED_TOPIC:
            continue
        try:
            (data,) = abi_decode([LIFI_BRIDGE_DATA], _bytes(log.data))
        except (ValueError, DecodingError):
            continue
        transaction_id, bridge, _integrator, _referrer, token, receiver, amount, chain_id, _swap, _dest = data
        found.append(
            BridgeDeposit(
                "lifi",
                facts.chain,
                facts.tx_hash,
                log.address.lower(),
                None if token.lower() == ZERO_ADDRESS else token.lower(),
                int(amount),
                declared_chain=_slug_of(int(chain_id)),
                declared_recipient=receiver.lower(),
                join_key=f"{bridge}:0x{transaction_id.hex()}",
            )
        )
    return found


def _slug_of(chain_id: int) -> str | None:
    """The heisttrace chain of an EVM chain id (None when heisttrace does not know it)."""
    return next((c.slug for c in CHAINS.values() if c.chain_id == chain_id), None)
