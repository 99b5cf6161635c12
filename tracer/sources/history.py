"""The history service: the store in front of the account-chain adapters.

The engine asks :class:`HistoryService` for an address's transfers in a block range; the
service asks the adapter only for the ranges the store does not cover yet, writes what
comes back (transfers and coverage in one transaction) and answers from the store. The
chain tip is fetched once per trace and pinned in the store, so a re-run of the same
trace makes zero requests and sees exactly the same data. A theft-transaction seed is
read once with the adapter's `fetch_transaction` and kept in the store (:meth:`HistoryService.transaction`).

Adapters only translate; the service decides what is noise (:mod:`heuristics.noise`: dust, address
poisoning, fake tokens) before it stores what they fetched (:func:`flag_history`,
:func:`flag_transaction`), so the store keeps the flags with the records. Records are never dropped.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping

from heuristics.noise import KnownTokens, detect_noise, flag_noise
from tracer.core.addresses import normalize_address
from tracer.core.errors import BadChain, BadInput, OfflineGap, StoreError
from tracer.core.models import POSITION_EXTERNAL, POSITION_FEE, Asset, NoiseFlag, Transfer, TransferKind
from tracer.core.networks import Chain, get_chain
from tracer.core.protocols import AccountAdapter, HistoryChunk
from tracer.store import Store

_SHOWN_GAPS = 3


def tip_meta_key(pin_key: str, chain: str) -> str:
    """The store meta key under which a trace's pinned chain tip lives."""
    return f"tip:{pin_key}:{chain}"


def flag_history(
    chunk: HistoryChunk, chain: str, address: str, *, known_tokens: KnownTokens | None = None
) -> HistoryChunk:
    """`chunk` (`address`'s history as an adapter fetched it) with its noise flags, seen from `address`."""
    return flag_noise(chunk, traced={normalize_address(chain, address)}, known_tokens=known_tokens)


def flag_transaction(
    transfers: tuple[Transfer, ...], *, known_tokens: KnownTokens | None = None
) -> tuple[Transfer, ...]:
    """One transaction's transfers with their noise flags, seen from its sender (who pays its fee or value).

    A transaction with neither a fee nor a value record names no sender: only the rules that need
    no traced address apply (zero-value and look-alike tokens).
    """
    sender = next(
        (
            t.sender
            for t in transfers
            if (t.kind, t.position) in ((TransferKind.FEE, POSITION_FEE), (TransferKind.EXTERNAL, POSITION_EXTERNAL))
        ),
        None,
    )
    return tuple(detect_noise(transfers, traced={sender} if sender else None, known_tokens=known_tokens))


class HistoryService:
    """Implements :class:`tracer.core.protocols.HistoryProvider` over a :class:`Store` and per-chain adapters.

    `adapters` maps chain slugs to account adapters; `pin_key` (e.g. the case id) names the
    pinned tips used when `history()` is called without `end_block`. With `offline=True`
    nothing is fetched: a range the store lacks raises :class:`OfflineGap`. `known_tokens`: the
    real token contracts for the noise rules (default :data:`heuristics.noise.KNOWN_TOKENS`).
    """

    def __init__(
        self,
        store: Store,
        adapters: Mapping[str, AccountAdapter],
        *,
        offline: bool = False,
        pin_key: str | None = None,
        known_tokens: KnownTokens | None = None,
    ) -> None:
        self.store = store
        self.adapters = dict(adapters)
        self.offline = offline
        self.pin_key = pin_key
        self.known_tokens = known_tokens
        self._tips: dict[tuple[str | None, str], int] = {}

    @property
    def requests(self) -> int:
        """Source requests made so far (the sum of the adapters' counters)."""
        return sum(int(getattr(adapter, "requests", 0)) for adapter in self.adapters.values())

    def _adapter(self, chain: Chain) -> AccountAdapter:
        try:
            return self.adapters[chain.slug]
        except KeyError:
            configured = ", ".join(sorted(self.adapters)) or "none"
            raise BadChain(
                f"no account-history source is configured for {chain.slug} (configured: {configured})"
            ) from None

    def tip(self, chain: Chain | str, *, pin_key: str | None = None) -> int:
        """The chain tip for this trace: pinned in the store under `pin_key` (fetched once), else per service."""
        chain = _as_chain(chain)
        key = pin_key if pin_key is not None else self.pin_key
        cached = self._tips.get((key, chain.slug))
        if cached is not None:
            return cached
        meta_key = tip_meta_key(key, chain.slug) if key is not None else None
        stored = self.store.read_meta(meta_key) if meta_key else None
        if stored is not None:
            tip = int(stored)
        elif self.offline:
            hint = f" for trace {key!r}" if key is not None else ""
            raise OfflineGap(
                f"offline: the store holds no pinned {chain.slug} chain tip{hint}; run once without --offline first"
            )
        else:
            tip = int(self._adapter(chain).fetch_tip(chain))
            if meta_key:
                self.store.write_meta(meta_key, str(tip))
        self._tips[(key, chain.slug)] = tip
        return tip

    def history(
        self,
        chain: Chain | str,
        address: str,
        *,
        start_block: int = 0,
        end_block: int | None = None,
        max_rows: int | None = None,
    ) -> HistoryChunk:
        """Transfers touching `address` in start_block..end_block (None = the pinned tip), store first.

        When the adapter stops early (`max_rows`), the answer is partial: `complete=False` and
        `end_block` is the last block held in full; only that much is marked covered. When the
        source answered incompletely (`chunk.gaps`, e.g. Blockscout's status 2), its transfers
        are stored but the range is not marked covered (the next run asks again), and the
        answer carries the gaps and is never complete.
        """
        chain = _as_chain(chain)
        adapter = self._adapter(chain)
        source = adapter.source
        end = self.tip(chain) if end_block is None else end_block
        if start_block > end:
            return HistoryChunk((), start_block, end)
        missing = self.store.missing_ranges(source, chain.slug, address, start_block, end)
        if missing and self.offline:
            shown = ", ".join(f"{a}-{b}" for a, b in missing[:_SHOWN_GAPS])
            more = f" and {len(missing) - _SHOWN_GAPS} more" if len(missing) > _SHOWN_GAPS else ""
            raise OfflineGap(
                f"offline: the store lacks {chain.slug} history of {address} from {source} for blocks {shown}{more}"
            )
        complete_to = end
        budget = max_rows
        gaps: list[str] = []
        for i, (gap_start, gap_end) in enumerate(missing):
            if budget == 0:  # the row budget ran out before this gap: held in full up to just before it
                complete_to = gap_start - 1
                break
            chunk = adapter.fetch_history(chain, address, start_block=gap_start, end_block=gap_end, max_rows=budget)
            chunk = flag_history(chunk, chain.slug, address, known_tokens=self.known_tokens)
            if chunk.gaps:  # an incomplete answer: keep what it holds, never mark its range covered
                gaps.extend(g for g in chunk.gaps if g not in gaps)
                chunk = dataclasses.replace(chunk, start_block=gap_start, end_block=gap_start - 1)
                if chunk.transfers:
                    self.store.write_history(source, chain.slug, address, chunk)
                continue
            self.store.write_history(source, chain.slug, address, chunk)
            if not chunk.complete:
                complete_to = min(chunk.end_block, gap_end)
                break
            if budget is not None and i + 1 < len(missing):
                budget = max(budget - len(chunk.transfers), 0)
        transfers = self.store.read_transfers(
            source, chain.slug, address, start_block=start_block, end_block=complete_to
        )
        complete = complete_to >= end and not gaps
        return HistoryChunk(tuple(transfers), start_block, complete_to, complete=complete, gaps=tuple(gaps))

    def transaction(self, chain: Chain | str, tx_hash: str) -> tuple[Transfer, ...]:
        """Every transfer of one transaction (a theft-tx seed), store first; fetched at most once.

        The records are kept in the store's meta table under :func:`tx_meta_key` (a transaction
        never changes once mined). Offline, a transaction the store lacks raises :class:`OfflineGap`.
        """
        chain = _as_chain(chain)
        adapter = self._adapter(chain)
        source = adapter.source
        tx_hash = tx_hash.strip().lower()
        key = tx_meta_key(source, chain.slug, tx_hash)
        stored = self.store.read_meta(key)
        if stored is not None:
            return _decode_transfers(chain.slug, tx_hash, stored)
        if self.offline:
            raise OfflineGap(
                f"offline: the store lacks {chain.slug} transaction {tx_hash} from {source};"
                " run once without --offline first"
            )
        fetch = getattr(adapter, "fetch_transaction", None)
        if fetch is None:
            raise BadInput(f"seed tx {tx_hash}: the {source} source cannot look up transactions; give the address")
        transfers = flag_transaction(tuple(fetch(chain, tx_hash)), known_tokens=self.known_tokens)
        self.store.write_meta(key, _encode_transfers(transfers))
        return transfers


def tx_meta_key(source: str, chain: str, tx_hash: str) -> str:
    """The store meta key under which one transaction's transfers live."""
    return f"tx:{source}:{chain}:{tx_hash}"


def _encode_transfers(transfers: tuple[Transfer, ...]) -> str:
    rows = [
        [
            t.position,
            t.block,
            t.tx_index,
            t.timestamp,
            t.sender,
            t.receiver,
            t.asset.contract,
            t.asset.symbol,
            t.asset.decimals,
            str(t.amount),
            t.kind.value,
            t.success,
            sorted(t.noise),
        ]
        for t in transfers
    ]
    return json.dumps({"v": 1, "transfers": rows}, separators=(",", ":"))


def _decode_transfers(chain: str, tx_hash: str, text: str) -> tuple[Transfer, ...]:
    try:
        body = json.loads(text)
        out = []
        for (
            position,
            block,
            tx_index,
            ts,
            sender,
            receiver,
            contract,
            symbol,
            decimals,
            amount,
            kind,
            ok,
            noise,
        ) in body["transfers"]:
            asset = Asset(chain, contract, symbol, int(decimals))
            out.append(
                Transfer(
                    chain=chain,
                    tx_hash=tx_hash,
                    position=int(position),
                    block=int(block),
                    tx_index=int(tx_index),
                    timestamp=int(ts),
                    sender=sender,
                    receiver=receiver,
                    asset=asset,
                    amount=int(amount),
                    kind=TransferKind(kind),
                    success=bool(ok),
                    noise=frozenset(NoiseFlag(x) for x in noise),
                )
            )
    except (ValueError, KeyError, TypeError) as exc:
        raise StoreError(f"the stored transfers of {chain} transaction {tx_hash} are unreadable ({exc})") from None
    return tuple(out)


def _as_chain(chain: Chain | str) -> Chain:
    return chain if isinstance(chain, Chain) else get_chain(chain)
