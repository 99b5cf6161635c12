"""Across deposit and fill events of all three generations (chains.crosschain.across), SYNTHETIC values."""

from __future__ import annotations

import pytest
from eth_abi import encode
from eth_hash.auto import keccak

from chains.crosschain.across import DEPOSITS, FILLS, SPOKE_POOLS, across_deposits, decode_fill, fill_topics
from tracer.core.crossings import EvmLog, EvmTxFacts

IN_TOKEN, OUT_TOKEN = "0x" + "a1" * 20, "0x" + "b2" * 20
SENDER, RECIPIENT, NEW_RECIPIENT = "0x" + "11" * 20, "0x" + "22" * 20, "0x" + "33" * 20
TX = "0x" + "cd" * 32


def b32(a: str) -> bytes:
    return bytes(12) + bytes.fromhex(a[2:])


def word(n: int) -> str:
    return "0x" + f"{n:064x}"


@pytest.mark.parametrize("table", [DEPOSITS, FILLS])
def test_layouts_hash_to_the_documented_topics(table) -> None:
    for topic, (signature, _) in table.items():
        assert "0x" + keccak(signature.encode()).hex() == topic


def deposit_values(topic: str) -> list:
    if topic.startswith("0x32ed"):
        return [b32(IN_TOKEN), b32(OUT_TOKEN), 10**9, 999 * 10**6, 1, 2, 0, b32(RECIPIENT), bytes(32), b""]
    if topic.startswith("0xa123"):
        return [IN_TOKEN, OUT_TOKEN, 10**9, 999 * 10**6, 1, 2, 0, RECIPIENT, "0x" + "0" * 40, b""]
    return [10**9, 1, 10**15, 1, IN_TOKEN, RECIPIENT, b""]


@pytest.mark.parametrize("topic", sorted(DEPOSITS))
def test_every_deposit_generation_decodes(topic: str) -> None:
    data = encode(DEPOSITS[topic][1], deposit_values(topic))
    log = EvmLog(SPOKE_POOLS["ethereum"], (topic, word(42161), word(55), "0x" + b32(SENDER).hex()), "0x" + data.hex())
    facts = EvmTxFacts("ethereum", TX, SENDER, SPOKE_POOLS["ethereum"], 0, "0x", True, (log,))
    (d,) = across_deposits(facts)
    assert (d.protocol, d.asset, d.amount, d.declared_chain, d.declared_recipient, d.join_key) == (
        "across",
        IN_TOKEN,
        10**9,
        "arbitrum",
        RECIPIENT,
        "1:55",
    )
    assert across_deposits(EvmTxFacts("ethereum", TX, SENDER, None, 0, "0x", False, (log,))) == []  # failed tx
    stranger = EvmLog("0x" + "99" * 20, log.topics, log.data)
    assert across_deposits(EvmTxFacts("ethereum", TX, SENDER, None, 0, "0x", True, (stranger,))) == []


def fill_values(topic: str, updated: str | None) -> list:
    if topic.startswith("0x44b5"):
        info = (b32(updated) if updated else bytes(32), bytes(32), 998 * 10**6, 0)
        return [
            b32(IN_TOKEN),
            b32(OUT_TOKEN),
            10**9,
            999 * 10**6,
            1,
            2,
            0,
            bytes(32),
            b32(SENDER),
            b32(RECIPIENT),
            bytes(32),
            info,
        ]
    if topic.startswith("0x5717"):
        info = (updated or "0x" + "0" * 40, b"", 998 * 10**6, 0)
        return [IN_TOKEN, OUT_TOKEN, 10**9, 999 * 10**6, 1, 2, 0, "0x" + "0" * 40, SENDER, RECIPIENT, b"", info]
    info = (updated or "0x" + "0" * 40, b"", 0, False, 0)
    return [10**9, 10**9, 998 * 10**6, 1, 42161, 0, 0, OUT_TOKEN, "0x" + "44" * 20, RECIPIENT, b"", info]


@pytest.mark.parametrize("topic", sorted(FILLS))
@pytest.mark.parametrize("updated", [None, NEW_RECIPIENT])
def test_every_fill_generation_decodes_and_honours_a_speed_up(topic: str, updated: str | None) -> None:
    t1, t2 = fill_topics("1:55")
    data = encode(FILLS[topic][1], fill_values(topic, updated))
    fill = decode_fill(TX, EvmLog(SPOKE_POOLS["arbitrum"], (topic, t1, t2, word(7)), "0x" + data.hex()))
    assert fill is not None
    assert (fill.origin_chain_id, fill.deposit_id, fill.token, fill.amount) == (1, 55, OUT_TOKEN, 998 * 10**6)
    assert fill.recipient == (updated or RECIPIENT)


def test_a_log_that_is_not_a_fill_is_ignored() -> None:
    assert decode_fill(TX, EvmLog(SPOKE_POOLS["arbitrum"], (word(1), word(1), word(2)), "0x")) is None
    bad = EvmLog(SPOKE_POOLS["arbitrum"], (sorted(FILLS)[0], word(1), word(2)), "0x1234")
    assert decode_fill(TX, bad) is None
