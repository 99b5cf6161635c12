"""`heisttrace labels show|import|export|stats|delete`: the label book (bundled + user labels)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tracer.core.errors import BadAddress, BadInput
from tracer.environment import Environment


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "labels",
        help="look up, import and export address labels",
        description=(
            "The label book: bundled labels (OFAC SDN, Forta, Etherscan label dumps, GraphSense TagPacks) plus "
            "your own labels kept in the local store. Your labels win over bundled ones; conflicting labels "
            "from different sources are all kept and flagged."
        ),
    )
    sub = parser.add_subparsers(dest="labels_command", metavar="COMMAND")

    show = sub.add_parser(
        "show",
        help="every label of an address, with source and conflicts",
        description=(
            "Print every label known for ADDRESS (user and bundled), the one the tracer uses (marked *), each "
            "label's source, row reference, the source's own words, confidence and conflicts."
        ),
    )
    show.add_argument("address", help="the address (any case; EVM checksums are verified)")
    show.add_argument("--chain", help="chain slug (default: every chain the address form fits)")
    show.add_argument("--json", action="store_true", help="print JSON instead of a table")
    show.set_defaults(run=run_show)

    imp = sub.add_parser(
        "import",
        help="import labels from CSV or a GraphSense TagPack into the store",
        description=(
            "Read FILE (.csv with columns chain,address,category[,name,source,source_ref,source_words,confidence], "
            "or a GraphSense TagPack .yaml) and keep its labels in the local store as user labels. A malformed "
            "file is rejected as a whole, with the line named."
        ),
    )
    imp.add_argument("file", type=Path, help="a .csv or .yaml (TagPack) file")
    imp.add_argument("--source", help="record the labels under this source name (default: the file's own, or 'user')")
    imp.set_defaults(run=run_import)

    exp = sub.add_parser(
        "export",
        help="export user labels as CSV or a GraphSense TagPack",
        description="Write the user labels of the store (or, with --bundled, the bundled ones) as CSV or TagPack YAML.",
    )
    exp.add_argument("--format", choices=("csv", "tagpack"), default="csv", help="output format (default: csv)")
    exp.add_argument("--out", type=Path, help="output file (default: stdout)")
    exp.add_argument("--bundled", action="store_true", help="export the bundled labels instead of the user labels")
    exp.set_defaults(run=run_export)

    stats = sub.add_parser(
        "stats",
        help="counts of labels per source, category and chain",
        description="Count labels per source, category and chain, and the addresses whose sources disagree.",
    )
    stats.add_argument("--json", action="store_true", help="print JSON instead of tables")
    stats.set_defaults(run=run_stats)

    delete = sub.add_parser(
        "delete",
        help="delete user labels from the store",
        description="Delete the user labels of one source (--source NAME), or all of them (--all).",
    )
    group = delete.add_mutually_exclusive_group(required=True)
    group.add_argument("--source", help="delete the user labels recorded under this source")
    group.add_argument("--all", action="store_true", help="delete every user label")
    delete.set_defaults(run=run_delete)

    parser.set_defaults(run=lambda args, env: _help(parser, env))


def _help(parser: argparse.ArgumentParser, env: Environment) -> int:
    env.stdout.print(parser.format_help(), markup=False, highlight=False)
    return 2


def _chains_for(address: str, chain: str | None) -> list[str]:
    from tracer.core.addresses import EVM_CHAINS
    from tracer.core.networks import CHAINS, get_chain

    if chain:
        return [get_chain(chain).slug]
    if address.lower().startswith("0x"):
        return [c for c in CHAINS if c in EVM_CHAINS]
    if address.startswith("T") or (address.startswith("41") and len(address) == 42):
        return ["tron"]
    return ["bitcoin"]


def run_show(args: argparse.Namespace, env: Environment) -> int:
    from tracer.core.addresses import normalize_address
    from tracer.labels.book import load_labels

    chains = _chains_for(args.address, args.chain)
    for chain in chains:
        try:
            normalize_address(chain, args.address)
        except BadAddress as exc:
            if args.address in exc.message:
                raise
            raise BadAddress(f"{args.address!r} is not a {chain} address ({exc.message})") from None
    book = load_labels(store=env.store_path)
    found = []
    for chain in chains:
        labels = book.labels(chain, args.address)
        if labels:
            found.append((chain, book.label(chain, args.address), labels, book.describe(chain, args.address)))
    if args.json:
        doc = [
            {
                "chain": chain,
                "summary": summary,
                "best": _label_dict(best) if best else None,
                "labels": [_label_dict(lb) for lb in labels],
            }
            for chain, best, labels, summary in found
        ]
        env.stdout.out(json.dumps(doc, indent=2, ensure_ascii=False), highlight=False)
        return 0
    if not found:
        where = args.chain or "any chain"
        env.stdout.print(f"no label for {args.address} on {where}", markup=False, highlight=False)
        return 0
    for chain, best, labels, summary in found:
        env.stdout.print(f"{chain} {labels[0].address}: {summary}", markup=False, highlight=False)
        for lb in labels:
            mark = "*" if lb == best else " "
            env.stdout.print(
                f"{mark} {lb.category.value:17} {lb.name}  ({lb.source}, confidence {lb.confidence:.2f})",
                markup=False,
                highlight=False,
            )
            env.stdout.print(f"      row:   {lb.source_ref}", markup=False, highlight=False)
            env.stdout.print(f"      words: {lb.source_words}", markup=False, highlight=False)
            if lb.conflicts:
                env.stdout.print(f"      conflicts with: {', '.join(lb.conflicts)}", markup=False, highlight=False)
    env.stdout.print("* = the label the tracer uses", markup=False, highlight=False)
    return 0


def _label_dict(lb) -> dict:
    return {
        "chain": lb.chain,
        "address": lb.address,
        "category": lb.category.value,
        "name": lb.name,
        "source": lb.source,
        "source_ref": lb.source_ref,
        "source_words": lb.source_words,
        "confidence": lb.confidence,
        "conflicts": list(lb.conflicts),
    }


def run_import(args: argparse.Namespace, env: Environment) -> int:
    from dataclasses import replace

    from tracer.labels.files import read_label_file
    from tracer.store import Store

    if args.file.is_dir():
        raise BadInput(f"label file {args.file} is a directory; give a .csv or .yaml file")
    if not args.file.is_file():
        raise BadInput(f"label file {args.file} does not exist")
    labels = read_label_file(args.file)
    if args.source:
        labels = [replace(lb, source=args.source) for lb in labels]
    with Store.open(env.store_path) as store:
        store.write_user_labels(labels)
    env.stdout.print(f"imported {len(labels)} labels from {args.file}", markup=False, highlight=False)
    return 0


def run_export(args: argparse.Namespace, env: Environment) -> int:
    from tracer.labels.book import LabelBook, load_labels
    from tracer.labels.files import export_labels

    if args.bundled:
        labels = list(LabelBook().iter_bundled())
    else:
        labels = load_labels(store=env.store_path, bundled=False).user_labels()
    if args.out:
        _check_writable_file(args.out)
    text = export_labels(labels, fmt=args.format)
    if args.out:
        try:
            args.out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise BadInput(f"cannot write {args.out}: {exc.strerror or exc}") from None
        env.stderr.print(f"wrote {len(labels)} labels to {args.out}", markup=False, highlight=False)
    else:
        env.stdout.out(text, end="", highlight=False)
    return 0


def _check_writable_file(path: Path) -> None:
    """BadInput unless `path` can be created as a file (its directory exists and it is not a directory)."""
    if path.is_dir():
        raise BadInput(f"{path} is a directory; give a file name for --out")
    parent = path.parent
    if parent.exists() and not parent.is_dir():
        raise BadInput(f"cannot write {path}: {parent} is a file, not a directory")
    if not parent.is_dir():
        raise BadInput(f"cannot write {path}: the directory {parent} does not exist")


def run_stats(args: argparse.Namespace, env: Environment) -> int:
    from dataclasses import asdict

    from tracer.labels.book import load_labels

    stats = load_labels(store=env.store_path).stats()
    if args.json:
        env.stdout.out(json.dumps(asdict(stats), indent=2), highlight=False)
        return 0
    from rich.table import Table

    env.stdout.print(
        f"{stats.labels:,} labels on {stats.addresses:,} addresses ({stats.user_labels:,} user labels); "
        f"{stats.conflicting_addresses:,} addresses carry conflicting labels",
        markup=False,
        highlight=False,
    )
    for title, counts in (("source", stats.by_source), ("category", stats.by_category), ("chain", stats.by_chain)):
        table = Table(title, "labels", title=f"by {title}")
        for key, count in counts.items():
            table.add_row(key, f"{count:,}")
        env.stdout.print(table)
    return 0


def run_delete(args: argparse.Namespace, env: Environment) -> int:
    from tracer.store import Store

    if not env.store_path.exists():
        env.stdout.print("deleted 0 user labels (no store yet)", markup=False, highlight=False)
        return 0
    with Store.open(env.store_path) as store:
        count = store.delete_user_labels(source=None if args.all else args.source)
    env.stdout.print(f"deleted {count} user labels", markup=False, highlight=False)
    return 0
