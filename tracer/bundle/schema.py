"""The output bundle's schema (docs INTERFACES §4): file names, table columns and which columns are integers.

One definition shared by the writer (:mod:`tracer.bundle.result`, :mod:`tracer.utxo.result`), the reader
(:mod:`tracer.report.bundle`) and the synthetic test bundles.
"""

from __future__ import annotations

SUMMARY_FILE = "summary.json"
MANIFEST_FILE = "manifest.json"
GRAPH_FILE = "graph.graphml"
COMPARISON_FILE = "comparison.json"
#: Run statistics (requests made, transfers read in this run): not part of the byte-identical contract.
RUN_FILE = "run.json"
RUN_COUNTS = ("requests", "transfers_read", "cluster_requests")
RUN_NOTE = (
    "statistics of the run that wrote this bundle (requests made, transfers read); they differ between a "
    "fresh and a resumed run and are not part of the deterministic bundle contract"
)

ADDRESS_COLUMNS = (
    "chain",
    "address",
    "role",
    "category",
    "label",
    "label_source",
    "hop",
    "tainted_in",
    "asset",
    "first_tainted_at",
    "thief_funds_in",
)
FLOW_COLUMNS = (
    "chain",
    "tx_hash",
    "position",
    "block",
    "timestamp",
    "from",
    "to",
    "asset",
    "asset_id",
    "amount",
    "tainted_amount",
    "hop",
    "thief_funds_amount",
)
ENDPOINT_COLUMNS = (
    "chain",
    "address",
    "category",
    "label",
    "label_source",
    "asset",
    "tainted_amount",
    "first_tainted_at",
    "tx_hash",
    "thief_funds_amount",
)
#: Columns appended after the contract columns: thief funds (value thief-controlled addresses gained from
#: elsewhere, never stolen). Engines without attribution (UTXO) leave them at "0".
THIEF_FUNDS_COLUMNS = {"addresses": "thief_funds_in", "flows": "thief_funds_amount", "endpoints": "thief_funds_amount"}
#: Table name -> its columns, in file order; the table is written to ``<name>.csv``.
TABLES = {"addresses": ADDRESS_COLUMNS, "flows": FLOW_COLUMNS, "endpoints": ENDPOINT_COLUMNS}
#: Table name -> the USD column the valuation pass (tracer.valuation) may append after the columns above.
USD_COLUMNS = {"flows": "tainted_usd", "endpoints": "tainted_usd", "addresses": "tainted_in_usd"}
#: Table name -> the columns holding integers (every other column is text).
INT_COLUMNS = {"addresses": ("hop",), "flows": ("position", "block", "hop"), "endpoints": ()}


def table_file(table: str) -> str:
    """The CSV file name of a bundle table: 'flows' -> 'flows.csv'."""
    return f"{table}.csv"


#: The files whose bytes are the deterministic contract; the manifest lists their sha256 (``files``).
CONTRACT_FILES = (SUMMARY_FILE, *(table_file(t) for t in TABLES), GRAPH_FILE)


#: The balance-sheet buckets of summary.json, in column order (every tainted unit ends in one).
BUCKETS = (
    "stolen",
    "swapped_in",
    "swapped_out",
    "endpoints",
    "unmoved",
    "fees",
    "below_threshold",
    "unexplored",
    "excluded",  # taint stopped by an analyst's `exclude` decision (tracer.cases.decisions)
)
