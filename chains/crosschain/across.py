"""Across (an intent bridge): deposits on the origin chain and fills on the destination, from their events.

Facts from ../shared/docs/CROSSCHAIN.md: the join key is (origin chain id, deposit id); three generations
of events exist (current `FundsDeposited` / `FilledRelay` with addresses as bytes32, 2024
`V3FundsDeposited` / `FilledV3Relay`, pre-2024 `FundsDeposited` / `FilledRelay`). The fill pays
`recipient`, or the `updatedRecipient` of a speed-up. The argument layouts below are those whose
keccak hashes give the documented topic0 values (checked in the tests), so the documented topics
pin the layouts. In every generation topic1 of a deposit is the destination chain id and topic2 the
deposit id; topic1 of a fill is the origin chain id and topic2 the deposit id.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_abi import decode as abi_decode
from eth_abi.exceptions import DecodingError

from tracer.core.crossings import BridgeDeposit, EvmLog, EvmTxFacts
from tracer.core.networks import CHAINS

SPOKE_POOLS = {
    "ethereum": "0x5c7bcd6e7de5423a257d81b442095a1a6ced35c5",
    "arbitrum": "0xe35e9842fceaca96570b734083f4a58e8f7c5f2a",
    "optimism": "0x6f26bf09b1c792e3228e5467807a900a503c0281",
    "base": "0x09aea4b2242abc8bb4bb78d537a67a245a7bec64",
    "polygon": "0x9295ee1d8c5b022be115a2ad3c30c72e34e7f096",
}
DEPOSITS = {
    "0x32ed1a409ef04c7b0227189c3a103dc5ac10e775a15b785dcc510201f7c25ad3": (
        "FundsDeposited(bytes32,bytes32,uint256,uint256,uint256,uint256,uint32,uint32,uint32,bytes32,bytes32,bytes32,bytes)",
        ["bytes32", "bytes32", "uint256", "uint256", "uint32", "uint32", "uint32", "bytes32", "bytes32", "bytes"],
    ),
    "0xa123dc29aebf7d0c3322c8eeb5b999e859f39937950ed31056532713d0de396f": (
        "V3FundsDeposited(address,address,uint256,uint256,uint256,uint32,uint32,uint32,uint32,address,address,address,bytes)",
        ["address", "address", "uint256", "uint256", "uint32", "uint32", "uint32", "address", "address", "bytes"],
    ),
    "0xafc4df6845a4ab948b492800d3d8a25d538a102a2bc07cd01f1cfa097fddcff6": (
        "FundsDeposited(uint256,uint256,uint256,int64,uint32,uint32,address,address,address,bytes)",
        ["uint256", "uint256", "int64", "uint32", "address", "address", "bytes"],
    ),
}
FILLS = {
    "0x44b559f101f8fbcc8a0ea43fa91a05a729a5ea6e14a7c75aa750374690137208": (
        "FilledRelay(bytes32,bytes32,uint256,uint256,uint256,uint256,uint256,uint32,uint32,bytes32,bytes32,bytes32,"
        "bytes32,bytes32,(bytes32,bytes32,uint256,uint8))",
        [
            "bytes32",
            "bytes32",
            "uint256",
            "uint256",
            "uint256",
            "uint32",
            "uint32",
            "bytes32",
            "bytes32",
            "bytes32",
            "bytes32",
            "(bytes32,bytes32,uint256,uint8)",
        ],
    ),
    "0x571749edf1d5c9599318cdbc4e28a6475d65e87fd3b2ddbe1e9a8d5e7a0f0ff7": (
        "FilledV3Relay(address,address,uint256,uint256,uint256,uint256,uint32,uint32,uint32,address,address,address,"
        "address,bytes,(address,bytes,uint256,uint8))",
        [
            "address",
            "address",
            "uint256",
            "uint256",
            "uint256",
            "uint32",
            "uint32",
            "address",
            "address",
            "address",
            "bytes",
            "(address,bytes,uint256,uint8)",
        ],
    ),
    "0x8ab9dc6c19fe88e69bc70221b339c84332752fdd49591b7c51e66bae3947b73c": (
        "FilledRelay(uint256,uint256,uint256,uint256,uint256,uint256,int64,int64,uint32,address,address,address,"
        "address,bytes,(address,bytes,int64,bool,int256))",
        [
            "uint256",
            "uint256",
            "uint256",
            "uint256",
            "uint256",
            "int64",
            "int64",
            "address",
            "address",
            "address",
            "bytes",
            "(address,bytes,int64,bool,int256)",
        ],
    ),
}
ZERO = "0x" + "0" * 40


@dataclass(frozen=True, slots=True)
class AcrossFill:
    """A fill on the destination chain: who was paid, which token, how much (the event's own numbers)."""

    tx_hash: str
    origin_chain_id: int
    deposit_id: int
    recipient: str
    token: str | None  # None: not in the event (pre-2024 fills name the destination token; kept there)
    amount: int
    timestamp: int = 0


def _address(value: object) -> str:
    """An address from an ABI `address` (0x text) or a bytes32 (the last 20 bytes)."""
    if isinstance(value, bytes):
        return "0x" + value[-20:].hex()
    return str(value).lower()


def _data(log: EvmLog) -> bytes:
    body = log.data.removeprefix("0x")
    return bytes.fromhex(body) if body else b""


def chain_of(chain_id: int) -> str | None:
    return next((c.slug for c in CHAINS.values() if c.chain_id == chain_id), None)


def across_deposits(facts: EvmTxFacts, *, pools: frozenset[str] | None = None) -> list[BridgeDeposit]:
    """Across deposits in one transaction (any generation's deposit event from a SpokePool)."""
    if not facts.success:
        return []
    pools = pools if pools is not None else frozenset(SPOKE_POOLS.values())
    origin = next((c.chain_id for c in CHAINS.values() if c.slug == facts.chain), None)
    found = []
    for log in facts.logs:
        layout = DEPOSITS.get(log.topics[0].lower()) if log.topics else None
        if layout is None or log.address.lower() not in pools or len(log.topics) < 3:
            continue
        try:
            values = abi_decode(layout[1], _data(log))
        except (ValueError, DecodingError):
            continue
        dest_id, deposit_id = int(log.topics[1], 16), int(log.topics[2], 16)
        if len(values) == 10:  # current and V3: input/output token first, recipient eighth
            token, out_token, amount, recipient = _address(values[0]), _address(values[1]), values[2], values[7]
        else:  # pre-2024: amount, origin chain id, fee, quote time, origin token, recipient, message
            token, out_token, amount, recipient = _address(values[4]), None, values[0], values[5]
        found.append(
            BridgeDeposit(
                "across",
                facts.chain,
                facts.tx_hash,
                log.address.lower(),
                None if token == ZERO else token,
                int(amount),
                declared_chain=chain_of(dest_id),
                declared_recipient=_address(recipient),
                declared_asset=out_token,
                join_key=f"{origin}:{deposit_id}",
            )
        )
    return found


def decode_fill(tx_hash: str, log: EvmLog, *, timestamp: int = 0) -> AcrossFill | None:
    """A fill event of any generation, or None when it is not one (or does not decode)."""
    layout = FILLS.get(log.topics[0].lower()) if log.topics else None
    if layout is None or len(log.topics) < 3:
        return None
    try:
        values = abi_decode(layout[1], _data(log))
    except (ValueError, DecodingError):
        return None
    origin, deposit_id = int(log.topics[1], 16), int(log.topics[2], 16)
    info = values[-1]
    if layout[1][0] == "uint256":  # pre-2024: (amount, total, fillAmount, ...), recipient tenth, struct recipient
        token, recipient, amount = _address(values[7]), _address(values[9]), int(values[2])
        updated = _address(info[0])
    else:  # current and V3: output token second, recipient tenth, struct (updatedRecipient, _, updatedOutputAmount)
        token, recipient, amount = _address(values[1]), _address(values[9]), int(info[2] or values[3])
        updated = _address(info[0])
    if updated != ZERO:
        recipient = updated  # a speed-up changed the recipient
    return AcrossFill(
        tx_hash.lower(), origin, deposit_id, recipient, None if token == ZERO else token, amount, timestamp
    )


def fill_topics(join_key: str) -> tuple[str, str]:
    """(topic1, topic2) of the fill that answers a deposit's join key `origin:deposit id`."""
    origin, deposit_id = (int(x) for x in join_key.split(":", 1))
    return "0x" + f"{origin:064x}", "0x" + f"{deposit_id:064x}"
