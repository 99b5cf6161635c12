"""Midgard (THORChain's, or Maya's, indexer): the action behind an inbound, as a :class:`Resolution`.

`GET /v2/actions?txid=<id>` finds the action from any of its in or out hashes (THORChain's id of
an EVM inbound is the hash without `0x`, upper case). An action has `type` (`swap`, `refund`, ...),
`status` (`success`, `pending`, `failed`), `in[{address, txID, coins}]` and `out[{address, txID,
coins, affiliate}]`; `out[].txID` is the destination-chain transaction. Affiliate outs are not
the sender's money. Amounts inside THORChain are 1e8 units for every asset; numbers are
strings. Public limit about 100 requests a minute. Facts: ../shared/docs/CROSSCHAIN.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chains.crosschain.api import ResolverApi
from chains.crosschain.thorchain_memo import MemoError, inbound_id, parse_asset
from tracer.core.crossings import FAILED, NOT_FOUND, PENDING, REFUNDED, RESOLVED, CrossingOut, Resolution
from tracer.core.errors import SourceError
from tracer.core.networks import ChainKind, get_chain
from tracer.core.protocols import ResponseArchive

DEFAULT_BASE_URL = "https://midgard.ninerealms.com"
PUBLIC_RATE_PER_S = 1.5
THOR_DECIMALS = 8
CONFIDENCE = 0.95


class MidgardClient(ResolverApi):
    """Reads actions from one Midgard (THORChain, or a fork with the same shape such as Maya)."""

    source = "midgard"

    def __init__(self, *, url: str | None = None, archive: ResponseArchive | None = None, client: Any = None) -> None:
        super().__init__(url or DEFAULT_BASE_URL, public_rate_per_s=PUBLIC_RATE_PER_S, archive=archive, client=client)

    def actions(self, tx_hash: str) -> list[dict[str, Any]]:
        """The actions Midgard lists for a transaction (in or out hash)."""
        doc = self.client.get_json(f"{self.base_url}/v2/actions", params={"txid": inbound_id(tx_hash)})
        if not isinstance(doc, dict) or not isinstance(doc.get("actions", []), list):
            raise SourceError("midgard: /v2/actions answered without an `actions` list")
        return [a for a in doc.get("actions", []) if isinstance(a, dict)]

    def resolve(self, tx_hash: str, *, source_chain: str) -> Resolution:
        """The crossing of inbound `tx_hash` (on `source_chain`) as Midgard records it."""
        url = f"{self.base_url}/v2/actions?txid={inbound_id(tx_hash)}"
        return resolution_from_actions(self.actions(tx_hash), tx_hash, source_chain=source_chain, evidence=url)


def resolution_from_actions(
    actions: list[Mapping[str, Any]], tx_hash: str, *, source_chain: str, evidence: str = ""
) -> Resolution:
    """Translate Midgard actions for one inbound into a :class:`Resolution` (pure: tested from fixtures)."""
    wanted = inbound_id(tx_hash)
    ours = [a for a in actions if any(inbound_id(str(i.get("txID", ""))) == wanted for i in a.get("in") or ())]
    ev = (evidence,) if evidence else ()
    if not ours:
        return Resolution("thorchain", NOT_FOUND, "midgard", 0.0, evidence=ev, note="Midgard has no action for it")
    # a swap and its refund may be two actions; the swap decides the status
    ours.sort(key=lambda a: (str(a.get("type")) != "swap", str(a.get("date", ""))))
    action = ours[0]
    kind, status = str(action.get("type", "")), str(action.get("status", ""))
    amount_in = _in_amount(action, wanted)
    if status == "pending":
        return Resolution(
            "thorchain",
            PENDING,
            "midgard",
            0.0,
            amount_in=amount_in,
            evidence=ev,
            note="the outbound is not seen yet (THORChain delays large and streaming swaps)",
        )
    if status == "failed":
        return Resolution(
            "thorchain",
            FAILED,
            "midgard",
            CONFIDENCE,
            amount_in=amount_in,
            evidence=ev,
            note="THORChain marked the action failed",
        )
    in_assets = {c.get("asset") for i in action.get("in") or () for c in i.get("coins") or ()}
    outs = []
    for a in ours:
        for out in a.get("out") or ():
            if out.get("affiliate"):
                continue  # an affiliate's fee: not the sender's money
            for coin in out.get("coins") or ():
                refund = str(a.get("type")) == "refund" or coin.get("asset") in in_assets
                made = _out(out, coin, refund=refund)
                if made is not None:
                    outs.append(made)
    if kind == "refund":
        reason = str((action.get("metadata") or {}).get("refund", {}).get("reason", ""))
        return Resolution(
            "thorchain",
            REFUNDED,
            "midgard",
            CONFIDENCE,
            tuple(outs),
            amount_in,
            ev,
            note=f"refunded{': ' + reason if reason else ''}",
        )
    if not outs:
        return Resolution(
            "thorchain",
            PENDING,
            "midgard",
            0.0,
            amount_in=amount_in,
            evidence=ev,
            note="the action lists no outbound on a chain heisttrace traces",
        )
    return Resolution("thorchain", RESOLVED, "midgard", CONFIDENCE, tuple(outs), amount_in, ev)


def _in_amount(action: Mapping[str, Any], wanted: str) -> int | None:
    for item in action.get("in") or ():
        if inbound_id(str(item.get("txID", ""))) == wanted:
            return sum(int(str(c.get("amount", "0"))) for c in item.get("coins") or ())
    return None


def _out(out: Mapping[str, Any], coin: Mapping[str, Any], *, refund: bool) -> CrossingOut | None:
    """One outbound coin on a chain heisttrace traces (1e8 units converted to the chain's base units)."""
    try:
        asset = parse_asset(str(coin.get("asset", "")))
    except MemoError:
        return None
    slug = asset.chain_slug
    tx = str(out.get("txID") or "")
    if slug is None or not tx:
        return None
    chain = get_chain(slug)
    contract = asset.contract
    token = contract is not None and len(contract) >= 42
    decimals = THOR_DECIMALS if token else chain.native_decimals
    amount = int(str(coin.get("amount", "0"))) * 10 ** (decimals - THOR_DECIMALS)
    tx_hash = tx.lower() if chain.kind is ChainKind.UTXO else "0x" + tx.lower().removeprefix("0x")
    return CrossingOut(
        chain=slug,
        tx_hash=tx_hash,
        address=str(out.get("address", "")).lower() if chain.kind is ChainKind.EVM else str(out.get("address", "")),
        asset=contract.lower() if token else "native",
        symbol=asset.symbol.split("-", 1)[0],
        amount=amount,
        decimals=decimals,
        refund=refund,
    )
