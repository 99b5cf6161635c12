"""Build the catalogue of real exchange hacks (tracer/cases/catalogue/*.toml + sources.json) from the data on hand.

    python tools/build_catalogue.py [--raw ../shared/data/raw] [--out tracer/cases/catalogue]

Every seed address is read from a cited row — never typed in here:

- shippable sets: a row of the bundled label data (tracer/labels/labeldata, itself built from the raw
  MIT sets by tools/build_labels.py), selected by source and name; the seed cites the label's
  source and source_ref (dataset file:line or file#key);
- sets without a stated licence (bybit-incident-tna, ethereumheist-lindan113, blocksec): only when no
  shippable set has the incident, a single cited row (file:line) is read and its address carried
  over as a public fact, with the dataset and row named. Nothing else of those sets is copied.

Deterministic: same inputs, byte-identical outputs.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.build_cli import run_build  # noqa: E402
from tracer.core.addresses import normalize_address  # noqa: E402
from tracer.labels.book import LabelBook  # noqa: E402
from tracer.core.models import Label  # noqa: E402

DEFAULT_RAW = ROOT.parent / "shared" / "data" / "raw"
DEFAULT_OUT = ROOT / "tracer" / "cases" / "catalogue"

#: Datasets whose licence is not stated: cited rows only (see module doc).
UNLICENSED = ("bybit-incident-tna", "ethereumheist-lindan113", "blocksec-mftracer-laundernetevm41")


@dataclass(frozen=True)
class FromLabels:
    """Seeds = bundled labels of `source` on `chain` whose name matches `name` (a regex, full match)."""

    source: str
    chain: str
    name: str
    role: str = "thief"


@dataclass(frozen=True)
class FromRawRows:
    """Seeds = the first column of lines `lines` of a raw file of a dataset without a licence."""

    dataset: str
    file: str
    lines: tuple[int, ...]
    chain: str
    label: str  # `{n}` is replaced by the seed's ordinal
    why: str  # why this dataset: no shippable set has the incident
    role: str = "thief"
    words_column: int | None = None  # column holding the dataset's own words for the row, if any


@dataclass(frozen=True)
class CaseSpec:
    id: str
    title: str
    since: str
    notes: str
    seeds: tuple[FromLabels | FromRawRows, ...]
    max_addresses: int = 3000
    extra: dict = field(default_factory=dict)


CASES: tuple[CaseSpec, ...] = (
    CaseSpec(
        "bybit-2025",
        "Bybit hack, February 2025 (~401,000 ETH, attributed to Lazarus)",
        "2025-02-21T00:00:00Z",
        "Bybit's Ethereum multisig cold wallet was drained on 2025-02-21 through a manipulated Safe transaction. "
        "Seed: the main 'Bybit Exploiter' account, the first of the 71 Etherscan-labelled exploiter accounts of "
        "the bybit-incident-tna dataset. No shippable label set covers 2025 (all snapshots are older).",
        (
            FromRawRows(
                "bybit-incident-tna",
                "Bybit_depth1_analysis_result.csv",
                (21,),
                "ethereum",
                "Bybit Exploiter",
                "the OFAC, Forta and Etherscan snapshots on hand all predate February 2025",
            ),
        ),
    ),
    CaseSpec(
        "upbit-2019",
        "Upbit hot-wallet hack, November 2019 (342,000 ETH)",
        "2019-11-27T00:00:00Z",
        "342,000 ETH left Upbit's Ethereum hot wallet on 2019-11-27 (13:06 KST). Seed: Etherscan heist-list "
        "label 'Upbit Hacker 1' (Forta labelled datasets). Expect dust sent to the thief by strangers.",
        (FromLabels("forta", "ethereum", r"Upbit Hacker \d+"),),
    ),
    CaseSpec(
        "kucoin-2020",
        "KuCoin hot-wallet hack, September 2020 (~$280M)",
        "2020-09-25T00:00:00Z",
        "KuCoin's hot wallets were drained on 2020-09-25/26 (BTC, ETH and ERC-20 tokens). Seed: the address "
        "Etherscan tags 'Kucoin Hacker'; it is in no shippable label set on hand, so it is carried over from the "
        "EthereumHeist seed list as a public fact.",
        (
            FromRawRows(
                "ethereumheist-lindan113",
                "Heist label-etherscan.csv",
                (71,),
                "ethereum",
                "Kucoin Hacker",
                "the Etherscan heist label of KuCoin is not in the Forta snapshot nor in the Etherscan dump",
                words_column=1,
            ),
        ),
    ),
    CaseSpec(
        "bitfinex-2016",
        "Bitfinex hack, August 2016 (119,756 BTC)",
        "2016-08-02T00:00:00Z",
        "2,072 unauthorised transactions on 2016-08-02 moved 119,756 BTC from Bitfinex's BitGo multisig wallets. "
        "Seeds: the 99 addresses GraphSense tags 'Bitfinex hack' (later hops of the thief's wallet, not the "
        "first recipients). The first-hop theft transactions are in ../shared/data/raw/bitfinex-2016-hack-cavazos "
        "(MIT) for tests and benchmarks.",
        (FromLabels("graphsense", "bitcoin", r"Bitfinex hack"),),
    ),
    CaseSpec(
        "ronin-2022",
        "Ronin bridge hack, March 2022 (173,600 ETH + 25.5M USDC, Lazarus)",
        "2022-03-23T00:00:00Z",
        "The Ronin bridge (Sky Mavis / Axie Infinity) was drained on 2022-03-23 with compromised validator keys. "
        "Seeds: 'Ronin Bridge Exploiter' (Etherscan dump; also on the OFAC SDN list) and 'Ronin Bridge Exploiter "
        "2'..'9' (Etherscan exploit list via Forta).",
        (
            FromLabels("etherscan-labels", "ethereum", r"Ronin Bridge Exploiter"),
            FromLabels("forta", "ethereum", r"Ronin Bridge Exploiter \d+"),
        ),
    ),
    CaseSpec(
        "harmony-2022",
        "Harmony Horizon bridge hack, June 2022 (~$100M, Lazarus)",
        "2022-06-23T00:00:00Z",
        "The Ethereum side of Harmony's Horizon bridge was drained on 2022-06-23. No thief address of this hack "
        "is in any data on hand, so the seeds are the drained bridge contracts as victims (Etherscan dump names). "
        "Caveat: a victim seed counts every outflow at or after `since` as stolen; narrow `since` to the first "
        "exploit transaction, or add the exploiter address from a public statement as a thief seed.",
        (FromLabels("etherscan-labels", "ethereum", r"Harmony: (ETH|ERC20) Bridge", role="victim"),),
    ),
    CaseSpec(
        "atomic-wallet-2023",
        "Atomic Wallet hack, June 2023 (~$100M across chains, Lazarus)",
        "2023-06-02T00:00:00Z",
        "Thousands of Atomic Wallet users were drained from 2023-06-02. Seeds: the 17 Ethereum collection "
        "addresses ('Atomic Wallet Hack NN SRC') of the LaunderNetEvm41 ground truth (cluster 1), carried over as "
        "public facts because no shippable set covers 2023 incidents.",
        (
            FromRawRows(
                "blocksec-mftracer-laundernetevm41",
                "LaunderNetEvm41/cluster 1/source addresses.csv",
                tuple(range(1, 18)),
                "ethereum",
                "Atomic Wallet Hack source {n}",
                "the OFAC, Forta and Etherscan snapshots on hand do not label the 2023 Atomic Wallet thieves",
            ),
        ),
    ),
    CaseSpec(
        "bitmart-2021",
        "BitMart hot-wallet hack, December 2021 (~$150M, ETH and BSC)",
        "2021-12-04T00:00:00Z",
        "BitMart's Ethereum and BSC hot wallets were drained on 2021-12-04. Seeds: Etherscan exploit-list labels "
        "'Bitmart Hacker' and 'Bitmart Hacker 2' (Forta).",
        (FromLabels("forta", "ethereum", r"Bitmart Hacker( \d+)?"),),
    ),
    CaseSpec(
        "ascendex-2021",
        "AscendEX hot-wallet hack, December 2021 (~$77M)",
        "2021-12-11T00:00:00Z",
        "AscendEX hot wallets on Ethereum, BSC and Polygon were drained on 2021-12-11. Seeds: Etherscan heist-list "
        "labels 'AscendEX Hacker' and 'AscendEX Hacker 2' (Forta).",
        (FromLabels("forta", "ethereum", r"AscendEX Hacker( \d+)?"),),
    ),
    CaseSpec(
        "liquid-2021",
        "Liquid exchange hack, August 2021 (~$90M)",
        "2021-08-19T00:00:00Z",
        "Liquid's warm wallets were drained on 2021-08-19. Seeds: Etherscan exploit-list labels 'Liquid Exchange "
        "Hacker 1' and '2' (Forta).",
        (FromLabels("forta", "ethereum", r"Liquid Exchange Hacker \d+"),),
    ),
    CaseSpec(
        "dragonex-2019",
        "DragonEx hack, March 2019",
        "2019-03-23T00:00:00Z",
        "DragonEx was hacked on 2019-03-24. Seeds: Etherscan heist-list label 'DragonEx Hacker' (Forta) and the "
        "Bitcoin address GraphSense tags 'Dragonex hack'.",
        (
            FromLabels("forta", "ethereum", r"DragonEx Hacker"),
            FromLabels("graphsense", "bitcoin", r"Dragonex hack"),
        ),
    ),
    CaseSpec(
        "coinrail-2018",
        "Coinrail hack, June 2018",
        "2018-06-09T00:00:00Z",
        "Coinrail (South Korea) lost ERC-20 tokens on 2018-06-10. Seed: Etherscan heist-list label 'Coinrail "
        "Hacker' (Forta).",
        (FromLabels("forta", "ethereum", r"Coinrail Hacker"),),
    ),
    CaseSpec(
        "gatecoin-2016",
        "Gatecoin hack, May 2016 (ETH and BTC)",
        "2016-05-12T00:00:00Z",
        "Gatecoin (Hong Kong) hot wallets were drained in May 2016. Seeds: Etherscan heist-list labels "
        "'Gatecoin Hacker 1'..'4' (Forta).",
        (FromLabels("forta", "ethereum", r"Gatecoin Hacker \d+"),),
    ),
    CaseSpec(
        "binance-2019",
        "Binance hot-wallet hack, May 2019 (7,074 BTC)",
        "2019-05-07T00:00:00Z",
        "7,074 BTC left Binance's hot wallet in one transaction on 2019-05-07. Seeds: the Bitcoin addresses "
        "GraphSense tags 'binance hack'.",
        (FromLabels("graphsense", "bitcoin", r"binance hack"),),
    ),
    CaseSpec(
        "zaif-2018",
        "Zaif hack, September 2018 (5,966 BTC)",
        "2018-09-14T00:00:00Z",
        "Zaif (Japan) lost BTC, BCH and MONA from its hot wallet on 2018-09-14. Seeds: the Bitcoin addresses "
        "GraphSense tags 'Zaif hack'.",
        (FromLabels("graphsense", "bitcoin", r"Zaif hack"),),
    ),
    CaseSpec(
        "nicehash-2017",
        "NiceHash hack, December 2017 (~4,700 BTC)",
        "2017-12-06T00:00:00Z",
        "NiceHash's payment system was compromised on 2017-12-06. Seed: the Bitcoin address GraphSense tags "
        "'Nicehash hack' (from NiceHash's own statement).",
        (FromLabels("graphsense", "bitcoin", r"Nicehash hack"),),
    ),
    CaseSpec(
        "bter-2015",
        "Bter cold-wallet hack, February 2015 (7,170 BTC)",
        "2015-02-14T00:00:00Z",
        "Bter's BTC cold wallet was emptied on 2015-02-14. Seeds: the Bitcoin addresses GraphSense tags 'Bter hack'.",
        (FromLabels("graphsense", "bitcoin", r"Bter hack"),),
    ),
)


@dataclass(frozen=True)
class SeedRecord:
    chain: str
    address: str
    label: str
    role: str
    dataset: str
    refs: tuple[str, ...]
    words: str
    shippable: bool


def _labels_by_source(book: LabelBook) -> dict[tuple[str, str], list[Label]]:
    grouped: dict[tuple[str, str], list[Label]] = {}
    for lb in book.iter_bundled():
        grouped.setdefault((lb.source, lb.chain), []).append(lb)
    return grouped


def _from_labels(spec: FromLabels, grouped: dict[tuple[str, str], list[Label]]) -> list[SeedRecord]:
    pattern = re.compile(spec.name)
    found: dict[str, list[Label]] = {}
    for lb in grouped.get((spec.source, spec.chain), []):
        if pattern.fullmatch(lb.name):
            found.setdefault(lb.address, []).append(lb)
    if not found:
        raise SystemExit(f"build_catalogue: no {spec.source} label on {spec.chain} matches {spec.name!r}")
    seeds = []
    for address in sorted(found, key=lambda a: (min(_ref_key(lb.source_ref) for lb in found[a]), a)):
        labels = sorted(found[address], key=lambda lb: _ref_key(lb.source_ref))
        seeds.append(
            SeedRecord(
                chain=spec.chain,
                address=address,
                label=labels[0].name,
                role=spec.role,
                dataset=spec.source,
                refs=tuple(lb.source_ref for lb in labels),
                words=labels[0].source_words,
                shippable=True,
            )
        )
    return seeds


def _ref_key(ref: str) -> tuple[str, int, str]:
    """Sort refs by file, then numerically by line."""
    head, _, tail = ref.rpartition(":")
    return (head, int(tail), "") if tail.isdigit() else (ref, 0, "")


def _from_raw(spec: FromRawRows, raw: Path) -> list[SeedRecord]:
    path = raw / spec.dataset / spec.file
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    seeds = []
    for n, line_no in enumerate(spec.lines, start=1):
        row = next(csv.reader(io.StringIO(lines[line_no - 1])))
        address = normalize_address(spec.chain, row[0].strip())
        seeds.append(
            SeedRecord(
                chain=spec.chain,
                address=address,
                label=spec.label.format(n=f"{n:02d}"),
                role=spec.role,
                dataset=spec.dataset,
                refs=(f"{spec.dataset}/{spec.file}:{line_no}",),
                words=row[spec.words_column].strip()
                if spec.words_column is not None
                else spec.label.format(n=f"{n:02d}"),
                shippable=False,
            )
        )
    return seeds


def _toml_str(text: str) -> str:
    return json.dumps(text, ensure_ascii=True)


def render_case(spec: CaseSpec, seeds: list[SeedRecord]) -> str:
    out = [
        "# Generated by tools/build_catalogue.py from the data on hand; do not edit by hand.",
        "# Each seed's dataset and row are in the comment above it and in sources.json.",
        "",
        "[case]",
        f"id = {_toml_str(spec.id)}",
        f"title = {_toml_str(spec.title)}",
        f"notes = {_toml_str(spec.notes)}",
    ]
    for seed in seeds:
        note = " (no licence stated: address carried over as a cited fact)" if not seed.shippable else ""
        out += [
            "",
            f"# source: {seed.dataset} {', '.join(seed.refs)}{note}",
            "[[seeds]]",
            f"chain = {_toml_str(seed.chain)}",
            f"address = {_toml_str(seed.address)}",
            f"label = {_toml_str(seed.label)}",
            f"role = {_toml_str(seed.role)}",
        ]
    out += [
        "",
        "[trace]",
        f"since = {_toml_str(spec.since)}",
        'policy = "haircut"',
        "max_hops = 25",
        'min_taint = "0.0001"',
        f"max_addresses = {spec.max_addresses}",
        "",
    ]
    return "\n".join(out)


def build(raw: Path, out: Path, *, log=print) -> dict:
    """Write one TOML per case and sources.json into `out`; returns the provenance mapping."""
    grouped = _labels_by_source(LabelBook().load())
    provenance: dict[str, list[dict]] = {}
    out.mkdir(parents=True, exist_ok=True)
    for spec in CASES:
        seeds: list[SeedRecord] = []
        seen: set[tuple[str, str]] = set()
        for selector in spec.seeds:
            found = _from_labels(selector, grouped) if isinstance(selector, FromLabels) else _from_raw(selector, raw)
            for seed in found:
                if (seed.chain, seed.address) not in seen:
                    seen.add((seed.chain, seed.address))
                    seeds.append(seed)
        (out / f"{spec.id}.toml").write_text(render_case(spec, seeds), encoding="utf-8")
        provenance[spec.id] = [
            {
                "chain": s.chain,
                "address": s.address,
                "role": s.role,
                "dataset": s.dataset,
                "refs": list(s.refs),
                "source_words": s.words,
                "shippable": s.shippable,
                **({} if s.shippable else {"why": next(x.why for x in spec.seeds if isinstance(x, FromRawRows))}),
            }
            for s in seeds
        ]
        log(f"{spec.id:20} {len(seeds):4} seeds  ({', '.join(sorted({s.dataset for s in seeds}))})")
    (out / "sources.json").write_text(json.dumps(provenance, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return provenance


def main(argv: list[str] | None = None) -> int:
    return run_build(argv, name="build_catalogue", doc=__doc__, build=build, raw=DEFAULT_RAW, out=DEFAULT_OUT)


if __name__ == "__main__":
    sys.exit(main())
