"""Inclusive block ranges: merging covered ranges and finding the gaps in them (no SQL)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def merge_ranges(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sort and merge inclusive block ranges; touching ranges ([1, 5] and [6, 9]) merge too."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(r for r in ranges if r[0] <= r[1]):
        if merged and start <= merged[-1][1] + 1:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def subtract_ranges(start: int, end: int, covered: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The parts of the inclusive range start..end not inside any of the merged `covered` ranges."""
    missing: list[tuple[int, int]] = []
    cursor = start
    for lo, hi in covered:
        if hi < cursor:
            continue
        if lo > end:
            break
        if lo > cursor:
            missing.append((cursor, lo - 1))
        cursor = max(cursor, hi + 1)
        if cursor > end:
            break
    if cursor <= end:
        missing.append((cursor, end))
    return missing
