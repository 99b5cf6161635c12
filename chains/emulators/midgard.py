"""A Midgard emulator (THORChain's indexer) on 127.0.0.1, serving a given list of actions.

Shape (../shared/docs/CROSSCHAIN.md, the Midgard OpenAPI): `GET /v2/actions` with `txid` (matches
any in or out hash, case-insensitive, with or without `0x`), `address` (comma-separated, up to 50,
sender or recipient), `type`, `limit` (≤ 50) and `nextPageToken`; answers `{"actions": [...],
"count": "<n>", "meta": {"nextPageToken": ..., "prevPageToken": ...}}`, newest first. Every number
inside is a string; `date` is in nanoseconds. Actions are whatever the caller gives (the tests'
worlds are SYNTHETIC).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chains.emulators.server import EmulatorServer, FaultPlan, Reply, Request

MAX_LIMIT = 50
MAX_ADDRESSES = 50


def _norm(tx: str) -> str:
    return str(tx).lower().removeprefix("0x")


class MidgardEmulator(EmulatorServer):
    """Serves `actions` (Midgard action documents) at `/v2/actions`."""

    def __init__(self, actions: Iterable[dict[str, Any]], *, faults: FaultPlan | None = None) -> None:
        super().__init__(faults=faults)
        self.actions = sorted(actions, key=lambda a: -int(str(a.get("date", "0"))))

    def handle(self, request: Request) -> Reply:
        if request.method != "GET":
            return Reply.text("Method Not Allowed", status=405)
        if request.path.rstrip("/") != "/v2/actions":
            return Reply.json({"error": "not found"}, status=404)
        q = request.query
        try:
            limit = int(q.get("limit", str(MAX_LIMIT)))
            offset = int(q.get("nextPageToken", "0") or "0")
        except ValueError:
            return Reply.json({"error": "invalid limit or page token"}, status=400)
        if not 0 < limit <= MAX_LIMIT:
            return Reply.json({"error": f"limit must be 1..{MAX_LIMIT}"}, status=400)
        found = self.actions
        if "txid" in q:
            wanted = _norm(q["txid"])
            found = [a for a in found if wanted in {_norm(p.get("txID", "")) for p in _parts(a)}]
        if "address" in q:
            addresses = {a.strip().lower() for a in q["address"].split(",") if a.strip()}
            if len(addresses) > MAX_ADDRESSES:
                return Reply.json({"error": f"at most {MAX_ADDRESSES} addresses"}, status=400)
            found = [a for a in found if addresses & {str(p.get("address", "")).lower() for p in _parts(a)}]
        if "type" in q:
            types = set(q["type"].split(","))
            found = [a for a in found if a.get("type") in types]
        page = found[offset : offset + limit]
        more = offset + limit < len(found)
        meta = {"nextPageToken": str(offset + limit) if more else "", "prevPageToken": str(offset) if offset else ""}
        return Reply.json({"actions": page, "count": str(len(found)), "meta": meta})


def _parts(action: dict[str, Any]) -> list[dict[str, Any]]:
    return [*(action.get("in") or ()), *(action.get("out") or ())]


def midgard_action(
    *,
    in_tx: str,
    in_address: str,
    in_asset: str,
    in_amount: int,
    outs: Iterable[tuple[str, str, str, int]] = (),
    type_: str = "swap",
    status: str = "success",
    date_s: int = 0,
    height: int = 1,
    memo: str = "",
    affiliate_outs: Iterable[tuple[str, str, str, int]] = (),
    reason: str = "",
) -> dict[str, Any]:
    """One Midgard action document (outs: (address, txID, asset, 1e8 amount)); for SYNTHETIC worlds."""

    def out(address: str, tx: str, asset: str, amount: int, affiliate: bool) -> dict[str, Any]:
        doc: dict[str, Any] = {"address": address, "txID": tx, "coins": [{"asset": asset, "amount": str(amount)}]}
        doc["height"] = str(height + 10)
        if affiliate:
            doc["affiliate"] = True
        return doc

    metadata: dict[str, Any] = {"swap": {"memo": memo, "isStreamingSwap": False}} if type_ == "swap" else {}
    if type_ == "refund":
        metadata = {"refund": {"reason": reason, "memo": memo}}
    return {
        "date": str(date_s * 1_000_000_000),
        "height": str(height),
        "type": type_,
        "status": status,
        "pools": [],
        "in": [
            {
                "address": in_address,
                "txID": _norm(in_tx).upper(),
                "coins": [{"asset": in_asset, "amount": str(in_amount)}],
            }
        ],
        "out": [out(*o, False) for o in outs] + [out(*o, True) for o in affiliate_outs],
        "metadata": metadata,
    }
