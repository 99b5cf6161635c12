"""`heisttrace fetch CHAIN ADDRESS`: one address's normalised history, from the network once, then the store.

The history comes through :class:`tracer.sources.history.HistoryService` (store first; only block
ranges the store lacks are asked of the Etherscan-compatible API, or of TronGrid for ``tron``).
Without `--until` the end
block is the chain tip pinned for this address at its first fetch, so a second run makes no
request at all; `--refresh` asks the source for a new tip (and fetches only the new blocks).
An ISO `--since/--until` is turned into a block with `getblocknobytime` once and remembered.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tracer.commands.rate_args import add_rate_arg, checked_rate
from tracer.core.errors import BadChain, BadInput, OfflineGap
from tracer.core.models import FEE_SINK, Transfer
from tracer.core.networks import Chain, ChainKind, get_chain
from tracer.environment import Environment

KEY_ENV = "ETHERSCAN_API_KEY"
TRON_KEY_ENV = "TRONGRID_API_KEY"
PIN_PREFIX = "fetch:"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "fetch",
        help="show an address's normalised history (network once, then the store)",
        description=(
            "Show every transfer touching ADDRESS on an EVM chain or TRON (value, internal calls, tokens, fees; "
            "noise such as zero-value, spoofed and dust transfers is flagged, never hidden) as a table or "
            f"JSON. The first run reads the Etherscan-compatible API (key from {KEY_ENV}) or, for tron, "
            f"TronGrid (key from {TRON_KEY_ENV}, sent only in the TRON-PRO-API-KEY header); later runs answer "
            "from the local store with zero requests unless --refresh or a wider range is asked."
        ),
    )
    parser.add_argument("chain", help="chain slug: ethereum, bsc, polygon, arbitrum, optimism, base, avalanche, tron")
    parser.add_argument(
        "address", help="the address (0x…, mixed case must match its EIP-55 checksum; tron: T… or hex 41…)"
    )
    parser.add_argument("--since", help="first block: a block number or an ISO date/time (UTC), e.g. 2024-05-01")
    parser.add_argument("--until", help="last block: a block number or an ISO date/time (default: the pinned tip)")
    parser.add_argument(
        "--api-url",
        help="Etherscan-compatible API URL (default: https://api.etherscan.io/v2/api); "
        "for tron a TronGrid URL (default: https://api.trongrid.io)",
    )
    parser.add_argument("--offline", action="store_true", help="answer only from the local store (no request)")
    parser.add_argument("--refresh", action="store_true", help="ask the source for a new chain tip first")
    parser.add_argument(
        "--limit",
        type=int,
        default=200,
        help="table rows to show, oldest first (default: 200; 0 = all; --json has all)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_rate_arg(parser)
    parser.set_defaults(run=run)


@dataclass(frozen=True, slots=True)
class AddressHistory:
    """What `heisttrace fetch` shows."""

    chain: Chain
    address: str
    start_block: int
    end_block: int
    complete: bool
    source: str
    requests: int  # requests made by this run (0 = answered from the store)
    transfers: tuple[Transfer, ...]


def parse_block_or_time(text: str | None, *, option: str) -> int | datetime | None:
    """A block number, or an aware UTC datetime from ISO text; None when absent."""
    if text is None:
        return None
    text = text.strip()
    if text.isdigit():
        return int(text)
    try:
        when = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise BadInput(
            f"{option}: expected a block number or an ISO date/time such as 2024-05-01 or 2024-05-01T12:00Z, "
            f"got {text!r}"
        ) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def read_address_history(
    chain_slug: str,
    address: str,
    *,
    env: Environment,
    since: str | None = None,
    until: str | None = None,
    api_url: str | None = None,
    offline: bool = False,
    refresh: bool = False,
    progress: Callable[[str], None] | None = None,
    rate: float | None = None,
) -> AddressHistory:
    """Load (fetching what the store lacks) the history of `address` on `chain_slug` (`progress`: live line)."""
    from chains.http import check_url
    from tracer.cases.case import SourceSpec
    from tracer.core.addresses import normalize_address
    from tracer.sources.factory import build_adapter
    from tracer.sources.history import HistoryService, tip_meta_key
    from tracer.store import Store

    chain = get_chain(chain_slug)
    if chain.kind not in (ChainKind.EVM, ChainKind.TRON):
        raise BadChain(
            f"fetch reads EVM chains (Etherscan-compatible API) and tron (TronGrid); {chain.slug} is neither"
        )
    address = normalize_address(chain.slug, address)
    if api_url is not None:
        check_url(api_url, what="--api-url")
    if offline and refresh:
        raise BadInput("--refresh needs the network; drop --offline")
    start = parse_block_or_time(since, option="--since")
    end = parse_block_or_time(until, option="--until")

    with Store.open(env.store_path) as store:
        if chain.kind is ChainKind.TRON:
            from chains.tron import TronGridAdapter

            # Built here rather than by the factory: the key comes from this command's environment.
            adapter: Any = TronGridAdapter(url=api_url, api_key=env.api_key(TRON_KEY_ENV), archive=store)
            if progress is not None:
                adapter.on_page = lambda rows: progress(f"{rows} rows read in {adapter.requests} requests")
        else:
            spec = SourceSpec("etherscan", api_url, checked_rate(rate))
            adapter = build_adapter(chain, spec, store=store, api_key=env.api_key(KEY_ENV))
        pin = PIN_PREFIX + address
        service = HistoryService(store, {chain.slug: adapter}, offline=offline, pin_key=pin)

        def block_of(value: int | datetime | None, *, closest: str, default: int | None) -> int | None:
            if value is None or isinstance(value, int):
                return default if value is None else value
            stamp = int(value.timestamp())
            meta_key = f"block-by-time:{adapter.source}:{chain.slug}:{stamp}:{closest}"
            known = store.read_meta(meta_key)
            if known is not None:
                return int(known)
            if offline:
                raise OfflineGap(
                    f"offline: the store does not know which {chain.slug} block is at {value.isoformat()}; "
                    "run once without --offline or give a block number"
                )
            block = adapter.fetch_block_by_time(chain, stamp, closest=closest)
            store.write_meta(meta_key, str(block))
            return block

        if refresh:
            store.write_meta(tip_meta_key(pin, chain.slug), str(adapter.fetch_tip(chain)))
        start_block = block_of(start, closest="after", default=0) or 0
        end_block = block_of(end, closest="before", default=None)
        if end_block is None:
            if offline and store.read_meta(tip_meta_key(pin, chain.slug)) is None:
                raise OfflineGap(
                    f"offline: the store holds no {chain.slug} history of {address} yet; "
                    f"run `heisttrace fetch {chain.slug} {address}` once without --offline"
                )
            end_block = service.tip(chain)
        if start_block > end_block:
            raise BadInput(f"--since (block {start_block}) is after --until (block {end_block})")
        chunk = service.history(chain, address, start_block=start_block, end_block=end_block)
        return AddressHistory(
            chain=chain,
            address=address,
            start_block=chunk.start_block,
            end_block=chunk.end_block,
            complete=chunk.complete,
            source=adapter.source,
            requests=service.requests,
            transfers=chunk.transfers,
        )


def format_units(amount: int, decimals: int) -> str:
    """An exact decimal string of `amount` base units (no float, no exponent): 1500000, 6 -> '1.5'."""
    if decimals <= 0:
        return str(amount)
    whole, frac = divmod(amount, 10**decimals)
    text = f"{frac:0{decimals}d}".rstrip("0")
    return f"{whole}.{text}" if text else str(whole)


def _direction(transfer: Transfer, address: str) -> str:
    if transfer.sender == address and transfer.receiver == address:
        return "self"
    return "out" if transfer.sender == address else "in"


def _iso(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def history_payload(history: AddressHistory) -> dict[str, Any]:
    """The JSON document of `heisttrace fetch --json` (amounts as base-unit strings, plus exact decimals)."""
    return {
        "chain": history.chain.slug,
        "address": history.address,
        "start_block": history.start_block,
        "end_block": history.end_block,
        "complete": history.complete,
        "source": history.source,
        "requests": history.requests,
        "transfers": [
            {
                "tx_hash": t.tx_hash,
                "position": t.position,
                "block": t.block,
                "tx_index": t.tx_index,
                "timestamp": t.timestamp,
                "time": _iso(t.timestamp),
                "direction": _direction(t, history.address),
                "from": t.sender,
                "to": t.receiver,
                "kind": str(t.kind),
                "asset": {"symbol": t.asset.symbol, "contract": t.asset.contract, "decimals": t.asset.decimals},
                "amount": str(t.amount),
                "amount_decimal": format_units(t.amount, t.asset.decimals),
                "success": t.success,
                "noise": sorted(str(n) for n in t.noise),
                "explorer_url": history.chain.tx_url(t.tx_hash),
            }
            for t in history.transfers
        ],
    }


def run(args: argparse.Namespace, env: Environment) -> int:
    if args.limit < 0:
        raise BadInput("--limit: expected 0 (all) or more")
    quiet = args.json or args.offline
    if quiet:
        history = _read(args, env)
    else:
        from chains.http import rate_limit_status

        title = f"reading {args.chain} history of {args.address} …"
        with env.stderr.status(title) as status:

            def progress(text: str) -> None:
                waiting = rate_limit_status()
                status.update(f"{title} {text}" + (f" ({waiting})" if waiting else ""))

            history = _read(args, env, progress)
    if args.json:
        # Plain write: a busy address gives megabytes of JSON, too much for rich's pretty-printer.
        env.stdout.file.write(json.dumps(history_payload(history), indent=1) + "\n")
        env.stdout.file.flush()
        return 0
    _render(history, env, limit=args.limit)
    return 0


def _read(args: argparse.Namespace, env: Environment, progress: Callable[[str], None] | None = None) -> AddressHistory:
    return read_address_history(
        args.chain,
        args.address,
        env=env,
        since=args.since,
        until=args.until,
        api_url=args.api_url,
        offline=args.offline,
        refresh=args.refresh,
        progress=progress,
        rate=args.rate,
    )


def _short(address: str, mine: str) -> str:
    if address == mine:
        return "this address"
    if address == FEE_SINK:
        return "(gas fee)"
    return address[:10] + "…" + address[-4:] if len(address) > 16 else address


def _render(history: AddressHistory, env: Environment, *, limit: int) -> None:
    from rich.table import Table

    origin = "from the store" if history.requests == 0 else f"{history.requests} requests to {history.source}"
    span = "complete" if history.complete else "partial"
    env.stdout.print(
        f"{len(history.transfers)} transfers of {history.address} on {history.chain.slug}, "
        f"blocks {history.start_block}-{history.end_block} ({span}; {origin})",
        markup=False,
        highlight=False,
    )
    shown = history.transfers if limit == 0 else history.transfers[:limit]
    table = Table(show_lines=False)
    for name, justify in (
        ("block", "right"),
        ("time (UTC)", "left"),
        ("tx", "left"),
        ("kind", "left"),
        ("dir", "left"),
        ("from", "left"),
        ("to", "left"),
        ("amount", "right"),
        ("asset", "left"),
        ("flags", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for t in shown:
        flags = sorted(str(n) for n in t.noise)
        if not t.success:
            flags.insert(0, "reverted")
        table.add_row(
            str(t.block),
            _iso(t.timestamp),
            t.tx_hash[:10] + "…" + t.tx_hash[-4:],
            str(t.kind),
            _direction(t, history.address),
            _short(t.sender, history.address),
            _short(t.receiver, history.address),
            format_units(t.amount, t.asset.decimals),
            t.asset.symbol or (t.asset.contract or "?"),
            ", ".join(flags),
        )
    env.stdout.print(table)
    if len(shown) < len(history.transfers):
        env.stdout.print(
            f"showing {len(shown)} of {len(history.transfers)}; use --limit 0 or --json for all", markup=False
        )
