"""A LI.FI status API emulator on 127.0.0.1, serving given transfer documents.

Shape (../shared/docs/CROSSCHAIN.md, LI.FI's published types): `GET /v1/status?txHash=<hash>` finds a
transfer by its sending or receiving hash and answers `{status, substatus, tool, sending{txHash,
chainId, amount, token{address, symbol, decimals}, timestamp}, receiving{...}, fromAddress,
toAddress}`; an unknown hash answers 404 with `{"status": "NOT_FOUND"}` (an inference: LI.FI's
message text varies). Rate-limit headers `ratelimit-limit` / `ratelimit-remaining` are sent.
Transfers are whatever the caller gives (the tests' worlds are SYNTHETIC).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chains.emulators.server import EmulatorServer, FaultPlan, Reply, Request


class LifiEmulator(EmulatorServer):
    """Serves `transfers` (LI.FI status documents) at `/v1/status`."""

    def __init__(self, transfers: Iterable[dict[str, Any]], *, faults: FaultPlan | None = None) -> None:
        super().__init__(faults=faults)
        self.by_hash: dict[str, dict[str, Any]] = {}
        for doc in transfers:
            for side in ("sending", "receiving"):
                tx = (doc.get(side) or {}).get("txHash")
                if tx:
                    self.by_hash[str(tx).lower()] = doc

    def handle(self, request: Request) -> Reply:
        headers = (("ratelimit-limit", "100"), ("ratelimit-remaining", "99"))
        if request.method != "GET" or request.path.rstrip("/") != "/v1/status":
            return Reply.json({"message": "not found"}, status=404)
        tx = request.query.get("txHash", "").lower()
        if not tx:
            return Reply.json({"message": "txHash is required", "code": 1000}, status=400)
        doc = self.by_hash.get(tx)
        if doc is None:
            return Reply.json({"status": "NOT_FOUND", "message": "transaction not found"}, status=404, headers=headers)
        return Reply.json(doc, headers=headers)


def lifi_transfer(
    *,
    tool: str,
    sending: tuple[str, int, int, str, str, int],
    receiving: tuple[str, int, int, str, str, int] | None,
    from_address: str,
    to_address: str,
    status: str = "DONE",
    substatus: str = "COMPLETED",
    timestamp: int = 0,
) -> dict[str, Any]:
    """One status document; each side is (txHash, chainId, amount, token address, symbol, decimals). SYNTHETIC."""

    def side(values: tuple[str, int, int, str, str, int]) -> dict[str, Any]:
        tx, chain_id, amount, token, symbol, decimals = values
        return {
            "txHash": tx,
            "chainId": chain_id,
            "amount": str(amount),
            "token": {"address": token, "symbol": symbol, "decimals": decimals, "chainId": chain_id},
            "timestamp": timestamp,
        }

    doc: dict[str, Any] = {
        "status": status,
        "substatus": substatus,
        "tool": tool,
        "sending": side(sending),
        "fromAddress": from_address,
        "toAddress": to_address,
    }
    if receiving is not None:
        doc["receiving"] = side(receiving)
    return doc
