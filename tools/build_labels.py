"""Build the bundled label set (tracer/labels/labeldata/) from the MIT-licensed raw datasets.

    python tools/build_labels.py [--raw ../shared/data/raw] [--out tracer/labels/labeldata]

Reads only the shippable sets (OFAC SDN addresses, Forta labelled datasets, Etherscan label dumps,
GraphSense TagPacks), maps every row onto the heisttrace taxonomy and writes:

- ``labels.tsv.gz``  one row per (source row, address): chain, address, category, name, source,
  source_ref (file:line or file#key inside the raw set), source_words (the source's own text), confidence
- ``manifest.json``  per-source counts (read, kept, invalid address, unsupported chain, unmapped)
  and the sha256 of every input file and of the output
- ``ATTRIBUTION.md`` licences, upstream repositories and commits

Deterministic: the same inputs give byte-identical outputs (sorted rows, gzip mtime 0).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.build_cli import run_build  # noqa: E402
from tracer.core.addresses import normalize_address  # noqa: E402
from tracer.core.errors import BadInput  # noqa: E402
from tracer.labels.files import chain_for_tag, iter_tagpack  # noqa: E402
from tracer.core.models import Category  # noqa: E402
from tracer.labels.taxonomy import (  # noqa: E402
    etherscan_category,
    forta_category,
    graphsense_category,
    graphsense_confidence,
    refine_by_name,
)

DEFAULT_RAW = ROOT.parent / "shared" / "data" / "raw"
DEFAULT_OUT = ROOT / "tracer" / "labels" / "labeldata"
LABELS_FILE = "labels.tsv.gz"
COLUMNS = ("chain", "address", "category", "name", "source", "source_ref", "source_words", "confidence")

OFAC_DIR = "ofac-sdn-addresses-0xb10c"
FORTA_DIR = "forta-labelled-datasets"
ETHERSCAN_DIR = "etherscan-labels-brianleect"
GRAPHSENSE_DIR = "graphsense-tagpacks"

#: OFAC asset tag -> chain (None: decide by address form; absent: unsupported chain).
OFAC_ASSETS: dict[str, str | None] = {
    "ETH": "ethereum",
    "ARB": "arbitrum",
    "BSC": "bsc",
    "XBT": "bitcoin",
    "TRX": "tron",
    "USDT": None,
    "USDC": None,
}
#: Etherscan-family explorer folder -> chain. ftmscan (Fantom) is not a supported chain.
ETHERSCAN_CHAINS = {
    "etherscan": "ethereum",
    "bscscan": "bsc",
    "polygonscan": "polygon",
    "arbiscan": "arbitrum",
    "optimism": "optimism",
    "avalanche": "avalanche",
}
ETHERSCAN_UNSUPPORTED = ("ftmscan",)
FORTA_CHAINS = {"1": "ethereum", "10": "optimism"}


@dataclass
class SourceStats:
    """What happened to the rows of one source."""

    read: int = 0
    kept: int = 0
    invalid_address: int = 0
    unsupported_chain: int = 0
    unmapped: int = 0
    by_category: Counter = field(default_factory=Counter)
    invalid_refs: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "read": self.read,
            "kept": self.kept,
            "invalid_address": self.invalid_address,
            "unsupported_chain": self.unsupported_chain,
            "unmapped": self.unmapped,
            "by_category": dict(sorted(self.by_category.items())),
            "invalid_refs": sorted(self.invalid_refs),
        }


Row = tuple[str, str, str, str, str, str, str, str]


def _clean(text: object) -> str:
    """One line of text: tabs and newlines become spaces, runs collapse."""
    return re.sub(r"\s+", " ", str(text or "")).strip()


def _conf(value: float) -> str:
    return f"{value:.2f}"


class Builder:
    """Collects rows from every source with per-source statistics."""

    def __init__(self, raw: Path) -> None:
        self.raw = raw
        self.rows: list[Row] = []
        self.stats: dict[str, SourceStats] = {}
        self.inputs: dict[str, str] = {}

    def _input(self, path: Path) -> bytes:
        data = path.read_bytes()
        self.inputs[path.relative_to(self.raw).as_posix()] = hashlib.sha256(data).hexdigest()
        return data

    def _add(
        self,
        stats: SourceStats,
        *,
        chain: str | None,
        address: str,
        category: Category | None,
        name: str,
        source: str,
        ref: str,
        words: str,
        confidence: float,
    ) -> None:
        if chain is None:
            stats.unsupported_chain += 1
            return
        try:
            normalised = normalize_address(chain, address.strip())
        except BadInput:
            stats.invalid_address += 1
            stats.invalid_refs.append(ref)
            return
        if category is None:
            stats.unmapped += 1
            return
        stats.kept += 1
        stats.by_category[category.value] += 1
        self.rows.append(
            (chain, normalised, category.value, _clean(name), source, ref, _clean(words), _conf(confidence))
        )

    # ------------------------------------------------------------------ OFAC SDN

    def add_ofac(self) -> None:
        stats = self.stats.setdefault("ofac-sdn", SourceStats())
        folder = self.raw / OFAC_DIR
        for path in sorted(folder.glob("sanctioned_addresses_*.txt")):
            asset = path.stem.removeprefix("sanctioned_addresses_")
            text = self._input(path).decode("utf-8")
            for number, line in enumerate(text.splitlines(), start=1):
                address = line.strip()
                if not address:
                    continue
                stats.read += 1
                chain = OFAC_ASSETS.get(asset, "")
                if chain is None:
                    chain = "ethereum" if address.startswith("0x") else "tron" if address.startswith("T") else ""
                self._add(
                    stats,
                    chain=chain or None,
                    address=address,
                    category=Category.SANCTIONED,
                    name=f"OFAC SDN ({asset})",
                    source="ofac-sdn",
                    ref=f"{OFAC_DIR}/{path.name}:{number}",
                    words=f"Digital Currency Address - {asset}",
                    confidence=1.0,
                )

    # ------------------------------------------------------------------ Forta

    def add_forta(self) -> None:
        stats = self.stats.setdefault("forta", SourceStats())
        folder = self.raw / FORTA_DIR / "labels"
        for chain_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
            chain = FORTA_CHAINS.get(chain_dir.name)
            for path in sorted(chain_dir.glob("*.csv")):
                ref_file = path.relative_to(self.raw).as_posix()
                for line, record in _csv_rows(self._input(path)):
                    stats.read += 1
                    ref = f"{ref_file}:{line}"
                    if "banned_address" in record:  # etherscan_malicious_labels.csv
                        tag, list_name = record["wallet_tag"], record["data_source"]
                        category, confidence = forta_category(tag, list_name)
                        self._add(
                            stats,
                            chain=chain,
                            address=record["banned_address"],
                            category=category,
                            name=tag or list_name,
                            source="forta",
                            ref=ref,
                            words=f"{tag} [{list_name}]",
                            confidence=confidence,
                        )
                    elif "etherscan_tag" in record:  # phishing_scams.csv
                        tag = record["etherscan_tag"]
                        category, confidence = forta_category(tag, record["etherscan_labels"] or "phish-hack")
                        self._add(
                            stats,
                            chain=chain,
                            address=record["address"],
                            category=category,
                            name=tag,
                            source="forta",
                            ref=ref,
                            words=f"{tag} [{record['etherscan_labels']}]",
                            confidence=confidence,
                        )
                    else:  # malicious_smart_contracts.csv
                        tag = record.get("contract_tag", "")
                        creator = record.get("contract_creator_tag", "")
                        kind = record.get("contract_creator_etherscan_label", "") or "exploit"
                        category, confidence = forta_category(tag or creator, kind)
                        name = tag or (f"contract by {creator}" if creator else "malicious contract")
                        self._add(
                            stats,
                            chain=chain,
                            address=record["contract_address"],
                            category=category,
                            name=name,
                            source="forta",
                            ref=ref,
                            words=f"{tag} [malicious smart contract; creator: {creator}; {kind}]",
                            confidence=min(confidence, 0.8),
                        )

    # ------------------------------------------------------------------ Etherscan label dumps

    def add_etherscan(self) -> None:
        stats = self.stats.setdefault("etherscan-labels", SourceStats())
        folder = self.raw / ETHERSCAN_DIR / "data"
        for explorer in sorted(p.name for p in folder.iterdir() if p.is_dir()):
            path = folder / explorer / "combined" / "combinedAccountLabels.json"
            entries = json.loads(self._input(path))
            chain = ETHERSCAN_CHAINS.get(explorer)
            ref_file = path.relative_to(self.raw).as_posix()
            for key in sorted(entries):
                entry = entries[key]
                stats.read += 1
                name, slugs = entry.get("name", ""), list(entry.get("labels", []))
                mapped = etherscan_category(name, slugs)
                category, confidence = mapped if mapped else (None, 0.0)
                self._add(
                    stats,
                    chain=chain,
                    address=key,
                    category=category,
                    name=name or ", ".join(slugs),
                    source="etherscan-labels",
                    ref=f"{ref_file}#{key}",
                    words=f"{name} [{', '.join(slugs)}]",
                    confidence=confidence,
                )

    # ------------------------------------------------------------------ GraphSense TagPacks

    def add_graphsense(self) -> None:
        stats = self.stats.setdefault("graphsense", SourceStats())
        folder = self.raw / GRAPHSENSE_DIR / "packs"
        for path in sorted(folder.glob("*.yaml")):
            text = self._input(path).decode("utf-8")
            ref_file = path.relative_to(self.raw).as_posix()
            for tag in iter_tagpack(text, name=ref_file):
                fields = tag.fields
                stats.read += 1
                address = str(fields.get("address") or "").strip()
                chain = chain_for_tag(_s(fields.get("currency")), address, _s(fields.get("network")))
                mapped = graphsense_category(
                    category=_s(fields.get("category")), abuse=_s(fields.get("abuse")), source=_s(fields.get("source"))
                )
                confidence = graphsense_confidence(fields.get("confidence"))
                if mapped and path.name.startswith("etherscan-"):  # scraped: tokens and contracts are not wallets
                    mapped = (refine_by_name(mapped[0], _s(fields.get("label"))), mapped[1])
                words = ", ".join(
                    f"{key}={_clean(fields[key])}"
                    for key in ("label", "category", "abuse", "confidence")
                    if fields.get(key) not in (None, "")
                )
                self._add(
                    stats,
                    chain=chain,
                    address=address,
                    category=mapped[0] if mapped else None,
                    name=_s(fields.get("label")) or _s(fields.get("category")),
                    source="graphsense",
                    ref=f"{ref_file}:{tag.line}",
                    words=words,
                    confidence=confidence,
                )

    # ------------------------------------------------------------------ output

    def sorted_rows(self) -> list[Row]:
        return sorted(set(self.rows))


def _s(value: object) -> str:
    return "" if value is None else str(value).strip()


def _csv_rows(data: bytes) -> list[tuple[int, dict[str, str]]]:
    """(line the record starts on, record) for each CSV data row."""
    reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig")))
    rows = []
    previous_end = 1  # the header line
    for record in reader:
        rows.append((previous_end + 1, {k: (v or "").strip() for k, v in record.items() if k is not None}))
        previous_end = reader.line_num
    return rows


def encode_rows(rows: list[Row]) -> bytes:
    """Deterministic gzip'd TSV (header + rows)."""
    text = "\t".join(COLUMNS) + "\n" + "".join("\t".join(row) + "\n" for row in rows)
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as gz:
        gz.write(text.encode("utf-8"))
    return buffer.getvalue()


UPSTREAMS = (
    (
        "ofac-sdn",
        "https://github.com/0xB10C/ofac-sanctioned-digital-currency-addresses (branch `lists`)",
        "f2aee2265956bf28ce71824c2c2c8cab02c2e173",
        "MIT (c) 2021 0xB10C; data: US Treasury OFAC SDN list (public domain, US government)",
    ),
    (
        "forta",
        "https://github.com/forta-network/labelled-datasets",
        "40a9c2f2bd7e9ddfdd0f3540db589f0288e1e88a",
        "MIT (c) 2022 Forta Foundation",
    ),
    (
        "etherscan-labels",
        "https://github.com/brianleect/etherscan-labels",
        "923aba72c7e2d0682f7ae6194b6140bd90668dc9",
        "MIT (c) 2022 Brian Lee Cheow Teng; labels scraped from Etherscan-family explorers (their terms apply)",
    ),
    (
        "graphsense",
        "https://github.com/graphsense/graphsense-tagpacks",
        "29ff93c8ab0db37370453a290b7becba429b73f8",
        "MIT (c) 02/2022 Iknaio Cryptoasset Analytics GmbH; 2018-01/2022 AIT Austrian Institute of Technology",
    ),
)

ATTRIBUTION = """\
# Attribution of the bundled labels

`labels.tsv.gz` is generated by `tools/build_labels.py` from these MIT-licensed (or US-government)
datasets; every row keeps its `source` and `source_ref` (file:line, or file#key for JSON objects,
relative to the dataset folder) so it can be traced back to the upstream row. Counts per source
and category are in `manifest.json`.

{table}

Not bundled (no licence stated; read only by tests and benchmarks from `../shared/data/raw`):
`blocksec-mftracer-laundernetevm41`, `bybit-incident-tna`, `ethereumheist-lindan113`.
Not bundled from the Etherscan dumps: Fantom (`ftmscan`), not a chain heisttrace supports; token
labels (`combinedTokenLabels.json`): token contracts are not wallets.

The mapping of each source's words onto heisttrace categories is `tracer/taxonomy.py`; see
`docs/LABELS.md`.
"""


def build(raw: Path, out: Path, *, log=print) -> dict:
    """Build the package data from `raw` into `out`; returns the manifest."""
    builder = Builder(raw)
    builder.add_ofac()
    builder.add_forta()
    builder.add_etherscan()
    builder.add_graphsense()
    rows = builder.sorted_rows()
    payload = encode_rows(rows)
    out.mkdir(parents=True, exist_ok=True)
    (out / LABELS_FILE).write_bytes(payload)
    table = "| source | upstream | commit | licence |\n|---|---|---|---|\n" + "\n".join(
        f"| `{name}` | {url} | `{commit}` | {licence} |" for name, url, commit, licence in UPSTREAMS
    )
    (out / "ATTRIBUTION.md").write_text(ATTRIBUTION.format(table=table), encoding="utf-8")
    manifest = {
        "labels_file": LABELS_FILE,
        "labels_sha256": hashlib.sha256(payload).hexdigest(),
        "rows": len(rows),
        "sources": {name: stats.as_dict() for name, stats in sorted(builder.stats.items())},
        "skipped_explorers": {name: "not a supported chain" for name in ETHERSCAN_UNSUPPORTED},
        "inputs": dict(sorted(builder.inputs.items())),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    for name, stats in sorted(builder.stats.items()):
        log(
            f"{name:18} read {stats.read:6}  kept {stats.kept:6}  invalid address {stats.invalid_address:5}  "
            f"unsupported chain {stats.unsupported_chain:5}  unmapped {stats.unmapped:6}"
        )
    log(f"ftmscan (Fantom) skipped: not a supported chain. {len(rows)} rows, {len(payload):,} bytes -> {out}")
    return manifest


def main(argv: list[str] | None = None) -> int:
    return run_build(argv, name="build_labels", doc=__doc__, build=build, raw=DEFAULT_RAW, out=DEFAULT_OUT)


if __name__ == "__main__":
    sys.exit(main())
