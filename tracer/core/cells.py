"""Text cells made safe for where they are shown: spreadsheets (CSV) and terminals.

- :func:`csv_safe` neutralises formula injection the way OWASP recommends: a cell that starts
  with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'`` so a spreadsheet
  shows it as text instead of evaluating it. Amounts in our tables are non-negative decimal
  strings, addresses and hashes start with a letter or digit, so no number is ever touched.
- :func:`terminal_safe` shows bidirectional-override and other invisible control characters
  as ``\\u202e``-style escapes, so a label cannot reorder what the terminal displays.
"""

from __future__ import annotations

import re

import polars as pl

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_PATTERN = r"^[=+\-@\t\r]"
_INVISIBLE = re.compile(r"[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def csv_safe(value: str) -> str:
    """`value` with a leading ``'`` when a spreadsheet would read it as a formula."""
    return "'" + value if value.startswith(FORMULA_START) else value


def csv_unescape(value: str) -> str:
    """The inverse of :func:`csv_safe` (reading back a CSV we wrote)."""
    return value[1:] if value.startswith("'") and value[1:2] and value[1] in FORMULA_START else value


def csv_safe_row(row: list[object]) -> list[object]:
    """Each text cell of `row` through :func:`csv_safe` (other values unchanged)."""
    return [csv_safe(v) if isinstance(v, str) else v for v in row]


def csv_safe_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with every text column through :func:`csv_safe` (for every CSV we write)."""
    texts = [name for name, dtype in frame.schema.items() if dtype == pl.Utf8]
    if not texts:
        return frame
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(_FORMULA_PATTERN)).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)
        for c in texts
    )


def terminal_safe(text: str) -> str:
    """`text` with bidi overrides and control characters shown as escapes (``\\u202e``)."""
    return _INVISIBLE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)
