"""An Esplora emulator (real HTTP on 127.0.0.1) over a set of Bitcoin transactions.

Serves, under any path prefix (e.g. ``/api``):

- `GET /blocks/tip/height`, `/block-height/:h` (text/plain), `/block/:hash` (JSON with `timestamp`, for the
  blocks the served transactions are in);
- `GET /address/:a` (chain and mempool stats), `/address/:a/txs` (mempool first, then the
  first 25 confirmed), `/address/:a/txs/chain[/:last_seen_txid]` (25 per page, newest first;
  an unknown cursor gives `[]`; a malformed cursor is ignored: page 1 again);
- `GET /tx/:txid`, `/tx/:txid/status`, `/tx/:txid/outspends`, `/tx/:txid/outspend/:vout`.

The quirks are the real API's: text/plain errors (400 "Invalid Bitcoin address", 400
"Invalid hex string", 404 "Transaction not found"), OP_RETURN outputs without an address,
coinbase inputs with `prevout: null`, unconfirmed status `{"confirmed": false}`, and — from
the :class:`~chains.emulators.server.FaultPlan` — 429 without `Retry-After`, 5xx and slow answers.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Any

from chains.emulators.server import EmulatorServer, FaultPlan, Reply, Request
from tracer.core.addresses import SCRIPT_PREFIX, is_script_pseudo_address, normalize_address, script_pseudo_address
from tracer.core.errors import BadAddress
from tracer.core.models import UtxoTx

PAGE_SIZE = 25
SPENDS_UNKNOWN = "Spending data not available (the emulator serves only part of the chain)"
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_SCRIPT_TYPES = {"p2pkh": "p2pkh", "p2sh": "p2sh", "p2wpkh": "v0_p2wpkh", "p2wsh": "v0_p2wsh", "p2tr": "v1_p2tr"}


def _holder(script: dict[str, Any] | None) -> str | None:
    """Who holds an output: its address, else the pseudo-address of a spendable script (as the adapter names it)."""
    if not script:
        return None
    if script.get("scriptpubkey_address"):
        return str(script["scriptpubkey_address"])
    hex_script = str(script.get("scriptpubkey") or "")
    if script.get("scriptpubkey_type") == "op_return" or hex_script.startswith("6a"):
        return None
    return script_pseudo_address(hex_script)


def esplora_json(tx: UtxoTx) -> dict[str, Any]:
    """A :class:`UtxoTx` as Esplora's tx JSON (script hex is a placeholder: records carry no scripts)."""
    from tracer.core.addresses import address_type

    def out(address: str | None, value: int, script_type: str) -> dict[str, Any]:
        kind = script_type or (_SCRIPT_TYPES.get(address_type(address), "unknown") if address else "op_return")
        doc: dict[str, Any] = {"scriptpubkey": "", "scriptpubkey_type": kind, "value": value}
        if address is not None:
            doc["scriptpubkey_address"] = address
        return doc

    vin = []
    for i in tx.inputs:
        if i.coinbase:
            vin.append({"txid": "0" * 64, "vout": 4294967295, "prevout": None, "is_coinbase": True, "sequence": 0})
        else:
            vin.append(
                {
                    "txid": i.prev_txid,
                    "vout": i.prev_vout,
                    "prevout": out(i.address, i.value, ""),
                    "is_coinbase": False,
                    "sequence": 4294967295,
                }
            )
    status: dict[str, Any] = {"confirmed": False}
    if tx.block is not None:
        status = {
            "confirmed": True,
            "block_height": tx.block,
            "block_hash": _block_hash(tx.block),
            "block_time": tx.timestamp,
        }
    return {
        "txid": tx.txid,
        "version": tx.version,
        "locktime": tx.locktime,
        "size": 0,
        "weight": 0,
        "fee": tx.fee,
        "vin": vin,
        "vout": [out(o.address, o.value, o.script_type) for o in tx.outputs],
        "status": status,
    }


def _block_hash(height: int) -> str:
    return hashlib.sha256(f"emulated-block-{height}".encode()).hexdigest()


class EsploraEmulator(EmulatorServer):
    """Serves `txs` (Esplora tx JSON dicts or :class:`UtxoTx`) the way Esplora does."""

    def __init__(
        self,
        txs: Iterable[dict[str, Any] | UtxoTx],
        *,
        tip: int | None = None,
        faults: FaultPlan | None = None,
        rate_limit_per_s: float | None = None,
        spends_unknown: bool = False,
    ) -> None:
        super().__init__(faults=faults, rate_limit_per_s=rate_limit_per_s)
        #: When the served set is only part of the chain (a dataset of theft txs), the emulator cannot know
        #: who spent an output it has no spender for: outspends then answer 404 instead of claiming "unspent".
        self.spends_unknown = spends_unknown
        self.txs: dict[str, dict[str, Any]] = {}
        self._order: dict[str, int] = {}
        for n, tx in enumerate(txs):
            doc = esplora_json(tx) if isinstance(tx, UtxoTx) else tx
            txid = str(doc["txid"]).lower()
            self.txs[txid] = doc
            self._order[txid] = n
        self.by_address: dict[str, list[str]] = {}
        self.spenders: dict[tuple[str, int], tuple[str, int]] = {}
        for txid, doc in self.txs.items():
            touched = set()
            for vin_index, vin in enumerate(doc["vin"]):
                prevout = vin.get("prevout")
                if prevout is None:
                    continue
                self.spenders[(str(vin["txid"]).lower(), int(vin["vout"]))] = (txid, vin_index)
                touched.add(_holder(prevout))
            for vout in doc["vout"]:
                touched.add(_holder(vout))
            touched.discard(None)
            for address in touched:
                self.by_address.setdefault(address, []).append(txid)
        for txids in self.by_address.values():
            txids.sort(key=self._newest_first)
        heights = [d["status"]["block_height"] for d in self.txs.values() if d["status"].get("block_height")]
        self.tip = tip if tip is not None else max(heights, default=0)
        #: block hash -> (height, time) of the blocks the served transactions are in (`/block/:hash`)
        self.blocks: dict[str, tuple[int, int]] = {
            _block_hash(int(d["status"]["block_height"])): (
                int(d["status"]["block_height"]),
                int(d["status"]["block_time"]),
            )
            for d in self.txs.values()
            if d["status"].get("block_height") is not None and d["status"].get("block_time") is not None
        }

    def _newest_first(self, txid: str) -> tuple[int, int]:
        status = self.txs[txid]["status"]
        height = status.get("block_height") if status.get("confirmed") else None
        return (-(height if height is not None else 1 << 40), -self._order[txid])

    # -- routing ------------------------------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        parts = [p for p in request.path.split("/") if p]
        if parts and parts[0] == "api":
            parts = parts[1:]
        if request.method != "GET":
            return Reply.text("Method Not Allowed", status=405)
        match parts:
            case ["blocks", "tip", "height"]:
                return Reply.text(str(self.tip))
            case ["block-height", height] if height.isdigit():
                if int(height) > self.tip:
                    return Reply.text("Block not found", status=404)
                return Reply.text(_block_hash(int(height)))
            case ["block", digest] if digest in self.blocks:
                height, time = self.blocks[digest]
                return Reply.json({"id": digest, "height": height, "timestamp": time})
            case ["block", _digest]:
                return Reply.text("Block not found", status=404)
            case ["address", address]:
                return self._address_stats(address)
            case ["address", address, "txs"]:
                return self._address_txs(address, None, mempool=True)
            case ["address", address, "txs", "chain"]:
                return self._address_txs(address, None, mempool=False)
            case ["address", address, "txs", "chain", cursor]:
                return self._address_txs(address, cursor, mempool=False)
            case ["scripthash", digest, "txs", "chain", *rest] if _HEX64.fullmatch(digest) and len(rest) <= 1:
                return self._address_txs(
                    SCRIPT_PREFIX + digest.lower(), rest[0] if rest else None, mempool=False, script=True
                )
            case ["tx", txid]:
                return self._tx(txid, lambda doc: Reply.json(doc))
            case ["tx", txid, "status"]:
                return self._tx(txid, lambda doc: Reply.json(doc["status"]))
            case ["tx", txid, "outspends"]:
                return self._tx(txid, self._outspends_reply)
            case ["tx", txid, "outspend", vout] if vout.isdigit():
                return self._tx(txid, lambda doc: self._outspend(doc, int(vout)))
        return Reply.text("Not Found", status=404)

    # -- answers ------------------------------------------------------------------------------

    def _valid(self, address: str) -> str | None:
        if is_script_pseudo_address(address):
            return None  # Esplora's /address/ knows no pseudo-addresses (the /scripthash/ route serves them)
        try:
            return normalize_address("bitcoin", address)
        except BadAddress:
            return None

    def _address_stats(self, address: str) -> Reply:
        norm = self._valid(address)
        if norm is None:
            return Reply.text("Invalid Bitcoin address", status=400)
        chain = dict.fromkeys(("funded_txo_count", "funded_txo_sum", "spent_txo_count", "spent_txo_sum", "tx_count"), 0)
        pool = dict(chain)
        for txid in self.by_address.get(norm, ()):
            doc = self.txs[txid]
            stats = chain if doc["status"].get("confirmed") else pool
            stats["tx_count"] += 1
            for vout in doc["vout"]:
                if vout.get("scriptpubkey_address") == norm:
                    stats["funded_txo_count"] += 1
                    stats["funded_txo_sum"] += vout["value"]
            for vin in doc["vin"]:
                if (vin.get("prevout") or {}).get("scriptpubkey_address") == norm:
                    stats["spent_txo_count"] += 1
                    stats["spent_txo_sum"] += vin["prevout"]["value"]
        return Reply.json({"address": norm, "chain_stats": chain, "mempool_stats": pool})

    def _address_txs(self, address: str, cursor: str | None, *, mempool: bool, script: bool = False) -> Reply:
        norm = address if script else self._valid(address)
        if norm is None:
            return Reply.text("Invalid Bitcoin address", status=400)
        txids = self.by_address.get(norm, [])
        confirmed = [t for t in txids if self.txs[t]["status"].get("confirmed")]
        if cursor is not None and _HEX64.fullmatch(cursor):
            cursor = cursor.lower()
            if cursor not in confirmed:
                return Reply.json([])  # unknown cursor: an empty page, not an error
            start = confirmed.index(cursor) + 1
        else:
            start = 0  # no cursor, or a malformed one (ignored: page 1 again)
        page = [self.txs[t] for t in confirmed[start : start + PAGE_SIZE]]
        if mempool:
            page = [self.txs[t] for t in txids if not self.txs[t]["status"].get("confirmed")][:50] + page
        return Reply.json(page)

    def _tx(self, txid: str, answer: Any) -> Reply:
        if not _HEX64.fullmatch(txid):
            return Reply.text("Invalid hex string", status=400)
        doc = self.txs.get(txid.lower())
        if doc is None:
            return Reply.text("Transaction not found", status=404)
        return answer(doc)

    def _outspend_doc(self, txid: str, vout: int) -> dict[str, Any]:
        found = self.spenders.get((txid, vout))
        if found is None:
            return {"spent": False}
        spender, vin = found
        return {"spent": True, "txid": spender, "vin": vin, "status": self.txs[spender]["status"]}

    def _outspends(self, doc: dict[str, Any]) -> list[dict[str, Any]]:
        txid = str(doc["txid"]).lower()
        return [self._outspend_doc(txid, n) for n in range(len(doc["vout"]))]

    def _outspends_reply(self, doc: dict[str, Any]) -> Reply:
        spends = self._outspends(doc)
        if self.spends_unknown and not all(s["spent"] for s in spends):
            return Reply.text(SPENDS_UNKNOWN, status=404)
        return Reply.json(spends)

    def _outspend(self, doc: dict[str, Any], vout: int) -> Reply:
        if vout >= len(doc["vout"]):
            return Reply.text("Output not found", status=404)
        return Reply.json(self._outspend_doc(str(doc["txid"]).lower(), vout))


# ----------------------------------------------------------------------------- synthetic data for tests


def synthetic_address(name: str, kind: str = "p2wpkh") -> str:
    """A valid mainnet address derived from `name` (SYNTHETIC: no key exists for it)."""
    from tracer.core.addresses import b58check_encode, segwit_encode

    digest = hashlib.sha256(f"heisttrace-synthetic:{name}".encode()).digest()
    if kind == "p2pkh":
        return b58check_encode(b"\x00" + digest[:20])
    if kind == "p2sh":
        return b58check_encode(b"\x05" + digest[:20])
    if kind == "p2wsh":
        return segwit_encode("bc", 0, digest)
    if kind == "p2tr":
        return segwit_encode("bc", 1, digest)
    return segwit_encode("bc", 0, digest[:20])


def synthetic_txid(name: str) -> str:
    """A txid derived from `name` (SYNTHETIC)."""
    return hashlib.sha256(f"heisttrace-synthetic-tx:{name}".encode()).hexdigest()


def synthetic_tx(
    name: str,
    inputs: Iterable[tuple[str | None, int | None, str | None, int]],
    outputs: Iterable[tuple[str | None, int]],
    *,
    block: int | None = 800_000,
    timestamp: int | None = None,
    locktime: int = 0,
    fee: int | None = None,
) -> UtxoTx:
    """A SYNTHETIC transaction: inputs ``(prev_txid, prev_vout, address, value)`` (prev_txid None =
    coinbase), outputs ``(address, value)`` (address None = OP_RETURN). The fee defaults to
    inputs − outputs (0 for a coinbase)."""
    from tracer.core.addresses import address_type
    from tracer.core.models import TxInput, TxOutput

    ins = tuple(
        TxInput(None, None, None, 0, True) if prev is None else TxInput(prev, vout, address, value)
        for prev, vout, address, value in inputs
    )
    outs = tuple(
        TxOutput(n, address, value, "op_return" if address is None else _SCRIPT_TYPES[address_type(address)])
        for n, (address, value) in enumerate(outputs)
    )
    coinbase = any(i.coinbase for i in ins)
    if fee is None:
        fee = 0 if coinbase else sum(i.value for i in ins) - sum(o.value for o in outs)
    if timestamp is None and block is not None:
        timestamp = 1_700_000_000 + 600 * (block - 800_000)
    return UtxoTx("bitcoin", synthetic_txid(name), block, timestamp, ins, outs, fee, locktime, 2)
