"""Trace a case with the library: the bundled SYNTHETIC demo case, served by a local emulated explorer.

    python examples/trace_a_case.py [OUT_DIR]

Works offline and without an API key. For a real case, write a case file (see the README)
and call `trace("case.toml")`: sources, store and labels then come from the case file and
HEISTTRACE_HOME.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from tracer import trace
from tracer.demo import demo_session


def main(out: Path) -> None:
    with tempfile.TemporaryDirectory() as work, demo_session(work) as demo:
        result = trace(demo.case_path, history=demo.history, labels=demo.labels, store=demo.store)
    print(f"case {result.summary['case']} (synthetic), policy {result.summary['policy']}")
    for key, sheet in result.summary["assets"].items():
        print(f"  {sheet['symbol']:<5} stolen {sheet['stolen']:>12}  at endpoints {sheet['endpoints']:>28}  ({key})")
    top = result.endpoints.sort("category").group_by("category", maintain_order=True).len()
    for category, count in top.iter_rows():
        print(f"  {count:>3} endpoints of category {category}")
    print(f"  {result.addresses.height} addresses received taint; {result.flows.height} tainted transfers")
    result.write(out)
    print(f"bundle written to {out}/")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("heisttrace-example"))
