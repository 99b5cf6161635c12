"""LI.FI's status API: the destination of a transfer started through LI.FI, as a :class:`Resolution`.

`GET /v1/status?txHash=<hash>` (the sending or receiving hash; optional key header
`x-lifi-api-key`) answers `status` (`NOT_FOUND`, `INVALID`, `PENDING`, `DONE`, `FAILED`),
`substatus` (`COMPLETED`, `PARTIAL` — paid in another token —, `REFUNDED`, ...), `tool`,
`sending{txHash, chainId, amount, token{address, symbol, decimals}}`, `receiving{…}` once done,
`fromAddress`, `toAddress`. `DONE` with `REFUNDED` means the money came back. Public limit about
100 requests a minute. Facts: ../shared/docs/CROSSCHAIN.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chains.crosschain.api import ResolverApi
from tracer.core.crossings import FAILED, NOT_FOUND, PENDING, REFUNDED, RESOLVED, CrossingOut, Resolution
from tracer.core.networks import CHAINS

DEFAULT_BASE_URL = "https://li.quest"
PUBLIC_RATE_PER_S = 1.5
CONFIDENCE = 0.9
ZERO = "0x" + "0" * 40


class LifiClient(ResolverApi):
    """Reads transfer status from the LI.FI API (`key`: optional, sent as a header, never logged)."""

    source = "lifi"
    key_header = "x-lifi-api-key"

    def __init__(
        self, *, url: str | None = None, key: str | None = None, archive: Any = None, client: Any = None
    ) -> None:
        super().__init__(
            url or DEFAULT_BASE_URL, public_rate_per_s=PUBLIC_RATE_PER_S, archive=archive, client=client, key=key
        )

    def status(self, tx_hash: str) -> dict[str, Any]:
        unknown = {"status": "NOT_FOUND"}  # LI.FI answers an unknown hash with 404 and a NOT_FOUND body
        return self.get_object(f"{self.base_url}/v1/status", params={"txHash": tx_hash}, missing=unknown)

    def resolve(self, tx_hash: str, *, source_chain: str) -> Resolution:
        url = f"{self.base_url}/v1/status?txHash={tx_hash}"
        return resolution_from_status(self.status(tx_hash), evidence=url)


def resolution_from_status(doc: Mapping[str, Any], *, evidence: str = "") -> Resolution:
    """Translate a LI.FI status document into a :class:`Resolution` (pure: tested from fixtures)."""
    ev = (evidence,) if evidence else ()
    status, sub = str(doc.get("status", "")), str(doc.get("substatus", ""))
    tool = str(doc.get("tool") or "")
    note = f"via {tool}" if tool else ""
    sending = doc.get("sending") or {}
    amount_in = _int(sending.get("amount"))
    if status == "NOT_FOUND":
        return Resolution("lifi", NOT_FOUND, "lifi-status", 0.0, evidence=ev, note="LI.FI does not know the transfer")
    if status in ("INVALID", "FAILED"):
        return Resolution(
            "lifi",
            FAILED,
            "lifi-status",
            CONFIDENCE,
            amount_in=amount_in,
            evidence=ev,
            note=f"LI.FI status {status} {sub}".strip(),
        )
    if status != "DONE":
        return Resolution(
            "lifi",
            PENDING,
            "lifi-status",
            0.0,
            amount_in=amount_in,
            evidence=ev,
            note=f"LI.FI status {status} {sub}".strip(),
        )
    receiving = doc.get("receiving") or {}
    out = _out(receiving, str(doc.get("toAddress") or ""), refund=sub == "REFUNDED")
    if out is None:
        return Resolution(
            "lifi",
            PENDING,
            "lifi-status",
            0.0,
            amount_in=amount_in,
            evidence=ev,
            note="DONE without a receiving transaction on a chain heisttrace traces",
        )
    if sub == "REFUNDED":
        return Resolution("lifi", REFUNDED, "lifi-status", CONFIDENCE, (out,), amount_in, ev, note="refunded")
    if sub == "PARTIAL":
        note = (note + "; " if note else "") + "paid in another token than asked (PARTIAL)"
    return Resolution("lifi", RESOLVED, "lifi-status", CONFIDENCE, (out,), amount_in, ev, note=note)


def _int(value: Any) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def _out(receiving: Mapping[str, Any], to_address: str, *, refund: bool) -> CrossingOut | None:
    chain = next((c for c in CHAINS.values() if c.chain_id == _int(receiving.get("chainId"))), None)
    tx = str(receiving.get("txHash") or "")
    amount = _int(receiving.get("amount"))
    if chain is None or not tx or amount is None or not to_address:
        return None
    token = receiving.get("token") or {}
    address = str(token.get("address") or ZERO).lower()
    native = address in (ZERO, "0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee")
    return CrossingOut(
        chain=chain.slug,
        tx_hash=tx.lower(),
        address=to_address.lower(),
        asset="native" if native else address,
        symbol=str(token.get("symbol") or chain.native_symbol),
        amount=amount,
        decimals=int(token.get("decimals") or chain.native_decimals),
        refund=refund,
    )
