"""Read and write label files: CSV and GraphSense TagPack YAML.

CSV columns (header required; only the first three are mandatory)::

    chain,address,category,name,source,source_ref,source_words,confidence

TagPacks follow the GraphSense schema: header fields (``title``, ``creator``, ``currency``/``network``,
``category``, ``abuse``, ``confidence``, ``source``, ``label``, ...) are inherited by every item of
``tags:``. Malformed input raises :class:`tracer.core.errors.BadLabelFile` naming the file and line.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tracer.core.cells import csv_safe_row, csv_unescape
from tracer.core.errors import BadAddress, BadInput, BadLabelFile
from tracer.core.models import Category, Label
from tracer.core.networks import CHAINS
from tracer.labels.taxonomy import (
    DEFAULT_CONFIDENCE,
    GRAPHSENSE_EXPORT,
    graphsense_category,
    graphsense_confidence,
    parse_category,
)

CSV_COLUMNS = ("chain", "address", "category", "name", "source", "source_ref", "source_words", "confidence")
REQUIRED_CSV_COLUMNS = ("chain", "address", "category")
USER_SOURCE = "user"

#: TagPack header keys that every tag inherits.
TAGPACK_INHERITED = ("currency", "network", "category", "abuse", "confidence", "source", "actor", "label", "context")

_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper: type = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

#: TagPack currency / network words -> our chain slug (None: decide by address form).
_CURRENCY_CHAINS: dict[str, str | None] = {
    "btc": "bitcoin",
    "bitcoin": "bitcoin",
    "eth": "ethereum",
    "ethereum": "ethereum",
    "trx": "tron",
    "tron": "tron",
    "bep20": "bsc",
    "bsc": "bsc",
    "bnb": "bsc",
    "matic": "polygon",
    "polygon": "polygon",
    "pol": "polygon",
    "avax": "avalanche",
    "avalanche": "avalanche",
    "arb": "arbitrum",
    "arbitrum": "arbitrum",
    "op": "optimism",
    "optimism": "optimism",
    "base": "base",
    "usdt": None,
    "usdc": None,
}


def chain_for_tag(currency: str | None, address: str, network: str | None = None) -> str | None:
    """Our chain slug for a TagPack tag, or None when the chain is not one we support."""
    for word in (network, currency):
        if not word:
            continue
        key = str(word).strip().lower()
        if key in CHAINS:
            return key
        if key in _CURRENCY_CHAINS:
            chain = _CURRENCY_CHAINS[key]
            if chain is None:  # a token living on several chains: the address form decides
                if address.startswith("0x"):
                    return "ethereum"
                if address.startswith("T"):
                    return "tron"
                return None
            if chain in ("avalanche", "polygon", "bsc") and not address.startswith("0x"):
                return None  # e.g. Avalanche X-chain or BEP2 addresses
            return chain
        return None
    return None


# --------------------------------------------------------------------------- CSV


def read_label_csv(path: Path) -> list[Label]:
    """Labels from a CSV file (see module doc)."""
    return parse_label_csv(_read_text(path), name=str(path))


def parse_label_csv(text: str, *, name: str) -> list[Label]:
    """Labels from CSV text; `name` is used in error messages."""
    reader = csv.reader(io.StringIO(text), strict=True)
    header: list[str] | None = None
    labels: list[Label] = []
    line = 0
    try:
        for row in reader:
            start, line = line + 1, reader.line_num
            if not row or not any(cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
                continue
            if header is None:
                header = [cell.strip().lower() for cell in row]
                _check_header(header, name=name, line=start)
                continue
            if len(row) > len(header):
                raise BadLabelFile(f"{name} line {start}: {len(row)} fields but the header has {len(header)}")
            fields = {key: (csv_unescape(row[i].strip()) if i < len(row) else "") for i, key in enumerate(header)}
            labels.append(_label_from_fields(fields, name=name, line=start))
    except csv.Error as exc:
        raise BadLabelFile(f"{name} line {line + 1}: not valid CSV ({exc})") from None
    if header is None:
        raise BadLabelFile(f"{name} line 1: empty file; expected a header with {', '.join(REQUIRED_CSV_COLUMNS)}")
    return labels


def _check_header(header: list[str], *, name: str, line: int) -> None:
    missing = [c for c in REQUIRED_CSV_COLUMNS if c not in header]
    if missing:
        raise BadLabelFile(
            f"{name} line {line}: header lacks {', '.join(missing)} (expected columns: {', '.join(CSV_COLUMNS)})"
        )
    unknown = [c for c in header if c not in CSV_COLUMNS]
    if unknown:
        raise BadLabelFile(f"{name} line {line}: unknown column {unknown[0]!r} (expected: {', '.join(CSV_COLUMNS)})")


def _label_from_fields(fields: dict[str, str], *, name: str, line: int) -> Label:
    where = f"{name} line {line}"
    chain = fields["chain"].lower()
    if chain not in CHAINS:
        raise BadLabelFile(f"{where}: unknown chain {fields['chain']!r}; expected one of: {', '.join(CHAINS)}")
    if not fields["address"]:
        raise BadLabelFile(f"{where}: empty address")
    try:
        category = parse_category(fields["category"])
    except BadInput as exc:
        raise BadLabelFile(f"{where}: {exc.message}") from None
    confidence = _confidence(fields.get("confidence", ""), where=where)
    try:
        return Label(
            chain=chain,
            address=fields["address"],
            category=category,
            name=fields.get("name", ""),
            source=fields.get("source") or USER_SOURCE,
            source_ref=fields.get("source_ref") or f"{Path(name).name}:{line}",
            source_words=fields.get("source_words") or fields["category"],
            confidence=confidence,
        )
    except BadAddress as exc:
        raise BadLabelFile(f"{where}: {_not_an_address(fields['address'], chain, exc)}") from None
    except BadInput as exc:
        raise BadLabelFile(f"{where}: {exc.message}") from None


def _not_an_address(address: str, chain: str, exc: BadAddress) -> str:
    """`exc` with the address and chain named (base58 errors alone do not say which address failed)."""
    return exc.message if address in exc.message else f"{address!r} is not a {chain} address ({exc.message})"


def _confidence(text: str, *, where: str) -> float:
    if not text:
        return 1.0
    try:
        value = float(text)
    except ValueError:
        raise BadLabelFile(f"{where}: confidence {text!r} is not a number between 0 and 1") from None
    if not 0.0 <= value <= 1.0:
        raise BadLabelFile(f"{where}: confidence {text!r} is not between 0 and 1")
    return value


def export_csv(labels: Iterable[Label]) -> str:
    """CSV text (header + one row per label) that :func:`parse_label_csv` reads back."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for lb in labels:
        writer.writerow(
            csv_safe_row(
                [
                    lb.chain,
                    lb.address,
                    lb.category.value,
                    lb.name,
                    lb.source,
                    lb.source_ref,
                    lb.source_words,
                    _format_confidence(lb.confidence),
                ]
            )
        )
    return out.getvalue()


def _format_confidence(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".") or "0"


# --------------------------------------------------------------------------- TagPack YAML


@dataclass(frozen=True, slots=True)
class TagpackTag:
    """One tag of a TagPack with the header fields it inherits, and the line of its address."""

    line: int
    fields: dict[str, Any]


def iter_tagpack(text: str, *, name: str) -> Iterator[TagpackTag]:
    """The tags of a TagPack (header fields merged in), each with its 1-based line number."""
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        opened = ""
        if exc.context_mark is not None and exc.context_mark.line + 1 != line and exc.context:
            opened = f"; {exc.context} opened on line {exc.context_mark.line + 1}"
        problem = " ".join(str(exc.problem or exc.context).split())
        raise BadLabelFile(f"{name} line {line}: not valid YAML ({problem}{opened})") from None
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        raise BadLabelFile(f"{name} line {line}: not valid YAML ({exc.reason} #x{exc.character:04x})") from None
    except yaml.YAMLError as exc:
        raise BadLabelFile(f"{name} line 1: not valid YAML ({' '.join(str(exc).split())})") from None
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        raise BadLabelFile(f"{name} line 1: a TagPack is a mapping with a 'tags:' list")
    tags = data.get("tags")
    tag_nodes = next((v for k, v in node.value if getattr(k, "value", None) == "tags"), None)
    if not isinstance(tags, list) or not isinstance(tag_nodes, yaml.SequenceNode):
        line = tag_nodes.start_mark.line + 1 if tag_nodes is not None else 1
        raise BadLabelFile(f"{name} line {line}: a TagPack needs a 'tags:' list")
    header = {k: data[k] for k in TAGPACK_INHERITED if k in data}
    for tag, tag_node in zip(tags, tag_nodes.value, strict=True):
        line = _address_line(tag_node)
        if not isinstance(tag, dict):
            raise BadLabelFile(f"{name} line {line}: a tag must be a mapping with at least 'address'")
        yield TagpackTag(line=line, fields={**header, **tag})


def _address_line(tag_node: yaml.Node) -> int:
    """1-based line of the tag's `address:` (the row a label cites), else of the tag itself."""
    if isinstance(tag_node, yaml.MappingNode):
        for key, value in tag_node.value:
            if getattr(key, "value", None) == "address":
                return value.start_mark.line + 1
    return tag_node.start_mark.line + 1


def read_tagpack(path: Path) -> list[Label]:
    """Labels from a TagPack YAML file."""
    return parse_tagpack(_read_text(path), name=str(path))


def parse_tagpack(text: str, *, name: str, source: str = USER_SOURCE) -> list[Label]:
    """Labels from TagPack text; every tag must have an address, a supported chain and a known category."""
    labels = []
    for tag in iter_tagpack(text, name=name):
        labels.append(_label_from_tag(tag, name=name, source=source))
    return labels


def _label_from_tag(tag: TagpackTag, *, name: str, source: str) -> Label:
    where = f"{name} line {tag.line}"
    fields = tag.fields
    address = str(fields.get("address") or "").strip()
    if not address:
        raise BadLabelFile(f"{where}: tag has no address")
    own = _heisttrace_context(fields.get("context"))
    chain = own.get("chain") or chain_for_tag(fields.get("currency"), address, fields.get("network"))
    if chain is None:
        raise BadLabelFile(
            f"{where}: currency/network {fields.get('network') or fields.get('currency')!r} is not a supported chain"
        )
    if own.get("category"):
        try:
            category = parse_category(str(own["category"]))
        except BadInput as exc:
            raise BadLabelFile(f"{where}: {exc.message}") from None
    else:
        mapped = graphsense_category(
            category=_str(fields.get("category")), abuse=_str(fields.get("abuse")), source=_str(fields.get("source"))
        )
        if mapped is None and fields.get("category") is None and fields.get("abuse") is None:
            raise BadLabelFile(f"{where}: tag has no category (nor abuse); add category: exchange, mixer, ...")
        if mapped is None:
            raise BadLabelFile(
                f"{where}: category {fields.get('category')!r} / abuse {fields.get('abuse')!r} "
                "map to no heisttrace category"
            )
        category = mapped[0]
    confidence = own.get("confidence")
    if not isinstance(confidence, int | float) or isinstance(confidence, bool):
        confidence = graphsense_confidence(fields["confidence"]) if "confidence" in fields else 1.0
    words = ", ".join(
        f"{key}={fields[key]}" for key in ("label", "category", "abuse") if fields.get(key) not in (None, "")
    )
    try:
        return Label(
            chain=chain,
            address=address,
            category=category,
            name=str(own["name"]) if "name" in own else _str(fields.get("label")),
            source=str(own.get("source") or source),
            source_ref=str(own.get("source_ref") or _str(fields.get("source")) or f"{Path(name).name}:{tag.line}"),
            source_words=str(own.get("source_words") or words),
            confidence=float(confidence),
        )
    except BadAddress as exc:
        raise BadLabelFile(f"{where}: {_not_an_address(address, chain, exc)}") from None
    except BadInput as exc:
        raise BadLabelFile(f"{where}: {exc.message}") from None


def _str(value: object) -> str:
    return "" if value is None else str(value).strip()


def _heisttrace_context(context: object) -> dict[str, Any]:
    """Our own fields, kept on export inside the tag's JSON `context` (so export -> import is lossless)."""
    if isinstance(context, str):
        try:
            context = json.loads(context)
        except ValueError:
            return {}
    if isinstance(context, dict) and isinstance(context.get("heisttrace"), dict):
        return context["heisttrace"]
    return {}


def export_tagpack(labels: Iterable[Label], *, title: str = "heisttrace labels", creator: str = "heisttrace") -> str:
    """A GraphSense TagPack (YAML) holding `labels`; our exact fields ride along in each tag's `context`."""
    tags = []
    for lb in labels:
        category, abuse = GRAPHSENSE_EXPORT[lb.category]
        tag: dict[str, Any] = {
            "address": lb.address,
            "network": lb.chain,
            "currency": CHAINS[lb.chain].native_symbol,
            "label": lb.name or lb.category.value,
            "category": category,
        }
        if abuse:
            tag["abuse"] = abuse
        context = {
            "heisttrace": {
                "chain": lb.chain,
                "category": lb.category.value,
                "name": lb.name,
                "source": lb.source,
                "source_ref": lb.source_ref,
                "source_words": lb.source_words,
                "confidence": lb.confidence,
            }
        }
        tag["context"] = json.dumps(context, sort_keys=True)
        tags.append(tag)
    pack = {"title": title, "creator": creator, "tags": tags}
    return yaml.dump(pack, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000)


# --------------------------------------------------------------------------- dispatch

LABEL_FORMATS = ("csv", "tagpack")


def detect_format(path: Path) -> str:
    """`csv` or `tagpack` from the file name."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".yaml", ".yml"):
        return "tagpack"
    raise BadLabelFile(
        f"{path}: unknown label file type {suffix or '(none)'!r}; use .csv or .yaml (GraphSense TagPack)"
    )


def read_label_file(path: Path) -> list[Label]:
    """Labels from a .csv or TagPack .yaml file."""
    return read_label_csv(path) if detect_format(path) == "csv" else read_tagpack(path)


def export_labels(labels: Iterable[Label], *, fmt: str) -> str:
    """Labels as CSV or TagPack text."""
    if fmt == "csv":
        return export_csv(labels)
    if fmt == "tagpack":
        return export_tagpack(labels)
    raise BadInput(f"unknown label format {fmt!r}; expected one of: {', '.join(LABEL_FORMATS)}")


def _read_text(path: Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise BadLabelFile(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise BadLabelFile(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise BadLabelFile(f"{path}: cannot read ({exc.strerror})") from None


__all__ = [
    "CSV_COLUMNS",
    "DEFAULT_CONFIDENCE",
    "LABEL_FORMATS",
    "Category",
    "TagpackTag",
    "chain_for_tag",
    "detect_format",
    "export_csv",
    "export_labels",
    "export_tagpack",
    "iter_tagpack",
    "parse_label_csv",
    "parse_tagpack",
    "read_label_csv",
    "read_label_file",
    "read_tagpack",
]
