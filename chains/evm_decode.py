"""Decoding helpers shared by the EVM sources: JSON-RPC quantities, `Transfer` logs, call traces, token metadata.

Pure functions over raw JSON-RPC values (hex strings, as a node answers; ints are accepted too,
as web3's decoded forms give them). Nothing here touches the network itself:
:func:`fetch_token_metadata` asks through the caller it is given. Shared by the RPC and Etherscan
adapters so that neither imports the other.

- :func:`decode_transfer_log` reads an ERC-20 `Transfer(address,address,uint256)` log (3 topics,
  32-byte data); ERC-721 transfers (4 topics) and malformed logs give None.
- :func:`flatten_parity_traces` (`trace_block` / `trace_transaction` / `trace_filter`) and
  :func:`flatten_call_tracer` (geth `callTracer`) both give :class:`CallFrame` lists in trace
  pre-order with trace addresses, so either trace flavour yields the same transfers. A frame is
  `failed` when it or any ancestor reverted (its value moved nothing).
- :func:`decode_symbol` accepts ABI strings and bytes32 symbols (MKR-style); :func:`decode_uint` decimals.
- :func:`internal_position` numbers an internal call by its trace address; :func:`check_tx_hash`
  validates a transaction hash.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from tracer.core.crossings import EvmLog, EvmTxFacts
from tracer.core.errors import BadInput, SourceError, SourceRejected
from tracer.core.models import POSITION_INTERNAL_BASE

#: keccak("Transfer(address,address,uint256)")
TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
#: Function selectors of the ERC-20 metadata getters.
SELECTOR_SYMBOL = "0x95d89b41"
SELECTOR_NAME = "0x06fdde03"
SELECTOR_DECIMALS = "0x313ce567"


def hex_int(value: Any) -> int:
    """A JSON-RPC quantity (``"0x1a"``, ``"26"`` or an int) as an int; None and ``"0x"`` are 0."""
    if value is None:
        return 0
    if isinstance(value, bool):
        raise ValueError(f"not a quantity: {value!r}")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text in ("", "0x"):
        return 0
    return int(text, 16) if text.lower().startswith("0x") else int(text)


def pad_topic(address: str) -> str:
    """An address as a 32-byte log topic (``0x`` + 24 zeros + 40 hex)."""
    body = address.lower().removeprefix("0x")
    if len(body) != 40:
        raise ValueError(f"not an address: {address!r}")
    return "0x" + "0" * 24 + body


def topic_address(topic: str) -> str:
    """The address held in the low 20 bytes of a 32-byte topic (or ABI word)."""
    body = str(topic).lower().removeprefix("0x")
    if len(body) != 64:
        raise ValueError(f"not a 32-byte topic: {topic!r}")
    return "0x" + body[-40:]


def _hex(value: Any) -> str:
    """Bytes-like values (HexBytes, bytes) and hex strings as a lowercase 0x string."""
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    return str(value).lower()


@dataclass(frozen=True, slots=True)
class TokenLog:
    """A decoded ERC-20 `Transfer` event."""

    token: str
    sender: str
    receiver: str
    value: int
    tx_hash: str
    block: int
    tx_index: int
    log_index: int  # index of the log within its block (what nodes and explorers call logIndex)


def decode_transfer_log(log: Mapping[str, Any]) -> TokenLog | None:
    """The ERC-20 transfer in `log`, or None when the log is not one (other event, ERC-721, malformed)."""
    topics = [_hex(t) for t in log.get("topics") or ()]
    if len(topics) != 3 or topics[0] != TRANSFER_TOPIC:
        return None
    data = _hex(log.get("data") or "0x").removeprefix("0x")
    if len(data) != 64:
        return None
    try:
        return TokenLog(
            token=_hex(log["address"]),
            sender=topic_address(topics[1]),
            receiver=topic_address(topics[2]),
            value=int(data, 16),
            tx_hash=_hex(log["transactionHash"]),
            block=hex_int(log["blockNumber"]),
            tx_index=hex_int(log.get("transactionIndex")),
            log_index=hex_int(log.get("logIndex")),
        )
    except (KeyError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class CallFrame:
    """One call, create or self-destruct inside a transaction, in trace pre-order.

    `trace_address` is empty for the top-level call. `receiver` is the callee, the created
    contract, or the self-destruct beneficiary; it and `value` are None when the trace did
    not say (old geth `SELFDESTRUCT` frames carry no fields).
    """

    trace_address: tuple[int, ...]
    call_type: str  # call, delegatecall, staticcall, callcode, create, create2, selfdestruct
    sender: str | None
    receiver: str | None
    value: int | None
    failed: bool  # this frame or an ancestor reverted

    @property
    def is_top_level(self) -> bool:
        return not self.trace_address

    @property
    def moves_value(self) -> bool:
        """A value transfer (an internal one when not top-level).

        DELEGATECALL and STATICCALL carry no value of their own; CALLCODE "sends" value to the
        calling contract itself (geth even names the code address as `to`), so it moves nothing.
        """
        return bool(self.value) and self.call_type not in ("delegatecall", "staticcall", "callcode")

    @property
    def trace_id(self) -> str:
        """Etherscan's `traceId` form of the trace address (``"0_1"``)."""
        return "_".join(str(i) for i in self.trace_address)


def _failed_under(trace_address: tuple[int, ...], failed_paths: set[tuple[int, ...]]) -> bool:
    return any(trace_address[:n] in failed_paths for n in range(len(trace_address) + 1))


def flatten_parity_traces(traces: Iterable[Mapping[str, Any]]) -> list[CallFrame]:
    """Frames of one transaction's Parity-style traces (block rewards are skipped)."""
    items = [t for t in traces if t.get("type") != "reward"]
    failed_paths = {tuple(t.get("traceAddress") or ()) for t in items if t.get("error")}
    frames = []
    for trace in items:
        action = trace.get("action") or {}
        result = trace.get("result") or {}
        path = tuple(int(i) for i in trace.get("traceAddress") or ())
        kind = trace.get("type")
        if kind == "create":
            call_type = str(action.get("creationMethod") or "create").lower()
            sender, receiver = action.get("from"), result.get("address")
            value = hex_int(action.get("value"))
        elif kind == "suicide":
            call_type = "selfdestruct"
            sender, receiver = action.get("address"), action.get("refundAddress")
            value = hex_int(action.get("balance"))
        else:
            call_type = str(action.get("callType") or "call").lower()
            sender, receiver = action.get("from"), action.get("to")
            value = hex_int(action.get("value"))
        frames.append(
            CallFrame(
                trace_address=path,
                call_type=call_type,
                sender=_hex(sender) if sender else None,
                receiver=_hex(receiver) if receiver else None,
                value=value,
                failed=_failed_under(path, failed_paths),
            )
        )
    frames.sort(key=lambda f: f.trace_address)  # pre-order: a parent sorts before its children
    return frames


def flatten_call_tracer(root: Mapping[str, Any]) -> list[CallFrame]:
    """Frames of one geth `callTracer` result, in pre-order, with Parity-style trace addresses."""
    frames: list[CallFrame] = []

    def walk(frame: Mapping[str, Any], path: tuple[int, ...], parent_failed: bool, parent_to: str | None) -> None:
        call_type = str(frame.get("type") or "CALL").lower()
        failed = parent_failed or bool(frame.get("error"))
        if call_type == "selfdestruct":
            sender = frame.get("from") or parent_to
            receiver = frame.get("to")
            value = hex_int(frame["value"]) if "value" in frame else None
        else:
            sender, receiver = frame.get("from"), frame.get("to")
            value = hex_int(frame.get("value"))
        sender_hex = _hex(sender) if sender else None
        receiver_hex = _hex(receiver) if receiver else None
        frames.append(CallFrame(path, call_type, sender_hex, receiver_hex, value, failed))
        for i, child in enumerate(frame.get("calls") or ()):
            walk(child, (*path, i), failed, receiver_hex)

    walk(root, (), False, None)
    return frames


def internal_value_frames(frames: Sequence[CallFrame]) -> list[CallFrame]:
    """The value-moving frames below the top-level call, in trace order."""
    return [f for f in frames if not f.is_top_level and f.moves_value]


def unknown_value_frames(frames: Sequence[CallFrame]) -> list[CallFrame]:
    """Frames whose beneficiary or value the trace did not give (they may have moved value)."""
    return [f for f in frames if not f.is_top_level and (f.value is None or f.receiver is None)]


def _words(raw: str) -> bytes:
    return bytes.fromhex(raw.removeprefix("0x")) if raw not in ("", "0x") else b""


def decode_symbol(raw: str | bytes | None) -> str | None:
    """A token symbol or name from an `eth_call` result: ABI string, or bytes32 (right-padded with zeros).

    None when the answer is empty or not text. Control characters are removed.
    """
    if raw is None:
        return None
    try:
        data = bytes(raw) if isinstance(raw, bytes | bytearray) else _words(str(raw))
    except ValueError:
        return None
    text: bytes | None = None
    if len(data) >= 64:
        offset = int.from_bytes(data[:32], "big")
        if offset + 32 <= len(data):
            length = int.from_bytes(data[offset : offset + 32], "big")
            if offset + 32 + length <= len(data):
                text = data[offset + 32 : offset + 32 + length]
    if text is None and len(data) == 32:
        text = data.rstrip(b"\x00")
    if text is None:
        return None
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError:
        return None
    cleaned = "".join(ch for ch in decoded if ch.isprintable()).strip()
    return cleaned or None


def decode_uint(raw: str | bytes | None, *, bits: int = 256) -> int | None:
    """A uint from an `eth_call` result (first 32-byte word), or None when empty or wider than `bits`."""
    if raw is None:
        return None
    try:
        data = bytes(raw) if isinstance(raw, bytes | bytearray) else _words(str(raw))
    except ValueError:
        return None
    if len(data) < 32:
        return None
    value = int.from_bytes(data[:32], "big")
    return value if value < (1 << bits) else None


#: Decimals above this are absurd (10**77 overflows uint256): amounts then stay in base units.
MAX_DECIMALS = 77

#: Radixes of the first three trace-address levels in :func:`internal_position`.
_TRACE_RADIX = (1000, 100, 10)


def internal_position(trace_address: Sequence[int]) -> int:
    """The position of an internal call, from its trace address alone (order-preserving, < 1,000,000).

    Trace addresses up to depth 3 with indexes below 999 / 99 / 9 map to
    ``d1·1000 + d2·10 + d3`` with ``d = index + 1`` (a missing level is 0, so a parent sorts
    before its children): ``[0] -> 1000``, ``[0, 0] -> 1010``, ``[0, 1] -> 1020``,
    ``[1] -> 2000``. Other trace addresses (rare) get a stable code in 2..999 from a checksum.
    """
    path = tuple(int(i) for i in trace_address)
    limits = (999, 99, 9)
    if 1 <= len(path) <= 3 and all(0 <= c < limit for c, limit in zip(path, limits, strict=False)):
        digits = [c + 1 for c in path] + [0] * (3 - len(path))
        return digits[0] * _TRACE_RADIX[0] + digits[1] * _TRACE_RADIX[2] + digits[2]
    text = "_".join(str(c) for c in path)
    return POSITION_INTERNAL_BASE + zlib.crc32(text.encode()) % (1000 - POSITION_INTERNAL_BASE)


_TX_HASH = re.compile(r"0x[0-9a-f]{64}")


def check_tx_hash(tx_hash: str) -> str:
    """An EVM transaction hash, lowercased; :class:`BadInput` (one line) for anything else."""
    text = str(tx_hash).strip().lower()
    if not _TX_HASH.fullmatch(text):
        raise BadInput(f"not an EVM transaction hash (0x + 64 hex digits): {str(tx_hash)[:80]!r}")
    return text


class EthCaller(Protocol):
    """Anything that answers JSON-RPC calls: :class:`chains.rpc.JsonRpcClient`, Etherscan's proxy module."""

    def call(self, method: str, params: list[Any] | None = None) -> Any: ...


@dataclass(frozen=True, slots=True)
class TokenMetadata:
    """A token's symbol, name and decimals as its contract answers them, with notes on fallbacks."""

    symbol: str
    name: str
    decimals: int
    notes: tuple[str, ...] = ()


def fetch_token_metadata(rpc: EthCaller, token: str) -> TokenMetadata:
    """`symbol()`, `name()` and `decimals()` of `token` by `eth_call` through `rpc`.

    Fallbacks: bytes32 answers are decoded; a missing or unreadable symbol becomes ``""``;
    missing or absurd decimals become 0, with a note (amounts then stay in base units).
    """

    def ask(selector: str) -> str | None:
        try:
            answer = rpc.call("eth_call", [{"to": token, "data": selector}, "latest"])
        except SourceRejected:  # reverted, method missing, or refused: the getter is unreadable
            return None
        return answer if isinstance(answer, str) else None

    notes = []
    symbol = decode_symbol(ask(SELECTOR_SYMBOL))
    name = decode_symbol(ask(SELECTOR_NAME)) or ""
    decimals = decode_uint(ask(SELECTOR_DECIMALS))
    if symbol is None:
        notes.append(f"token {token} has no readable symbol(); shown without a symbol")
    if decimals is None or decimals > MAX_DECIMALS:
        notes.append(f"token {token} has no usable decimals(); amounts are in base units (decimals 0)")
        decimals = 0
    return TokenMetadata(symbol or "", name, decimals, tuple(notes))


def evm_log(row: Mapping[str, Any]) -> EvmLog:
    """One JSON-RPC log object (a receipt's or `getLogs`') as an :class:`EvmLog`."""
    topics = tuple(str(t).lower() for t in row.get("topics") or ())
    return EvmLog(str(row["address"]).lower(), topics, str(row.get("data") or "0x"), hex_int(row.get("logIndex")))


def evm_tx_facts(
    chain: str, tx_hash: str, tx: Mapping[str, Any], receipt: Mapping[str, Any], *, source: str
) -> EvmTxFacts:
    """A transaction and its receipt (JSON-RPC shapes) as :class:`EvmTxFacts`; a malformed one names `source`."""
    try:
        return EvmTxFacts(
            chain=chain,
            tx_hash=tx_hash,
            sender=str(tx["from"]).lower(),
            to=str(tx["to"]).lower() if tx.get("to") else None,
            value=hex_int(tx.get("value")),
            input=str(tx.get("input") or "0x"),
            success=receipt.get("status") in (None, "0x1", 1, "1"),
            logs=tuple(evm_log(log) for log in receipt.get("logs") or ()),
            block=hex_int(tx["blockNumber"]),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise SourceError(f"{source}: transaction {tx_hash} on {chain} could not be read ({exc})") from None
