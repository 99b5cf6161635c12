"""Every recorded body of the live explorers reads into the right records (issue 14).

The bodies are read at run time from ../shared/data/raw/real-explorer-responses (tests only,
never copied): each is served by :class:`chains.emulators.replay.ReplayServer` to the real
adapters, and what they return is compared with values computed here, independently, from
the raw JSON (count, base-unit amounts, fees, success flags, positions). Adding a recorded
file adds a case. Lists the recording does not hold are answered empty by the test server;
internal rows whose parent transaction is in no recording therefore cost a failed lookup,
which must be a named gap, never a failed history.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest

from chains.emulators.replay import Recording, ReplayServer, load_recordings
from chains.esplora import EsploraAdapter
from chains.etherscan import MAX_BLOCK, EtherscanAdapter
from chains.http import RetryPolicy
from chains.positions import internal_position_of, token_position_of
from tracer.core.addresses import GENESIS
from tracer.core.errors import SourceError, SourceRejected, TracerError
from tracer.core.models import FEE_SINK, TransferKind
from tracer.core.networks import chain_by_id, get_chain
from tracer.sources.history import HistoryService
from tracer.store import Store

SAMPLE = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "raw" / "real-explorer-responses"
RECORDINGS = load_recordings(SAMPLE) if SAMPLE.is_dir() else []
pytestmark = pytest.mark.skipif(not RECORDINGS, reason="../shared/data/raw/real-explorer-responses absent")

SERVED = [r for r in RECORDINGS if not r.catch_all]  # pasted error bodies answer anything: served alone
ACCOUNT_LISTS = [r for r in RECORDINGS if r.query.get("module") == "account" and r.query.get("address")]
TXHASH_LISTS = [r for r in RECORDINGS if r.query.get("action") == "txlistinternal" and r.query.get("txhash")]
ERRORS = [r for r in RECORDINGS if isinstance(json.loads(r.body).get("result"), str) and "status" in json.loads(r.body)]
ESPLORA_TXS = [r for r in RECORDINGS if r.meta.get("family") == "esplora" and "/tx/" in r.path]


def _id(recording: Recording) -> str:
    return f"{recording.meta['endpoint']}/{recording.body_file.name}"


def _adapter(url: str, **kw: object) -> EtherscanAdapter:
    options: dict = {
        "url": url,
        "rate_per_s": None,
        "page_size": 10_000,
        "retry": RetryPolicy(attempts=3, backoff_base=0.0, backoff_max=0.0, timeout=5.0),
        "sleep": lambda _s: None,
    }
    options.update(kw)
    return EtherscanAdapter(**options)


def _chain(recording: Recording):
    return chain_by_id(int(recording.meta["chain_id"]))


def _rows(recording: Recording) -> list[dict]:
    result = json.loads(recording.body).get("result")
    return result if isinstance(result, list) else []


def _expected(recording: Recording, address: str) -> Counter:
    """(kind, tx, sender, receiver, amount, success, position) of every record, from the raw JSON alone."""
    action = recording.query["action"]
    out: Counter = Counter()
    seen: Counter = Counter()
    for row in _rows(recording):
        tx = (row.get("hash") or row.get("transactionHash")).lower()
        sender = GENESIS if row["from"] == "GENESIS" else row["from"].lower()
        receiver = (row.get("to") or row.get("contractAddress") or "").lower()
        value = int(row["value"])
        if action == "txlist":
            ok = row.get("isError") != "1" and row.get("txreceipt_status") != "0"
            fee = int(row["gasUsed"]) * int(row["gasPrice"])
            if fee and sender == address:
                out[("fee", tx, sender, FEE_SINK, fee, True, 0)] += 1
            if value and receiver:
                out[("external", tx, sender, receiver, value, ok, 1)] += 1
        elif action == "txlistinternal":
            k = seen[(tx, sender, receiver, value)]
            seen[(tx, sender, receiver, value)] += 1
            position = internal_position_of(sender, receiver, value, k)
            out[("internal", tx, sender, receiver, value, row.get("isError") != "1", position)] += 1
        else:
            token = row["contractAddress"].lower()
            k = seen[(tx, token, sender, receiver, value)]
            seen[(tx, token, sender, receiver, value)] += 1
            out[("token", tx, sender, receiver, value, True, token_position_of(token, sender, receiver, value, k))] += 1
    return out


@pytest.mark.parametrize("recording", ACCOUNT_LISTS, ids=_id)
def test_account_lists_read_into_the_right_transfers(recording: Recording) -> None:
    if recording in ERRORS:
        pytest.skip("an error body (see test_error_bodies)")
    address = recording.query["address"].lower()
    start = int(recording.query.get("startblock", 0))
    end = int(recording.query.get("endblock", MAX_BLOCK))
    with ReplayServer(SERVED, empty_lists=True) as server:
        chunk = _adapter(server.url_for(recording)).fetch_history(
            _chain(recording), address, start_block=start, end_block=end
        )
        served = list(dict.fromkeys(r for r in server.served if r is not None))  # the other lists, when recorded
    got = Counter(
        (t.kind.value, t.tx_hash, t.sender, t.receiver, t.amount, t.success, t.position) for t in chunk.transfers
    )
    assert recording in served
    assert got == sum((_expected(r, address) for r in served if r.query.get("address")), Counter())
    assert len({(t.tx_hash, t.position) for t in chunk.transfers}) == len(chunk.transfers)  # identities unique
    if any(
        str(json.loads(r.body).get("status")) == "2" for r in served
    ):  # Blockscout: internal transactions not yet processed
        assert not chunk.complete and any("status 2" in g for g in chunk.gaps)
    for row in _rows(recording):
        if recording.query["action"] == "tokentx":
            token = next(
                t
                for t in chunk.transfers
                if (t.tx_hash, t.asset.contract, t.amount)
                == (row["hash"].lower(), row["contractAddress"], int(row["value"]))
            )
            assert (token.asset.decimals, token.asset.symbol) == (int(row["tokenDecimal"]), row["tokenSymbol"])


@pytest.mark.parametrize("recording", TXHASH_LISTS, ids=_id)
def test_txhash_internals_keep_every_identical_call(recording: Recording) -> None:
    tx_hash = recording.query["txhash"].lower()
    with ReplayServer(SERVED) as server:
        internals = _adapter(server.url_for(recording)).fetch_tx_internals(_chain(recording), tx_hash)
    rows = _rows(recording)
    assert [(t.sender, t.receiver, t.amount, t.success) for t in internals] == [
        (r["from"], r["to"] or r["contractAddress"], int(r["value"]), r["isError"] != "1") for r in rows
    ]
    assert len({t.position for t in internals}) == len(rows)  # identical calls never collapse
    assert sum(t.amount for t in internals) == sum(int(r["value"]) for r in rows)


def test_genesis_allocation_is_an_inflow_from_nobody(tmp_path: Path) -> None:
    genesis = [r for r in ACCOUNT_LISTS if any(row.get("from") == "GENESIS" for row in _rows(r))]
    assert genesis, "the sample holds a genesis allocation"
    recording = genesis[0]
    address = recording.query["address"].lower()
    with ReplayServer(SERVED, empty_lists=True) as server:
        chunk = _adapter(server.url_for(recording)).fetch_history(
            _chain(recording), address, start_block=0, end_block=int(recording.query["endblock"])
        )
    first = chunk.transfers[0]
    assert (first.sender, first.receiver, first.block, first.kind) == (GENESIS, address, 0, TransferKind.EXTERNAL)
    assert first.tx_hash == f"genesis_{address[2:]}" and not any(
        t.kind is TransferKind.FEE and t.block == 0 for t in chunk.transfers
    )
    with Store.open(tmp_path / "store.sqlite3") as store:  # the hash and the pseudo-sender fit the store
        store.write_history("etherscan", _chain(recording).slug, address, chunk)
        back = store.read_transfers("etherscan", _chain(recording).slug, address)
        assert back == sorted(chunk.transfers, key=lambda t: t.order_key)


def test_status_2_history_is_never_complete_nor_covered(tmp_path: Path) -> None:
    status_2 = [r for r in ACCOUNT_LISTS if str(json.loads(r.body).get("status")) == "2"]
    assert status_2, "the sample holds a Blockscout status 2 answer"
    recording = status_2[0]
    chain = _chain(recording)
    address = recording.query["address"].lower()
    with ReplayServer(SERVED, empty_lists=True) as server, Store.open(tmp_path / "store.sqlite3") as store:
        service = HistoryService(store, {chain.slug: _adapter(server.url_for(recording))})
        chunk = service.history(chain, address, start_block=0, end_block=MAX_BLOCK)
        assert not chunk.complete and chunk.gaps and chunk.transfers
        assert store.missing_ranges("etherscan", chain.slug, address, 0, MAX_BLOCK) == [(0, MAX_BLOCK)]
        asked = len([r for r in server.served if r is recording])
        assert asked == 3  # asked, then retried twice, before the gap is named


@pytest.mark.parametrize("recording", ERRORS, ids=_id)
def test_error_bodies(recording: Recording) -> None:
    text = json.loads(recording.body)["result"]
    chain = _chain(recording) if recording.meta.get("chain_id") else get_chain("ethereum")
    anything = Recording(recording.body_file, {**recording.meta, "request": {"path": "(any request)"}})
    with ReplayServer([anything]) as server:
        adapter = _adapter(server.url_for(anything), api_key="K" * 34)
        with pytest.raises(TracerError) as info:
            adapter.fetch_history(chain, "0x" + "11" * 20, start_block=0, end_block=10)
        requests = server.requests
    error = info.value
    assert isinstance(error, SourceError) and "K" * 34 not in error.message
    lowered = text.lower()
    if "rate limit" in lowered or "temporarily unavailable" in lowered:
        assert requests == 3 and not isinstance(error, SourceRejected)  # retried, then given up
    else:
        assert requests == 1 and isinstance(error, SourceRejected)  # permanent: asked once
    if "not supported for this chain" in lowered:
        assert chain.slug in error.message and "plan" in error.message
    if "api key" in lowered:
        assert "ETHERSCAN_API_KEY" in error.message


@pytest.mark.parametrize("recording", ESPLORA_TXS, ids=_id)
def test_esplora_transactions_and_outputs_without_address(recording: Recording) -> None:
    doc = json.loads(recording.body)
    with ReplayServer(SERVED) as server:
        tx = EsploraAdapter(url=server.url_for(recording), rate_per_s=None).fetch_tx(get_chain("bitcoin"), doc["txid"])
    assert (tx.txid, tx.fee, tx.block) == (doc["txid"], doc["fee"], doc["status"].get("block_height"))
    for out, vout in zip(tx.outputs, doc["vout"], strict=True):
        assert out.value == vout["value"]
        if vout.get("scriptpubkey_address"):
            assert out.address == vout["scriptpubkey_address"]
        elif vout["scriptpubkey_type"] == "op_return":
            assert out.address is None
        else:  # P2PK, bare multisig: spendable, named by its script
            assert out.address == "script-" + hashlib.sha256(bytes.fromhex(vout["scriptpubkey"])).hexdigest()
    assert [i.value for i in tx.inputs] == [v["prevout"]["value"] for v in doc["vin"]]
    assert sum(i.value for i in tx.inputs) == sum(o.value for o in tx.outputs) + tx.fee
