"""Put a valuation into a TraceResult or a written bundle (columns appended at the end, summary sections)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl

from tracer.bundle.result import file_hashes
from tracer.bundle.schema import CONTRACT_FILES, MANIFEST_FILE, SUMMARY_FILE, USD_COLUMNS, table_file
from tracer.valuation.book import PriceBook
from tracer.valuation.bundle import Valued, value_rows


def _without_usd(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    return frame.drop([c for c in frame.columns if c == USD_COLUMNS[table]])


def _with(frame: pl.DataFrame, table: str, values: list[str | None]) -> pl.DataFrame:
    return _without_usd(frame, table).with_columns(pl.Series(USD_COLUMNS[table], values, dtype=pl.Utf8))


def strip_usd(summary: dict[str, Any]) -> dict[str, Any]:
    """`summary` without any earlier valuation (its `usd` sections and unpriced gap lines)."""
    doc = dict(summary)
    doc.pop("usd", None)
    doc["assets"] = {k: {b: v for b, v in row.items() if b != "usd"} for k, row in summary["assets"].items()}
    doc["gaps"] = [g for g in summary.get("gaps") or [] if not (isinstance(g, str) and g.startswith("unpriced: "))]
    return doc


def _merge(summary: dict[str, Any], manifest: dict[str, Any], valued: Valued) -> tuple[dict, dict]:
    doc = strip_usd(summary)
    for key, per in valued.assets.items():
        doc["assets"][key] = {**doc["assets"][key], "usd": per}
    doc["gaps"] = [*doc["gaps"], *valued.gaps]
    doc["usd"] = valued.usd
    return doc, {**manifest, "price_responses": valued.evidence}


def tip_times(manifest: dict[str, Any]) -> dict[str, int]:
    """The pinned tips' times per chain, when the manifest records them (`tip_times`)."""
    return {str(k): int(v) for k, v in (manifest.get("tip_times") or {}).items()}


def value_result(result: Any, book: PriceBook) -> Any:
    """Value a :class:`tracer.bundle.result.TraceResult` in place and return it."""
    valued = value_rows(
        result.summary,
        result.flows.to_dicts(),
        result.endpoints.to_dicts(),
        result.addresses.to_dicts(),
        book,
        tip_times=tip_times(result.manifest),
    )
    result.flows = _with(result.flows, "flows", valued.flows)
    result.endpoints = _with(result.endpoints, "endpoints", valued.endpoints)
    result.addresses = _with(result.addresses, "addresses", valued.addresses)
    result.summary, result.manifest = _merge(result.summary, result.manifest, valued)
    return result


def _read(directory: Path, table: str) -> pl.DataFrame:
    return pl.read_csv(directory / table_file(table), infer_schema=False)


def value_bundle_dir(directory: Path, book: PriceBook | None) -> None:
    """Re-value a written bundle in place (book None: remove its USD columns and sections)."""
    summary = json.loads((directory / SUMMARY_FILE).read_text())
    manifest = json.loads((directory / MANIFEST_FILE).read_text())
    frames = {t: _read(directory, t) for t in USD_COLUMNS}
    if book is None:
        frames = {t: _without_usd(f, t) for t, f in frames.items()}
        summary, manifest = strip_usd(summary), {k: v for k, v in manifest.items() if k != "price_responses"}
    else:
        rows = {t: _without_usd(f, t).to_dicts() for t, f in frames.items()}
        valued = value_rows(
            summary, rows["flows"], rows["endpoints"], rows["addresses"], book, tip_times=tip_times(manifest)
        )
        frames = {
            "flows": _with(frames["flows"], "flows", valued.flows),
            "endpoints": _with(frames["endpoints"], "endpoints", valued.endpoints),
            "addresses": _with(frames["addresses"], "addresses", valued.addresses),
        }
        summary, manifest = _merge(summary, manifest, valued)
    for table, frame in frames.items():
        frame.write_csv(directory / table_file(table))
    (directory / SUMMARY_FILE).write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    if "files" in manifest:  # the manifest lists the hash of every contract file: keep it true
        manifest["files"] = file_hashes(directory, CONTRACT_FILES)
    (directory / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
