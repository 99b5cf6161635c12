"""The source kinds that work today, per kind of chain: the one list case files are checked against.

To add a source, add an entry here and its builder in :mod:`tracer.sources.factory`; case
files then accept it. `export` reads bulk chain exports (ethereum-etl / BigQuery, bitcoin-etl)
from a folder (`path = "DIR"`), for EVM and UTXO chains alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from tracer.core.errors import BadInput
from tracer.core.networks import ChainKind


@dataclass(frozen=True, slots=True)
class SourceKind:
    """One implemented source kind."""

    name: str
    chain_kind: ChainKind
    #: The command-line flag that overrides its URL (`--api-url` or `--rpc-url`; "" for none).
    url_flag: str
    #: True when there is no public default URL (a case or the command line must give one).
    needs_url: bool = False
    #: True when the source reads a local folder (`path = "DIR"` in the case file) instead of a URL.
    needs_path: bool = False
    #: Further kinds of chain the same source serves.
    also: tuple[ChainKind, ...] = ()

    def serves(self, chain_kind: ChainKind) -> bool:
        return chain_kind is self.chain_kind or chain_kind in self.also


#: Implemented source kinds; per chain kind the first listed is the default.
SOURCE_KINDS: dict[str, SourceKind] = {
    kind.name: kind
    for kind in (
        SourceKind("etherscan", ChainKind.EVM, "--api-url"),
        SourceKind("rpc", ChainKind.EVM, "--rpc-url", needs_url=True),
        SourceKind("esplora", ChainKind.UTXO, "--api-url"),
        SourceKind("tron", ChainKind.TRON, "--api-url"),
        SourceKind("export", ChainKind.EVM, "", needs_path=True, also=(ChainKind.UTXO,)),
    )
}


def kinds_for(chain_kind: ChainKind) -> tuple[str, ...]:
    """The implemented source kinds for a kind of chain, the default first (may be empty)."""
    return tuple(name for name, kind in SOURCE_KINDS.items() if kind.serves(chain_kind))


def unsupported(chain: str, chain_kind: ChainKind, kind: str | None = None) -> str:
    """The one-line message for a source kind (or a chain) no implemented source serves."""
    working = kinds_for(chain_kind)
    today = (
        f"kinds that work today for {chain}: {', '.join(working)}" if working else f"no source works for {chain} yet"
    )
    what = f"source kind {kind!r} is not implemented for {chain}" if kind else f"{chain} cannot be traced yet"
    return f"{what}; {today}"


def check_kind(chain: str, chain_kind: ChainKind, kind: str) -> None:
    """BadInput (one line naming the chain and the kinds that work) unless `kind` serves this chain."""
    entry = SOURCE_KINDS.get(kind)
    if entry is None or not entry.serves(chain_kind):
        raise BadInput(unsupported(chain, chain_kind, kind))
