"""TronGrid rows checked before they are read (:mod:`chains.rows`): v1 transactions and trc20 rows.

A `null` amount or fee read as ``int(x or 0)`` silently became zero; a negative one raised a bare
``ValueError`` from the record ("internal error"). Each is now one source error naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chains.rows import check_row

SOURCE = "trongrid"
_IDENT = ("txID", "transaction_id")


def check_tron_tx(row: Any) -> None:
    """A v1 transaction row: its id, block, time, fees and the TRX amounts it moves."""
    check_row(
        SOURCE,
        "transaction",
        0,
        row,
        required=("txID",),
        numbers=("blockNumber",),
        optional_numbers=("block_timestamp", "net_fee", "energy_fee"),
        ident=_IDENT,
    )
    where = f"transaction {row['txID']}"
    for index, ret in enumerate(row.get("ret") or ()):
        check_row(SOURCE, f"{where} ret", index, ret, optional_numbers=("fee",), ident=())
    for index, contract in enumerate((row.get("raw_data") or {}).get("contract") or ()):
        check_row(SOURCE, f"{where} contract", index, contract, ident=())
        value = (contract.get("parameter") or {}).get("value")
        if isinstance(value, Mapping):
            check_row(SOURCE, f"{where} contract", index, value, optional_numbers=("amount", "call_value"), ident=())
    for index, internal in enumerate(row.get("internal_transactions") or ()):
        check_row(SOURCE, f"{where} internal_transactions", index, internal, ident=())
        call_value = (internal.get("data") or {}).get("call_value")
        if isinstance(call_value, Mapping):
            check_row(SOURCE, f"{where} internal_transactions", index, call_value, optional_numbers=("_",), ident=())


def check_trc20_row(row: Any) -> None:
    """A trc20 row: transaction, parties, token and a non-negative value."""
    check_row(
        SOURCE,
        "trc20",
        0,
        row,
        required=("transaction_id", "from", "to", "token_info"),
        numbers=("value",),
        optional_numbers=("block_timestamp",),
        ident=_IDENT,
    )
    check_row(
        SOURCE,
        f"trc20 {row['transaction_id']} token_info",
        0,
        row["token_info"],
        required=("address",),
        optional_numbers=("decimals",),
        ident=(),
    )
