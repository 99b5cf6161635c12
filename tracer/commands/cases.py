"""`heisttrace cases list|show ID`: the bundled catalogue of real exchange hacks."""

from __future__ import annotations

import argparse
import json

from tracer.environment import Environment


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "cases",
        help="the bundled catalogue of real exchange hacks",
        description=(
            "Case files of real exchange hacks shipped with heisttrace. Every seed names the dataset and row it "
            "comes from. Run one with `heisttrace trace --case ID`, or copy it with `cases show ID --toml`."
        ),
    )
    sub = parser.add_subparsers(dest="cases_command", metavar="COMMAND")
    lst = sub.add_parser(
        "list", help="list the bundled cases", description="List the bundled cases: id, title, start, seeds, chains."
    )
    lst.add_argument("--json", action="store_true", help="print JSON instead of a table")
    lst.set_defaults(run=run_list)
    show = sub.add_parser(
        "show",
        help="a bundled case: notes, seeds and where each seed comes from",
        description=(
            "Show a bundled case: title, notes, trace parameters and every seed with its role, the dataset and "
            "row it comes from, and what the label book says about it today."
        ),
    )
    show.add_argument("id", help="case id, e.g. bybit-2025 (see `heisttrace cases list`)")
    show.add_argument("--toml", action="store_true", help="print the case file itself (to copy and edit)")
    show.add_argument("--json", action="store_true", help="print JSON instead of tables")
    show.set_defaults(run=run_show)
    parser.set_defaults(run=lambda args, env: _help(parser, env))


def _help(parser: argparse.ArgumentParser, env: Environment) -> int:
    env.stdout.print(parser.format_help(), markup=False, highlight=False)
    return 2


def run_list(args: argparse.Namespace, env: Environment) -> int:
    from tracer.cases.catalogue import list_cases

    entries = list_cases()
    if args.json:
        doc = [
            {"id": e.id, "title": e.title, "since": e.since, "seeds": e.seeds, "chains": list(e.chains)}
            for e in entries
        ]
        env.stdout.out(json.dumps(doc, indent=2), highlight=False)
        return 0
    from rich.table import Table

    table = Table("id", "title", "since", "seeds", "chains", title="bundled cases")
    for e in entries:
        table.add_row(e.id, e.title, e.since, str(e.seeds), ", ".join(e.chains))
    env.stdout.print(table)
    return 0


def run_show(args: argparse.Namespace, env: Environment) -> int:
    from tracer.cases.catalogue import get_case, read_case_text, seed_sources
    from tracer.labels.book import load_labels

    if args.toml:
        env.stdout.out(read_case_text(args.id), end="", highlight=False)
        return 0
    case = get_case(args.id)
    sources = {(s.chain, s.address): s for s in seed_sources(args.id)}
    book = load_labels(store=env.store_path)
    rows = []
    for seed in case.seeds:
        src = sources.get((seed.chain, seed.address or ""))
        rows.append(
            {
                "chain": seed.chain,
                "address": seed.address,
                "tx": seed.tx,
                "role": seed.role,
                "label": seed.label,
                "dataset": src.dataset if src else "",
                "refs": list(src.refs) if src else [],
                "shippable": src.shippable if src else None,
                "labelled_now": book.describe(seed.chain, seed.address) if seed.address else "",
            }
        )
    if args.json:
        doc = {
            "id": case.id,
            "title": case.title,
            "notes": case.notes,
            "since": _bound(case.trace.since),
            "policy": case.trace.policy.value,
            "seeds": rows,
        }
        env.stdout.out(json.dumps(doc, indent=2), highlight=False)
        return 0
    from rich.table import Table

    env.stdout.print(f"{case.id}: {case.title}", markup=False, highlight=False)
    env.stdout.print(case.notes, markup=False, highlight=False)
    env.stdout.print(
        f"since {_bound(case.trace.since)}, policy {case.trace.policy.value}, max hops {case.trace.max_hops}, "
        f"max addresses {case.trace.max_addresses}",
        markup=False,
        highlight=False,
    )
    table = Table("chain", "seed", "role", "label", "source (dataset and row)", "label book now", title="seeds")
    for row in rows:
        origin = f"{row['dataset']} {', '.join(row['refs'])}"
        if row["shippable"] is False:
            origin += " (cited fact; dataset not bundled)"
        table.add_row(row["chain"], row["address"] or row["tx"], row["role"], row["label"], origin, row["labelled_now"])
    env.stdout.print(table)
    env.stdout.print(f"run it: heisttrace trace --case {case.id} --out DIR", markup=False, highlight=False)
    return 0


def _bound(bound) -> str:
    if bound is None:
        return ""
    if getattr(bound, "block", None) is not None:
        return f"block {bound.block}"
    from datetime import UTC, datetime

    return datetime.fromtimestamp(bound.timestamp, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
