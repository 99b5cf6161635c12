"""Read the expert-verified laundering cases of LaunderNetEvm41 (MFTracer ground truth).

The data set (BlockSec, *Shedding Light on Shadows*, SIGMETRICS 2026) has no licence, so it
is never copied into this repository: it is read at run time from the sibling checkout
``../shared/data/raw/blocksec-mftracer-laundernetevm41`` (or ``$HEISTTRACE_GROUNDTRUTH``).
When it is absent, :func:`read_case` raises :class:`GroundTruthMissing` and callers skip.

Per case we keep the expert flow records (USD values, several rows may share a transaction),
the source addresses the trace starts from and the terminal addresses where the experts
stopped. *Laundering addresses* are the addresses of the expert flow graph reachable from the
sources along expert flows, without passing through a terminal, minus the terminals
themselves; the victims upstream of the sources (for example Atomic Wallet's ``OSRC`` rows)
are not laundering addresses and are counted apart.
"""

from __future__ import annotations

import csv
import os
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from tracer.core.errors import BadInput

REPO_ROOT = Path(__file__).resolve().parents[1]
DATASET_DIR_NAME = "blocksec-mftracer-laundernetevm41"
CITATION = (
    "LaunderNetEvm41 ground truth, BlockSec MFTracer (github.com/blocksecteam/MFTracer, commit 32379c6), "
    "from 'Shedding Light on Shadows: Automatically Tracing Illicit Money Flows on EVM-Compatible "
    "Blockchains' (SIGMETRICS 2026). No licence: read at run time, never redistributed."
)


@dataclass(frozen=True, slots=True)
class CaseInfo:
    """One of the four cases we may read."""

    number: int  # upstream cluster number
    slug: str
    title: str


#: The upstream clusters we know by name; the checkout here has 1, 3, 4 and 5 (2 is held back for
#: acceptance checks). Any other `cluster N` directory found is read too, under a generic name.
KNOWN_CASES: tuple[CaseInfo, ...] = (
    CaseInfo(1, "atomic-wallet-2023", "Atomic Wallet hack (Jun-Jul 2023)"),
    CaseInfo(2, "harmony-bridge-2023", "Harmony Horizon Bridge hack (Jan-Feb 2023)"),
    CaseInfo(3, "lifi-2024", "LI.FI hack (Jul-Sep 2024)"),
    CaseInfo(4, "txphish-54m-2024", "$54M Maker-vault phishing theft (Aug-Sep 2024)"),
    CaseInfo(5, "xscam-2022", "X/Discord phishing scams (Jun-Nov 2022)"),
)
#: The four cases of this checkout (what the benchmark documents).
CASES: tuple[CaseInfo, ...] = tuple(c for c in KNOWN_CASES if c.number != 2)


class GroundTruthMissing(BadInput):
    """The LaunderNetEvm41 files are not where we look for them (benchmarks and tests skip)."""


@dataclass(frozen=True, slots=True)
class FlowRecord:
    """One expert-verified illicit transfer."""

    timestamp: int  # unix seconds, UTC
    block: int
    tx_hash: str
    sender: str
    sender_label: str
    receiver: str
    receiver_label: str
    usd_cents: int  # Value_in_USD, exact, in cents


@dataclass(frozen=True)
class GroundTruthCase:
    """The expert answer for one case."""

    info: CaseInfo
    flows: tuple[FlowRecord, ...]
    sources: frozenset[str]
    terminals: frozenset[str]
    laundering: frozenset[str] = field(default_factory=frozenset)  # reachable from sources, not terminal
    upstream: frozenset[str] = field(default_factory=frozenset)  # in the flows but not reachable from sources

    @property
    def slug(self) -> str:
        return self.info.slug

    @property
    def addresses(self) -> frozenset[str]:
        """Every address of the expert flow graph."""
        return frozenset(a for f in self.flows for a in (f.sender, f.receiver))

    @property
    def expected(self) -> frozenset[str]:
        """What a perfect trace from the sources reports: sources, laundering and reached terminals."""
        return self.sources | self.laundering | (self.terminals & self.addresses)

    def labels_of(self) -> dict[str, str]:
        """The experts' label per address (used by the world generator to shape behaviour, never as labels)."""
        names: dict[str, str] = {}
        for f in self.flows:
            names.setdefault(f.sender, f.sender_label)
            names.setdefault(f.receiver, f.receiver_label)
            if f.sender_label:
                names[f.sender] = f.sender_label
            if f.receiver_label:
                names[f.receiver] = f.receiver_label
        return names


def dataset_dir() -> Path:
    """Where LaunderNetEvm41 lives: `$HEISTTRACE_GROUNDTRUTH`, else ../shared/data/raw/<name>/LaunderNetEvm41."""
    configured = os.environ.get("HEISTTRACE_GROUNDTRUTH")
    if configured:
        return Path(configured).expanduser()
    return REPO_ROOT.parent / "shared" / "data" / "raw" / DATASET_DIR_NAME / "LaunderNetEvm41"


def available_cases(*, root: Path | None = None) -> list[CaseInfo]:
    """Every `cluster N` directory of the data set (known ones by name), or the four of this checkout."""
    folder = root or dataset_dir()
    numbers = sorted(
        int(d.name.split()[1])
        for d in (folder.iterdir() if folder.is_dir() else ())
        if d.is_dir() and d.name.startswith("cluster ") and d.name.split()[-1].isdigit()
    )
    return [case_info(n) for n in numbers] or list(CASES)


def case_info(key: int | str) -> CaseInfo:
    """A case by cluster number or slug (an unknown cluster number gets a generic name)."""
    for info in KNOWN_CASES:
        if key in (info.number, info.slug, str(info.number)):
            return info
    text = str(key).removeprefix("cluster-")
    if text.isdigit():
        return CaseInfo(int(text), f"cluster-{int(text)}", f"LaunderNetEvm41 cluster {int(text)}")
    known = ", ".join(f"{c.number} ({c.slug})" for c in KNOWN_CASES)
    raise BadInput(f"unknown ground-truth case {key!r}; expected a cluster number or one of: {known}")


def read_case(key: int | str, *, root: Path | None = None) -> GroundTruthCase:
    """Read one case's flows, sources and terminals; raises GroundTruthMissing when the files are absent."""
    info = case_info(key)
    folder = (root or dataset_dir()) / f"cluster {info.number}"
    needed = [folder / name for name in ("flow records.csv", "source addresses.csv", "terminal addresses.csv")]
    missing = [p for p in needed if not p.is_file()]
    if missing:
        raise GroundTruthMissing(
            f"ground truth not found: {missing[0]} (set HEISTTRACE_GROUNDTRUTH or check out ../shared)"
        )
    flows = tuple(_read_flows(needed[0]))
    sources = frozenset(_read_address_list(needed[1]))
    terminals = frozenset(_read_address_list(needed[2]))
    laundering, upstream = _split_reachable(flows, sources, terminals)
    return GroundTruthCase(info, flows, sources, terminals, laundering, upstream)


def read_cases(*, root: Path | None = None) -> list[GroundTruthCase]:
    """Every case of the data set (GroundTruthMissing if it is absent)."""
    return [read_case(info.number, root=root) for info in available_cases(root=root)]


def _read_flows(path: Path) -> list[FlowRecord]:
    flows = []
    with path.open(newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            try:
                moment = datetime.strptime(row["Timestamp"].strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
                cents = int((Decimal(row["Value_in_USD"].strip()) * 100).to_integral_value())
                flows.append(
                    FlowRecord(
                        timestamp=int(moment.timestamp()),
                        block=int(row["Block"]),
                        tx_hash=row["Tx_hash"].strip().lower(),
                        sender=row["From"].strip().lower(),
                        sender_label=row["From_label"].strip(),
                        receiver=row["To"].strip().lower(),
                        receiver_label=row["To_label"].strip(),
                        usd_cents=cents,
                    )
                )
            except (KeyError, ValueError, ArithmeticError) as exc:
                raise BadInput(f"{path}:{line}: unreadable flow record ({exc})") from None
    flows.sort(key=lambda f: (f.block, f.timestamp, f.tx_hash))
    return flows


def _read_address_list(path: Path) -> list[str]:
    # Upstream files are one address per line, no header, sometimes without a final newline.
    text = path.read_text(encoding="utf-8")
    return [token.lower() for token in text.split() if token.startswith("0x")]


def _split_reachable(
    flows: tuple[FlowRecord, ...], sources: frozenset[str], terminals: frozenset[str]
) -> tuple[frozenset[str], frozenset[str]]:
    successors: dict[str, set[str]] = defaultdict(set)
    for f in flows:
        successors[f.sender].add(f.receiver)
    reached = set(sources)
    stack = list(sources)
    while stack:
        address = stack.pop()
        if address in terminals:
            continue
        for nxt in successors.get(address, ()):
            if nxt not in reached:
                reached.add(nxt)
                stack.append(nxt)
    everything = {a for f in flows for a in (f.sender, f.receiver)}
    laundering = frozenset(reached - terminals - sources)
    upstream = frozenset(everything - reached)
    return laundering, upstream
