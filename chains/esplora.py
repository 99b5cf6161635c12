"""Esplora adapter (blockstream.info/api, mempool.space/api, a self-hosted electrs) for Bitcoin.

Implements :class:`tracer.core.protocols.UtxoAdapter`. Quirks handled (docs EXPLORER-APIS.md):

- address history is `/address/:a/txs/chain[/:last_seen_txid]`: 25 confirmed transactions
  per page, newest first; the cursor is the last txid of the previous page; a short page
  ends the list (an unknown cursor gives an empty page);
- amounts are satoshi integers; coinbase inputs have `prevout: null`; unconfirmed status is
  just `{"confirmed": false}` (block None);
- outputs without `scriptpubkey_address` (P2PK, bare multisig — e.g. the genesis coinbase,
  tx 60a20bd9…4bb1's first output) are spendable: they get the pseudo-address
  :func:`tracer.core.addresses.script_pseudo_address` of their script, on outputs and on the
  prevouts of inputs alike, and are traced like any output. Only OP_RETURN outputs (type
  `op_return`, or a script starting with 0x6a) keep no address: they are provably burnt.
  A pseudo-address's history is read from `/scripthash/:sha256/txs/chain`;
- errors are text/plain: 400 "Invalid Bitcoin address" -> :class:`InvalidBitcoinAddress`,
  404 "Transaction not found" -> :class:`TxNotFound` (both :class:`SourceRejected`);
- 429 comes without `Retry-After`; the shared :class:`chains.http.HttpClient` retries it
  (and 5xx, resets, timeouts) with exponential backoff.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from chains.esplora_rows import check_esplora_tx
from chains.http import HttpClient, RetryPolicy, is_loopback
from tracer.core.addresses import is_script_pseudo_address, normalize_address, script_pseudo_address
from tracer.core.errors import BadAddress, BadChain, BadInput, SourceNotFound, SourceRejected
from tracer.core.models import TxInput, TxOutput, UtxoTx
from tracer.core.networks import Chain, ChainKind
from tracer.core.protocols import ResponseArchive

DEFAULT_BASE_URL = "https://mempool.space/api"
PAGE_SIZE = 25
#: Public hosts throttle (~700 requests/hour/IP reported for blockstream): stay polite by default.
PUBLIC_RATE_PER_S = 0.5
_TXID = re.compile(r"[0-9a-f]{64}")


class InvalidBitcoinAddress(SourceRejected):
    """Esplora answered 400 "Invalid Bitcoin address"."""


class TxNotFound(SourceNotFound):
    """Esplora answered 404 "Transaction not found"."""


def _address(chain: str, script: dict[str, Any]) -> str | None:
    """The output's address; a script pseudo-address when it has none; None only when provably unspendable."""
    value = script.get("scriptpubkey_address")
    if value:
        try:
            return normalize_address(chain, value)
        except BadAddress:
            pass  # an address form the validator does not know: name the script instead
    hex_script = str(script.get("scriptpubkey") or "")
    if script.get("scriptpubkey_type") == "op_return" or hex_script.startswith("6a"):
        return None
    try:
        return script_pseudo_address(hex_script)
    except BadAddress:
        raise SourceRejected(f"esplora: an output script is not hex ({hex_script[:40]!r})") from None


def parse_tx(chain: str, doc: dict[str, Any], outspends: Sequence[str | None] | None = None) -> UtxoTx:
    """An Esplora tx JSON as a :class:`UtxoTx` (spenders from `outspends` when given)."""
    check_esplora_tx(doc)
    inputs = []
    for vin in doc.get("vin") or ():
        prevout = vin.get("prevout")
        if vin.get("is_coinbase") or prevout is None:
            inputs.append(TxInput(None, None, None, 0, True))
            continue
        inputs.append(
            TxInput(
                str(vin["txid"]).lower(),
                int(vin["vout"]),
                _address(chain, prevout),
                int(prevout["value"]),
            )
        )
    outputs = []
    for index, vout in enumerate(doc.get("vout") or ()):
        spent_by = outspends[index] if outspends is not None and index < len(outspends) else None
        outputs.append(
            TxOutput(
                index,
                _address(chain, vout),
                int(vout["value"]),
                str(vout.get("scriptpubkey_type") or ""),
                spent_by,
            )
        )
    status = doc.get("status") or {}
    confirmed = bool(status.get("confirmed"))
    block = status.get("block_height") if confirmed else None
    timestamp = status.get("block_time") if confirmed else None
    return UtxoTx(
        chain,
        str(doc["txid"]).lower(),
        None if block is None else int(block),
        None if timestamp is None else int(timestamp),
        tuple(inputs),
        tuple(outputs),
        int(doc.get("fee") or 0),
        int(doc.get("locktime") or 0),
        int(doc.get("version") or 1),
    )


def op_return_data(script: bytes) -> bytes:
    """The bytes pushed after OP_RETURN (direct push, OP_PUSHDATA1 or OP_PUSHDATA2), concatenated."""
    out, i = b"", 1
    while i < len(script):
        op = script[i]
        if 1 <= op <= 75:
            size, i = op, i + 1
        elif op == 0x4C:
            size, i = script[i + 1], i + 2
        elif op == 0x4D:
            size, i = int.from_bytes(script[i + 1 : i + 3], "little"), i + 3
        else:
            raise ValueError("not a data push")
        out += script[i : i + size]
        i += size
    return out


def _history_path(address: str) -> str:
    """`/address/:a/txs/chain`, or `/scripthash/:sha256/txs/chain` for a script pseudo-address."""
    if is_script_pseudo_address(address):
        return f"/scripthash/{address.split('-', 1)[1]}/txs/chain"
    return f"/address/{address}/txs/chain"


def parse_outspends(doc: Any) -> list[str | None]:
    """`/tx/:txid/outspends` as one spender txid (or None) per output."""
    if not isinstance(doc, list):
        raise SourceRejected(f"esplora: outspends answer is not a list ({type(doc).__name__})")
    return [str(o["txid"]).lower() if o.get("spent") and o.get("txid") else None for o in doc]


class EsploraAdapter:
    """Reads Bitcoin transactions from an Esplora API (see the module docstring)."""

    source = "esplora"

    def __init__(
        self,
        *,
        url: str | None = None,
        client: HttpClient | None = None,
        archive: ResponseArchive | None = None,
        rate_per_s: float | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.base_url = (url or DEFAULT_BASE_URL).rstrip("/")
        if client is None:
            if rate_per_s is None and not is_loopback(self.base_url):
                rate_per_s = PUBLIC_RATE_PER_S
            extra: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}
            client = HttpClient(source=self.source, rate_per_s=rate_per_s, retry=retry, archive=archive, **extra)
        self.client = client

    @property
    def requests(self) -> int:
        return self.client.requests

    # -- helpers -----------------------------------------------------------------------------

    @staticmethod
    def _check_chain(chain: Chain) -> str:
        if chain.kind is not ChainKind.UTXO:
            raise BadChain(f"esplora serves Bitcoin only, not {chain.slug}")
        return chain.slug

    def _get_json(self, path: str) -> Any:
        try:
            return self.client.get_json(self.base_url + path)
        except SourceRejected as exc:
            raise self._translate(exc, path) from None

    def _get_text(self, path: str) -> str:
        try:
            return self.client.get(self.base_url + path).text.strip()
        except SourceRejected as exc:
            raise self._translate(exc, path) from None

    @staticmethod
    def _translate(exc: SourceRejected, path: str) -> SourceRejected:
        if exc.http_status == 400 and path.startswith("/address/"):
            return InvalidBitcoinAddress(f"esplora: {path} is not a valid Bitcoin address (HTTP 400)")
        if exc.http_status == 404:
            return TxNotFound(f"esplora: {path} not found (HTTP 404)")
        return exc

    # -- UtxoAdapter -----------------------------------------------------------------------------

    def fetch_tip(self, chain: Chain) -> int:
        self._check_chain(chain)
        text = self._get_text("/blocks/tip/height")
        try:
            return int(text)
        except ValueError:
            raise SourceRejected(f"esplora: tip height is not a number: {text[:40]!r}") from None

    def fetch_block_time(self, chain: Chain, block: int) -> int:
        """The unix time of the block at height `block` (`/block-height/:h`, then `/block/:hash`)."""
        self._check_chain(chain)
        digest = self._get_text(f"/block-height/{int(block)}")
        doc = self._get_json(f"/block/{digest}")
        try:
            return int(doc["timestamp"])
        except (KeyError, TypeError, ValueError):
            raise SourceRejected(f"esplora: block {block} has no timestamp") from None

    def fetch_address_txs(self, chain: Chain, address: str, *, max_txs: int | None = None) -> list[UtxoTx]:
        """Confirmed transactions touching `address`, oldest first (at most `max_txs`, the newest ones)."""
        slug = self._check_chain(chain)
        address = normalize_address(slug, address)
        newest_first: list[UtxoTx] = []
        seen: set[str] = set()
        cursor: str | None = None
        while max_txs is None or len(newest_first) < max_txs:
            path = _history_path(address) + (f"/{cursor}" if cursor else "")
            page = self._get_json(path)
            if not isinstance(page, list):
                raise SourceRejected(f"esplora: {path} did not answer a list")
            for doc in page:
                tx = parse_tx(slug, doc)
                if tx.txid not in seen and tx.block is not None:
                    seen.add(tx.txid)
                    newest_first.append(tx)
            if len(page) < PAGE_SIZE:
                break
            cursor = str(page[-1]["txid"]).lower()
        if max_txs is not None:
            newest_first = newest_first[:max_txs]
        return newest_first[::-1]

    def fetch_tx(self, chain: Chain, txid: str) -> UtxoTx:
        slug = self._check_chain(chain)
        txid = self._txid(txid)
        return parse_tx(slug, self._get_json(f"/tx/{txid}"))

    def fetch_outspends(self, chain: Chain, txid: str) -> list[str | None]:
        self._check_chain(chain)
        return parse_outspends(self._get_json(f"/tx/{self._txid(txid)}/outspends"))

    def fetch_tx_with_spenders(self, chain: Chain, txid: str) -> UtxoTx:
        """The transaction with `spent_by` filled from its outspends (two requests)."""
        slug = self._check_chain(chain)
        txid = self._txid(txid)
        doc = self._get_json(f"/tx/{txid}")
        return parse_tx(slug, doc, self.fetch_outspends(chain, txid))

    def fetch_op_returns(self, chain: Chain, txid: str) -> list[bytes]:
        """The data pushed by each OP_RETURN output of a transaction (THORChain's `OUT:<id>` memos)."""
        self._check_chain(chain)
        doc = self._get_json(f"/tx/{self._txid(txid)}")
        found = []
        for vout in doc.get("vout") or () if isinstance(doc, dict) else ():
            script = str(vout.get("scriptpubkey") or "")
            if script.startswith("6a"):
                try:
                    found.append(op_return_data(bytes.fromhex(script)))
                except ValueError:
                    continue
        return found

    @staticmethod
    def _txid(txid: str) -> str:
        low = str(txid).lower()
        if not _TXID.fullmatch(low):
            raise BadInput(f"not a Bitcoin transaction id: {txid!r} (expected 64 hex digits)")
        return low
