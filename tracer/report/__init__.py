"""Reporters: terminal views, exports and the case file, all read from a finished bundle directory.

The engine calls :func:`write_report` at the end of writing a bundle; `heisttrace report`,
`export`, `show`, `path` and `address` call the same functions.
"""

from __future__ import annotations

from pathlib import Path

from tracer.bundle.outputs import file_in_the_way, missing_directory
from tracer.core.errors import BadInput

__all__ = ["REPORT_FORMATS", "file_in_the_way", "missing_directory", "write_report"]

REPORT_FORMATS = ("html", "md", "pdf")
_DEFAULT_NAMES = {"html": "report.html", "md": "report.md", "pdf": "report.pdf"}


def write_report(bundle_dir: Path, *, fmt: str = "html", out: Path | None = None) -> Path:
    """Render the bundle in `bundle_dir` as report.html / report.md / report.pdf (or to `out`); return the path."""
    from tracer.report.bundle import read_bundle
    from tracer.report.casefile import analyse_bundle

    if fmt not in REPORT_FORMATS:
        raise BadInput(f"unknown report format {fmt!r}; expected one of: {', '.join(REPORT_FORMATS)}")
    bundle_dir = Path(bundle_dir)
    bundle = read_bundle(bundle_dir)
    target = Path(out) if out is not None else bundle_dir / _DEFAULT_NAMES[fmt]
    if target.is_dir():
        raise BadInput(f"{target} is a directory; give a file name for the report")
    if not target.parent.is_dir():
        raise BadInput(f"cannot write {target}: {missing_directory(target.parent)}")
    case = analyse_bundle(bundle)
    if fmt == "md":
        from tracer.report.markdown import write_markdown

        return write_markdown(case, target)
    from tracer.report.html import render_html, write_html

    if fmt == "html":
        return write_html(case, target)
    from tracer.report.pdf import write_pdf

    return write_pdf(render_html(case), target)


__all__ = ["REPORT_FORMATS", "file_in_the_way", "missing_directory", "write_report"]
