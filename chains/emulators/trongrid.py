"""A TronGrid v1 emulator on 127.0.0.1 serving a :class:`TronWorld`, with TronGrid's shapes and quirks.

Served: ``GET /v1/accounts/{a}/transactions`` and ``…/transactions/trc20`` (``limit`` ≤ 200, else a 400
with an empty body; ``fingerprint`` cursor; ``min_timestamp``/``max_timestamp`` inclusive; ascending
order), ``POST /wallet/getnowblock``, ``/wallet/getblockbynum``, ``/wallet/gettransactionbyid`` and
``/wallet/gettransactioninfobyid``. Raw contracts carry hex ``41…`` addresses, trc20 rows base58, as the
real service does; a failed transaction emits no Transfer event. Blocks come every 3 s; `missed_every`
misses one slot in that many (a gap in time, not in block numbers, as on mainnet).

Quirks on request: `edge_duplicates` repeats the previous page's last row at the top of every next page;
the cursor breaks after `break_after_pages` pages of one walk (a 400 with ``"success": false``); without
a ``TRON-PRO-API-KEY`` header the rate limit answers 403 "suspended" like the free tier (429 with one);
an unknown address answers 200 with ``"success": false``; with `api_keys` given, a request without a key
is refused with 403 and one with an unknown key with 401 (``ApiKey not exists``), as TronGrid does for
keyed-only access.
"""

from __future__ import annotations

import base64
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from chains.emulators.server import EmulatorServer, FaultPlan, Reply, Request
from tracer.core.addresses import b58check_decode, normalize_address

GENESIS_MS = 1_529_891_469_000  # TRON mainnet genesis time, ms
BLOCK_MS = 3_000
TRANSFER_EVENT = "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
_ACCOUNT = re.compile(r"^/v1/accounts/([^/]+)/transactions(/trc20)?/?$")


def to_hex(address: str) -> str:
    """A base58 TRON address as TronGrid's hex form (``41`` + 20 bytes)."""
    return b58check_decode(address).hex()


def block_time_ms(block: int, missed_every: int | None = None) -> int:
    """The time of `block` (ms); with `missed_every`, one slot in that many is missed (no block in it)."""
    slots = block + (block // missed_every if missed_every else 0)
    return GENESIS_MS + slots * BLOCK_MS


@dataclass(frozen=True, slots=True)
class TronInternal:
    """An internal call moving TRX (`sun`), or a TRC-10 token (`token_id`: then `sun` counts its units)."""

    sender: str
    to: str
    sun: int
    rejected: bool = False
    token_id: str | None = None


@dataclass(frozen=True, slots=True)
class TronToken:
    contract: str
    symbol: str
    decimals: int
    name: str = ""


@dataclass(frozen=True, slots=True)
class Trc20Move:
    token: TronToken
    sender: str
    to: str
    value: int


@dataclass(frozen=True, slots=True)
class TronTx:
    """One transaction: a TRX transfer (``to`` + ``amount``) or a contract call (``contract`` + ``call_value``)."""

    txid: str
    block: int
    owner: str
    to: str | None = None
    amount: int = 0
    contract: str | None = None
    call_value: int = 0
    fee: int = 0
    success: bool = True
    internals: tuple[TronInternal, ...] = ()
    trc20: tuple[Trc20Move, ...] = ()

    @property
    def timestamp_ms(self) -> int:
        return block_time_ms(self.block)


@dataclass
class TronWorld:
    """All transactions of a (synthetic) TRON chain."""

    txs: list[TronTx] = field(default_factory=list)
    tip: int = 0

    def add(self, *txs: TronTx) -> None:
        self.txs.extend(txs)
        self.tip = max([self.tip, *(t.block for t in txs)])

    def involved(self, address: str) -> list[TronTx]:
        """Transactions a v1 transactions list shows for `address` (owner, TRX recipient, internal party)."""
        return [
            t for t in self.txs if address in (t.owner, t.to) or any(address in (i.sender, i.to) for i in t.internals)
        ]

    def trc20_rows(self, address: str) -> list[tuple[TronTx, int, Trc20Move]]:
        """The Transfer events touching `address` (a failed transaction emits none)."""
        return [(t, i, m) for t in self.txs if t.success for i, m in enumerate(t.trc20) if address in (m.sender, m.to)]

    def by_id(self, txid: str) -> TronTx | None:
        return next((t for t in self.txs if t.txid == txid), None)


def _raw(tx: TronTx, ms: int) -> dict[str, Any]:
    if tx.contract is not None:
        value: dict[str, Any] = {"owner_address": to_hex(tx.owner), "contract_address": to_hex(tx.contract)}
        if tx.call_value:
            value["call_value"] = tx.call_value
        kind = "TriggerSmartContract"
    else:
        value = {"owner_address": to_hex(tx.owner), "to_address": to_hex(tx.to or tx.owner), "amount": tx.amount}
        kind = "TransferContract"
    return {
        "contract": [{"parameter": {"value": value, "type_url": f"type.googleapis.com/protocol.{kind}"}, "type": kind}],
        "ref_block_bytes": f"{tx.block & 0xFFFF:04x}",
        "timestamp": ms - 1_000,
        "expiration": ms + 60_000,
    }


def tx_row(tx: TronTx, ms: int | None = None) -> dict[str, Any]:
    """The v1 transactions-list row of `tx` (made at `ms`, by default its block's time without missed slots)."""
    ms = tx.timestamp_ms if ms is None else ms
    return {
        "ret": [{"contractRet": "SUCCESS" if tx.success else "REVERT", "fee": tx.fee}],
        "signature": ["00" * 65],
        "txID": tx.txid,
        "net_usage": 0 if tx.fee else 268,
        "net_fee": tx.fee if tx.contract is None else 345_000 if tx.fee else 0,
        "energy_fee": max(0, tx.fee - 345_000) if tx.contract is not None and tx.fee else 0,
        "energy_usage": 0,
        "energy_usage_total": 0,
        "blockNumber": tx.block,
        "block_timestamp": ms,
        "raw_data": _raw(tx, ms),
        "internal_transactions": [
            {
                "internal_tx_id": f"{tx.txid[:56]}{n:08x}",
                "data": {"note": "63616c6c", "rejected": i.rejected, "call_value": {i.token_id or "_": i.sun}},
                "block_timestamp": ms,
                "to_address": to_hex(i.to),
                "tx_id": tx.txid,
                "from_address": to_hex(i.sender),
            }
            for n, i in enumerate(tx.internals)
        ],
    }


def trc20_row(tx: TronTx, move: Trc20Move, ms: int | None = None) -> dict[str, Any]:
    ms = tx.timestamp_ms if ms is None else ms
    return {
        "transaction_id": tx.txid,
        "token_info": {
            "symbol": move.token.symbol,
            "address": move.token.contract,
            "decimals": move.token.decimals,
            "name": move.token.name or move.token.symbol,
        },
        "block_timestamp": ms,
        "from": move.sender,
        "to": move.to,
        "type": "Transfer",
        "value": str(move.value),
    }


def tx_info(tx: TronTx, ms: int | None = None) -> dict[str, Any]:
    """``gettransactioninfobyid`` of `tx`: block, fee, receipt and one Transfer log per TRC-20 move."""
    ms = tx.timestamp_ms if ms is None else ms
    doc: dict[str, Any] = {
        "id": tx.txid,
        "fee": tx.fee,
        "blockNumber": tx.block,
        "blockTimeStamp": ms,
        "contractResult": [""],
        "receipt": {"net_fee": tx.fee} if tx.contract is None else {"result": "SUCCESS" if tx.success else "REVERT"},
    }
    if tx.trc20 and tx.success:
        doc["log"] = [
            {
                "address": to_hex(m.token.contract)[2:],
                "topics": [TRANSFER_EVENT, "0" * 24 + to_hex(m.sender)[2:], "0" * 24 + to_hex(m.to)[2:]],
                "data": f"{m.value:064x}",
            }
            for m in tx.trc20
        ]
    if tx.contract is not None:
        doc["contract_address"] = to_hex(tx.contract)
    return doc


class TronGridEmulator(EmulatorServer):
    """Serves a :class:`TronWorld` the way TronGrid v1 does (see the module docstring)."""

    def __init__(
        self,
        world: TronWorld,
        *,
        faults: FaultPlan | None = None,
        rate_limit_per_s: float | None = None,
        break_after_pages: int | None = None,
        api_keys: set[str] | None = None,
        missed_every: int | None = None,
        edge_duplicates: bool = False,
    ) -> None:
        super().__init__(faults=faults, rate_limit_per_s=rate_limit_per_s)
        self.world = world
        self.break_after_pages = break_after_pages
        self.api_keys = api_keys
        self.missed_every = missed_every
        self.edge_duplicates = edge_duplicates
        self.keys_seen: list[str | None] = []  # the TRON-PRO-API-KEY header of every request (tests check it)
        self.paths: dict[str, int] = defaultdict(int)

    def rate_limited_reply(self, request: Request) -> Reply:
        if "tron-pro-api-key" not in {k.lower() for k in request.headers}:
            text = "The key exceeds the frequency limit(15), and the query server is suspended for 30s"
            return Reply.json({"Error": text}, status=403)
        return Reply.json({"Error": "request rate exceeded the allowed_rps(15)"}, status=429)

    def handle(self, request: Request) -> Reply:
        self.paths[request.path] += 1
        key = next((v for k, v in request.headers.items() if k.lower() == "tron-pro-api-key"), None)
        self.keys_seen.append(key)
        if self.api_keys is not None:
            if key is None:
                return Reply.json({"Error": "please use an API key (TRON-PRO-API-KEY) to access this service"}, 403)
            if key not in self.api_keys:
                return Reply.json({"Error": "ApiKey not exists", "Success": False}, 401)
        if request.method == "POST":
            return self._wallet(request)
        match = _ACCOUNT.match(request.path)
        if match is None:
            return Reply.json({"success": False, "error": f"unknown path {request.path}", "statusCode": 404}, 404)
        return self._account(request, match.group(1), trc20=bool(match.group(2)))

    # -- /v1/accounts ------------------------------------------------------------------------

    def _account(self, request: Request, raw_address: str, *, trc20: bool) -> Reply:
        try:
            address = normalize_address("tron", raw_address)
        except ValueError:
            return Reply.json({"success": False, "error": "Invalid address provided", "statusCode": 400})
        q = request.query
        try:
            limit = int(q.get("limit", "20"))
            lo = int(q.get("min_timestamp", "0"))
            hi = int(q.get("max_timestamp", str(1 << 62)))
        except ValueError:
            return Reply.json({"success": False, "error": "invalid parameter", "statusCode": 400}, 400)
        if limit > 200:
            return Reply(400, b"", "application/json")
        start, depth = 0, 0
        if q.get("fingerprint"):
            try:
                start, depth = json.loads(base64.urlsafe_b64decode(q["fingerprint"].encode()))
            except ValueError:
                return Reply.json({"success": False, "error": "invalid fingerprint", "statusCode": 400}, 400)
            if self.break_after_pages is not None and depth >= self.break_after_pages:
                return Reply.json({"success": False, "error": "fingerprint expired", "statusCode": 400}, 400)
        if trc20:
            rows = [
                (ms, t.txid, i, trc20_row(t, m, ms))
                for t, i, m in self.world.trc20_rows(address)
                if lo <= (ms := self._ms(t.block)) <= hi
            ]
        else:
            rows = [
                (ms, t.txid, 0, tx_row(t, ms))
                for t in self.world.involved(address)
                if lo <= (ms := self._ms(t.block)) <= hi
            ]
        rows.sort(key=lambda r: r[:3])
        if self.edge_duplicates and start > 0 and limit > 1:
            start -= 1  # the page repeats the previous page's last row, as TronGrid's pages do at their edges
        page = rows[start : start + limit]
        meta: dict[str, Any] = {"at": self._ms(self.world.tip), "page_size": len(page)}
        if start + limit < len(rows):
            cursor = base64.urlsafe_b64encode(json.dumps([start + limit, depth + 1]).encode()).decode()
            meta["fingerprint"] = cursor
            meta["links"] = {"next": f"{self.base_url}{request.path}?fingerprint={cursor}&limit={limit}"}
        return Reply.json({"data": [r[3] for r in page], "success": True, "meta": meta})

    # -- /wallet -----------------------------------------------------------------------------

    def _wallet(self, request: Request) -> Reply:
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return Reply.json({"Error": "invalid json"}, 400)
        if request.path == "/wallet/getnowblock":
            return Reply.json(self._block(self.world.tip))
        if request.path == "/wallet/getblockbynum":
            num = int(body.get("num", -1))
            return Reply.json(self._block(num) if 0 <= num <= self.world.tip else {})
        if request.path in ("/wallet/gettransactioninfobyid", "/wallet/gettransactionbyid"):
            tx = self.world.by_id(str(body.get("value", "")).lower())
            if tx is None:
                return Reply.json({})
            if request.path.endswith("infobyid"):
                return Reply.json(tx_info(tx, self._ms(tx.block)))
            row = tx_row(tx, self._ms(tx.block))
            return Reply.json({k: row[k] for k in ("ret", "signature", "txID", "raw_data")})
        return Reply.json({"Error": f"unknown path {request.path}"}, 404)

    def _ms(self, block: int) -> int:
        return block_time_ms(block, self.missed_every)

    def _block(self, number: int) -> dict[str, Any]:
        return {
            "blockID": f"{number:016x}" + "0" * 48,
            "block_header": {"raw_data": {"number": number, "timestamp": self._ms(number)}},
        }
