"""`heisttrace index-export DIR` and `heisttrace cluster EXPORT_DIR --out DIR`: bulk chain exports."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from tracer.environment import Environment


def register(subparsers: argparse._SubParsersAction) -> None:
    index = subparsers.add_parser(
        "index-export",
        help='index an ethereum-etl / BigQuery / bitcoin-etl export once, for kind = "export" sources',
        description=(
            "Build, once, the address-partitioned and sorted Parquet index of a bulk export (ethereum-etl or "
            "BigQuery crypto_ethereum tables: transactions with receipt_* columns or a receipts table, traces, "
            "token_transfers, tokens, blocks; or bitcoin-etl / crypto_bitcoin transactions), as CSV, Parquet or "
            "JSON lines, one file or a folder of parts per table. A case then reads it with "
            '[source] ethereum = { kind = "export", path = "DIR" } and makes no network request.'
        ),
    )
    index.add_argument("export_dir", metavar="EXPORT_DIR", help="the export folder")
    index.add_argument("--out", metavar="INDEX", help="where to write the index (default: DIR/heisttrace-index)")
    index.add_argument("--family", choices=("auto", "evm", "bitcoin"), default="auto", help="which export it is")
    index.add_argument("--key-chars", type=int, choices=(1, 2, 3, 4), help="bucket by this many trailing characters")
    index.add_argument("--json", action="store_true", help="print the result as JSON")
    index.set_defaults(run=run_index)

    cluster = subparsers.add_parser(
        "cluster",
        help="multi-input clustering of a bitcoin-etl export (local or on Spark)",
        description=(
            "Cluster every input address of a bitcoin-etl / BigQuery crypto_bitcoin export by the multi-input "
            "heuristic, CoinJoins excluded; write clusters.parquet, cluster_stats.parquet (service-sized "
            "clusters flagged), coinjoins.parquet and cluster_labels.csv (labels services pass to their "
            "clusters; import them with `heisttrace labels import`). --engine spark runs on Apache Spark "
            "(pip install 'heisttrace[spark]'; --master local[2], spark://HOST:7077, yarn, ...)."
        ),
    )
    cluster.add_argument("export_dir", metavar="EXPORT_DIR", help="the bitcoin-etl export folder")
    cluster.add_argument("--out", required=True, metavar="DIR", help="where to write the cluster files")
    cluster.add_argument("--engine", choices=("local", "spark"), default="local")
    cluster.add_argument("--master", default="local[2]", help="Spark master URL (default: local[2])")
    cluster.add_argument("--partitions", type=int, default=8, help="Spark shuffle partitions (default: 8)")
    cluster.add_argument(
        "--service-size", type=int, default=None, help="clusters this large are flagged service-sized (default: 10000)"
    )
    cluster.add_argument("--labels", type=Path, action="append", default=[], help="extra label file(s) (CSV, TagPack)")
    cluster.add_argument("--json", action="store_true", help="print the summary as JSON")
    cluster.set_defaults(run=run_cluster)


def _family(export_dir: Path) -> str:
    from chains.export.tables import columns, scan_table

    frame = scan_table(export_dir, "transactions")
    schema = columns(frame) if frame is not None else {}
    return "bitcoin" if "inputs" in schema and "outputs" in schema else "evm"


def run_index(args: argparse.Namespace, env: Environment) -> int:
    from chains.export.layout import INDEX_DIRNAME
    from tracer.bundle.outputs import check_output_dir
    from tracer.core.errors import BadInput

    export_dir = Path(args.export_dir)
    if not export_dir.is_dir():
        raise BadInput(f"index-export: {export_dir} is not a folder")
    out = check_output_dir(args.out) if args.out is not None else export_dir / INDEX_DIRNAME
    if out.is_dir() and any(out.iterdir()) and not (out / "manifest.json").is_file():
        raise BadInput(f"--out {out}: the directory is not empty and is not an export index; give a new or empty one")
    family = _family(export_dir) if args.family == "auto" else args.family

    def progress(line: str) -> None:
        if not args.json:
            env.stderr.print(line, markup=False, highlight=False)

    if family == "bitcoin":
        from chains.export.utxo_index import build_utxo_index

        result = build_utxo_index(export_dir, out, key_chars=args.key_chars, progress=progress)
    else:
        from chains.export.evm_index import build_evm_index

        result = build_evm_index(export_dir, out, key_chars=args.key_chars, progress=progress)
    if args.json:
        env.stdout.print_json(json.dumps({**result, "index": str(out)}))
    else:
        env.stdout.print(
            f"indexed the {family} export {export_dir} into {out} in {result['seconds']} s: "
            + ", ".join(
                f"{k} {v:,}" for k, v in result.items() if k not in ("family", "seconds") and isinstance(v, int)
            ),
            markup=False,
            highlight=False,
        )
    return 0


def run_cluster(args: argparse.Namespace, env: Environment) -> int:
    from tracer.bundle.outputs import check_output_dir
    from tracer.cluster.output import DEFAULT_SERVICE_SIZE, write_outputs
    from tracer.core.errors import BadInput
    from tracer.labels.book import load_labels
    from tracer.labels.files import read_label_file

    export_dir = Path(args.export_dir)
    if not export_dir.is_dir():
        raise BadInput(f"cluster: {export_dir} is not a folder")
    service_size = DEFAULT_SERVICE_SIZE if args.service_size is None else args.service_size
    if service_size < 2:
        raise BadInput("--service-size: expected 2 or more")
    if args.partitions < 1:
        raise BadInput("--partitions: expected 1 or more")
    out = check_output_dir(args.out)
    if out.exists() and not out.is_dir():
        raise BadInput(f"--out {out} is a file; give a directory")
    extra = []
    for path in args.labels:
        if not path.is_file():
            raise BadInput(f"--labels {path}: not a label file (it does not exist or is a directory)")
        extra += [lab for lab in read_label_file(path) if lab.chain == "bitcoin"]

    def progress(line: str) -> None:
        if not args.json:
            env.stderr.print(line, markup=False, highlight=False)

    started = time.perf_counter()
    if args.engine == "spark":
        from tracer.cluster.spark import spark_components

        out.mkdir(parents=True, exist_ok=True)
        parts = spark_components(
            export_dir, master=args.master, work_dir=out, partitions=args.partitions, progress=progress
        )
    else:
        from tracer.cluster.local import local_components

        parts = local_components(export_dir, progress=progress)
    book = load_labels(store=env.store_path)
    labels = extra + [lab for lab in book.user_labels() if lab.chain == "bitcoin"]  # first listed wins
    labels += [book.label("bitcoin", lab.address) for lab in book.iter_bundled() if lab.chain == "bitcoin"]
    summary = write_outputs(
        parts,
        out,
        labels=[lab for lab in labels if lab is not None],
        service_size=service_size,
        engine=args.engine,
    )
    seconds = round(time.perf_counter() - started, 2)
    if args.json:
        env.stdout.print_json(json.dumps({**summary, "seconds": seconds}))
    else:
        env.stdout.print(
            f"{summary['addresses']:,} addresses in {summary['clusters']:,} clusters ({summary['links']:,} links, "
            f"{summary['coinjoins_excluded']:,} CoinJoins excluded, {summary['service_sized_clusters']:,} "
            f"service-sized, {summary['labels_passed_on']:,} labels passed on) -> {out}/"
            f" in {seconds} s ({args.engine})",
            markup=False,
            highlight=False,
        )
    return 0
