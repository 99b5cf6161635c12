"""Trace the SYNTHETIC demo case and export its flow graph for Gephi (GEXF).

    python examples/export_gephi.py [OUT_DIR]

Open OUT_DIR/graph.gexf in Gephi (File > Open): nodes carry role, category and label;
edges carry the transaction, asset and tainted amount.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from tracer import trace
from tracer.demo import demo_session
from tracer.report.bundle import read_bundle
from tracer.report.exports import export_bundle


def main(out: Path) -> Path:
    with tempfile.TemporaryDirectory() as work, demo_session(work) as demo:
        result = trace(demo.case_path, history=demo.history, labels=demo.labels, store=demo.store)
    result.write(out, report=False)
    path = export_bundle(read_bundle(out), "gexf", out=out / "graph.gexf")
    print(f"wrote {path} ({result.graph.number_of_nodes()} nodes, {result.graph.number_of_edges()} edges)")
    return path


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("heisttrace-gephi"))
