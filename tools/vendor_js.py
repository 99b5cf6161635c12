"""Copy the JavaScript libraries the HTML report inlines from tools/node_modules into tracer/report/vendor/.

Run after `cd tools && npm install` whenever a version in tools/package.json changes:

    python tools/vendor_js.py

Each library is copied as its minified build plus its licence (as `<name>.LICENSE.txt`), and
`tracer/report/vendor/VENDORED.json` records name, version, licence and SHA-256 so the report can
cite them. The vendored files are committed as package data: the report needs no npm at runtime.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NODE_MODULES = ROOT / "tools" / "node_modules"
VENDOR = ROOT / "tracer" / "report" / "vendor"

#: npm package -> (minified build inside the package, licence file inside the package)
LIBRARIES: dict[str, tuple[str, str]] = {
    "cytoscape": ("dist/cytoscape.min.js", "LICENSE"),
}


def vendor_library(name: str, build: str, licence: str) -> dict[str, str]:
    """Copy one library and its licence; return its VENDORED.json entry."""
    package_dir = NODE_MODULES / name
    meta = json.loads((package_dir / "package.json").read_text())
    source = package_dir / build
    if not source.is_file():
        raise SystemExit(f"{source} is missing; run `cd tools && npm install` first")
    target = VENDOR / f"{name}.min.js"
    shutil.copyfile(source, target)
    shutil.copyfile(package_dir / licence, VENDOR / f"{name}.LICENSE.txt")
    return {
        "name": name,
        "version": meta["version"],
        "license": meta.get("license", "see LICENSE"),
        "file": target.name,
        "sha256": hashlib.sha256(target.read_bytes()).hexdigest(),
    }


def main() -> int:
    VENDOR.mkdir(parents=True, exist_ok=True)
    entries = [vendor_library(name, build, licence) for name, (build, licence) in sorted(LIBRARIES.items())]
    (VENDOR / "VENDORED.json").write_text(json.dumps(entries, indent=2, sort_keys=True) + "\n")
    for entry in entries:
        print(f"vendored {entry['name']} {entry['version']} ({entry['license']}) -> {entry['file']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
