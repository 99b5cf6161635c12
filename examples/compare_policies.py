"""Trace the SYNTHETIC demo case under every taint policy and compare where the loot went.

    python examples/compare_policies.py [OUT_DIR]

Writes one bundle per policy under OUT_DIR/<policy>/ and OUT_DIR/comparison.json. The store
is shared, so only the first policy reads the (emulated) explorer.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from tracer import compare_policies
from tracer.core.models import Policy
from tracer.demo import demo_session


def main(out: Path) -> None:
    with tempfile.TemporaryDirectory() as work, demo_session(work) as demo:
        results = compare_policies(
            demo.case_path, list(Policy), out=out, history=demo.history, labels=demo.labels, store=demo.store
        )
    print(f"{'policy':<8} {'addresses':>9} {'endpoints':>9}  ETH at endpoints")
    for name, result in results.items():
        eth = result.summary["assets"]["ethereum:native"]["endpoints"]
        print(f"{name:<8} {result.addresses.height:>9} {result.endpoints.height:>9}  {eth}")
    print(f"bundles and comparison.json in {out}/")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("heisttrace-policies"))
