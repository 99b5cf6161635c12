"""`heisttrace report DIR` and `heisttrace export DIR`: the case file and graph/table exports of a bundle."""

from __future__ import annotations

import argparse
from pathlib import Path

from tracer.commands.bundle_args import add_bundle_command
from tracer.commands.valuation_args import add_valuation_args, revalue_dir
from tracer.environment import Environment


def register(subparsers: argparse._SubParsersAction) -> None:
    report = add_bundle_command(
        subparsers,
        "report",
        help="render the case file (HTML, Markdown or PDF) from a bundle",
        description=(
            "Render the case file of a finished trace from its bundle directory: a self-contained, offline "
            "report.html (summary, balance sheet as a Sankey, interactive flow graph, endpoints with explorer "
            "links, main paths, timeline, methodology), report.md, or report.pdf printed by headless Chromium."
        ),
        run=run_report,
        dir_help="bundle directory written by `heisttrace trace --out`",
    )
    report.add_argument("--format", choices=("html", "md", "pdf"), default="html", help="output format (default html)")
    report.add_argument("--out", type=output_path, metavar="FILE", help="output file (default DIR/report.<format>)")
    add_valuation_args(report)

    export = add_bundle_command(
        subparsers,
        "export",
        help="export the traced graph and tables (GraphML, GEXF, DOT, CSV, Parquet, JSON)",
        description=(
            "Export a bundle's flow graph (nodes: addresses with role, category, label, taint; edges: flows with "
            "tx hash, asset, amounts) as GraphML, GEXF (Gephi), DOT (Graphviz) or JSON, or its tables (nodes, "
            "edges, addresses, flows, endpoints) as a directory of CSV or Parquet files."
        ),
        run=run_export,
    )
    export.add_argument(
        "--format",
        required=True,
        choices=("graphml", "gexf", "dot", "csv", "parquet", "json", *INDICATOR_FORMATS),
        help="export format; stix, misp and tagpack share the thief-controlled and endpoint addresses as indicators",
    )
    export.add_argument(
        "--out", type=output_path, metavar="PATH", help="output file, or directory for csv/parquet (default inside DIR)"
    )


#: Indicator formats (tracer.incident.indicators): STIX 2.1, a MISP event, a GraphSense TagPack.
INDICATOR_FORMATS = ("stix", "misp", "tagpack")


def output_path(text: str) -> Path:
    """An --out path; an empty one (e.g. an unset shell variable) is refused rather than read as '.'."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a file or directory name, got an empty string")
    return Path(text)


def run_report(args: argparse.Namespace, env: Environment) -> int:
    from tracer.report import write_report

    revalue_dir(args.dir, args)
    path = write_report(args.dir, fmt=args.format, out=args.out)
    env.stdout.print(f"wrote {path}", markup=False, highlight=False)
    return 0


def run_export(args: argparse.Namespace, env: Environment) -> int:
    if args.format in INDICATOR_FORMATS:
        from tracer.incident.indicators import write_indicators

        path = write_indicators(args.dir, args.format, out=args.out)
        env.stdout.print(f"wrote {path}", markup=False, highlight=False)
        return 0
    from tracer.report.bundle import read_bundle
    from tracer.report.exports import export_bundle

    path = export_bundle(read_bundle(args.dir), args.format, out=args.out)
    env.stdout.print(f"wrote {path}", markup=False, highlight=False)
    return 0
