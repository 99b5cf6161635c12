"""A hostile source on 127.0.0.1: endless, truncated, null-field, negative and non-JSON answers.

The first path segment picks the behaviour, so one server serves every case of the adversarial
suite (``tests/test_adversarial.py``):

- ``/endless/…``: a JSON body that never ends (streamed until the client hangs up);
- ``/truncated/…``: a ``Content-Length`` promising more than is sent, then the connection closes;
- ``/nonjson/…``: an HTML error page with HTTP 200;
- ``/null/…`` and ``/negative/…``: well-formed answers whose rows carry a null or a negative value;
- ``/ok/…``: well-formed answers (the Etherscan emulator's, over the world given).

Behind the mode, Etherscan-style paths (``/v2/api``) get Etherscan answers; anything else is a
JSON-RPC node (POST) that knows one transaction, :data:`TX_HASH`. Everything served is SYNTHETIC.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from chains.emulators.etherscan import EtherscanEmulator
from chains.emulators.server import EmulatorServer, Reply, Request
from chains.emulators.world import EvmWorld

MODES = ("endless", "truncated", "nonjson", "null", "negative", "ok")
TX_HASH = "0x" + "ab" * 32
SENDER, RECEIVER = "0x" + "11" * 20, "0x" + "22" * 20


def _endless() -> Iterator[bytes]:
    yield b'{"status":"1","message":"OK","result":['
    row = b'{"hash":"0x00","value":"1"},' * 512
    yield from itertools.repeat(row)


def _spoil(body: Any, mode: str) -> Any:
    """Set the first row's value (or an RPC result's value) to null or a negative number."""
    bad = None if mode == "null" else "-5"
    rows = body.get("result") if isinstance(body, dict) else None
    if isinstance(rows, list) and rows and isinstance(rows[0], dict):
        rows[0]["value"] = bad
    elif isinstance(rows, dict) and "value" in rows:
        rows["value"] = bad if mode == "null" else "-0x5"
    return body


class HostileServer(EmulatorServer):
    """See the module docstring. `world` backs the Etherscan answers; `api_keys` are the keys it accepts."""

    def __init__(self, world: EvmWorld, *, api_keys: set[str] | None = None) -> None:
        super().__init__()
        self.etherscan = EtherscanEmulator(world, api_keys=api_keys)  # used for its answers only (not started)

    def handle(self, request: Request) -> Reply:
        mode, _, rest = request.path.lstrip("/").partition("/")
        if mode not in MODES:
            return Reply.text("unknown mode", status=404)
        if mode == "endless":
            return Reply(200, b"", "application/json", stream=_endless())
        if mode == "truncated":
            body = b'{"status":"1","message":"OK","result":[{"hash":'
            return Reply(200, b"", "application/json", (("Content-Length", "100000"),), stream=iter([body]))
        if mode == "nonjson":
            return Reply(200, b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")
        inner = replace(request, path="/" + rest)
        reply = self.etherscan.handle(inner) if inner.path == "/v2/api" else self._node(inner)
        if mode == "ok":
            return reply
        body = _spoil(json.loads(reply.body), mode)
        return Reply(reply.status, json.dumps(body).encode(), reply.content_type, reply.headers)

    def _node(self, request: Request) -> Reply:
        """A JSON-RPC node with no trace methods that knows one transaction (block 16, 1 wei fee)."""
        call = json.loads(request.body or b"{}")
        tx = {
            "hash": TX_HASH,
            "from": SENDER,
            "to": RECEIVER,
            "value": hex(10 * 10**18),  # 10 ETH (a dust amount would be noise)
            "blockNumber": "0x10",
            "transactionIndex": "0x0",
            "gasPrice": "0x1",
        }
        params = call.get("params") or [None, False]
        number = int(str(params[0]), 16) if str(params[0]).startswith("0x") else 0
        in_block = [tx if params[1:2] == [True] else TX_HASH] if number == 0x10 else []
        answers: dict[str, Any] = {
            "eth_chainId": "0x1",
            "eth_blockNumber": "0x20",
            "eth_getTransactionByHash": tx,
            "eth_getTransactionReceipt": {"gasUsed": "0x1", "status": "0x1", "logs": []},
            "eth_getBlockByNumber": {
                "number": hex(number),
                "timestamp": hex(1_700_000_000 + number),
                "transactions": in_block,
            },
            "eth_getLogs": [],
            "eth_getCode": "0x",
        }
        method = call.get("method")
        if method not in answers:
            error = {"code": -32601, "message": f"the method {method} does not exist/is not available"}
            return Reply.json({"jsonrpc": "2.0", "id": call.get("id"), "error": error})
        return Reply.json({"jsonrpc": "2.0", "id": call.get("id"), "result": answers[method]})
