"""Rows from a source are checked before they are read: a null or negative field is one clear error.

Explorers and nodes sometimes answer a row with `null` where a number belongs, or a negative
amount. Read naively that is an ``AttributeError`` (``None.lower()``), a ``TypeError``, or worse a
silent drop (``int(x or 0)`` turns a missing value or fee into zero; a negative gas fee fails the
``fee > 0`` test and vanishes). Every adapter passes its rows through :func:`check_row` first, so
such a row is a :class:`tracer.core.errors.SourceError` (exit 3) naming the source, the field and
the row — never a traceback and never a quietly different history.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tracer.core.errors import SourceError


def _where(source: str, what: str, index: int, row: Mapping[str, Any], ident: Sequence[str]) -> str:
    for key in ident:
        value = row.get(key)
        if isinstance(value, str) and value:
            return f"{source}: {what} row {index} ({key} {value[:80]})"
    return f"{source}: {what} row {index}"


def parse_count(value: Any, *, hex_ok: bool = False) -> int | None:
    """A non-negative integer from a decimal string, a 0x-hex string (when `hex_ok`) or an int; None if not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        if hex_ok and text.lower().lstrip("-").startswith("0x"):
            return int(text, 16)
        return int(text, 10)
    except ValueError:
        return None


def check_row(
    source: str,
    what: str,
    index: int,
    row: Any,
    *,
    required: Iterable[str] = (),
    numbers: Iterable[str] = (),
    optional_numbers: Iterable[str] = (),
    ident: Sequence[str] = ("hash", "txid", "transaction_id", "transactionHash"),
    hex_ok: bool = False,
) -> None:
    """Raise one :class:`SourceError` if `row` is not an object, lacks a `required` field (absent or
    null), or has a `numbers` field (required) or a present, non-empty `optional_numbers` field that is
    null, not an integer, or negative. The message names the source, the row and the field."""
    if not isinstance(row, Mapping):
        raise SourceError(f"{source}: {what} row {index} is not an object: {str(row)[:80]!r}")
    numbers = tuple(numbers)
    for field in (*required, *numbers):
        if row.get(field) is None:
            state = "null" if field in row else "missing"
            raise SourceError(f"{_where(source, what, index, row, ident)}: field {field!r} is {state}")
    for field in (*numbers, *optional_numbers):
        if field not in row:
            continue
        value = row[field]
        if field not in numbers and value in ("",):
            continue
        if value is None:
            raise SourceError(f"{_where(source, what, index, row, ident)}: field {field!r} is null")
        number = parse_count(value, hex_ok=hex_ok)
        if number is None:
            raise SourceError(
                f"{_where(source, what, index, row, ident)}: field {field!r} is not an integer: {str(value)[:40]!r}"
            )
        if number < 0:
            raise SourceError(f"{_where(source, what, index, row, ident)}: field {field!r} is negative ({number})")


def check_rows(source: str, what: str, rows: Iterable[Any], **fields: Any) -> None:
    """:func:`check_row` for every row of a list, numbered from 0 in the source's order."""
    for index, row in enumerate(rows):
        check_row(source, what, index, row, **fields)
