"""Compile tests/contracts/*.sol with the pinned npm solc into tests/contracts/build/<Contract>.json.

Each output file holds the contract's ABI and creation bytecode; the files are committed so
tests need no compiler. Run: `python tools/compile_contracts.py` (needs `make tools`).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "tests" / "contracts"
BUILD = SOURCES / "build"
SOLC_DIR = ROOT / "tools" / "node_modules" / "solc"

_NODE_SCRIPT = """
const solc = require(process.argv[1]);
let input = '';
process.stdin.on('data', (c) => (input += c));
process.stdin.on('end', () => {
  process.stdout.write(JSON.stringify({version: solc.version(), output: JSON.parse(solc.compile(input))}));
});
"""


def compile_sources(sources: dict[str, str]) -> tuple[str, dict]:
    """Run solc's standard-JSON compiler on `sources` (file name -> text); return (version, output)."""
    request = {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sources.items()},
        "settings": {
            "optimizer": {"enabled": True, "runs": 200},
            "evmVersion": "cancun",
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}},
        },
    }
    done = subprocess.run(
        ["node", "-e", _NODE_SCRIPT, str(SOLC_DIR)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout)
    return result["version"], result["output"]


def main() -> int:
    if not SOLC_DIR.exists():
        print(f"solc is missing at {SOLC_DIR}; run `make tools` first", file=sys.stderr)
        return 1
    sources = {p.name: p.read_text() for p in sorted(SOURCES.glob("*.sol"))}
    version, output = compile_sources(sources)
    errors = [e for e in output.get("errors", []) if e["severity"] == "error"]
    for problem in output.get("errors", []):
        print(problem["formattedMessage"], file=sys.stderr)
    if errors:
        return 1
    BUILD.mkdir(parents=True, exist_ok=True)
    for source_name, contracts in sorted(output["contracts"].items()):
        for contract_name, artefact in sorted(contracts.items()):
            record = {
                "contractName": contract_name,
                "sourceName": source_name,
                "compiler": f"solc {version}",
                "abi": artefact["abi"],
                "bytecode": "0x" + artefact["evm"]["bytecode"]["object"],
            }
            path = BUILD / f"{contract_name}.json"
            path.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
            print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
