"""A written bundle as the incident tools read it: summary, manifest, tables and the traced case."""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from tracer.core.errors import BadInput

#: The copy of the case file `heisttrace trace` keeps in the bundle (what watch re-traces).
CASE_COPY = "case.toml"
THIEF_CATEGORY = "hacker"


@dataclass(frozen=True)
class Bundle:
    """The parts of a bundle directory the incident commands use."""

    path: Path
    summary: dict[str, Any]
    manifest: dict[str, Any]
    addresses: list[dict[str, str]] = field(default_factory=list)
    flows: list[dict[str, str]] = field(default_factory=list)
    endpoints: list[dict[str, str]] = field(default_factory=list)

    @property
    def case_id(self) -> str:
        return str(self.summary.get("case", "case"))

    @property
    def tips(self) -> dict[str, int]:
        """The chain tips the trace was pinned to."""
        return {k: int(v) for k, v in (self.manifest.get("block_heights") or {}).items()}

    def thief_controlled(self) -> list[tuple[str, str]]:
        """(chain, address) of thief seeds and addresses taken as thief-controlled, sorted."""
        found = {
            (s["chain"], s["address"])
            for s in self.summary.get("seeds", [])
            if s.get("address") and s.get("role", "thief") == "thief"
        }
        found |= {(a["chain"], a["address"]) for a in self.summary.get("attributed_addresses") or []}
        found |= {(r["chain"], r["address"]) for r in self.addresses if r.get("category") == THIEF_CATEGORY}
        found |= {(d["chain"], d["address"]) for d in self.summary.get("decisions") or [] if d.get("action") == "thief"}
        return sorted(found)

    def holding(self) -> list[tuple[str, str]]:
        """(chain, address) of traced (non-endpoint) addresses still holding stolen value: taint in > taint out."""
        traced = {
            (r["chain"], r["address"]) for r in self.addresses if r.get("role") in ("seed", "transit", "unexplored")
        }
        net: dict[tuple[str, str, str], Decimal] = {}
        for f in self.flows:
            taint = Decimal(f["tainted_amount"] or "0")
            key = f"{f['asset_id']}"
            net[(f["chain"], f["to"], key)] = net.get((f["chain"], f["to"], key), Decimal(0)) + taint
            net[(f["chain"], f["from"], key)] = net.get((f["chain"], f["from"], key), Decimal(0)) - taint
        return sorted({(c, a) for (c, a, _), v in net.items() if v > 0 and (c, a) in traced})

    def watched(self) -> list[tuple[str, str]]:
        """Every address watch re-reads: holders of unmoved stolen value and thief-controlled addresses."""
        return sorted(set(self.holding()) | set(self.thief_controlled()))

    def case_file(self) -> Path | None:
        """The bundle's copy of the case file, checked against the manifest's hash; None when absent."""
        path = self.path / CASE_COPY
        if not path.is_file():
            return None
        want = self.manifest.get("case_file_sha256")
        if want and hashlib.sha256(path.read_bytes()).hexdigest() != want:
            raise BadInput(f"{path}: does not match case_file_sha256 in the bundle's manifest")
        return path


def _csv(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def read_bundle(directory: str | Path) -> Bundle:
    """Read the bundle at `directory`; BadInput (one line) when it is not one."""
    path = Path(directory)
    summary_path, manifest_path = path / "summary.json", path / "manifest.json"
    if not summary_path.is_file() or not manifest_path.is_file():
        raise BadInput(f"{path} is not a bundle (no summary.json and manifest.json); run 'heisttrace trace' first")
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadInput(f"{path}: unreadable bundle ({exc})") from None
    return Bundle(
        path=path,
        summary=summary,
        manifest=manifest,
        addresses=_csv(path / "addresses.csv"),
        flows=_csv(path / "flows.csv"),
        endpoints=_csv(path / "endpoints.csv"),
    )
