"""Emulators of LayerZero scan and Wormholescan on 127.0.0.1, serving given message and operation documents.

Shapes as in ../shared/docs/CROSSCHAIN.md: LayerZero scan `GET /v1/messages/tx/{txHash}` → `{"data": [...]}`
(the messages whose source or destination transaction is that hash; 404 when none); Wormholescan `GET
/api/v1/operations?txHash=` → `{"operations": [...]}` (one criterion per call, `pageSize` ≤ 100). Documents are
whatever the caller gives (the tests' are SYNTHETIC).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chains.emulators.server import EmulatorServer, FaultPlan, Reply, Request


class LayerZeroScanEmulator(EmulatorServer):
    def __init__(self, messages: Iterable[dict[str, Any]], *, faults: FaultPlan | None = None) -> None:
        super().__init__(faults=faults)
        self.messages = list(messages)

    def handle(self, request: Request) -> Reply:
        parts = [p for p in request.path.split("/") if p]
        if request.method != "GET" or parts[:3] != ["v1", "messages", "tx"] or len(parts) != 4:
            return Reply.json({"message": "not found"}, status=404)
        tx = parts[3].lower()
        found = [
            m
            for m in self.messages
            if tx
            in {
                str(((m.get(side) or {}).get("tx") or {}).get("txHash", "")).lower()
                for side in ("source", "destination")
            }
        ]
        return Reply.json({"data": found}) if found else Reply.json({"message": "not found", "data": []}, 404)


class WormholeScanEmulator(EmulatorServer):
    def __init__(self, operations: Iterable[dict[str, Any]], *, faults: FaultPlan | None = None) -> None:
        super().__init__(faults=faults)
        self.operations = list(operations)

    def handle(self, request: Request) -> Reply:
        if request.method != "GET" or request.path.rstrip("/") != "/api/v1/operations":
            return Reply.json({"message": "not found"}, status=404)
        q = request.query
        criteria = [k for k in ("txHash", "address", "vaaID") if k in q]
        if len(criteria) != 1:
            return Reply.json({"message": "exactly one search criterion"}, status=400)
        if int(q.get("pageSize", "50") or 50) > 100:
            return Reply.json({"message": "pageSize must be at most 100"}, status=400)
        tx = q.get("txHash", "").lower()
        found = [
            o
            for o in self.operations
            if str(((o.get("sourceChain") or {}).get("transaction") or {}).get("txHash", "")).lower() == tx
        ]
        return Reply.json({"operations": found})


def layerzero_message(
    *,
    guid: str,
    src_eid: int,
    dst_eid: int,
    src_tx: str,
    dst_tx: str | None,
    status: str = "DELIVERED",
    receiver: str = "",
) -> dict[str, Any]:
    """One LayerZero scan message document (SYNTHETIC)."""
    return {
        "pathway": {"srcEid": src_eid, "dstEid": dst_eid, "sender": {"address": ""}, "receiver": {"address": receiver}},
        "source": {"tx": {"txHash": src_tx}, "status": "SUCCEEDED"},
        "destination": {"tx": {"txHash": dst_tx} if dst_tx else {}, "status": status},
        "guid": guid,
        "status": status,
    }


def wormhole_operation(
    *,
    src_tx: str,
    to_chain: int,
    to_address: str,
    token: str,
    amount_8dec: int,
    target_tx: str | None,
    from_chain: int = 2,
) -> dict[str, Any]:
    """One wormholescan operation document (SYNTHETIC); `toAddress` as a 32-byte hex, as the API gives it."""
    op: dict[str, Any] = {
        "id": f"{from_chain}/0000/1",
        "content": {
            "standarizedProperties": {
                "fromChain": from_chain,
                "toChain": to_chain,
                "toAddress": "0x" + "0" * 24 + to_address.lower().removeprefix("0x"),
                "tokenAddress": token,
                "amount": str(amount_8dec),
            }
        },
        "sourceChain": {"transaction": {"txHash": src_tx}, "status": "confirmed"},
    }
    if target_tx:
        op["targetChain"] = {"transaction": {"txHash": target_tx}, "to": to_address, "status": "completed"}
    return op
