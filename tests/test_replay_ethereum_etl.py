"""Replays of real Ethereum-mainnet JSON-RPC responses through the JSON-RPC adapter and its decoders.

Data: ethereum-etl's recorded responses (MIT, (c) 2018 Evgeny Medvedev; commit 9e51c3b8, see
PROVENANCE.md there), read at run time from ../shared/data/raw/ethereum-etl-test-resources and
never copied into this repository. The tests skip when the directory is absent.

A local HTTP server answers JSON-RPC requests with the recorded file whose name ethereum-etl's
mock provider derives from (method, params). Two answers are derived from recorded data,
because ethereum-etl recorded other calls for them: `eth_getLogs` filters the logs of the
recorded receipts, and `eth_getTransactionByHash` picks the transaction from a recorded block.
Anything else answers a JSON-RPC error ("no recorded response").

Expected values are computed in the tests from the raw JSON fields or taken from ethereum-etl's
own expected outputs (`expected_*.csv/json`), never from the code under test.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chains.emulators.server import EmulatorServer, Reply, Request
from chains.evm_decode import (
    TRANSFER_TOPIC,
    CallFrame,
    fetch_token_metadata,
    flatten_call_tracer,
    flatten_parity_traces,
    unknown_value_frames,
)
from chains.positions import token_position_of
from chains.rpc import JsonRpcClient, RpcAdapter, internal_transfers
from tracer.core.models import FEE_SINK, TransferKind
from tracer.core.networks import get_chain

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw" / "ethereum-etl-test-resources"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"ethereum-etl test resources absent at {DATA}")
ETH = get_chain("ethereum")
STREAM = "test_stream/blocks_1755634_1755635"
TRACE_CASES = ("block_with_subtraces", "block_with_create", "block_with_error", "block_with_suicide")


def _param(value: Any) -> str:
    """ethereum-etl's mock-provider file naming (tests/ethereumetl/job/mock_web3_provider.py)."""
    if isinstance(value, dict):
        return "_".join(f"{key}_{_param(value[key])}" for key in sorted(value))
    if isinstance(value, list):
        return "_".join(_param(item) for item in value)
    return str(value).lower()


def response_name(method: str, params: list[Any]) -> str:
    return f"web3_response.{method}_{'_'.join(_param(p) for p in params)}.json"


class ReplayNode(EmulatorServer):
    """Answers JSON-RPC calls with recorded responses from the given directories."""

    def __init__(self, *directories: Path) -> None:
        super().__init__()
        self.files: dict[str, Any] = {}
        for directory in directories:
            for path in sorted(directory.glob("web3_response.*.json")):
                self.files[path.name] = json.loads(path.read_text())
        self.missing: list[str] = []

    def _recorded(self, method: str, params: list[Any]) -> Any:
        body = self.files.get(response_name(method, params))
        return None if body is None else body.get("result")

    def _derived(self, method: str, params: list[Any]) -> tuple[bool, Any]:
        if method == "eth_chainId":
            return True, "0x1"  # recorded as such in every eth_chainId file of the set
        if method == "eth_blockNumber":
            latest = self.files.get(response_name("eth_getBlockByNumber", ["latest", False]))
            return latest is not None, latest and latest["result"]["number"]
        if method == "eth_getLogs":
            query = params[0]
            low, high = int(query["fromBlock"], 16), int(query["toBlock"], 16)
            wanted = query.get("topics") or []
            logs = []
            for name, body in self.files.items():
                if name.startswith("web3_response.eth_getTransactionReceipt_"):
                    logs += body["result"]["logs"]
            return True, [
                log
                for log in logs
                if low <= int(log["blockNumber"], 16) <= high
                and all(t is None or (i < len(log["topics"]) and log["topics"][i] == t) for i, t in enumerate(wanted))
            ]
        if method == "eth_getTransactionByHash":
            for name, body in self.files.items():
                if name.startswith("web3_response.eth_getBlockByNumber_") and name.endswith("_true.json"):
                    for tx in body["result"]["transactions"]:
                        if tx["hash"] == params[0]:
                            return True, tx
        return False, None

    def handle(self, request: Request) -> Reply:
        payload = json.loads(request.body)
        method, params = payload["method"], payload.get("params") or []
        envelope: dict[str, Any] = {"jsonrpc": "2.0", "id": payload.get("id")}
        if response_name(method, params) in self.files:
            envelope["result"] = self._recorded(method, params)
        else:
            found, result = self._derived(method, params)
            if not found:
                self.missing.append(response_name(method, params))
                envelope["error"] = {"code": -32000, "message": f"no recorded response for {method}"}
            else:
                envelope["result"] = result
        return Reply.json(envelope)


@pytest.fixture
def replay_stream() -> Iterator[ReplayNode]:
    with ReplayNode(DATA / STREAM) as node:
        yield node


def _read(path: Path) -> Any:
    return json.loads(path.read_text())["result"]


# -- blocks and receipts through the whole adapter -------------------------------------------------


def _expected_native(address: str) -> set[tuple]:
    """(kind, tx, sender, receiver, amount) of blocks 1755634-5, from the raw block and receipt JSON."""
    out = set()
    for number in ("0x1ac9f2", "0x1ac9f3"):
        block = _read(DATA / STREAM / f"web3_response.eth_getBlockByNumber_{number}_true.json")
        for tx in block["transactions"]:
            receipt = _read(DATA / STREAM / f"web3_response.eth_getTransactionReceipt_{tx['hash']}.json")
            price = int(receipt.get("effectiveGasPrice") or tx["gasPrice"], 16)
            if tx["from"] == address:
                out.add(("fee", tx["hash"], address, FEE_SINK, int(receipt["gasUsed"], 16) * price))
            if address in (tx["from"], tx["to"]) and int(tx["value"], 16) > 0:
                out.add(("external", tx["hash"], tx["from"], tx["to"], int(tx["value"], 16)))
    return out


def _expected_tokens(address: str) -> set[tuple]:
    rows = [json.loads(line) for line in (DATA / STREAM / "expected_token_transfers.json").read_text().splitlines()]
    return {
        ("token", r["transaction_hash"], r["from_address"], r["to_address"], int(r["value"]))
        for r in rows
        if address in (r["from_address"], r["to_address"])
    }


@pytest.mark.parametrize(
    "address",
    [
        "0x3763e6e1228bfeab94191c856412d1bb0a8e6996",  # sends ETH (fee + value)
        "0xec1ebac9da3430213281c80fa6d46378341a96ae",  # receives ETH
        "0xed059bc543141c8c93031d545079b3da0233b27f",  # sends a zero-value contract call (fee only)
        "0x8b3b3b624c3c0397d3da8fd861512393d51dcbac",  # the called contract, receives tokens
        "0x6498077292a0921c8804924fdf47b5e91e2a215f",  # sends tokens
    ],
)
def test_replayed_blocks_receipts_and_logs_give_the_expected_transfers(replay_stream: ReplayNode, address: str) -> None:
    adapter = RpcAdapter(url=replay_stream.base_url, expected_chain=ETH)
    assert adapter.method == "block_scan"  # nothing but blocks, receipts and logs was recorded
    chunk = adapter.fetch_history(ETH, address, start_block=1755634, end_block=1755635)
    got = {(t.kind.value, t.tx_hash, t.sender, t.receiver, t.amount) for t in chunk.transfers}
    expected = _expected_native(address) | _expected_tokens(address)
    assert expected and got == expected
    block = _read(DATA / STREAM / "web3_response.eth_getBlockByNumber_0x1ac9f3_true.json")
    assert {t.timestamp for t in chunk.transfers} == {int(block["timestamp"], 16)}
    for transfer in chunk.transfers:
        if transfer.kind is TransferKind.TOKEN:  # log index 0 in its block (ethereum-etl's expected output)
            assert transfer.position == token_position_of(
                transfer.asset.contract or "", transfer.sender, transfer.receiver, transfer.amount
            )
            assert transfer.asset.contract == "0xbb9bc244d798123fde783fcc1c72d3bb8c189413"
            assert transfer.asset.decimals == 0 and any("no usable decimals" in n for n in adapter.notes)


# -- traces: Parity trace_block and geth callTracer -------------------------------------------------


def _expected_trace_rows(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return [row for row in csv.DictReader(handle) if row["trace_type"] != "reward"]


def _block_hex(directory: Path, method: str) -> str:
    """The block number (hex) in the name of the recorded `method` response."""
    name = next(directory.glob(f"web3_response.{method}_*.json")).name
    return name.removeprefix(f"web3_response.{method}_").split("_")[0].removesuffix(".json")


def _fetch(node: ReplayNode, method: str, params: list[Any]) -> Any:
    return JsonRpcClient(node.base_url).call(method, params)


def _value_rows(rows: list[dict[str, str]]) -> list[tuple]:
    """(tx index, trace address, from, to, value, failed) of value-moving rows; callcode moves nothing."""
    out = []
    for row in rows:
        value = int(row["value"] or 0)
        if value == 0 or row["call_type"] in ("delegatecall", "staticcall", "callcode"):
            continue
        path = tuple(int(i) for i in row["trace_address"].split(",")) if row["trace_address"] else ()
        out.append((int(row["transaction_index"]), path, row["from_address"], row["to_address"], value))
    return sorted(out)


@pytest.mark.parametrize("case", TRACE_CASES)
def test_replayed_trace_block_matches_ethereum_etl(case: str) -> None:
    directory = DATA / "test_export_traces_job" / case
    block_hex = _block_hex(directory, "trace_block")
    with ReplayNode(directory) as node:
        traces = _fetch(node, "trace_block", [block_hex])
    by_tx: dict[int, list[dict]] = defaultdict(list)
    for trace in traces:
        if trace.get("transactionHash"):
            by_tx[trace["transactionPosition"]].append(trace)
    got = []
    failed = {}
    for index, items in by_tx.items():
        for frame in flatten_parity_traces(items):
            if frame.moves_value:
                got.append((index, frame.trace_address, frame.sender, frame.receiver, frame.value))
                failed[(index, frame.trace_address)] = frame.failed
    rows = _expected_trace_rows(directory / "expected_traces.csv")
    assert sorted(got) == _value_rows(rows)
    for row in rows:
        path = tuple(int(i) for i in row["trace_address"].split(",")) if row["trace_address"] else ()
        if (int(row["transaction_index"]), path) in failed:
            assert failed[(int(row["transaction_index"]), path)] == (row["status"] == "0")


def test_replayed_self_destruct_becomes_an_internal_transfer() -> None:
    directory = DATA / "test_export_traces_job" / "block_with_suicide"
    with ReplayNode(directory) as node:
        traces = _fetch(node, "trace_block", ["0xf7105"])
    raw = next(t for t in traces if t["type"] == "suicide")
    tx_hash = raw["transactionHash"]
    frames = flatten_parity_traces([t for t in traces if t.get("transactionHash") == tx_hash])
    records = internal_transfers(ETH, frames, tx_hash=tx_hash, block=0xF7105, tx_index=0, timestamp=0)
    assert [(t.sender, t.receiver, t.amount, t.success) for t in records] == [
        (raw["action"]["address"], raw["action"]["refundAddress"], int(raw["action"]["balance"], 16), True)
    ]
    assert records[0].kind is TransferKind.INTERNAL and records[0].position >= 2


@pytest.mark.parametrize("case", TRACE_CASES)
def test_replayed_geth_call_tracer_matches_ethereum_etl(case: str) -> None:
    directory = DATA / "test_extract_geth_traces_job" / case
    block_hex = _block_hex(directory, "debug_traceBlockByNumber")
    with ReplayNode(directory) as node:
        results = _fetch(node, "debug_traceBlockByNumber", [block_hex, {"tracer": "callTracer"}])
    got, unknown = [], []
    for index, item in enumerate(results):
        frames = flatten_call_tracer(item["result"])
        unknown += unknown_value_frames(frames)
        got += [(index, f.trace_address, f.sender, f.receiver, f.value) for f in frames if f.moves_value]
    rows = _expected_trace_rows(directory / "expected_traces.csv")
    assert sorted(got) == _value_rows(rows)
    # Old geth gives SELFDESTRUCT frames no beneficiary and no value: declared, never guessed.
    assert len(unknown) == sum(1 for r in rows if r["trace_type"] == "suicide" and not r["to_address"])


def _frame_key(frame: CallFrame) -> tuple:
    return (frame.trace_address, frame.call_type, frame.sender, frame.receiver, frame.value, frame.failed)


@pytest.mark.parametrize("case", ("block_with_subtraces", "block_with_create", "block_with_error"))
def test_parity_and_geth_flavours_agree(case: str) -> None:
    parity_dir = DATA / "test_export_traces_job" / case
    geth_dir = DATA / "test_extract_geth_traces_job" / case
    block_hex = _block_hex(parity_dir, "trace_block")
    with ReplayNode(parity_dir, geth_dir) as node:
        parity = _fetch(node, "trace_block", [block_hex])
        geth = _fetch(node, "debug_traceBlockByNumber", [block_hex, {"tracer": "callTracer"}])
    by_tx: dict[int, list[dict]] = defaultdict(list)
    for trace in parity:
        if trace.get("transactionHash"):
            by_tx[trace["transactionPosition"]].append(trace)
    assert len(geth) == len(by_tx)
    compared = 0
    for index, item in enumerate(geth):
        ours = [_frame_key(f) for f in flatten_call_tracer(item["result"]) if f.moves_value]
        theirs = [_frame_key(f) for f in flatten_parity_traces(by_tx[index]) if f.moves_value]
        assert ours == theirs
        compared += len(ours)
    assert compared > 0
    # block 1,000,000 has a CALLCODE: geth names the code address, Parity the caller; neither moves value.
    if case == "block_with_subtraces":
        frames = flatten_call_tracer(geth[0]["result"])
        assert [f.call_type for f in frames] == ["call", "callcode"] and not frames[1].moves_value


# -- token transfers from recorded logs, token metadata from recorded eth_call -------------------


def test_replayed_transfer_logs_match_ethereum_etl() -> None:
    from chains.evm_decode import decode_transfer_log

    directory = DATA / "test_export_token_transfers_job" / "block_with_transfers"
    logs = json.loads((directory / "web3_response.eth_getFilterLogs_0x0.json").read_text())["result"]
    decoded = [decode_transfer_log(log) for log in logs]
    got = {(d.token, d.sender, d.receiver, d.value, d.tx_hash, d.log_index, d.block) for d in decoded if d}
    with (directory / "expected_token_transfers.csv").open() as handle:
        expected = {
            (r["token_address"], r["from_address"], r["to_address"], int(r["value"]), r["transaction_hash"],
             int(r["log_index"]), int(r["block_number"]))
            for r in csv.DictReader(handle)
        }  # fmt: skip
    assert got == expected and all(log["topics"][0] == TRANSFER_TOPIC for log in logs)


@pytest.mark.parametrize("case", ("token_with_alternative_return_type", "token_with_invalid_data"))
def test_replayed_token_metadata(case: str) -> None:
    directory = DATA / "test_export_tokens_job" / case
    with (directory / "expected_tokens.csv").open() as handle:
        expected = next(csv.DictReader(handle))
    with ReplayNode(directory) as node:
        meta = fetch_token_metadata(JsonRpcClient(node.base_url), expected["address"])
    if expected["symbol"]:
        assert meta.symbol == expected["symbol"]
    if expected["decimals"]:
        assert meta.decimals == int(expected["decimals"])
    else:
        assert meta.decimals == 0 and meta.notes
    assert meta.symbol.isprintable()
