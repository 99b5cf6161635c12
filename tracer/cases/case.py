"""Case files: the TOML description of a hack to trace (docs INTERFACES §2), parsed and validated.

Every problem raises :class:`tracer.core.errors.BadCaseFile` with one line that names the file,
the key (e.g. ``seeds[2].address``; seeds count from 0) and what was expected.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from tracer.cases.crosschain import CrosschainSpec, parse_crosschain
from tracer.cases.decisions import ACTIONS, Decision
from tracer.cases.source_checks import rate_problem, url_problem
from tracer.cases.utxo_options import (
    CHANGE_RULES,
    DEFAULT_CHANGE_RULES,
    DEFAULT_CLUSTER_DEPTH,
    DEFAULT_CLUSTER_MAX_SIZE,
    DEFAULT_CLUSTER_READS,
    MAX_CLUSTER_DEPTH,
    MAX_CLUSTER_MAX_SIZE,
    MAX_CLUSTER_READS,
    UtxoOptions,
)
from tracer.core.addresses import normalize_address
from tracer.core.errors import BadAddress, BadCaseFile, BadChain, BadInput
from tracer.core.models import ENDPOINT_CATEGORIES, Policy
from tracer.core.networks import ChainKind, get_chain
from tracer.sources.kinds import SOURCE_KINDS, kinds_for, unsupported

SeedRole = Literal["thief", "victim"]

ROLES: tuple[str, ...] = ("thief", "victim")

DEFAULT_MAX_HOPS = 25
DEFAULT_MIN_TAINT = Fraction(1, 10_000)
DEFAULT_MAX_ADDRESSES = 3000
MAX_HOPS_LIMIT = 10_000
MAX_ADDRESSES_LIMIT = 10_000_000

_TOP_KEYS = ("case", "seeds", "trace", "source", "valuation", "decisions", "crosschain")
_VALUATION_KEYS = ("source", "url", "file", "ids", "chain", "feeds")
_DECISION_KEYS = ("chain", "address", "action", "category", "label", "reason")
_CASE_KEYS = ("id", "title", "notes")
_SEED_KEYS = ("chain", "address", "tx", "label", "role", "amount", "asset")
_TRACE_KEYS = (
    "since",
    "until",
    "policy",
    "max_hops",
    "min_taint",
    "max_addresses",
    "attribution",
    "clustering",
    "cluster_depth",
    "cluster_max_size",
    "cluster_reads",
    "change_rules",
)
_SOURCE_KEYS = ("kind", "url", "rate", "path")

_SLUG = re.compile(r"[a-z0-9-]+")
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?|\.[0-9]+")
_TX_PATTERNS: dict[ChainKind, tuple[re.Pattern[str], str]] = {
    ChainKind.EVM: (re.compile(r"0x[0-9a-fA-F]{64}"), "0x followed by 64 hex digits"),
    ChainKind.UTXO: (re.compile(r"[0-9a-fA-F]{64}"), "64 hex digits"),
    ChainKind.TRON: (re.compile(r"(0x)?[0-9a-fA-F]{64}"), "64 hex digits"),
}


@dataclass(frozen=True, slots=True)
class TimeBound:
    """A point in a chain's history: a unix timestamp (UTC seconds) or a block number (exactly one is set)."""

    timestamp: int | None = None
    block: int | None = None

    def __str__(self) -> str:
        if self.timestamp is not None:
            return dt.datetime.fromtimestamp(self.timestamp, dt.UTC).isoformat().replace("+00:00", "Z")
        return f"block {self.block}"


@dataclass(frozen=True, slots=True)
class Seed:
    """Where the trace starts: an address (or one transaction) of the thief or of the drained victim."""

    chain: str
    address: str | None = None
    tx: str | None = None
    label: str = ""
    role: SeedRole = "thief"
    amount: Decimal | None = None  # what was stolen into this seed, in the asset's own unit
    asset: str | None = None


@dataclass(frozen=True, slots=True)
class TraceParams:
    """How far and how to follow the value."""

    since: TimeBound = field(default_factory=lambda: TimeBound(block=0))
    until: TimeBound | None = None
    policy: Policy = Policy.HAIRCUT
    max_hops: int = DEFAULT_MAX_HOPS
    min_taint: Fraction = DEFAULT_MIN_TAINT
    max_addresses: int = DEFAULT_MAX_ADDRESSES
    #: Treat fresh addresses first funded by the thief as thief-controlled (first-funder attribution).
    attribution: bool = True
    #: Bitcoin only: clustering and change detection (tracer.cases.utxo_options).
    utxo: UtxoOptions = field(default_factory=UtxoOptions)


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """Which data source serves one chain (`url=None`: the kind's public default)."""

    kind: str  # a name of tracer.sources.kinds.SOURCE_KINDS
    url: str | None = None
    rate: float | None = None  # requests per second (None: the kind's default; no limit on loopback)
    #: The folder a local source reads (`export`); relative paths are resolved against the case file.
    path: str | None = None


@dataclass(frozen=True, slots=True)
class Case:
    """A validated case file."""

    id: str
    title: str
    notes: str
    seeds: tuple[Seed, ...]
    trace: TraceParams
    sources: Mapping[str, SourceSpec] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    #: The raw `[valuation]` table (keys checked here, values validated by tracer.valuation.config when used).
    valuation: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    path: Path | None = None
    #: sha256 of the case file's bytes (set by :func:`read_case`; None for a case parsed from text)
    sha256: str | None = None
    #: The analyst's `[[decisions]]` (tracer.cases.decisions), in file order.
    decisions: tuple[Decision, ...] = ()
    #: The `[crosschain]` table (tracer.cases.crosschain): follow value across bridges, resolver URLs.
    crosschain: CrosschainSpec = field(default_factory=CrosschainSpec)

    @property
    def chains(self) -> tuple[str, ...]:
        """The seed chains, in order of first appearance."""
        return tuple(dict.fromkeys(seed.chain for seed in self.seeds))

    def source_for(self, chain: str) -> SourceSpec:
        """The source configured for `chain`, else the default for its kind (etherscan, esplora)."""
        spec = self.sources.get(chain)
        if spec is not None:
            return spec
        kinds = kinds_for(get_chain(chain).kind)
        if not kinds:
            raise BadInput(unsupported(chain, get_chain(chain).kind))
        return SourceSpec(kinds[0])

    def with_overrides(
        self,
        *,
        policy: str | Policy | None = None,
        max_addresses: int | None = None,
        source_kind: str | None = None,
        api_url: str | None = None,
        rpc_url: str | None = None,
        attribution: bool | None = None,
        rate: float | None = None,
    ) -> Case:
        """This case with command-line overrides applied (BadInput naming the flag when one does not fit)."""
        trace = self.trace
        if attribution is not None:
            if not isinstance(attribution, bool):
                raise BadInput(f"attribution: expected True or False, got {attribution!r}")
            trace = replace(trace, attribution=attribution)
        if policy is not None:
            trace = replace(
                trace, policy=_policy(policy, lambda what, got: BadInput(f"--policy: expected {what}, got {got}"))
            )
        if max_addresses is not None:
            if (
                isinstance(max_addresses, bool)
                or not isinstance(max_addresses, int)
                or not (1 <= max_addresses <= MAX_ADDRESSES_LIMIT)
            ):
                raise BadInput(f"--max-addresses: expected a whole number from 1 to {MAX_ADDRESSES_LIMIT}")
            trace = replace(trace, max_addresses=max_addresses)
        specs = {chain: self.source_for(chain) for chain in self.chains}
        if source_kind is not None:
            if source_kind not in SOURCE_KINDS:
                raise BadInput(f"--source: expected one of {', '.join(SOURCE_KINDS)}, got {source_kind!r}")
            fitting = [c for c in specs if source_kind in kinds_for(get_chain(c).kind)]
            if not fitting:
                raise BadInput(f"--source {source_kind}: no seed chain of this case ({', '.join(specs)}) can use it")
            for chain in fitting:
                old = specs[chain]
                same = old.kind == source_kind
                specs[chain] = SourceSpec(
                    source_kind, old.url if same else None, old.rate, path=old.path if same else None
                )
                if SOURCE_KINDS[source_kind].needs_path and specs[chain].path is None:
                    raise BadInput(
                        f"--source {source_kind}: {chain} needs a folder; set it in the case file"
                        f' ([source] {chain} = {{ kind = "{source_kind}", path = "DIR" }})'
                    )
        for flag, url in (("--api-url", api_url), ("--rpc-url", rpc_url)):
            if url is None:
                continue
            kinds = {name for name, kind in SOURCE_KINDS.items() if kind.url_flag == flag}
            problem = url_problem(url)
            if problem:
                raise BadInput(f"{flag}: expected {problem}")
            fitting = [c for c, spec in specs.items() if spec.kind in kinds]
            if not fitting:
                hint = " (add --source rpc)" if flag == "--rpc-url" else ""
                raise BadInput(f"{flag}: no seed chain of this case uses a source of that kind{hint}")
            for chain in fitting:
                specs[chain] = replace(specs[chain], url=url)
        if rate is not None:
            problem = rate_problem(rate)
            if problem:
                raise BadInput(f"--rate: expected {problem}, got {rate!r}")
            specs = {chain: replace(spec, rate=float(rate)) for chain, spec in specs.items()}
        sources = dict(self.sources)
        sources.update(specs)
        return replace(self, trace=trace, sources=MappingProxyType(sources))


# ---------------------------------------------------------------------- parsing


def read_case(path: Path | str) -> Case:
    """Read and validate the case file at `path`."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except OSError as exc:
        raise BadCaseFile(f"{path}: cannot read the case file ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise BadCaseFile(f"{path}: expected a UTF-8 text file (TOML)") from None
    case = parse_case(text, name=str(path))
    sources = {
        chain: replace(spec, path=str((path.parent / spec.path).resolve()))
        if spec.path is not None and not Path(spec.path).is_absolute()
        else spec
        for chain, spec in case.sources.items()
    }
    return replace(case, path=path, sha256=hashlib.sha256(raw).hexdigest(), sources=MappingProxyType(sources))


def parse_case(text: str, *, name: str) -> Case:
    """Parse and validate case-file text; `name` (usually the file path) prefixes every error."""
    return _Parser(name).case(text)


class _Parser:
    def __init__(self, name: str) -> None:
        self.name = name

    def error(self, key: str, expected: str, got: Any = ...) -> BadCaseFile:
        message = f"{self.name}: {key}: expected {expected}"
        if got is not ...:
            message += f", got {_show(got)}"
        return BadCaseFile(message)

    def table(self, value: Any, key: str, allowed: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(key, f"a table ([{key}])", value)
        for name in value:
            if name not in allowed:
                return_key = f"{key}.{name}" if key else name
                raise BadCaseFile(f"{self.name}: unknown key {return_key}; expected one of: {', '.join(allowed)}")
        return value

    def string(self, table: dict[str, Any], key: str, path: str, *, required: bool = False) -> str | None:
        if key not in table:
            if required:
                raise self.error(path, "a value (it is required)")
            return None
        value = table[key]
        if not isinstance(value, str):
            raise self.error(path, "a string", value)
        return value

    def case(self, text: str) -> Case:
        try:
            doc = tomllib.loads(text.removeprefix("\ufeff"))  # a UTF-8 BOM (Windows editors) is accepted
        except tomllib.TOMLDecodeError as exc:
            raise BadCaseFile(f"{self.name}: not valid TOML: {exc}") from None
        except RecursionError:
            raise BadCaseFile(f"{self.name}: not valid TOML: nested too deeply") from None
        for name in doc:
            if name not in _TOP_KEYS:
                raise BadCaseFile(f"{self.name}: unknown key {name}; expected one of: {', '.join(_TOP_KEYS)}")
        if "case" not in doc:
            raise self.error("case", 'a [case] table with at least id = "..."')
        head = self.table(doc["case"], "case", _CASE_KEYS)
        case_id = self.string(head, "id", "case.id", required=True) or ""
        if not _SLUG.fullmatch(case_id):
            raise self.error("case.id", "a slug of lowercase letters, digits and '-'", case_id)
        title = self.string(head, "title", "case.title") or case_id
        notes = self.string(head, "notes", "case.notes") or ""
        seeds = self.seeds(doc.get("seeds"))
        trace = self.trace(doc.get("trace", {}))
        sources = self.sources(doc.get("source", {}))
        for i, seed in enumerate(seeds):
            kind = get_chain(seed.chain).kind
            if seed.chain not in sources and not kinds_for(kind):
                raise BadCaseFile(f"{self.name}: seeds[{i}].chain: {unsupported(seed.chain, kind)}")
        decisions = self.decisions(doc.get("decisions", []))
        valuation = self.table(doc.get("valuation", {}), "valuation", _VALUATION_KEYS)
        return Case(
            case_id,
            title,
            notes,
            seeds,
            trace,
            MappingProxyType(sources),
            valuation=MappingProxyType(valuation),
            decisions=decisions,
            crosschain=parse_crosschain(doc.get("crosschain"), self.name),
        )

    def decisions(self, value: Any) -> tuple[Decision, ...]:
        if not isinstance(value, list):
            raise self.error("decisions", "an array of tables, written [[decisions]] (double brackets)")
        out: list[Decision] = []
        seen: dict[tuple[str, str], int] = {}
        for i, item in enumerate(value):
            key = f"decisions[{i}]"
            table = self.table(item, key, _DECISION_KEYS)
            chain = self.chain(table, key)
            address = self.address(chain.slug, self.string(table, "address", f"{key}.address", required=True), key)
            action = self.string(table, "action", f"{key}.action", required=True)
            if action not in ACTIONS:
                raise self.error(f"{key}.action", " | ".join(ACTIONS), action)
            reason = (self.string(table, "reason", f"{key}.reason") or "").strip()
            if not reason:
                raise self.error(f"{key}.reason", "a reason (every decision says why; it is the reviewable record)")
            category = self.string(table, "category", f"{key}.category") or ""
            label = self.string(table, "label", f"{key}.label") or ""
            if action == "endpoint":
                if category not in _ENDPOINT_CATEGORY_NAMES:
                    raise self.error(f"{key}.category", " | ".join(_ENDPOINT_CATEGORY_NAMES), category or None)
                if not label.strip():
                    raise self.error(f"{key}.label", "the service's name (an endpoint decision names it)")
            elif category or label:
                raise self.error(key, f'category and label only with action = "endpoint" (not {action})')
            identity = (chain.slug, address)
            if identity in seen:
                raise self.error(key, f"one decision per address (decisions[{seen[identity]}] has it)", address)
            seen[identity] = i
            out.append(Decision(chain.slug, address, action, reason, category, label.strip()))
        return tuple(out)

    def seeds(self, value: Any) -> tuple[Seed, ...]:
        if value is None:
            raise self.error("seeds", "at least one [[seeds]] entry")
        if isinstance(value, dict):
            raise self.error("seeds", "an array of tables, written [[seeds]] (double brackets)")
        if not isinstance(value, list) or not value:
            raise self.error("seeds", "at least one [[seeds]] entry", value)
        seeds: list[Seed] = []
        seen: dict[tuple[str, str], int] = {}
        for i, item in enumerate(value):
            seed = self.seed(item, f"seeds[{i}]")
            identity = (seed.chain, seed.address or seed.tx or "")
            if identity in seen:
                raise self.error(f"seeds[{i}]", f"a seed not already given as seeds[{seen[identity]}]", identity[1])
            seen[identity] = i
            seeds.append(seed)
        return tuple(seeds)

    def chain(self, table: dict[str, Any], key: str) -> Any:
        """The chain named by `table`'s required `chain` key."""
        chain_name = self.string(table, "chain", f"{key}.chain", required=True)
        try:
            return get_chain(chain_name)
        except BadChain:
            raise self.error(f"{key}.chain", "one of " + ", ".join(_known_chains()), chain_name) from None

    def address(self, chain: str, raw: str | None, key: str) -> str:
        """`raw` normalised as an address of `chain`."""
        try:
            return normalize_address(chain, raw or "")
        except BadAddress as exc:
            raise self.error(f"{key}.address", f"a valid {chain} address ({_first_clause(exc.message)})") from None

    def seed(self, item: Any, key: str) -> Seed:
        table = self.table(item, key, _SEED_KEYS)
        chain = self.chain(table, key)
        address = self.string(table, "address", f"{key}.address")
        tx = self.string(table, "tx", f"{key}.tx")
        if (address is None) == (tx is None):
            raise self.error(key, 'exactly one of address = "..." or tx = "..."')
        if address is not None:
            address = self.address(chain.slug, address, key)
        if tx is not None:
            pattern, shape = _TX_PATTERNS[chain.kind]
            if not pattern.fullmatch(tx):
                raise self.error(f"{key}.tx", f"a {chain.slug} transaction hash ({shape})", tx)
            tx = tx.lower().removeprefix("0x") if chain.kind is ChainKind.TRON else tx.lower()
        label = self.string(table, "label", f"{key}.label") or ""
        role = self.string(table, "role", f"{key}.role") or "thief"
        if role not in ROLES:
            raise self.error(f"{key}.role", "thief or victim", role)
        amount = self.amount(table.get("amount"), f"{key}.amount") if "amount" in table else None
        asset = self.string(table, "asset", f"{key}.asset")
        if asset is not None and not asset.strip():
            raise self.error(f"{key}.asset", "a symbol or token contract", asset)
        return Seed(chain.slug, address, tx, label, role, amount, asset)  # type: ignore[arg-type]

    def amount(self, value: Any, key: str) -> Decimal:
        expected = 'a positive decimal string such as "123.4"'
        if isinstance(value, bool) or not isinstance(value, str | int):
            if isinstance(value, float):
                raise self.error(key, expected + " (quote it: TOML floats are inexact)", value)
            raise self.error(key, expected, value)
        text = str(value).strip()
        if not _DECIMAL.fullmatch(text) or Decimal(text) <= 0:
            raise self.error(key, expected, value)
        return Decimal(text)

    def trace(self, value: Any) -> TraceParams:
        table = self.table(value, "trace", _TRACE_KEYS)
        since = self.time_bound(table["since"], "trace.since") if "since" in table else TimeBound(block=0)
        until = self.time_bound(table["until"], "trace.until") if "until" in table else None
        if until is not None:
            both_time = since.timestamp is not None and until.timestamp is not None
            both_block = since.block is not None and until.block is not None
            if (both_time and until.timestamp <= since.timestamp) or (both_block and until.block <= since.block):  # type: ignore[operator]
                raise self.error("trace.until", f"a point after trace.since ({since})", str(until))
        policy = Policy.HAIRCUT
        if "policy" in table:
            policy = _policy(table["policy"], lambda what, got: self.error("trace.policy", what, got))
        max_hops = self.integer(table, "max_hops", DEFAULT_MAX_HOPS, 1, MAX_HOPS_LIMIT)
        max_addresses = self.integer(table, "max_addresses", DEFAULT_MAX_ADDRESSES, 1, MAX_ADDRESSES_LIMIT)
        min_taint = self.fraction(table["min_taint"], "trace.min_taint") if "min_taint" in table else DEFAULT_MIN_TAINT
        attribution = self.boolean(table, "attribution", True)
        return TraceParams(since, until, policy, max_hops, min_taint, max_addresses, attribution, self.utxo(table))

    def utxo(self, table: dict[str, Any]) -> UtxoOptions:
        """The Bitcoin clustering and change-detection keys of `[trace]`."""
        rules = DEFAULT_CHANGE_RULES
        if "change_rules" in table:
            value = table["change_rules"]
            expected = f"a list of change rules, each one of: {', '.join(CHANGE_RULES)} ([] switches it off)"
            if not isinstance(value, list) or not all(isinstance(v, str) and v in CHANGE_RULES for v in value):
                raise self.error("trace.change_rules", expected, value)
            rules = tuple(dict.fromkeys(value))
        return UtxoOptions(
            clustering=self.boolean(table, "clustering", True),
            cluster_depth=self.integer(table, "cluster_depth", DEFAULT_CLUSTER_DEPTH, 0, MAX_CLUSTER_DEPTH),
            cluster_max_size=self.integer(table, "cluster_max_size", DEFAULT_CLUSTER_MAX_SIZE, 2, MAX_CLUSTER_MAX_SIZE),
            cluster_reads=self.integer(table, "cluster_reads", DEFAULT_CLUSTER_READS, 0, MAX_CLUSTER_READS),
            change_rules=rules,
        )

    def time_bound(self, value: Any, key: str) -> TimeBound:
        expected = 'an ISO 8601 time with a timezone (e.g. "2023-06-02T00:00:00Z") or a block number'
        if isinstance(value, bool):
            raise self.error(key, expected, value)
        if isinstance(value, int):
            if value < 0:
                raise self.error(key, "a block number of 0 or more", value)
            return TimeBound(block=value)
        if isinstance(value, str) and value.strip().isdigit():
            return TimeBound(block=int(value))
        if isinstance(value, str):
            try:
                value = dt.datetime.fromisoformat(value.strip())
            except ValueError:
                raise self.error(key, expected, value) from None
        if isinstance(value, dt.datetime):
            if value.tzinfo is None or value.utcoffset() is None:
                raise self.error(key, expected + "; add Z or an offset such as +00:00", str(value))
            return TimeBound(timestamp=int(value.timestamp()))
        raise self.error(key, expected, value)

    def integer(self, table: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
        if name not in table:
            return default
        value = table[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.error(f"trace.{name}", f"a whole number from {low} to {high:,}".replace(",", "_"), value)
        return value

    def boolean(self, table: dict[str, Any], name: str, default: bool) -> bool:
        if name not in table:
            return default
        value = table[name]
        if not isinstance(value, bool):
            raise self.error(f"trace.{name}", "true or false (a TOML boolean, unquoted)", value)
        return value

    def fraction(self, value: Any, key: str) -> Fraction:
        expected = 'a fraction from 0 up to (not including) 1, such as "0.0001"'
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.error(key, expected, value)
        text = repr(value) if isinstance(value, float) else str(value).strip()
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise self.error(key, expected, value) from None
        if not number.is_finite() or not 0 <= number < 1:
            raise self.error(key, expected, value)
        return Fraction(number)

    def sources(self, value: Any) -> dict[str, SourceSpec]:
        if not isinstance(value, dict):
            raise self.error("source", 'a table ([source]) of chain = { kind = "..." }', value)
        specs: dict[str, SourceSpec] = {}
        for chain_name, entry in value.items():
            key = f"source.{chain_name}"
            try:
                chain = get_chain(chain_name)
            except BadChain:
                raise BadCaseFile(
                    f"{self.name}: unknown key {key}; expected a chain: {', '.join(_known_chains())}"
                ) from None
            if isinstance(entry, str):
                entry = {"kind": entry}
            table = self.table(entry, key, _SOURCE_KEYS)
            kind = self.string(table, "kind", f"{key}.kind", required=True)
            if kind not in kinds_for(chain.kind):
                raise BadCaseFile(f"{self.name}: {key}.kind: {unsupported(chain.slug, chain.kind, kind)}")
            url = self.string(table, "url", f"{key}.url")
            path = self.string(table, "path", f"{key}.path")
            if SOURCE_KINDS[kind or ""].needs_path:
                if not path or not path.strip():
                    raise self.error(f"{key}.path", f'the folder the {kind} source reads (path = "DIR")')
                if url is not None:
                    raise self.error(f"{key}.url", f'no URL for the {kind} source (it reads path = "DIR")', url)
            elif path is not None:
                raise self.error(f"{key}.path", f"no path for the {kind} source (only export reads a folder)", path)
            if url is not None:
                problem = url_problem(url)
                if problem:
                    raise self.error(f"{key}.url", problem, url if "key" not in problem else "a URL with a key")
            rate = table.get("rate")
            if rate is not None and rate_problem(rate):
                raise self.error(f"{key}.rate", str(rate_problem(rate)), rate)
            specs[chain.slug] = SourceSpec(kind or "", url, None if rate is None else float(rate), path=path)
        return specs


_ENDPOINT_CATEGORY_NAMES = tuple(sorted(c.value for c in ENDPOINT_CATEGORIES))


def _policy(value: Any, error: Any) -> Policy:
    try:
        return Policy(value)
    except ValueError:
        raise error(" | ".join(p.value for p in Policy), value if isinstance(value, str) else repr(value)) from None


def _known_chains() -> list[str]:
    from tracer.core.networks import CHAINS

    return list(CHAINS)


def _first_clause(message: str) -> str:
    return message.split("\n", 1)[0]


def _show(value: Any) -> str:
    """A short one-line rendering of an offending value."""
    text = str(value) if isinstance(value, dt.date | dt.time) else repr(value)
    text = text.replace("\n", "\\n")
    return text if len(text) <= 80 else text[:77] + "..."
