"""The label book: bundled labels (tracer/labels/labeldata) + user labels, looked up by (chain, address).

:class:`LabelBook` implements :class:`tracer.core.protocols.LabelLookup`. Every label keeps its source,
the source's own words and a confidence. Several labels may describe one address; all are kept
(:meth:`LabelBook.labels`), those that disagree are flagged in ``Label.conflicts`` and
:meth:`LabelBook.label` picks one:

1. user labels (from the store, or added with :meth:`LabelBook.with_labels`) win over bundled ones;
2. otherwise a label that says what the address *is* beats a bare ``sanctioned`` (a Tornado Cash
   pool resolves as a mixer, a sanctioned exploiter as a hacker; both stay flagged as sanctioned);
3. then the higher confidence, then the more specific category.

The bundled file is read on the first lookup (about 45k rows, well under half a second); lookups
after that are dictionary hits.
"""

from __future__ import annotations

import gzip
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from tracer.core.addresses import normalize_address
from tracer.core.errors import BadInput, StoreError
from tracer.core.models import Category, Label
from tracer.labels.taxonomy import exchange_wallet_kind

if TYPE_CHECKING:
    from tracer.store import Store

LABELDATA = Path(__file__).resolve().parent / "labeldata"
BUNDLED_FILE = LABELDATA / "labels.tsv.gz"

#: Tie-break between equally confident labels: earlier = more specific.
CATEGORY_ORDER: tuple[Category, ...] = (
    Category.EXCHANGE_DEPOSIT,
    Category.EXCHANGE,
    Category.MIXER,
    Category.BRIDGE,
    Category.INSTANT_EXCHANGER,
    Category.OTC,
    Category.DEX,
    Category.GAMBLING,
    Category.HACKER,
    Category.RANSOMWARE,
    Category.PHISHING,
    Category.OTHER_SERVICE,
    Category.UNKNOWN_SERVICE,
    Category.SANCTIONED,
)
_SPECIFICITY = {c: len(CATEGORY_ORDER) - i for i, c in enumerate(CATEGORY_ORDER)}

Key = tuple[str, str]


@dataclass(frozen=True, slots=True)
class LabelStats:
    """Counts for `heisttrace labels stats`."""

    addresses: int
    labels: int
    by_source: dict[str, int]
    by_category: dict[str, int]
    by_chain: dict[str, int]
    conflicting_addresses: int
    user_labels: int


def read_bundled_rows(path: Path = BUNDLED_FILE) -> dict[Key, list[str]]:
    """The packaged rows grouped by (chain, address); each value keeps the rest of the row unparsed."""
    try:
        text = gzip.decompress(path.read_bytes()).decode("utf-8")
    except FileNotFoundError:
        raise StoreError(f"bundled label data {path} is missing; run tools/build_labels.py") from None
    rows: dict[Key, list[str]] = {}
    lines = text.split("\n")
    for line in lines[1:]:
        if not line:
            continue
        chain, address, rest = line.split("\t", 2)
        key = (chain, address)
        bucket = rows.get(key)
        if bucket is None:
            rows[key] = [rest]
        else:
            bucket.append(rest)
    return rows


def _bundled_label(chain: str, address: str, rest: str) -> Label:
    category, name, source, ref, words, confidence = rest.split("\t")
    return Label(chain, address, Category(category), name, source, ref, words, float(confidence))


def _conflict_tag(label: Label) -> str:
    return f"{label.source}:{label.category.value}"


def flag_conflicts(labels: Iterable[Label]) -> tuple[Label, ...]:
    """The labels with `conflicts` set to the other sources that name a different category.

    `sanctioned` is a status, not a kind of address: it never conflicts with anything.
    """
    items = list(labels)
    out = []
    for lb in items:
        others = sorted(
            {
                _conflict_tag(other)
                for other in items
                if other.source != lb.source
                and other.category is not lb.category
                and Category.SANCTIONED not in (other.category, lb.category)
            }
        )
        out.append(replace(lb, conflicts=tuple(others)) if tuple(others) != lb.conflicts else lb)
    return tuple(out)


def _rank(label: Label) -> tuple[bool, float, int]:
    return (label.category is not Category.SANCTIONED, label.confidence, _SPECIFICITY.get(label.category, 0))


def pick_best(user: Iterable[Label], bundled: Iterable[Label]) -> Label | None:
    """User labels win; among each layer a kind beats `sanctioned`, then confidence, then specificity."""
    user = list(user)
    if user:
        return max(user, key=_rank)
    bundled = list(bundled)
    return max(bundled, key=_rank) if bundled else None


class LabelBook:
    """Bundled + user labels; see the module doc for how one label is chosen."""

    def __init__(
        self,
        *,
        user: Iterable[Label] = (),
        bundled: bool = True,
        bundled_path: Path = BUNDLED_FILE,
        _rows: dict[Key, list[str]] | None = None,
    ) -> None:
        self._bundled_path = bundled_path
        self._use_bundled = bundled
        self._rows: dict[Key, list[str]] | None = _rows if bundled else {}
        self._user: dict[Key, list[Label]] = {}
        for lb in user:
            self._user.setdefault((lb.chain, lb.address), []).append(lb)
        self._best: dict[str, dict[str, Label | None]] = {}  # chain -> address as asked -> best label
        self._all: dict[Key, tuple[tuple[Label, ...], int]] = {}

    # ------------------------------------------------------------------ building

    def with_labels(self, extra: Iterable[Label]) -> LabelBook:
        """A new book with `extra` added as user-level labels (they win over bundled ones)."""
        users = [lb for bucket in self._user.values() for lb in bucket]
        book = LabelBook(
            user=[*users, *extra],
            bundled=self._use_bundled,
            bundled_path=self._bundled_path,
            _rows=self._rows if self._use_bundled else None,
        )
        return book

    def _ensure_loaded(self) -> dict[Key, list[str]]:
        if self._rows is None:
            self._rows = read_bundled_rows(self._bundled_path)
        return self._rows

    def load(self) -> LabelBook:
        """Read the bundled file now (otherwise it is read on the first lookup)."""
        self._ensure_loaded()
        return self

    # ------------------------------------------------------------------ lookups

    def label(self, chain: str, address: str) -> Label | None:
        """The best label for the address (user labels win), or None."""
        try:
            return self._best[chain][address]
        except KeyError:
            return self._resolve(chain, address)

    def _resolve(self, chain: str, address: str) -> Label | None:
        cache = self._best.setdefault(chain, {})
        try:
            normalised = normalize_address(chain, address)
        except BadInput:
            cache[address] = None
            return None
        if normalised not in cache:
            labels, n_user = self._layers((chain, normalised))
            cache[normalised] = pick_best(labels[:n_user], labels[n_user:])
        best = cache[address] = cache[normalised]
        return best

    def _layers(self, key: Key) -> tuple[tuple[Label, ...], int]:
        """All labels of a normalised key (user ones first, conflicts flagged) and how many are user labels."""
        cached = self._all.get(key)
        if cached is None:
            user = self._user.get(key, [])
            rows = self._ensure_loaded().get(key, ())
            bundled = [_bundled_label(key[0], key[1], rest) for rest in rows]
            cached = self._all[key] = (flag_conflicts([*user, *bundled]), len(user))
        return cached

    def labels(self, chain: str, address: str) -> tuple[Label, ...]:
        """Every label of the address (user labels first), with conflicts flagged."""
        try:
            normalised = normalize_address(chain, address)
        except BadInput:
            return ()
        return self._layers((chain, normalised))[0]

    def category(self, chain: str, address: str) -> Category | None:
        """The category of the best label, or None."""
        best = self.label(chain, address)
        return best.category if best is not None else None

    def is_sanctioned(self, chain: str, address: str) -> bool:
        """True when any source lists the address as sanctioned."""
        return any(lb.category is Category.SANCTIONED for lb in self.labels(chain, address))

    def describe(self, chain: str, address: str) -> str:
        """A short phrase such as `sanctioned mixer`, `exchange (hot wallet)`, or "" when unknown."""
        best = self.label(chain, address)
        if best is None:
            return ""
        kind = best.category.value
        if best.category is Category.EXCHANGE:
            wallet = exchange_wallet_kind(f"{best.name} {best.source_words}")
            kind = f"{kind} ({wallet} wallet)" if wallet else kind
        if best.category is not Category.SANCTIONED and self.is_sanctioned(chain, address):
            return f"sanctioned {kind}"
        return kind

    # ------------------------------------------------------------------ whole-book views

    def user_labels(self) -> list[Label]:
        """The user-level labels of this book, ordered by chain, address, source."""
        items = [lb for bucket in self._user.values() for lb in bucket]
        return sorted(items, key=lambda lb: (lb.chain, lb.address, lb.source, lb.source_ref))

    def iter_bundled(self) -> Iterator[Label]:
        """Every bundled label, in file order (chain, address, source, ref)."""
        for (chain, address), rows in self._ensure_loaded().items():
            for rest in rows:
                yield _bundled_label(chain, address, rest)

    def stats(self) -> LabelStats:
        """Counts per source, category and chain, and how many addresses carry conflicting labels."""
        by_source: Counter[str] = Counter()
        by_category: Counter[str] = Counter()
        by_chain: Counter[str] = Counter()
        kinds: dict[Key, set[tuple[str, str]]] = {}
        total = 0
        rows = self._ensure_loaded()
        for key, bucket in rows.items():
            for rest in bucket:
                category, _name, source, _ = rest.split("\t", 3)
                by_source[source] += 1
                by_category[category] += 1
                by_chain[key[0]] += 1
                kinds.setdefault(key, set()).add((source, category))
                total += 1
        users = self.user_labels()
        for lb in users:
            by_source[f"user ({lb.source})"] += 1
            by_category[lb.category.value] += 1
            by_chain[lb.chain] += 1
            kinds.setdefault((lb.chain, lb.address), set()).add(("user:" + lb.source, lb.category.value))
        conflicting = 0
        for pairs in kinds.values():
            categories = {c for _, c in pairs if c != Category.SANCTIONED.value}
            sources = {s for s, c in pairs if c != Category.SANCTIONED.value}
            if len(categories) > 1 and len(sources) > 1:
                conflicting += 1
        return LabelStats(
            addresses=len(kinds),
            labels=total + len(users),
            by_source=dict(by_source.most_common()),
            by_category=dict(by_category.most_common()),
            by_chain=dict(by_chain.most_common()),
            conflicting_addresses=conflicting,
            user_labels=len(users),
        )


def load_labels(*, store: Store | Path | str | None = None, bundled: bool = True) -> LabelBook:
    """Bundled labels plus the user labels kept in `store` (a Store or its path); user labels win."""
    user: list[Label] = []
    if store is not None:
        if isinstance(store, str | Path):
            path = Path(store)
            if path.exists():
                from tracer.store import Store

                with Store.open(path) as opened:
                    user = opened.read_user_labels()
        else:
            user = store.read_user_labels()
    return LabelBook(user=user, bundled=bundled)
