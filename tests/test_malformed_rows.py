"""Null fields and negative values in source rows (issue 15 item 4): one clear error naming the source,
the field and the row (exit 3) — never an AttributeError, a TypeError or a silent drop.

Every adapter is exercised through its own HTTP path against an emulator on 127.0.0.1 whose answers
are mangled (tests/mangle.py); the worlds are SYNTHETIC.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chains.emulators.esplora import EsploraEmulator, synthetic_address, synthetic_tx
from chains.emulators.etherscan import EtherscanEmulator
from chains.emulators.server import EmulatorServer, Reply, Request
from chains.emulators.trongrid import TronGridEmulator
from chains.esplora import EsploraAdapter
from chains.etherscan import EtherscanAdapter
from chains.http import RetryPolicy
from chains.rpc import RpcAdapter
from chains.tron import TronGridAdapter
from tests.cli_env import make_env
from tests.mangle import mangled
from tests.test_engine_cli import THIEF, setup_case, synthetic_world
from tests.test_tron_adapter import THIEF as TRON_THIEF
from tests.test_tron_adapter import world as tron_world
from tracer.cli import main
from tracer.core.errors import SourceError
from tracer.core.networks import get_chain

FAST = RetryPolicy(attempts=2, backoff_base=0.0, backoff_max=0.0, jitter=False, timeout=5.0)
ETH, BTC, TRON = get_chain("ethereum"), get_chain("bitcoin"), get_chain("tron")
BAD = [(None, "is null"), ("-7", "is negative"), ("", "is not an integer")]


def _set_first(rows: list, field: str, value: object) -> None:
    rows[0][field] = value


def _etherscan(action: str, field: str, value: object):
    def mangle(path: str, query: dict, body: dict) -> dict:
        if query.get("action") == action and isinstance(body.get("result"), list) and body["result"]:
            _set_first(body["result"], field, value)
        return body

    return mangled(EtherscanEmulator)(synthetic_world(), mangle=mangle)


@pytest.mark.parametrize(("action", "field"), [("txlist", "value"), ("txlist", "gasUsed"), ("tokentx", "value")])
@pytest.mark.parametrize(("value", "words"), BAD)
def test_etherscan_row_errors_name_source_field_and_row(action: str, field: str, value, words: str) -> None:
    if value == "" and field == "gasUsed":
        pytest.skip("an empty optional field is read as absent (explorers leave some blank)")
    with _etherscan(action, field, value) as server:
        adapter = EtherscanAdapter(base_url=server.api_url, api_key=None, retry=FAST, sleep=lambda s: None)
        with pytest.raises(SourceError) as caught:
            adapter.fetch_history(ETH, THIEF, start_block=0, end_block=200)
    message = caught.value.message
    assert message.startswith("etherscan: ethereum ") and f"{action} row 0" in message
    assert f"field {field!r} {words}" in message


def test_etherscan_null_hash_is_named_not_an_attribute_error(tmp_path: Path) -> None:
    with _etherscan("txlist", "hash", None) as server:
        home, case = setup_case(tmp_path, server.api_url)
        env, _, err = make_env(home)
        assert main(["trace", str(case), "--out", str(tmp_path / "b")], env=env) == 3
    line = err.getvalue().strip()
    assert len(line.splitlines()) <= 2 and "internal error" not in line and "Traceback" not in line
    assert "etherscan" in line and "'hash' is null" in line and "row 0" in line


def _esplora(field_path: tuple, value: object):
    hot = synthetic_address("hot")
    txs = [
        synthetic_tx("fund", [(None, None, None, 0)], [(hot, 5_000)], block=100),
        synthetic_tx("spend", [("00" * 32, 0, hot, 5_000)], [(synthetic_address("x"), 4_000)], block=101),
    ]

    def mangle(path: str, query: dict, body):
        docs = body if isinstance(body, list) else [body]
        for doc in docs:
            if isinstance(doc, dict) and "vout" in doc:
                target = doc
                for key in field_path[:-1]:
                    target = target[key]
                target[field_path[-1]] = value
        return body

    return mangled(EsploraEmulator)(txs, mangle=mangle), hot


@pytest.mark.parametrize(
    ("field_path", "field"),
    [(("vout", 0, "value"), "value"), (("fee",), "fee"), (("status", "block_height"), "block_height")],
)
@pytest.mark.parametrize(("value", "words"), BAD[:2])
def test_esplora_row_errors_name_source_field_and_row(field_path: tuple, field: str, value, words: str) -> None:
    server, hot = _esplora(field_path, value)
    with server:
        adapter = EsploraAdapter(url=server.base_url + "/api", retry=FAST, sleep=lambda s: None)
        with pytest.raises(SourceError) as caught:
            adapter.fetch_address_txs(BTC, hot)
    message = caught.value.message
    assert message.startswith("esplora: transaction ") and f"field {field!r} {words}" in message


def _tron(kind: str, field: str, value: object):
    def mangle(path: str, query: dict, body):
        rows = body.get("data") if isinstance(body, dict) else None
        if not rows:
            return body
        if kind == "trc20" and path.endswith("/trc20"):
            rows[0][field] = value
        elif kind == "tx" and path.endswith("/transactions"):
            if field == "amount":
                for row in rows:
                    params = row["raw_data"]["contract"][0]["parameter"]["value"]
                    if "amount" in params:
                        params["amount"] = value
                        break
            else:
                rows[0][field] = value
        return body

    return mangled(TronGridEmulator)(tron_world(), mangle=mangle)


@pytest.mark.parametrize(
    ("kind", "field"), [("tx", "blockNumber"), ("tx", "net_fee"), ("tx", "amount"), ("trc20", "value")]
)
@pytest.mark.parametrize(("value", "words"), BAD[:2])
def test_trongrid_row_errors_name_source_field_and_row(kind: str, field: str, value, words: str) -> None:
    if field == "blockNumber" and value == "-7":
        value = -7
    with _tron(kind, field, value) as server:
        adapter = TronGridAdapter(url=server.base_url, retry=FAST, sleep=lambda s: None)
        with pytest.raises(SourceError) as caught:
            adapter.fetch_history(TRON, TRON_THIEF, start_block=0, end_block=10_000)
    message = caught.value.message
    assert message.startswith("trongrid: ") and f"field {field!r} {words}" in message


class _Node(EmulatorServer):
    """A scripted JSON-RPC node (SYNTHETIC): one transaction whose `tx`/`receipt` fields can be set."""

    TX = "0x" + "ab" * 32

    def __init__(self, tx: dict, receipt: dict) -> None:
        super().__init__()
        self.tx, self.receipt = tx, receipt

    def handle(self, request: Request) -> Reply:
        call = json.loads(request.body)
        answers = {
            "eth_chainId": "0x1",
            "eth_blockNumber": "0x100",
            "eth_getTransactionByHash": self.tx,
            "eth_getTransactionReceipt": self.receipt,
            "eth_getBlockByNumber": {"number": "0x10", "timestamp": "0x6553f100"},
        }
        return Reply.json({"jsonrpc": "2.0", "id": call["id"], "result": answers.get(call["method"])})


def _tx(**fields) -> dict:
    tx = {"hash": _Node.TX, "from": "0x" + "11" * 20, "to": "0x" + "22" * 20, "value": "0x10", "blockNumber": "0x10"}
    tx.update(transactionIndex="0x0", gasPrice="0x1")
    return {**tx, **fields}


@pytest.mark.parametrize(
    ("tx", "receipt", "field", "words"),
    [
        (_tx(value=None), {"gasUsed": "0x5208", "status": "0x1"}, "value", "is null"),
        (_tx(value="-0x10"), {"gasUsed": "0x5208", "status": "0x1"}, "value", "is negative"),
        (_tx(), {"gasUsed": None, "status": "0x1"}, "gasUsed", "is null"),
        (_tx(), {"gasUsed": "-0x1", "status": "0x1"}, "gasUsed", "is negative"),
        (_tx(**{"from": None}), {"gasUsed": "0x5208"}, "from", "is null"),
    ],
)
def test_rpc_transaction_errors_name_source_field_and_object(tx: dict, receipt: dict, field: str, words: str) -> None:
    with _Node(tx, receipt) as node:
        adapter = RpcAdapter(url=node.base_url, expected_chain=ETH, method="block_scan", retry=FAST)
        with pytest.raises(SourceError) as caught:
            adapter.fetch_transaction(ETH, _Node.TX)
    message = caught.value.message
    assert message.startswith("rpc: eth_getTransaction") and _Node.TX in message
    assert f"field {field!r} {words}" in message
