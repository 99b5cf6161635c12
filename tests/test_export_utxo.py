"""The `export` source for Bitcoin: a bitcoin-etl export of a SYNTHETIC world, indexed, traces like Esplora."""

from __future__ import annotations

import json
from pathlib import Path

from chains.emulators.esplora import EsploraEmulator
from chains.esplora import EsploraAdapter
from chains.export.bitcoin import SCRIPT_TYPES, raw_to_tx
from chains.export.utxo import ExportUtxoAdapter
from chains.export.utxo_index import build_utxo_index
from tests.test_utxo_engine import FAST, config, scenario
from tracer.core.addresses import address_type
from tracer.core.models import Policy, UtxoTx
from tracer.core.networks import get_chain
from tracer.sources.utxo_history import UtxoHistoryService
from tracer.store import Store
from tracer.utxo.run import trace_utxo

ETL_TYPES = {esplora: etl for etl, esplora in SCRIPT_TYPES.items()}
ESPLORA_TYPES = {"p2pkh": "p2pkh", "p2sh": "p2sh", "p2wpkh": "v0_p2wpkh", "p2wsh": "v0_p2wsh", "p2tr": "v1_p2tr"}
BTC = get_chain("bitcoin")


def etl_row(tx: UtxoTx, position: int) -> dict:
    """A UtxoTx as a bitcoin-etl `transactions` row."""

    def kind(address: str | None) -> str:
        return ETL_TYPES[ESPLORA_TYPES[address_type(address)]] if address else "nulldata"

    return {
        "hash": tx.txid, "block_number": tx.block, "block_timestamp": tx.timestamp, "index": position,
        "is_coinbase": any(i.coinbase for i in tx.inputs), "fee": tx.fee, "lock_time": tx.locktime,
        "version": tx.version,
        "inputs": [
            {"index": n, "spent_transaction_hash": i.prev_txid, "spent_output_index": i.prev_vout,
             "type": kind(i.address), "addresses": [i.address] if i.address else [], "value": i.value}
            for n, i in enumerate(tx.inputs)
        ],
        "outputs": [
            {"index": o.index, "type": kind(o.address), "addresses": [o.address] if o.address else [], "value": o.value}
            for o in tx.outputs
        ],
    }  # fmt: skip


def test_bitcoin_export_serves_what_esplora_serves_and_traces_alike(tmp_path: Path) -> None:
    txs, labels, _ = scenario()
    export = tmp_path / "btc"
    export.mkdir()
    rows = [etl_row(tx, n) for n, tx in enumerate(txs)]
    (export / "transactions.json").write_text("".join(json.dumps(r) + "\n" for r in rows))
    build_utxo_index(export, export / "heisttrace-index", progress=lambda _: None)
    adapter = ExportUtxoAdapter(path=export)
    with EsploraEmulator(txs) as server:
        esplora = EsploraAdapter(url=server.base_url + "/api", retry=FAST)
        for tx in txs:
            assert adapter.fetch_tx(BTC, tx.txid) == esplora.fetch_tx(BTC, tx.txid) == raw_to_tx(rows[txs.index(tx)])
            assert list(adapter.fetch_outspends(BTC, tx.txid)) == list(esplora.fetch_outspends(BTC, tx.txid))
        for address in {o.address for tx in txs for o in tx.outputs if o.address}:
            assert [t.txid for t in adapter.fetch_address_txs(BTC, address)] == [
                t.txid for t in esplora.fetch_address_txs(BTC, address)
            ]
        bundles = {}
        for name, source in (("api", esplora), ("export", adapter)):
            with Store.open(tmp_path / f"{name}.sqlite3") as store:
                result = trace_utxo(config(Policy.HAIRCUT), UtxoHistoryService(source, store), labels=labels)
            bundles[name] = result
            result.write(tmp_path / f"bundle-{name}")
    assert adapter.requests == 0
    for name in ("flows.csv", "addresses.csv", "endpoints.csv"):
        assert (tmp_path / "bundle-api" / name).read_bytes() == (tmp_path / "bundle-export" / name).read_bytes(), name
    assert bundles["export"].flows.height > 5


def test_index_export_detects_a_bitcoin_export(tmp_path: Path) -> None:
    from tests.test_cluster_export import run_cli

    txs, _, _ = scenario()
    (tmp_path / "btc").mkdir()
    (tmp_path / "btc" / "transactions.json").write_text(
        "".join(json.dumps(etl_row(t, n)) + "\n" for n, t in enumerate(txs))
    )
    code, out, err = run_cli(["index-export", str(tmp_path / "btc"), "--out", str(tmp_path / "idx")], home=tmp_path)
    assert code == 0, err
    assert "indexed the bitcoin export" in out
    assert ExportUtxoAdapter(path=tmp_path / "idx").fetch_tip(BTC) == max(t.block for t in txs)
