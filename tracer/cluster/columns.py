"""The local engine's column work (polars): the CoinJoin prefilter, input keys and star links.

Used when the export's `inputs` and `outputs` are nested lists (JSON lines, Parquet) with
integer output values; other exports (CSV's JSON text) go row by row through
:func:`tracer.cluster.links.link_rows`.
"""

from __future__ import annotations

import polars as pl

from heuristics.coinjoin import PREFILTER_MIN_INPUTS, PREFILTER_MIN_OUTPUTS

#: Whitespace stripped from a txid in both engines (polars and Spark agree on exactly these).
TXID_SPACE = " \t\n\r\x0b\x0c"


def columnar(schema: pl.Schema | dict[str, pl.DataType]) -> bool:
    """True when the columns below apply: nested inputs naming `addresses`, nested integer output values."""
    inputs, outputs = schema.get("inputs"), schema.get("outputs")
    if not (isinstance(inputs, pl.List) and isinstance(inputs.inner, pl.Struct)):
        return False
    if not (isinstance(outputs, pl.List) and isinstance(outputs.inner, pl.Struct)):
        return False
    ins = {f.name: f.dtype for f in inputs.inner.fields}
    outs = {f.name: f.dtype for f in outputs.inner.fields}
    listed = ins.get("addresses")
    strings = all(ins.get(name, pl.String) in (pl.String, pl.Null) for name in ("type", "script_hex"))
    return (
        isinstance(listed, pl.List)
        and listed.inner in (pl.String, pl.Null)
        and strings
        and "value" in outs
        and outs["value"].is_integer()
    )


def may_be_coinjoin_expr() -> pl.Expr:
    """:func:`heuristics.coinjoin.may_be_coinjoin` on the raw columns (a null value counts as 0)."""
    values = pl.col("outputs").list.eval(pl.element().struct.field("value"))
    values = values.list.eval(pl.element().filter(pl.element() > 0))
    n = values.list.len().fill_null(0)
    inputs = pl.col("inputs").list.len().fill_null(0)
    return (inputs >= PREFILTER_MIN_INPUTS) & (n >= PREFILTER_MIN_OUTPUTS) & (values.list.n_unique().fill_null(0) < n)


def txid_expr() -> pl.Expr:
    return pl.col("hash").cast(pl.String).str.strip_chars(TXID_SPACE).str.to_lowercase()


def input_keys(batch: pl.DataFrame, row0: int) -> pl.DataFrame:
    """(row, candidate, first, kind, script) of every input of the batch, rows numbered from `row0`:
    `first` its only listed address (`""` when it lists none or several), `kind`/`script` its script
    type and hex (`""` when absent). Strings here are views of the batch: keep them only through
    :func:`own`."""
    fields = {f.name for f in batch.schema["inputs"].inner.fields}  # type: ignore[attr-defined]

    def field(name: str) -> pl.Expr:
        if name not in fields:
            return pl.lit("", dtype=pl.String)
        return pl.col("i").struct.field(name).cast(pl.String).fill_null("")

    listed = pl.col("i").struct.field("addresses")
    first = pl.when(listed.list.len() == 1).then(listed.list.first().cast(pl.String)).otherwise(pl.lit(""))
    return (
        batch.select(
            row=pl.int_range(row0, row0 + batch.height, dtype=pl.UInt64),
            candidate=may_be_coinjoin_expr(),
            i=pl.col("inputs"),
        )
        .explode("i")
        .filter(pl.col("i").is_not_null())
        .select("row", "candidate", first=first.fill_null(""), kind=field("type"), script=field("script_hex"))
    )


def own(column: str | pl.Expr) -> pl.Expr:
    """The strings copied out of their batch (a kept view of a string would keep the whole batch's buffers)."""
    expr = pl.col(column) if isinstance(column, str) else column
    return pl.concat_str([expr, pl.lit("")]).alias(expr.meta.output_name())


def star_links(addressed: pl.DataFrame, txids: pl.DataFrame) -> pl.DataFrame:
    """(txid, a, b) of each row's distinct input addresses, star-shaped from the smallest."""
    distinct = addressed.select("row", "address").unique()
    anchored = distinct.with_columns(anchor=pl.col("address").min().over("row"))
    return (
        anchored.filter(pl.col("address") != pl.col("anchor"))
        .join(txids, on="row", how="left")
        .select("txid", a="anchor", b="address")
    )
