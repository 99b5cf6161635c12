"""Pure parts of the JSON-RPC adapter: decoders, error classification, URL secrets, chunk sizing."""

from __future__ import annotations

import json

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from chains.evm_decode import (
    TRANSFER_TOPIC,
    decode_symbol,
    decode_transfer_log,
    decode_uint,
    flatten_call_tracer,
    flatten_parity_traces,
    hex_int,
    internal_value_frames,
    pad_topic,
    topic_address,
)
from chains.rpc import (
    REGROW_AFTER,
    RpcAdapter,
    RpcCallReverted,
    RpcMethodUnsupported,
    RpcRangeTooLarge,
    classify_rpc,
    url_secrets,
)
from chains.rpc.records import limit_rows
from tracer.core.errors import RetriableSourceError, SourceRejected
from tracer.core.models import Asset, Transfer, TransferKind
from tracer.core.networks import get_chain

A = "0x" + "a1" * 20
B = "0x" + "b2" * 20
C = "0x" + "c3" * 20


def _abi_string(text: str) -> str:
    raw = text.encode()
    padded = raw + b"\0" * (-len(raw) % 32)
    return "0x" + (32).to_bytes(32, "big").hex() + len(raw).to_bytes(32, "big").hex() + padded.hex()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (_abi_string("USDT"), "USDT"),
        ("0x" + b"MKR".hex() + "00" * 29, "MKR"),  # bytes32 symbol
        ("0x", None),
        (None, None),
        ("0x" + "ff" * 32, None),  # not text
        ("0xzz", None),
        (_abi_string("A\x00B\x07"), "AB"),  # control characters removed
    ],
)
def test_decode_symbol(raw: str | None, expected: str | None) -> None:
    assert decode_symbol(raw) == expected


def test_decode_uint() -> None:
    assert decode_uint("0x" + "00" * 31 + "12") == 18
    assert decode_uint("0x") is None and decode_uint("0x12") is None
    assert decode_uint("0x" + "00" * 31 + "12" + "00" * 32) == 18  # extra words are ignored


@given(st.integers(min_value=0, max_value=2**160 - 1))
def test_topic_round_trip(number: int) -> None:
    address = "0x" + f"{number:040x}"
    assert topic_address(pad_topic(address)) == address and len(pad_topic(address)) == 66


def test_hex_int_accepts_node_and_web3_forms() -> None:
    assert [hex_int(v) for v in ("0x1a", "26", 26, None, "0x", "")] == [26, 26, 26, 0, 0, 0]
    with pytest.raises(ValueError):
        hex_int(True)


def _log(topics: list[str], data: str) -> dict:
    return {
        "address": C,
        "topics": topics,
        "data": data,
        "transactionHash": "0x" + "11" * 32,
        "blockNumber": "0x10",
        "transactionIndex": "0x2",
        "logIndex": "0x7",
    }


def test_decode_transfer_log_accepts_erc20_only() -> None:
    erc20 = decode_transfer_log(_log([TRANSFER_TOPIC, pad_topic(A), pad_topic(B)], "0x" + f"{5:064x}"))
    assert erc20 is not None and (erc20.sender, erc20.receiver, erc20.value, erc20.log_index) == (A, B, 5, 7)
    assert (erc20.block, erc20.tx_index, erc20.token) == (16, 2, C)
    erc721 = _log([TRANSFER_TOPIC, pad_topic(A), pad_topic(B), "0x" + f"{9:064x}"], "0x")
    assert decode_transfer_log(erc721) is None
    assert decode_transfer_log(_log([TRANSFER_TOPIC, pad_topic(A), pad_topic(B)], "0x12")) is None
    assert decode_transfer_log(_log(["0x" + "00" * 32, pad_topic(A), pad_topic(B)], "0x" + "00" * 32)) is None


def test_call_tracer_failure_reaches_children_and_trace_addresses_follow_nesting() -> None:
    root = {
        "type": "CALL",
        "from": A,
        "to": B,
        "value": "0x5",
        "calls": [
            {"type": "CALL", "from": B, "to": C, "value": "0x1"},
            {
                "type": "CALL",
                "from": B,
                "to": A,
                "value": "0x2",
                "error": "execution reverted",
                "calls": [{"type": "CALL", "from": A, "to": C, "value": "0x3"}],
            },
            {"type": "DELEGATECALL", "from": B, "to": C, "value": "0x4"},
            {"type": "SELFDESTRUCT", "from": B, "to": C, "value": "0x6"},
        ],
    }
    frames = flatten_call_tracer(root)
    assert [f.trace_address for f in frames] == [(), (0,), (1,), (1, 0), (2,), (3,)]
    assert [f.failed for f in frames] == [False, False, True, True, False, False]
    moving = internal_value_frames(frames)
    assert [(f.trace_id, f.value) for f in moving] == [("0", 1), ("1", 2), ("1_0", 3), ("3", 6)]


def test_parity_traces_sort_to_pre_order_and_propagate_errors() -> None:
    def trace(path: list[int], value: int, **extra: object) -> dict:
        action = {"from": A, "to": B, "value": hex(value), "callType": "call"}
        return {"type": "call", "action": action, "result": {}, "traceAddress": path, **extra}

    shuffled = [trace([1, 0], 3), trace([], 0), trace([1], 2, error="Reverted"), trace([0], 1)]
    shuffled.append({"type": "reward", "action": {"author": A, "value": "0x9"}, "traceAddress": []})
    frames = flatten_parity_traces(shuffled)
    assert [f.trace_address for f in frames] == [(), (0,), (1,), (1, 0)]
    assert [f.failed for f in frames] == [False, False, True, True]


def _response(body: object, status: int = 200) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    return response


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ({"code": -32601, "message": "the method trace_filter does not exist/is not available"}, RpcMethodUnsupported),
        ({"code": -32005, "message": "query returned more than 10000 results"}, RpcRangeTooLarge),
        (
            {
                "code": -32602,
                "message": "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range",
            },
            RpcRangeTooLarge,
        ),
        ({"code": 429, "message": "Too Many Requests"}, RetriableSourceError),
        ({"code": -32005, "message": "rate limit exceeded"}, RetriableSourceError),
        ({"code": 3, "message": "execution reverted"}, RpcCallReverted),
        ({"code": -32000, "message": "invalid argument 0: hex string without 0x prefix"}, SourceRejected),
    ],
)
def test_classify_rpc_errors(error: dict, expected: type) -> None:
    verdict = classify_rpc(_response({"jsonrpc": "2.0", "id": 1, "error": error}))
    assert type(verdict) is expected


def test_classify_rpc_accepts_results_and_retries_garbage() -> None:
    assert classify_rpc(_response({"jsonrpc": "2.0", "id": 1, "result": None})) is None
    assert isinstance(classify_rpc(_response([1, 2])), RetriableSourceError)
    assert isinstance(classify_rpc(_response({"jsonrpc": "2.0", "id": 1})), RetriableSourceError)


def test_url_secrets() -> None:
    assert url_secrets("https://eth-mainnet.g.alchemy.com/v2/abcdEFGH1234567890xyz") == ["abcdEFGH1234567890xyz"]
    assert "s3cret" in url_secrets("https://user:s3cret@node.example/")
    assert "k3y-value-123" in url_secrets("https://node.example/rpc?apikey=k3y-value-123")
    assert url_secrets("http://127.0.0.1:8545") == []


def test_refused_chunks_halve_stay_below_the_refused_size_and_regrow_later() -> None:
    adapter = RpcAdapter(url="http://127.0.0.1:9", expected_chain=get_chain("ethereum"), block_chunk=16)
    limit = {"blocks": 4}
    asked: list[tuple[int, int]] = []
    refused = []

    def fetch(lo: int, hi: int) -> list[int]:
        if hi - lo + 1 > limit["blocks"]:
            refused.append((lo, hi))
            raise RpcRangeTooLarge("too many")
        asked.append((lo, hi))
        return list(range(lo, hi + 1))

    assert list(adapter._chunked("logs", 0, 39, fetch)) == list(range(40))
    assert max(hi - lo + 1 for lo, hi in asked) == 4
    assert len(refused) == 2  # 16 -> 8 -> 4, then no more refusals at the learned size
    limit["blocks"] = 1000  # the node relaxes: after REGROW_AFTER successes, sizes double back up
    asked.clear()
    assert list(adapter._chunked("logs", 40, 239, fetch)) == list(range(40, 240))
    sizes = [hi - lo + 1 for lo, hi in asked]
    assert sizes[: REGROW_AFTER - 10] == [4] * (REGROW_AFTER - 10) and max(sizes) == 16
    assert len(refused) == 2


def _transfer(block: int, position: int) -> Transfer:
    native = Asset("ethereum", None, "ETH", 18)
    return Transfer("ethereum", "0x" + f"{block:064x}", position, block, 0, 0, A, B, native, 1, TransferKind.EXTERNAL)


def test_limit_keeps_whole_blocks() -> None:
    records = [_transfer(5, 1), _transfer(5, 2), _transfer(6, 1), _transfer(7, 1)]
    full = limit_rows(records, 0, 9, None)
    assert full.complete and len(full.transfers) == 4
    cut = limit_rows(records, 0, 9, 3)
    assert not cut.complete and cut.end_block == 6 and len(cut.transfers) == 3
    first_block_too_big = limit_rows(records, 0, 9, 1)
    assert first_block_too_big.end_block == 5 and len(first_block_too_big.transfers) == 2
