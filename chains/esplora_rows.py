"""An Esplora transaction checked before it is read (:mod:`chains.rows`): inputs, outputs, status.

Without it a `null` output value is a ``TypeError`` ("internal error"), a negative one an output
that takes value away, and a `null` fee silently zero. Each is one source error naming the field.
"""

from __future__ import annotations

from typing import Any

from chains.rows import check_row
from tracer.core.errors import SourceError

SOURCE = "esplora"


def check_esplora_tx(doc: Any) -> None:
    """Raise one :class:`SourceError` unless `doc` is a readable Esplora transaction."""
    check_row(SOURCE, "transaction", 0, doc, required=("txid",), optional_numbers=("fee", "locktime", "version"))
    txid = str(doc["txid"])
    for key in ("vin", "vout"):
        if doc.get(key) is not None and not isinstance(doc[key], list):
            raise SourceError(f"{SOURCE}: transaction {txid}: field {key!r} is not a list")
    for index, vin in enumerate(doc.get("vin") or ()):
        check_row(SOURCE, f"transaction {txid} input", index, vin)
        if vin.get("is_coinbase") or vin.get("prevout") is None:
            continue
        check_row(SOURCE, f"transaction {txid} input", index, vin, required=("txid",), numbers=("vout",), ident=())
        check_row(SOURCE, f"transaction {txid} input", index, vin["prevout"], numbers=("value",), ident=())
    for index, vout in enumerate(doc.get("vout") or ()):
        check_row(SOURCE, f"transaction {txid} output", index, vout, numbers=("value",), ident=())
    status = doc.get("status")
    if status is not None:
        check_row(SOURCE, f"transaction {txid} status", 0, status, ident=())
        if status.get("confirmed"):  # a height or time may be unknown (absent), never null or negative
            check_row(
                SOURCE,
                f"transaction {txid} status",
                0,
                status,
                optional_numbers=("block_height", "block_time"),
                ident=(),
            )
