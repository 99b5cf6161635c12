"""Read and validate an output bundle directory (docs INTERFACES §4) into typed rows and polars frames.

The reporter works from the bundle only. Amounts stay exact (`Decimal`, in the asset's unit);
a missing or corrupt bundle raises :class:`tracer.core.errors.BadInput` with a one-line message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cached_property
from pathlib import Path
from typing import Any

import polars as pl

from tracer.bundle.schema import (
    COMPARISON_FILE,
    MANIFEST_FILE,
    SUMMARY_FILE,
    TABLES,
    USD_COLUMNS,
    table_file,
)
from tracer.core.errors import BadInput
from tracer.report.clustering import ClusteredEndpoint, read_clustered

#: Fields of each `summary.json` asset entry, in balance-sheet order.
LEDGER_FIELDS = (
    "stolen",
    "swapped_in",
    "endpoints",
    "unmoved",
    "fees",
    "below_threshold",
    "unexplored",
    "swapped_out",
    "excluded",  # analyst `exclude` decisions (absent in older bundles: 0)
)
FEE_SINK = "fee"
ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class AssetInfo:
    """One asset of the case: key `chain:native` or `chain:<contract>`, symbol and balance-sheet ledger."""

    key: str
    symbol: str
    ledger: dict[str, Decimal]
    #: Thief funds: what thief-controlled (attributed) addresses gained from elsewhere; never part of `stolen`.
    attributed: Decimal = ZERO
    #: Thief funds at endpoints (`assets[k]["thief_funds"]["endpoints"]`).
    thief_funds_at_endpoints: Decimal = ZERO

    @property
    def chain(self) -> str:
        return self.key.split(":", 1)[0]

    @property
    def asset_id(self) -> str:
        return self.key.split(":", 1)[1]

    @property
    def total(self) -> Decimal:
        """All taint this asset ever held: stolen + swapped in (the base for shares)."""
        return self.ledger.get("stolen", ZERO) + self.ledger.get("swapped_in", ZERO)

    @property
    def balanced(self) -> bool:
        """True when stolen + swapped_in equals everything it went to (INTERFACES §4 identity)."""
        out = sum((self.ledger.get(name, ZERO) for name in LEDGER_FIELDS[2:]), ZERO)
        return self.total == out


@dataclass(frozen=True, slots=True)
class AddressRow:
    chain: str
    address: str
    role: str
    category: str
    label: str
    label_source: str
    hop: int | None
    tainted_in: Decimal
    asset: str  # asset key
    first_tainted_at: str
    thief_funds_in: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class FlowRow:
    chain: str
    tx_hash: str
    position: int
    block: int
    timestamp: str
    sender: str
    receiver: str
    asset: str  # asset key
    amount: Decimal
    tainted_amount: Decimal
    hop: int | None
    thief_funds_amount: Decimal = ZERO

    @property
    def is_fee(self) -> bool:
        return self.receiver == FEE_SINK


@dataclass(frozen=True, slots=True)
class EndpointRow:
    chain: str
    address: str
    category: str
    label: str
    label_source: str
    asset: str  # asset key
    tainted_amount: Decimal
    first_tainted_at: str
    tx_hash: str
    thief_funds_amount: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class AttributedAddress:
    """An address taken as thief-controlled because the thief funded it first (`summary["attributed_addresses"]`)."""

    chain: str
    address: str
    funded_by: str
    tx_hash: str
    timestamp: str


@dataclass
class Bundle:
    """A finished trace as written by the engine."""

    path: Path
    summary: dict[str, Any]
    manifest: dict[str, Any]
    assets: dict[str, AssetInfo]
    addresses: list[AddressRow]
    flows: list[FlowRow]
    endpoints: list[EndpointRow]
    frames: dict[str, pl.DataFrame] = field(repr=False)
    flow_symbols: dict[str, str] = field(default_factory=dict)  # asset key -> symbol seen in flows.csv
    comparison: dict[str, dict[str, Any]] | None = None
    #: Thief-controlled addresses found by first funding (empty for bundles written before attribution).
    attributed: list[AttributedAddress] = field(default_factory=list)
    #: Table -> its USD column in row order ("" unpriced; [] when the bundle was not valued).
    usd: dict[str, list[str]] = field(default_factory=dict)
    #: UTXO endpoints found by clustering, with their linking transactions (empty for other bundles).
    clustered: list[ClusteredEndpoint] = field(default_factory=list)

    @property
    def case(self) -> str:
        return str(self.summary.get("case", ""))

    @property
    def policy(self) -> str:
        return str(self.summary.get("policy", ""))

    @property
    def complete(self) -> bool:
        return bool(self.summary.get("complete", False))

    def symbol(self, asset_key: str) -> str:
        info = self.assets.get(asset_key)
        if info is not None:
            return info.symbol
        return self.flow_symbols.get(asset_key) or asset_key.split(":", 1)[-1]

    def share(self, asset_key: str, amount: Decimal) -> Decimal:
        """`amount` as a fraction of everything the asset ever carried as taint (0 when unknown)."""
        info = self.assets.get(asset_key)
        total = info.total if info else ZERO
        return amount / total if total > 0 else ZERO

    @cached_property
    def seeds(self) -> list[tuple[str, str]]:
        """(chain, address) of every seed, sorted."""
        return sorted({(r.chain, r.address) for r in self.addresses if r.role == "seed"})


def _check_file_hashes(root: Path, manifest: dict[str, Any]) -> None:
    """Refuse a bundle whose files do not belong together (each must match the manifest's sha256)."""
    import hashlib

    listed = manifest.get("files")
    if listed is None:
        return  # written before manifests listed their files: nothing to check against
    if not isinstance(listed, dict):
        raise BadInput(f"{root / MANIFEST_FILE}: 'files' must map each file name to its sha256")
    for name, digest in sorted(listed.items()):
        path = root / str(name)
        if Path(str(name)).name != name or not path.is_file():
            raise BadInput(f"{root}: {name} listed in manifest.json is missing; the bundle is incomplete")
        if hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            raise BadInput(
                f"{root}: {name} does not match manifest.json (files of different runs mixed, or edited); "
                "run the trace again to rewrite the bundle"
            )


def read_bundle(path: Path | str) -> Bundle:
    """Read the bundle directory `path`; raise BadInput naming the first problem found."""
    root = Path(path)
    if not root.is_dir():
        raise BadInput(f"no bundle at {root}: not a directory (expected the --out DIR of `heisttrace trace`)")
    if not (root / SUMMARY_FILE).exists() and (root / COMPARISON_FILE).exists():
        subs = ", ".join(str(p.parent) for p in sorted(root.glob(f"*/{SUMMARY_FILE}"))) or "none found"
        raise BadInput(f"{root} holds a policy comparison, not a bundle; report one of its bundles: {subs}")
    summary = _read_json(root / SUMMARY_FILE)
    manifest = _read_json(root / MANIFEST_FILE)
    if not isinstance(summary, dict) or not isinstance(manifest, dict):
        raise BadInput(f"{root}: summary.json and manifest.json must each hold a JSON object")
    _check_file_hashes(root, manifest)
    for key in ("case", "policy", "assets"):
        if key not in summary:
            raise BadInput(f"{root / 'summary.json'} lacks the key {key!r}")
    assets = _read_assets(root / SUMMARY_FILE, summary["assets"])
    frames = {name: _read_table(root / table_file(name), columns) for name, columns in TABLES.items()}
    symbols = _symbol_index(assets)
    usd = {name: _usd_column(frames[name], name) for name in USD_COLUMNS}
    comparison = None
    compared = root / COMPARISON_FILE
    if not compared.exists() and (root.parent / COMPARISON_FILE).exists():
        compared = root.parent / COMPARISON_FILE  # `trace --compare` writes DIR/<policy>/ and DIR/comparison.json
    if compared.exists():
        comparison = _read_json(compared)
        if not isinstance(comparison, dict) or not all(isinstance(v, dict) for v in comparison.values()):
            raise BadInput(f"{compared} must map each policy to its summary object")
        if compared.parent != root and summary.get("policy") not in comparison:
            comparison = None
    return Bundle(
        path=root,
        summary=summary,
        manifest=manifest,
        assets=assets,
        addresses=_address_rows(root / table_file("addresses"), frames["addresses"], symbols),
        flows=_flow_rows(root / table_file("flows"), frames["flows"]),
        endpoints=_endpoint_rows(root / table_file("endpoints"), frames["endpoints"], symbols),
        frames=frames,
        flow_symbols=_flow_symbols(frames["flows"]),
        comparison=comparison,
        usd=usd,
        attributed=_read_attributed(root / SUMMARY_FILE, summary.get("attributed_addresses")),
        clustered=read_clustered(root / SUMMARY_FILE, summary.get("clustering")),
    )


# --------------------------------------------------------------------------- files


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise BadInput(f"{path.parent} is not a complete bundle: {path.name} is missing")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BadInput(f"{path} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except UnicodeDecodeError:
        raise BadInput(f"{path} is not UTF-8 text") from None


def _read_table(path: Path, columns: tuple[str, ...]) -> pl.DataFrame:
    if not path.is_file():
        raise BadInput(f"{path.parent} is not a complete bundle: {path.name} is missing")
    try:
        frame = pl.read_csv(path, infer_schema=False).fill_null("")
    except pl.exceptions.NoDataError:
        raise BadInput(f"{path} is empty (expected the header {','.join(columns)})") from None
    except (pl.exceptions.ComputeError, pl.exceptions.PolarsError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BadInput(f"{path} is not a readable CSV file ({first})") from None
    core = tuple(c for c in frame.columns if c not in USD_COLUMNS.values())
    if core == columns[:-1]:  # written before thief funds had their own column
        frame = frame.with_columns(pl.lit("0").alias(columns[-1]))
        core = columns
    if core != columns:
        raise BadInput(f"{path} has columns {','.join(frame.columns)}; expected {','.join(columns)}")
    return frame


def _usd_column(frame: pl.DataFrame, table: str) -> list[str]:
    """The valuation's USD column of a table ("" for unpriced rows), or [] when the bundle has none."""
    column = USD_COLUMNS[table]
    return frame[column].to_list() if column in frame.columns else []


def _decimal(value: str, path: Path, line: int, column: str) -> Decimal:
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError):
        raise BadInput(f"{path} line {line}: {column} {value!r} is not a decimal amount") from None
    if not number.is_finite() or number < 0:
        raise BadInput(f"{path} line {line}: {column} {value!r} is not a non-negative decimal amount")
    return number


def _integer(value: str, path: Path, line: int, column: str, *, optional: bool = False) -> int | None:
    if optional and value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise BadInput(f"{path} line {line}: {column} {value!r} is not an integer") from None


def _read_assets(path: Path, raw: Any) -> dict[str, AssetInfo]:
    if not isinstance(raw, dict):
        raise BadInput(f"{path}: 'assets' must be an object keyed by chain:asset")
    assets = {}
    for key in sorted(raw):
        entry = raw[key]
        if ":" not in key or not isinstance(entry, dict):
            raise BadInput(f"{path}: asset {key!r} must be keyed chain:native or chain:<contract> and hold an object")
        ledger = {}
        for name in LEDGER_FIELDS:
            value = entry.get(name, "0")
            try:
                ledger[name] = Decimal(str(value))
            except InvalidOperation:
                raise BadInput(f"{path}: assets[{key!r}].{name} {value!r} is not a decimal amount") from None
        funds = entry.get("thief_funds", {})  # absent when nothing was attributed
        if not isinstance(funds, dict):
            raise BadInput(f"{path}: assets[{key!r}].thief_funds must be an object")
        try:
            attributed_amount = Decimal(str(funds.get("gained", "0")))
            funds_at_endpoints = Decimal(str(funds.get("endpoints", "0")))
        except InvalidOperation:
            raise BadInput(f"{path}: assets[{key!r}].thief_funds holds an amount that is not a decimal") from None
        assets[key] = AssetInfo(
            key=key,
            symbol=str(entry.get("symbol", key.split(":", 1)[1])),
            ledger=ledger,
            attributed=attributed_amount,
            thief_funds_at_endpoints=funds_at_endpoints,
        )
    return assets


def _read_attributed(path: Path, raw: Any) -> list[AttributedAddress]:
    """`attributed_addresses` of summary.json (absent in bundles written before first-funder attribution)."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise BadInput(f"{path}: 'attributed_addresses' must be a list of objects")
    rows = []
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) for k in ("chain", "address")):
            raise BadInput(f"{path}: attributed_addresses[{i}] must be an object with chain and address strings")
        rows.append(
            AttributedAddress(
                chain=entry["chain"],
                address=entry["address"],
                funded_by=str(entry.get("funded_by") or ""),
                tx_hash=str(entry.get("tx_hash") or ""),
                timestamp=str(entry.get("timestamp") or ""),
            )
        )
    return rows


def _symbol_index(assets: dict[str, AssetInfo]) -> dict[tuple[str, str], str]:
    index: dict[tuple[str, str], str] = {}
    for info in assets.values():
        index.setdefault((info.chain, info.symbol), info.key)
    return index


def _asset_key(chain: str, value: str, symbols: dict[tuple[str, str], str]) -> str:
    """An asset column as a key: `chain:id` stays; `native`/contract gets the chain; a symbol is looked up."""
    if ":" in value:
        return value
    if value == "native" or value.startswith("0x"):
        return f"{chain}:{value.lower() if value.startswith('0x') else value}"
    return symbols.get((chain, value), f"{chain}:{value}")


def _flow_symbols(frame: pl.DataFrame) -> dict[str, str]:
    symbols: dict[str, str] = {}
    for chain, symbol, asset_id in frame.select("chain", "asset", "asset_id").unique().sort(pl.all()).iter_rows():
        asset_id = asset_id.lower() if asset_id.startswith("0x") else asset_id
        symbols.setdefault(f"{chain}:{asset_id}", symbol)
    return symbols


def _lines(frame: pl.DataFrame) -> Any:
    """(line number, row) of a table's schema columns (the USD column, if any, is read apart)."""
    return enumerate(frame.drop([c for c in frame.columns if c in USD_COLUMNS.values()]).iter_rows(), start=2)


def _address_rows(path: Path, frame: pl.DataFrame, symbols: dict[tuple[str, str], str]) -> list[AddressRow]:
    rows = []
    for line, (chain, address, role, category, label, source, hop, tainted, asset, first, funds) in _lines(frame):
        rows.append(
            AddressRow(
                chain=chain,
                address=address,
                role=role,
                category=category,
                label=label,
                label_source=source,
                hop=_integer(hop, path, line, "hop", optional=True),
                tainted_in=_decimal(tainted, path, line, "tainted_in"),
                asset=_asset_key(chain, asset, symbols),
                first_tainted_at=first,
                thief_funds_in=_decimal(funds or "0", path, line, "thief_funds_in"),
            )
        )
    return rows


def _flow_rows(path: Path, frame: pl.DataFrame) -> list[FlowRow]:
    rows = []
    for line, (
        chain,
        tx,
        position,
        block,
        ts,
        sender,
        receiver,
        _symbol,
        asset_id,
        amount,
        tainted,
        hop,
        funds,
    ) in _lines(frame):
        asset_id = asset_id.lower() if asset_id.startswith("0x") else asset_id
        rows.append(
            FlowRow(
                chain=chain,
                tx_hash=tx,
                position=_integer(position, path, line, "position") or 0,
                block=_integer(block, path, line, "block") or 0,
                timestamp=ts,
                sender=sender,
                receiver=receiver,
                asset=f"{chain}:{asset_id}",
                amount=_decimal(amount, path, line, "amount"),
                tainted_amount=_decimal(tainted, path, line, "tainted_amount"),
                hop=_integer(hop, path, line, "hop", optional=True),
                thief_funds_amount=_decimal(funds or "0", path, line, "thief_funds_amount"),
            )
        )
    return rows


def _endpoint_rows(path: Path, frame: pl.DataFrame, symbols: dict[tuple[str, str], str]) -> list[EndpointRow]:
    rows = []
    for line, (chain, address, category, label, source, asset, tainted, first, tx, funds) in _lines(frame):
        rows.append(
            EndpointRow(
                chain=chain,
                address=address,
                category=category,
                label=label,
                label_source=source,
                asset=_asset_key(chain, asset, symbols),
                tainted_amount=_decimal(tainted, path, line, "tainted_amount"),
                first_tainted_at=first,
                tx_hash=tx,
                thief_funds_amount=_decimal(funds or "0", path, line, "thief_funds_amount"),
            )
        )
    return rows
