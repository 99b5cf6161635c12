"""bitcoin-etl / BigQuery `crypto_bitcoin` transactions as :class:`UtxoTx` records.

A row of the `transactions` table carries `hash, block_number, block_timestamp, is_coinbase,
fee, lock_time, version` and the nested `inputs` (`index, spent_transaction_hash,
spent_output_index, type, addresses, value`) and `outputs` (`index, type, addresses, value`):
nested lists in JSON lines (bitcoin-etl's default) and Parquet (BigQuery), JSON text in CSV.
An input or output has the address its script names when it names exactly one that reads as a
Bitcoin address; other spendable scripts (P2PK, bare multisig, the ``nonstandard…`` names
bitcoin-etl gives) get the script pseudo-address the Esplora adapter gives them (when the row
carries `script_hex`), OP_RETURN (`nulldata`) none. Script types are named as Esplora names them.

:func:`raw_to_tx` is the one mapping from such a row to a record: the cluster job (local and
Spark engines alike) and the UTXO adapter use it, so they read an export the same way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from chains.export import tables as t
from tracer.core.addresses import normalize_address, script_pseudo_address
from tracer.core.errors import BadInput
from tracer.core.models import TxInput, TxOutput, UtxoTx

RAW_COLUMNS = ("hash", "block_number", "block_timestamp", "is_coinbase", "fee", "lock_time", "version", "index")
#: bitcoin-etl script types -> Esplora's `scriptpubkey_type`.
SCRIPT_TYPES = {
    "pubkeyhash": "p2pkh", "scripthash": "p2sh", "witness_v0_keyhash": "v0_p2wpkh",
    "witness_v0_scripthash": "v0_p2wsh", "witness_v1_taproot": "v1_p2tr", "nulldata": "op_return",
    "pubkey": "p2pk", "multisig": "multisig", "nonstandard": "unknown", "witness_unknown": "unknown",
}  # fmt: skip


def scan_raw(export_dir: Path) -> pl.LazyFrame:
    """The `transactions` table with the columns :func:`raw_to_tx` reads (lazy; nested columns as they are)."""
    raw = t.scan_table(export_dir, "transactions")
    assert raw is not None
    s = t.columns(raw)
    t.require(s, "transactions", "hash", "inputs", "outputs")
    keep = [c for c in RAW_COLUMNS if c in s]
    frame = raw.select(*keep, "inputs", "outputs")
    if "block_timestamp" in s:
        frame = frame.with_columns(block_timestamp=t.unix_seconds("block_timestamp", s))
    return frame


def _nested(value: Any, what: str) -> list[Mapping[str, Any]]:
    if value is None:
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else []
        except ValueError:
            raise BadInput(f"bitcoin export: {what} is not JSON: {value[:60]!r}") from None
    if not isinstance(value, list | tuple):
        raise BadInput(f"bitcoin export: {what} is not a list: {str(value)[:60]!r}")
    return [v if isinstance(v, Mapping) else v.asDict(recursive=True) for v in value]


def part_address(chain: str, part: Mapping[str, Any]) -> str | None:
    """The address of one input or output of a row (None for OP_RETURN and unreadable scripts): the one
    address it lists when that reads as an address, else the pseudo-address of its script."""
    addresses = part.get("addresses")
    if isinstance(addresses, str):  # a CSV that flattened the list
        addresses = [a for a in addresses.strip("[]").replace('"', "").split(",") if a.strip()]
    listed = listed_address(chain, addresses[0]) if addresses and len(addresses) == 1 else None
    return listed or script_address(part.get("type"), part.get("script_hex"))


def listed_address(chain: str, text: Any) -> str | None:
    """The normalised address of a part's only listed address, or None when it does not read as one."""
    text = str(text).strip()
    if not text or text.startswith("nonstandard"):
        return None
    try:
        return normalize_address(chain, text)
    except ValueError:
        return None


def script_address(kind: Any, script_hex: Any) -> str | None:
    """The script pseudo-address of a part with script type `kind` (None for OP_RETURN and unreadable scripts)."""
    script = str(script_hex or "")
    if not script or kind == "nulldata" or script.startswith("6a"):
        return None
    try:
        return script_pseudo_address(script)
    except ValueError:
        return None


def _int(value: Any, default: int = 0) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, str):
        value = value.split(".", 1)[0]
    return int(value)


def _flag(value: Any) -> bool:
    return str(value).strip().lower() in ("true", "1")


def raw_to_tx(row: Mapping[str, Any], chain: str = "bitcoin") -> UtxoTx:
    """One bitcoin-etl row (a dict, or a Spark Row's dict) as a :class:`UtxoTx`."""
    txid = str(row["hash"]).strip().lower()
    coinbase = _flag(row.get("is_coinbase"))
    try:
        inputs = tuple(
            TxInput(
                None if coinbase else str(i.get("spent_transaction_hash") or "").lower() or None,
                None if coinbase else _int(i.get("spent_output_index"), 0),
                part_address(chain, i),
                _int(i.get("value")),
                coinbase,
            )
            for i in sorted(_nested(row.get("inputs"), f"{txid} inputs"), key=lambda i: _int(i.get("index")))
        )
        outputs = tuple(
            TxOutput(
                _int(o.get("index")),
                part_address(chain, o),
                _int(o.get("value")),
                SCRIPT_TYPES.get(str(o.get("type") or ""), str(o.get("type") or "")),
            )
            for o in sorted(_nested(row.get("outputs"), f"{txid} outputs"), key=lambda o: _int(o.get("index")))
        )
        block = row.get("block_number")
        stamp = row.get("block_timestamp")
        return UtxoTx(
            chain=chain,
            txid=txid,
            block=None if block in (None, "") else _int(block),
            timestamp=None if stamp in (None, "") else _int(stamp),
            inputs=inputs,
            outputs=outputs,
            fee=_int(row.get("fee")),
            locktime=_int(row.get("lock_time")),
            version=_int(row.get("version"), 1),
        )
    except (TypeError, ValueError, AttributeError) as exc:
        raise BadInput(f"bitcoin export: transaction {txid} could not be read ({exc})") from None
