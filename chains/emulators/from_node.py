"""Build an :class:`EvmWorld` from a node's blocks, receipts, traces and logs (for the Etherscan emulator).

The contract test suite plays a scenario on anvil, reads it back block by block with this
module and serves the result through :class:`chains.emulators.etherscan.EtherscanEmulator`, so
the Etherscan adapter and the JSON-RPC adapter can be compared on the very same chain.

It reads differently from :class:`chains.rpc.RpcAdapter` on purpose: whole blocks
(`eth_getBlockByNumber` with transactions, every receipt, `trace_block` or else
`debug_traceBlockByNumber` with `callTracer`), never per-address filters. What an explorer
indexes is kept: value-moving internal calls (value > 0, below the top level; `success`
False under a reverted frame), and ERC-20 `Transfer` logs with the token's symbol, name and
decimals read by `eth_call` (same fallbacks as the adapter).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from chains.emulators.world import EvmWorld, WorldInternal, WorldTokenTransfer, WorldTx
from chains.evm_decode import (
    CallFrame,
    TokenMetadata,
    decode_transfer_log,
    fetch_token_metadata,
    flatten_call_tracer,
    flatten_parity_traces,
    hex_int,
    internal_value_frames,
)
from chains.rpc import CALL_TRACER, JsonRpcClient, RpcMethodUnsupported
from tracer.core.errors import SourceRejected


def fetch_world_from_node(url: str, *, start_block: int, end_block: int) -> EvmWorld:
    """Every transaction of blocks `start_block..end_block` on the node at `url`, as an EvmWorld."""
    rpc = JsonRpcClient(url)
    world = EvmWorld(chain_id=hex_int(rpc.call("eth_chainId")))
    tokens: dict[str, TokenMetadata] = {}
    use_trace_block = True
    for number in range(start_block, end_block + 1):
        block = rpc.call("eth_getBlockByNumber", [hex(number), True]) or {}
        txs = block.get("transactions") or []
        if not txs:
            continue
        frames: dict[str, list[CallFrame]] = {}
        if use_trace_block:
            try:
                frames = _parity_frames(rpc.call("trace_block", [hex(number)]) or [])
            except (RpcMethodUnsupported, SourceRejected):
                use_trace_block = False
        if not use_trace_block:
            results = rpc.call("debug_traceBlockByNumber", [hex(number), CALL_TRACER]) or []
            for raw, item in zip(txs, results, strict=True):
                frames[str(item.get("txHash") or raw["hash"]).lower()] = flatten_call_tracer(item["result"])
        timestamp = hex_int(block["timestamp"])
        for raw in txs:
            world_tx = _world_tx(rpc, raw, timestamp, frames.get(str(raw["hash"]).lower(), []), tokens)
            world.add([world_tx])
            if world_tx.created:
                world.contracts.add(world_tx.created)
            world.contracts.update(c.to for c in world_tx.internals if c.call_type.startswith("create"))
    world.contracts.update(tokens)
    return world


def _parity_frames(traces: list[dict[str, Any]]) -> dict[str, list[CallFrame]]:
    by_tx: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for trace in traces:
        if trace.get("transactionHash"):
            by_tx[str(trace["transactionHash"]).lower()].append(trace)
    return {tx_hash: flatten_parity_traces(items) for tx_hash, items in by_tx.items()}


def _world_tx(
    rpc: JsonRpcClient,
    raw: dict[str, Any],
    timestamp: int,
    frames: list[CallFrame],
    tokens: dict[str, TokenMetadata],
) -> WorldTx:
    tx_hash = str(raw["hash"]).lower()
    receipt = rpc.call("eth_getTransactionReceipt", [tx_hash]) or {}
    internals = tuple(
        WorldInternal(
            sender=frame.sender or "",
            to=frame.receiver or "",
            value=frame.value or 0,
            trace_id=frame.trace_id,
            call_type=frame.call_type,
            success=not frame.failed,
        )
        for frame in internal_value_frames(frames)
        if frame.sender and frame.receiver
    )
    transfers = []
    for raw_log in receipt.get("logs") or []:
        log = decode_transfer_log(raw_log)
        if log is None:
            continue
        if log.token not in tokens:
            tokens[log.token] = fetch_token_metadata(rpc, log.token)
        meta = tokens[log.token]
        transfers.append(
            WorldTokenTransfer(
                token=log.token,
                sender=log.sender,
                to=log.receiver,
                value=log.value,
                log_index=log.log_index,
                symbol=meta.symbol,
                name=meta.name,
                decimals=meta.decimals,
            )
        )
    created = receipt.get("contractAddress")
    success = hex_int(receipt.get("status", "0x1")) == 1
    return WorldTx(
        hash=tx_hash,
        block=hex_int(raw["blockNumber"]),
        tx_index=hex_int(raw["transactionIndex"]),
        timestamp=timestamp,
        sender=str(raw["from"]).lower(),
        to=str(raw["to"]).lower() if raw.get("to") else None,
        value=hex_int(raw.get("value")),
        gas_used=hex_int(receipt.get("gasUsed")),
        gas_price=hex_int(receipt.get("effectiveGasPrice", raw.get("gasPrice"))),
        success=success,
        input=str(raw.get("input") or "0x"),
        created=str(created).lower() if created else None,
        nonce=hex_int(raw.get("nonce")),
        internals=internals if success else tuple(_failed(c) for c in internals),
        tokens=tuple(transfers),
    )


def _failed(call: WorldInternal) -> WorldInternal:
    return WorldInternal(call.sender, call.to, call.value, call.trace_id, call.call_type, success=False)
