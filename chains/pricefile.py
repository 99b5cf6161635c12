"""A price file: CSV `asset,time,usd` (heisttrace asset key, ISO date/datetime or unix seconds UTC, USD per unit).

The file is the user's evidence; its sha256 is recorded like any raw response. Bad rows give
one-line errors naming the file and line.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from decimal import Decimal, InvalidOperation
from pathlib import Path

from tracer.core.errors import BadInput
from tracer.core.prices import PricePoint

HEADER = ("asset", "time", "usd")


def parse_time(text: str) -> int:
    """Unix seconds (UTC) of an ISO date (midnight UTC), an ISO datetime (UTC unless it says otherwise) or digits."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp())


def read_price_file(path: Path | str) -> tuple[dict[str, list[PricePoint]], str]:
    """({asset key: points sorted by time}, sha256 of the file); BadInput on a missing file or a bad row."""
    path = Path(path)
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise BadInput(f"price file {path}: cannot read it ({exc.strerror or exc})") from None
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadInput(f"price file {path}: expected UTF-8 CSV text") from None
    rows = csv.reader(io.StringIO(text))
    header = tuple(cell.strip().lower() for cell in next(rows, []))
    if header != HEADER:
        raise BadInput(f"price file {path}: the first line must be 'asset,time,usd', not {','.join(header)!r}")
    out: dict[str, dict[int, PricePoint]] = {}
    for line, row in enumerate(rows, start=2):
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        if len(row) != 3:
            raise BadInput(f"price file {path}: line {line}: expected 3 fields (asset,time,usd), got {len(row)}")
        asset, when, usd = (cell.strip() for cell in row)
        if ":" not in asset:
            raise BadInput(f"price file {path}: line {line}: asset {asset!r} is not a key like ethereum:native")
        try:
            time = parse_time(when)
        except ValueError:
            raise BadInput(f"price file {path}: line {line}: time {when!r} is not an ISO date or unix time") from None
        try:
            price = Decimal(usd)
        except InvalidOperation:
            raise BadInput(f"price file {path}: line {line}: usd {usd!r} is not a number") from None
        if not price.is_finite() or price < 0:
            raise BadInput(f"price file {path}: line {line}: usd {usd!r} must be a finite number ≥ 0")
        key = asset.lower() if asset.split(":", 1)[0] != "tron" else asset
        points = out.setdefault(key, {})
        if time in points and points[time].usd != price:
            raise BadInput(f"price file {path}: line {line}: a second, different price of {asset} at {when}")
        points[time] = PricePoint(time, price)
    series = {key: [points[t] for t in sorted(points)] for key, points in sorted(out.items())}
    return series, hashlib.sha256(body).hexdigest()
