"""`heisttrace trace CASE.toml --out DIR`: follow the stolen value and write the bundle.

Shows live progress (addresses expanded, requests, share of the loot at endpoints). Ctrl-C
keeps a checkpoint in the store (exit 130); the same command resumes. Exit 4 when a budget
or an offline gap left the trace incomplete (the bundle is still written).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from tracer.bundle.outputs import check_bundle_dir
from tracer.commands.rate_args import add_rate_arg, checked_rate
from tracer.commands.valuation_args import add_valuation_args, valuation_spec, value_trace
from tracer.core.errors import BadInput
from tracer.core.models import Policy
from tracer.environment import Environment

EXIT_OK = 0
EXIT_INCOMPLETE = 4


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "trace",
        help="trace a case file and write the bundle",
        description=(
            "Follow stolen value from the case's seeds hop by hop under a taint policy, stop at labelled "
            "services, and write summary.json, addresses.csv, flows.csv, endpoints.csv, graph.graphml, "
            "manifest.json (and report.html) to --out. Fresh addresses first funded by the thief are followed as "
            "thief-controlled (first-funder attribution) unless --no-attribution or the case's attribution = false. "
            "Interrupt with Ctrl-C and run the same command to resume."
        ),
    )
    parser.add_argument("case", type=Path, nargs="?", help="the case file (TOML)")
    parser.add_argument(
        "--case", dest="case_id", metavar="ID", help="a case of the bundled catalogue instead of a file"
    )
    parser.add_argument("--out", required=True, help="bundle directory")
    parser.add_argument("--policy", help="poison | haircut | fifo | lifo | tiho (default: the case's)")
    parser.add_argument("--strategy", help="frontier strategy: ranked (default) | bfs | poison")
    parser.add_argument("--source", help="source kind for every seed chain: etherscan | rpc")
    parser.add_argument("--api-url", help="Etherscan-compatible API URL for every etherscan source")
    parser.add_argument("--rpc-url", help="JSON-RPC URL for every rpc source")
    parser.add_argument("--offline", action="store_true", help="answer only from the local store")
    parser.add_argument("--midgard-url", help="Midgard base URL for THORChain crossings (default: the case's)")
    parser.add_argument("--lifi-url", help="LI.FI API base URL for LI.FI crossings (default: the case's)")
    parser.add_argument(
        "--no-crosschain", action="store_true", help="stop at bridges (do not follow value onto other chains)"
    )
    parser.add_argument("--max-addresses", type=int, help="expansion budget (addresses whose history is read)")
    parser.add_argument(
        "--no-attribution",
        action="store_true",
        help="value-only tracing: do not treat fresh addresses first funded by the thief as thief-controlled "
        "(overrides the case's attribution; no effect on Bitcoin cases)",
    )
    parser.add_argument("--json", action="store_true", help="print summary.json to stdout instead of tables")
    parser.add_argument(
        "--compare", help="comma-separated policies: trace each, write DIR/<policy>/ and comparison.json"
    )
    add_valuation_args(parser)
    add_rate_arg(parser)
    parser.set_defaults(run=run)


def _compare_policies(text: str) -> list[str]:
    """The policy names of `--compare`, all checked before the first trace starts."""
    names = [p.strip() for p in text.split(",") if p.strip()]
    if not names:
        raise BadInput("--compare needs at least one policy")
    known = [p.value for p in Policy]
    for name in names:
        if name not in known:
            raise BadInput(f"--compare: unknown policy {name!r}; expected some of: {', '.join(known)}")
    return names


def run(args: argparse.Namespace, env: Environment) -> int:
    from tracer.api import compare_policies, trace
    from tracer.cases.plan import build_plan
    from tracer.store import Store

    if args.max_addresses is not None and args.max_addresses < 1:
        raise BadInput(f"--max-addresses must be at least 1, not {args.max_addresses}")
    if (args.case is None) == (args.case_id is None):
        raise BadInput("give either a case file or --case ID (see 'heisttrace cases list')")
    if args.case_id is not None:
        from tracer.cases.catalogue import case_path

        args.case = case_path(args.case_id)
    if args.case.is_dir():
        raise BadInput(f"case file {args.case} is a directory; give the .toml file")
    if not args.case.is_file():
        raise BadInput(f"case file {args.case} does not exist")
    args.out = check_bundle_dir(args.out)
    policies = _compare_policies(args.compare) if args.compare else []
    plan = build_plan(
        args.case,
        policy=args.policy,
        strategy=args.strategy,
        max_addresses=args.max_addresses,
        source=args.source,
        api_url=args.api_url,
        rpc_url=args.rpc_url,
        attribution=False if args.no_attribution else None,
        offline=args.offline,
        api_key=env.api_key("ETHERSCAN_API_KEY"),
        crosschain=False if args.no_crosschain else None,
        midgard_url=args.midgard_url,
        lifi_url=args.lifi_url,
        rate=checked_rate(args.rate),
    )
    valuation = valuation_spec(plan, args)
    options: dict[str, Any] = {}
    with Store.open(env.store_path) as store, _progress(env, quiet=args.json) as progress:
        options["store"] = store
        options["progress"] = progress
        if policies:
            results = compare_policies(plan, policies, out=args.out, **options)
            summaries = {name: r.summary for name, r in results.items()}
            complete = all(r.complete for r in results.values())
        else:
            result = trace(plan, **options)
            value_trace(result, valuation, args, env, store)
            kept = _case_copy(args.case)
            result.write(args.out, extra=kept)
            if not kept:
                env.stderr.print(
                    "heisttrace: note: the case file holds a key in a source URL, so it is not copied into the "
                    "bundle (give it to 'heisttrace watch' with --case).",
                    markup=False,
                    highlight=False,
                )
            summaries = {result.summary["policy"]: result.summary}
            complete = result.complete
    if args.json:
        doc = next(iter(summaries.values())) if len(summaries) == 1 else summaries
        env.stdout.out(json.dumps(doc, indent=2, ensure_ascii=False), highlight=False)
    else:
        for summary in summaries.values():
            _render(env, summary)
        env.stdout.print(f"bundle written to {args.out}", markup=False, highlight=False)
    if not complete:
        env.stderr.print(_incomplete_line(summaries), markup=False, highlight=False)
        return EXIT_INCOMPLETE
    return EXIT_OK


def _incomplete_line(summaries: dict[str, dict[str, Any]]) -> str:
    """Why the trace is incomplete, in one sentence (exit 4)."""
    from tracer.bundle.activity import window_text
    from tracer.core.gaps import NO_ACTIVITY, has_kind

    summary = next(iter(summaries.values()))
    if has_kind(summary.get("gaps"), NO_ACTIVITY):
        return (
            f"heisttrace: no seed had any activity in the trace window ({window_text(summary['parameters'])}); "
            "nothing was traced. Check the seeds and since/until (the bundle lists each seed under gaps)."
        )
    gaps = [g for s in summaries.values() for g in s.get("gaps") or [] if isinstance(g, dict)]
    return (
        f"heisttrace: the trace is incomplete (budget, hop limit or offline gap); the bundle says what is missing "
        f"({len(gaps)} gap{'s' if len(gaps) != 1 else ''} in summary.json)."
    )


def _case_copy(case: Path) -> dict[str, bytes]:
    """The case file's copy for the bundle (`heisttrace watch` re-traces it; its hash is in the manifest),
    written with the bundle's other files so a kill never leaves a bundle without it.

    A case file whose source URLs carry a key (userinfo, a key-like path segment) is not copied: the
    bundle is meant to be shared and never holds a secret. Empty then (watch needs --case)."""
    from tracer.core.redact import carries_secret
    from tracer.incident.bundle import CASE_COPY

    raw = case.read_bytes()
    if carries_secret(raw.decode("utf-8", errors="replace")):
        return {}
    return {CASE_COPY: raw}


class _progress:
    """A rich live line on stderr; a no-op callback when quiet."""

    def __init__(self, env: Environment, *, quiet: bool) -> None:
        self.env = env
        self.quiet = quiet
        self._live: Any = None

    def __enter__(self) -> Any:
        if self.quiet:
            return None
        from rich.progress import Progress, ProgressColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
        from rich.text import Text

        from chains.http import rate_limit_status

        class RateLimitColumn(ProgressColumn):
            """'waiting on etherscan rate limit' while a client sleeps on one (re-read on every refresh)."""

            def render(self, task: Any) -> Text:
                return Text(rate_limit_status(), style="yellow")

        self._live = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            RateLimitColumn(),
            TimeElapsedColumn(),
            console=self.env.stderr,
            transient=True,
        )
        self._live.start()
        task = self._live.add_task("starting from the seeds", total=None)

        def update(p: Any) -> None:
            share = float(p.endpoint_share) * 100  # display only
            self._live.update(
                task,
                description=(
                    f"expanded {p.expanded} · frontier {p.frontier} · requests {p.requests} · "
                    f"transfers {p.transfers_read} · at endpoints {share:.1f}%"
                ),
            )

        return update

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.stop()


def _attribution_notes(summary: dict[str, Any]) -> list[str]:
    """Under the balance sheet: thief funds (what thief-controlled addresses gained; never stolen) per asset,
    apart from stolen value, and how many addresses first-funder attribution found."""
    from tracer.report.fmt import ATTRIBUTED_TEXT

    lines = [
        f"{row['symbol']} ({key}) stolen {row['stolen']}; plus {row['thief_funds']['gained']} {row['symbol']} "
        f"{ATTRIBUTED_TEXT} ({row['thief_funds']['endpoints']} at endpoints)"
        for key, row in summary["assets"].items()
        if row.get("thief_funds", {}).get("gained") not in (None, "0")
    ]
    count = len(summary.get("attributed_addresses") or [])
    if count:
        lines.append(
            f"{count} address{'es' if count != 1 else ''} taken as thief-controlled because the thief funded them "
            "first (attributed_addresses in summary.json); --no-attribution traces value only"
        )
    return lines


def _render(env: Environment, summary: dict[str, Any]) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(
        title=f"{summary['case']} · {summary['policy']} · {'complete' if summary['complete'] else 'INCOMPLETE'}"
    )
    columns = ("stolen", "swapped_in", "endpoints", "unmoved", "fees", "below_threshold", "unexplored", "swapped_out")
    table.add_column("asset")
    for c in columns:
        table.add_column(c.replace("_", " "), justify="right")
    for key, row in summary["assets"].items():
        table.add_row(f"{row['symbol']} ({key})", *(row[c] for c in columns))
    notes = _attribution_notes(summary)
    if notes:
        table.caption = Text("\n".join(notes))
        table.caption_justify = "left"
    env.stdout.print(table)
    if summary["endpoints_by_category"]:
        cats = Table(title="reached endpoints")
        cats.add_column("category")
        cats.add_column("asset")
        cats.add_column("amount", justify="right")
        for cat, per in summary["endpoints_by_category"].items():
            for key, amount in per.items():
                cats.add_row(cat, key, amount)
        env.stdout.print(cats)
    counts = summary["counts"]
    env.stdout.print(
        f"addresses visited {counts['addresses_visited']} · transfers read {counts['transfers_read']} · "
        f"requests {counts['requests']}",
        markup=False,
        highlight=False,
    )
