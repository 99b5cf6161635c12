"""An Etherscan API V2 emulator over one or more :class:`EvmWorld` (real HTTP on 127.0.0.1).

Serves `GET /v2/api?chainid=N&module=...&action=...` and `GET /v2/chainlist`, reproducing the
quirks of docs/EXPLORER-APIS.md:

- every number is a decimal string; errors are HTTP 200 with `status:"0"`, `message:"NOTOK"`
  and a *string* `result`; success has a *list* `result`; "No transactions found" is status 0
  with an empty list;
- `page × offset` above `window` -> "Result window is too large ..."; at most `row_cap` rows
  per answer (the free-key cap: the effective page size is `min(offset, row_cap)`);
- invalid / missing key (when `api_keys` is given), missing or unsupported chainid, invalid
  address, unknown module/action, free keys on paid-only chains (`free_chains_only`);
- rate limiting by body (`{"result": "Max calls per sec rate limit reached (3/sec)"}`) when
  over `rate_limit_per_s`, and by fault plan (429 with/without Retry-After, 5xx, slow, reset,
  malformed, rate-limit body); any path other than `/v2/...` gets the "deprecated V1 endpoint" NOTOK;
- `module=proxy` answers JSON-RPC envelopes (`eth_blockNumber`, `eth_getCode`,
  `eth_getTransactionByHash`, `eth_getTransactionReceipt` with ERC-20 `Transfer` logs,
  `eth_getBlockByNumber` for blocks the world has transactions in, `eth_call` of the world
  tokens' `symbol()` / `name()` / `decimals()`);
- `module=block&action=getblocknobytime&timestamp=T&closest=before|after`.

`tokentx` rows carry `logIndex` unless `token_log_index=False`, which mimics Etherscan's
rows without it. `flavour` picks the service whose internal-call rows it answers with, as
recorded from the live services (../shared/data/raw/real-explorer-responses):
``"etherscan"`` (trace-address `traceId` ``"0_1"``), ``"routescan"`` (flat `traceId`
``"12"``), ``"blockscout"`` (`transactionHash` and a flat `index`, no `hash`/`traceId`;
with `unprocessed_internal=True` every `txlistinternal` answer is Blockscout's
`status: "2"` "not yet processed"). In `txlistinternal&txhash=` mode no flavour gives
`hash` or `traceId`, as none of the services does. Rows come in (block, transactionIndex, trace/log order),
ascending or descending by `sort`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from chains.emulators.server import EmulatorServer, FaultPlan, Reply, Request
from chains.emulators.world import EvmWorld, WorldTokenTransfer, WorldTx
from chains.evm_decode import SELECTOR_DECIMALS, SELECTOR_NAME, SELECTOR_SYMBOL, TRANSFER_TOPIC, pad_topic
from tracer.core.networks import CHAINS

RATE_LIMIT_TEXT = "Max calls per sec rate limit reached (3/sec)"
NO_TRANSACTIONS = "No transactions found"
INVALID_KEY = "Invalid API Key (#err2)|"
MISSING_KEY = "Missing/Invalid API Key"
BAD_CHAIN = (
    "Missing or unsupported chainid parameter (required for v2 api), "
    "please see https://api.etherscan.io/v2/chainlist for the list of supported chainids"
)
FREE_TIER = (
    "Free API access is not supported for this chain. Please upgrade your api plan for full chain coverage. "
    "https://etherscan.io/apis"
)
BAD_ADDRESS = "Error! Invalid address format"
BAD_ACTION = "Error! Missing Or invalid Action name"
BAD_MODULE = "Error! Missing Or invalid Module name"
DEPRECATED_V1 = (
    "You are using a deprecated V1 endpoint, switch to Etherscan API V2 using https://docs.etherscan.io/v2-migration"
)
WINDOW_TEXT = "Result window is too large, PageNo x Offset size must be less than or equal to {window}"
NO_CLOSEST_BLOCK = "Error! No closest block found"

FLAVOURS = ("etherscan", "blockscout", "routescan")
UNPROCESSED = "Some internal transactions within this block range have not yet been processed"

#: Chains a free key cannot query (EXPLORER-APIS.md).
PAID_ONLY_CHAIN_IDS = frozenset({56, 8453, 10, 43114})

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_TX_HASH = re.compile(r"0x[0-9a-fA-F]{64}")
_QUANTITY = re.compile(r"0x[0-9a-fA-F]{1,16}")
_CONTRACT_CODE = "0x6080604052348015600f57600080fd5b50"


def _notok(result: str) -> Reply:
    return Reply.json({"status": "0", "message": "NOTOK", "result": result})


def _ok(result: Any) -> Reply:
    return Reply.json({"status": "1", "message": "OK", "result": result})


def _rows(rows: list[dict[str, str]]) -> Reply:
    if not rows:
        return Reply.json({"status": "0", "message": NO_TRANSACTIONS, "result": []})
    return _ok(rows)


def _abi_string(text: str) -> str:
    """An ABI-encoded `string` return value."""
    raw = text.encode()
    padded = raw.hex().ljust(-(-len(raw) // 32) * 64, "0")
    return "0x" + f"{32:064x}" + f"{len(raw):064x}" + padded


def _block_hash(block: int) -> str:
    return "0x" + f"{block:064x}"


class EtherscanEmulator(EmulatorServer):
    """Etherscan API V2 over `worlds` (one world, or a mapping chainid -> world)."""

    def __init__(
        self,
        worlds: EvmWorld | Mapping[int, EvmWorld],
        *,
        row_cap: int = 1000,
        window: int = 10_000,
        api_keys: set[str] | frozenset[str] | None = None,
        free_chains_only: bool = False,
        rate_limit_per_s: float | None = None,
        faults: FaultPlan | None = None,
        token_log_index: bool = True,
        flavour: str = "etherscan",
        unprocessed_internal: bool = False,
    ) -> None:
        super().__init__(faults=faults, rate_limit_per_s=rate_limit_per_s)
        self.worlds: dict[int, EvmWorld] = (
            {worlds.chain_id: worlds} if isinstance(worlds, EvmWorld) else {int(k): v for k, v in worlds.items()}
        )
        self.row_cap = row_cap
        self.window = window
        self.api_keys = None if api_keys is None else frozenset(api_keys)
        self.free_chains_only = free_chains_only
        self.token_log_index = token_log_index
        if flavour not in FLAVOURS:
            raise ValueError(f"flavour must be one of {', '.join(FLAVOURS)}")
        self.flavour = flavour
        self.unprocessed_internal = unprocessed_internal
        self._tx_by_hash: dict[int, dict[str, WorldTx]] = {}
        self._tokens: dict[int, tuple[int, dict[str, WorldTokenTransfer]]] = {}

    @property
    def api_url(self) -> str:
        """The `/v2/api` endpoint (what :class:`chains.etherscan.EtherscanAdapter` takes as `base_url`)."""
        return self.base_url + "/v2/api"

    def rate_limited_reply(self, request: Request) -> Reply:
        return _notok(RATE_LIMIT_TEXT)

    # -- routing ---------------------------------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        if request.path == "/v2/chainlist":
            return self._chainlist()
        if request.path != "/v2/api":
            return _notok(DEPRECATED_V1)
        q = request.query
        if self.api_keys is not None:
            key = q.get("apikey", "")
            if not key:
                return _notok(MISSING_KEY)
            if key not in self.api_keys:
                return _notok(INVALID_KEY)
        try:
            chain_id = int(q.get("chainid", ""))
        except ValueError:
            return _notok(BAD_CHAIN)
        world = self.worlds.get(chain_id)
        if world is None:
            return _notok(BAD_CHAIN)
        if self.free_chains_only and chain_id in PAID_ONLY_CHAIN_IDS:
            return _notok(FREE_TIER)
        module, action = q.get("module", ""), q.get("action", "")
        if module == "account":
            return self._account(world, action, q)
        if module == "proxy":
            return self._proxy(world, action, q)
        if module == "logs":
            return self._logs(world, action, q) if action == "getLogs" else _notok(BAD_ACTION)
        if module == "block":
            if action != "getblocknobytime":
                return _notok(BAD_ACTION)
            return self._block_by_time(world, q)
        return _notok(BAD_MODULE)

    def _chainlist(self) -> Reply:
        rows = [
            {
                "chainname": chain.slug.capitalize(),
                "chainid": str(chain.chain_id),
                "blockexplorer": chain.explorer,
                "apiurl": f"https://api.etherscan.io/v2/api?chainid={chain.chain_id}",
                "status": 1,
            }
            for chain in CHAINS.values()
            if chain.chain_id in self.worlds
        ]
        return Reply.json({"comment": "", "totalcount": len(rows), "result": rows})

    # -- module=account --------------------------------------------------------------------------

    def _account(self, world: EvmWorld, action: str, q: dict[str, str]) -> Reply:
        if action == "txlistinternal" and "txhash" in q and "address" not in q:
            tx = self._tx(world, q["txhash"])
            rows = [] if tx is None else [self._internal_row(tx, i) for i in range(len(tx.internals))]
            for row in rows:  # no service names the hash or the call in this mode
                for key in ("hash", "traceId", "transactionHash", "index"):
                    row.pop(key, None)
            return _rows(rows)
        if action not in {"txlist", "txlistinternal", "tokentx", "balance"}:
            return _notok(BAD_ACTION)
        address = q.get("address", "")
        if not _ADDRESS.fullmatch(address):
            return _notok(BAD_ADDRESS)
        address = address.lower()
        if action == "balance":
            return _ok(str(self._balance(world, address)))
        try:
            page = int(q.get("page", "1") or 1)
            offset = int(q.get("offset", "10000") or 10000)
            start = int(q.get("startblock", "0") or 0)
            end = int(q.get("endblock", "99999999") or 99999999)
        except ValueError:
            return _notok("Error! Invalid parameter")
        if page < 1 or offset < 1:
            return _notok("Error! Invalid parameter")
        if page * offset > self.window:
            return _notok(WINDOW_TEXT.format(window=self.window))
        contract = q.get("contractaddress", "").lower()
        rows = self._account_rows(world, action, address, start, end, contract)
        if q.get("sort", "asc") == "desc":
            rows.reverse()
        size = min(offset, self.row_cap)
        if action == "txlistinternal" and self.unprocessed_internal:
            return Reply.json({"status": "2", "message": UNPROCESSED, "result": rows[(page - 1) * size : page * size]})
        return _rows(rows[(page - 1) * size : page * size])

    def _account_rows(
        self, world: EvmWorld, action: str, address: str, start: int, end: int, contract: str
    ) -> list[dict[str, str]]:
        rows: list[dict[str, str]] = []
        tip = world.tip
        for tx in world.txs_touching(address):
            if not start <= tx.block <= end:
                continue
            if action == "txlist":
                if address in (tx.sender, tx.to, tx.created):
                    rows.append(self._tx_row(tip, tx))
            elif action == "txlistinternal":
                rows.extend(
                    self._internal_row(tx, i)
                    for i, call in enumerate(tx.internals)
                    if address in (call.sender, call.to)
                )
            else:
                rows.extend(
                    self._token_row(tip, tx, i)
                    for i, tok in enumerate(tx.tokens)
                    if address in (tok.sender, tok.to) and (not contract or tok.token == contract)
                )
        return rows

    @staticmethod
    def _balance(world: EvmWorld, address: str) -> int:
        balance = 0
        for tx in world.txs_touching(address):
            if tx.sender == address:
                balance -= tx.fee
            moves = [(tx.sender, tx.to or tx.created or "", tx.value)] if tx.success else []
            if tx.success:
                moves += [(c.sender, c.to, c.value) for c in tx.internals if c.success]
            for sender, to, value in moves:
                balance += value if to == address else 0
                balance -= value if sender == address else 0
        return balance

    def _tx_row(self, tip: int, tx: WorldTx) -> dict[str, str]:
        return {
            "blockNumber": str(tx.block),
            "timeStamp": str(tx.timestamp),
            "hash": tx.hash,
            "nonce": str(tx.nonce),
            "blockHash": _block_hash(tx.block),
            "transactionIndex": str(tx.tx_index),
            "from": tx.sender,
            "to": tx.to or "",
            "value": str(tx.value),
            "gas": str(max(tx.gas_used, 21_000) * 3 // 2),
            "gasPrice": str(tx.gas_price),
            "isError": "0" if tx.success else "1",
            "txreceipt_status": "1" if tx.success else "0",
            "input": tx.input,
            "contractAddress": tx.created or "",
            "cumulativeGasUsed": str(tx.gas_used * (tx.tx_index + 1)),
            "gasUsed": str(tx.gas_used),
            "confirmations": str(tip - tx.block + 1),
            "methodId": tx.input[:10] if len(tx.input) >= 10 else "0x",
            "functionName": "",
        }

    def _internal_row(self, tx: WorldTx, index: int) -> dict[str, str]:
        call = tx.internals[index]
        creates = call.call_type.startswith("create")
        row = {
            "blockNumber": str(tx.block),
            "timeStamp": str(tx.timestamp),
            "hash": tx.hash,
            "from": call.sender,
            "to": "" if creates else call.to,
            "value": str(call.value),
            "contractAddress": call.to if creates else "",
            "input": "",
            "type": call.call_type,
            "gas": "2300",
            "gasUsed": "0",
            "traceId": call.trace_id,
            "isError": "0" if call.success else "1",
            "errCode": "" if call.success else "execution reverted",
        }
        if self.flavour == "routescan":
            row["traceId"] = str(index + 1)  # a flat index of the call in the transaction
        elif self.flavour == "blockscout":
            row["transactionHash"] = row.pop("hash")
            row.pop("traceId")
            row["index"] = str(index + 1)
            row["callType"] = "" if creates else call.call_type
        return row

    def _token_row(self, tip: int, tx: WorldTx, index: int) -> dict[str, str]:
        tok = tx.tokens[index]
        row = {
            "blockNumber": str(tx.block),
            "timeStamp": str(tx.timestamp),
            "hash": tx.hash,
            "nonce": str(tx.nonce),
            "blockHash": _block_hash(tx.block),
            "from": tok.sender,
            "contractAddress": tok.token,
            "to": tok.to,
            "value": str(tok.value),
            "tokenName": tok.name,
            "tokenSymbol": tok.symbol,
            "tokenDecimal": str(tok.decimals),
            "transactionIndex": str(tx.tx_index),
            "gas": str(max(tx.gas_used, 21_000) * 3 // 2),
            "gasPrice": str(tx.gas_price),
            "gasUsed": str(tx.gas_used),
            "cumulativeGasUsed": str(tx.gas_used * (tx.tx_index + 1)),
            "input": "deprecated",
            "confirmations": str(tip - tx.block + 1),
        }
        if self.token_log_index:
            row["logIndex"] = str(tok.log_index)
        return row

    # -- module=proxy (JSON-RPC envelopes) -------------------------------------------------------

    def _tx(self, world: EvmWorld, tx_hash: str) -> WorldTx | None:
        index = self._tx_by_hash.get(world.chain_id)
        if index is None or len(index) != len(world.txs):
            index = self._tx_by_hash[world.chain_id] = {tx.hash: tx for tx in world.txs}
        return index.get(tx_hash.lower())

    def _proxy(self, world: EvmWorld, action: str, q: dict[str, str]) -> Reply:
        def rpc(result: Any) -> Reply:
            return Reply.json({"jsonrpc": "2.0", "id": 1, "result": result})

        def rpc_error(message: str) -> Reply:
            return Reply.json({"jsonrpc": "2.0", "id": 1, "error": {"code": -32602, "message": message}})

        if action == "eth_blockNumber":
            return rpc(hex(world.tip))
        if action == "eth_getCode":
            address = q.get("address", "")
            if not _ADDRESS.fullmatch(address):
                return rpc_error("invalid argument 0: hex string has length 0, want 40 for common.Address")
            return rpc(_CONTRACT_CODE if address.lower() in world.contracts else "0x")
        if action in {"eth_getTransactionByHash", "eth_getTransactionReceipt"}:
            tx_hash = q.get("txhash", "")
            if not _TX_HASH.fullmatch(tx_hash):
                return rpc_error("invalid argument 0: hex string has length 0, want 64 for common.Hash")
            tx = self._tx(world, tx_hash)
            if tx is None:
                return rpc(None)
            return rpc(self._rpc_tx(tx) if action == "eth_getTransactionByHash" else self._rpc_receipt(tx))
        if action == "eth_getBlockByNumber":
            tag = q.get("tag", "")
            if not _QUANTITY.fullmatch(tag):
                return rpc_error("invalid argument 0: hex string without 0x prefix")
            return rpc(self._rpc_block(world, int(tag, 16)))
        if action == "eth_call":
            to, data = q.get("to", ""), q.get("data", "")
            if not _ADDRESS.fullmatch(to):
                return rpc_error("invalid argument 0: hex string has length 0, want 40 for common.Address")
            return self._rpc_call(world, to.lower(), data.lower(), rpc, rpc_error)
        return _notok(BAD_ACTION)

    def _token_meta(self, world: EvmWorld) -> dict[str, WorldTokenTransfer]:
        """One token transfer per token contract: its symbol, name and decimals are the token's."""
        cached = self._tokens.get(world.chain_id)
        if cached is None or cached[0] != len(world.txs):
            meta = {tok.token: tok for tx in world.txs for tok in tx.tokens}
            cached = self._tokens[world.chain_id] = (len(world.txs), meta)
        return cached[1]

    def _rpc_call(self, world: EvmWorld, to: str, data: str, rpc: Any, rpc_error: Any) -> Reply:
        """`symbol()`, `name()` and `decimals()` of the world's tokens; "0x" from accounts without code."""
        token = self._token_meta(world).get(to)
        if token is None:
            if to in world.contracts:
                return Reply.json({"jsonrpc": "2.0", "id": 1, "error": {"code": 3, "message": "execution reverted"}})
            return rpc("0x")
        if data == SELECTOR_DECIMALS:
            return rpc("0x" + f"{token.decimals:064x}")
        text = {SELECTOR_SYMBOL: token.symbol, SELECTOR_NAME: token.name}.get(data)
        if text is None or (data == SELECTOR_SYMBOL and not text):
            return Reply.json({"jsonrpc": "2.0", "id": 1, "error": {"code": 3, "message": "execution reverted"}})
        return rpc(_abi_string(text))

    @staticmethod
    def _rpc_block(world: EvmWorld, number: int) -> dict[str, Any] | None:
        """A block header of a block the world has transactions in (else null: the world knows no other time)."""
        txs = [tx for tx in world.txs if tx.block == number]
        if not txs:
            return None
        return {
            "number": hex(number),
            "hash": _block_hash(number),
            "parentHash": _block_hash(number - 1) if number else "0x" + "0" * 64,
            "timestamp": hex(txs[0].timestamp),
            "transactions": [tx.hash for tx in sorted(txs, key=lambda t: t.tx_index)],
        }

    @staticmethod
    def _rpc_tx(tx: WorldTx) -> dict[str, Any]:
        return {
            "blockHash": _block_hash(tx.block),
            "blockNumber": hex(tx.block),
            "from": tx.sender,
            "gas": hex(max(tx.gas_used, 21_000) * 3 // 2),
            "gasPrice": hex(tx.gas_price),
            "hash": tx.hash,
            "input": tx.input,
            "nonce": hex(tx.nonce),
            "to": tx.to,
            "transactionIndex": hex(tx.tx_index),
            "value": hex(tx.value),
        }

    @staticmethod
    def _rpc_receipt(tx: WorldTx) -> dict[str, Any]:
        return {
            "blockHash": _block_hash(tx.block),
            "blockNumber": hex(tx.block),
            "contractAddress": tx.created,
            "effectiveGasPrice": hex(tx.gas_price),
            "from": tx.sender,
            "gasUsed": hex(tx.gas_used),
            "logs": [
                {
                    "address": tok.token,
                    "blockHash": _block_hash(tx.block),
                    "blockNumber": hex(tx.block),
                    "logIndex": hex(tok.log_index),
                    "removed": False,
                    "topics": [TRANSFER_TOPIC, pad_topic(tok.sender), pad_topic(tok.to)],
                    "data": "0x" + f"{tok.value:064x}",
                    "transactionHash": tx.hash,
                    "transactionIndex": hex(tx.tx_index),
                }
                for tok in tx.tokens
            ]
            + [
                {
                    "address": log.address,
                    "blockHash": _block_hash(tx.block),
                    "blockNumber": hex(tx.block),
                    "logIndex": hex(log.log_index),
                    "removed": False,
                    "topics": list(log.topics),
                    "data": log.data,
                    "transactionHash": tx.hash,
                    "transactionIndex": hex(tx.tx_index),
                }
                for log in tx.logs
            ],
            "status": "0x1" if tx.success else "0x0",
            "to": tx.to,
            "transactionHash": tx.hash,
            "transactionIndex": hex(tx.tx_index),
        }

    # -- module=logs (getLogs over the world's extra logs) ----------------------------------------

    def _logs(self, world: EvmWorld, action: str, q: dict[str, str]) -> Reply:
        try:
            start = int(q.get("fromBlock", "0") or 0)
            end = int(q.get("toBlock", "99999999") or 99999999)
        except ValueError:
            return _notok("Error! Invalid fromBlock or toBlock")
        address = q.get("address", "").lower()
        wanted = {n: q[f"topic{n}"].lower() for n in range(4) if q.get(f"topic{n}")}
        rows = []
        for tx in sorted(world.txs, key=lambda t: (t.block, t.tx_index)):
            if not start <= tx.block <= end or not tx.success:
                continue
            for log in tx.logs:
                topics = [t.lower() for t in log.topics]
                if address and log.address.lower() != address:
                    continue
                if any(n >= len(topics) or topics[n] != t for n, t in wanted.items()):
                    continue
                rows.append(
                    {
                        "address": log.address.lower(),
                        "topics": topics,
                        "data": log.data,
                        "blockNumber": hex(tx.block),
                        "timeStamp": hex(tx.timestamp),
                        "gasPrice": hex(tx.gas_price),
                        "gasUsed": hex(tx.gas_used),
                        "logIndex": hex(log.log_index),
                        "transactionHash": tx.hash,
                        "transactionIndex": hex(tx.tx_index),
                    }
                )
        if not rows:
            return Reply.json({"status": "0", "message": "No records found", "result": []})
        return Reply.json({"status": "1", "message": "OK", "result": rows[: self.row_cap]})

    # -- module=block -----------------------------------------------------------------------------

    def _block_by_time(self, world: EvmWorld, q: dict[str, str]) -> Reply:
        try:
            when = int(q.get("timestamp", ""))
        except ValueError:
            return _notok("Error! Invalid timestamp")
        closest = q.get("closest", "before")
        if closest == "before":
            found = max((t.block for t in world.txs if t.timestamp <= when), default=None)
        else:
            found = min((t.block for t in world.txs if t.timestamp >= when), default=None)
        if found is None:
            return _notok(NO_CLOSEST_BLOCK)
        return _ok(str(found))
