"""Tracing quality on the four expert-verified laundering cases (issue 8).

For every case: generate the world (bench/worldgen.py), serve it from the Etherscan emulator,
trace from the case's source addresses once per configuration — each policy with the
default ranked strategy, plus breadth-first and poison as baselines — each from an empty
store, and score the trace against the experts' answer (bench/scoring.py). Writes
bench/results/quality.json; `python -m bench` renders it into docs/BENCHMARKS.md.

    python -m bench.bench_quality                 # the full matrix (what `make bench` runs)
    python -m bench.bench_quality --cases 3 --configs haircut/ranked --quick
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.confounders import HEAVY_CONFOUNDERS, QUICK_CONFOUNDERS, Confounders
from bench.groundtruth import CITATION, GroundTruthCase, GroundTruthMissing, available_cases, read_case
from bench.reachability import haircut_reach
from bench.scoring import AmountTruth, Answer, Traced, requests_per_address, score_amounts, score_trace
from bench.worldgen import TOKEN_DECIMALS, UNITS_PER_CENT, GeneratedWorld, WorldOptions, generate_world
from tracer.core.errors import BadInput

RESULTS = Path(__file__).resolve().parent / "results" / "quality.json"
POLICIES = ("haircut", "poison", "fifo", "lifo", "tiho")
DEFAULT = ("haircut", "ranked")
STRATEGIES = ("ranked", "bfs")
BASELINES = (("haircut", "bfs"), ("poison", "poison"))
#: Ablation: the default configuration with first-funder attribution switched off (value-only tracing).
VALUE_ONLY = "value-only"
#: Robustness: worlds that differ from the standard one, each traced with the default configuration.
ROBUSTNESS_WORLDS: dict[str, dict[str, Any]] = {
    "unrecorded unseen": {"unrecorded": "unseen"},
    "hot wallets unlabelled": {"label_hot_wallets": False},
    # another seed, and confounder counts of the size issue 13 reports from its held-out world
    "heavy confounders": {"seed": 7, "confounders": HEAVY_CONFOUNDERS},
}
#: Issue 13's targets (default configuration, every case, confounders on).
TARGETS = {
    "address_recall": 0.97,
    "precision": 0.97,
    "endpoint_recall": 0.97,
    "requests_per_address": 3.5,
    "stolen_over_theft_worst": 1.0,  # exactly
    "innocent_inflow_share": 0.05,  # at most
    "withdrawals_as_stolen_units": 0,  # exactly
}
NOTES = [
    "**What the default configuration does about the two hard spots.** (1) *Unrecorded inflows*: where the "
    "experts' USD records make an address send more than the sources gave it (the XScam phishing addresses were "
    "fed by many victims outside the records), the world adds clean value just in time, and value-based taint "
    "dilutes below `min_taint`: everything downstream would be lost. *First-funder attribution* "
    "(`heuristics/attribution.py`) takes an address that was (almost) empty when the thief first paid it as "
    "thief-controlled and follows what it holds of that asset, and so does an address whose first gas the thief's "
    "side paid (a thief wallet, or a gas station probed and found to be no service), from that gas on: what other "
    "victims paid it before the thief did is then followed too. What attributed addresses gain is reported apart "
    "(thief funds). The rows with attribution `off` (`attribution = false`) show what it buys. "
    "(2) *Routing inside a transaction*: a labelled bridge that passes the value on inside the same "
    "transaction (an inbox forwarding to the bridge proper) is followed through by reading that transaction; "
    "what it keeps stays an endpoint. (3) *Services*: an unlabelled address is an unknown service when its first "
    "2,000 transfers, or else its full history, show at least 1,000 counterparties (pass-through router traffic "
    "excluded), so no unrelated payee of a hub is reported.",
    "**Robustness.** The rows with world `unrecorded unseen` rerun the default configuration on worlds "
    "where the unrecorded inflows are not served at all (the address just spends more than its history shows, as "
    "with a source that omits rows): a shortfall is clean value elsewhere, but at an attributed address it is the "
    "thief's like the rest of that asset. The rows with world `hot wallets unlabelled` give the engine no label "
    "for the exchanges' hot wallets: a deposit address is then recognised because it sweeps to one unlabelled "
    "address that proves a service hub and that also paid it (the exchange's gas top-up). The rows with world "
    "`heavy confounders` use another generator seed and the confounder counts issue 13 reports from its "
    "held-out world (12 deposit addresses, 48 per-order addresses, 4 OTC desks, 10 exchange withdrawals).",
    "**What value can reach.** The diagnosis replays each world with full information under haircut "
    "(`bench/reachability.py`: every transaction, no budget, no thresholds). A terminal this replay reaches with "
    "no stolen value at all (the expert records have the launderer pay it before any stolen value arrived, or "
    "after clean top-ups drained it) cannot be found by following value; `missed_endpoints_without_stolen_value` "
    "counts such misses and `endpoint_recall_of_value_reachable` scores the others. Both explain; the target is "
    "scored on every expert terminal.",
    "**Confounders (synthetic).** With `--confounders on` (the default) every case also gets the four SYNTHETIC "
    "confounder kinds of `bench/confounders.py` (interleaved deposit addresses with separate gas funders, "
    "instant-exchanger per-order addresses, OTC counterparties paid first by the thief and then by many clients, "
    "exchange withdrawals into laundering addresses); their truth decides the amount metrics and counts their "
    "endpoints as terminals. None of it is real data: the expert flows are the only real part of each world.",
    "**Baselines.** Breadth-first expands every address above `min_taint` in hop order: when the budget does "
    "not bind it reaches exactly the ranked strategy's set, only in another order. Poison (policy and "
    "strategy) follows every tainted input in full: the most requests.",
]
QUICK_OPTIONS = WorldOptions(users_per_exchange=150, hub_users=150, router_users=100)


def default_configs() -> list[tuple[str, ...]]:
    """The default config, its value-only ablation, every policy with the ranked and the breadth-first
    strategy, then poison/poison."""
    configs: list[tuple[str, ...]] = [DEFAULT, (*DEFAULT, VALUE_ONLY)]
    for strategy in STRATEGIES:
        configs += [(p, strategy) for p in POLICIES if (p, strategy) not in configs]
    return configs + [c for c in BASELINES if c not in configs]


def parse_config(text: str) -> tuple[str, ...]:
    """`policy/strategy` or `policy/strategy/value-only`."""
    parts = tuple(text.split("/"))
    if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != VALUE_ONLY):
        raise SystemExit(f"bad config {text!r}: expected policy/strategy[/{VALUE_ONLY}]")
    return parts


def traced_from_result(result: Any) -> Traced:
    """The traced address set and stopping points of a TraceResult (ethereum rows)."""
    addresses = result.addresses.filter(result.addresses["chain"] == "ethereum")
    flows = result.flows.filter(result.flows["chain"] == "ethereum")
    return Traced.from_rows(
        addresses=zip(addresses["address"].to_list(), addresses["role"].to_list(), strict=True),
        flows=(
            (src, dst, 1)
            for src, dst, tainted in zip(
                flows["from"].to_list(), flows["to"].to_list(), flows["tainted_amount"].to_list(), strict=True
            )
            if _positive(tainted)
        ),
    )


def _positive(value: Any) -> bool:
    try:
        return float(value) > 0
    except (TypeError, ValueError):
        return False


def _counts(result: Any) -> tuple[int, int]:
    counts = result.summary.get("counts", {})
    return int(counts.get("addresses_visited", 0)), int(counts.get("requests", 0))


def _value_reachable(gen: GeneratedWorld, answer: Answer) -> frozenset[str]:
    """Terminals that any stolen value reaches in a full-information haircut replay of the world
    (bench/reachability.py): a ceiling for value tracing, the same for every configuration."""
    reach = haircut_reach(
        gen.world.txs,
        token=gen.token.address,
        seeds=gen.seeds,
        since_block=gen.since_block,
        services={label.address for label in gen.labels},
    )
    return frozenset(a for a in answer.terminals if reach.get(a, 0) > 0)


def _diagnose(
    gen: GeneratedWorld,
    case: GroundTruthCase,
    traced: Traced,
    answer: Answer,
    counterparties: frozenset[str],
    reachable: frozenset[str],
) -> dict[str, Any]:
    """Why addresses were missed or wrongly included (counts only: no data-set rows leave the run).

    `counterparties` are the addresses the trace judged to serve others (summary.json `counterparties`);
    `reachable`, the terminals stolen value can reach at all (`_value_reachable`)."""
    missed = answer.laundering - traced.addresses
    missed_endpoints = answer.terminals - traced.stopped
    false_pos = traced.addresses - answer.expected
    successors: dict[str, set[str]] = {}
    for f in case.flows:
        successors.setdefault(f.sender, set()).add(f.receiver)
    behind_dilution = _downstream(gen.diluted, successors, case.terminals)
    judged = counterparties & case.laundering  # expert laundering addresses that looked like counterparties
    behind_judged = _downstream(frozenset(judged), successors, case.terminals) - judged
    kinds = {**gen.kinds, **({a: k for a, (k, _) in gen.confounders.endpoints.items()} if gen.confounders else {})}
    return {
        "missed_by_kind": dict(Counter(str(gen.kinds.get(a, "?")) for a in missed).most_common()),
        "missed_behind_unrecorded_inflow": len(missed & behind_dilution),
        "laundering_judged_counterparty": len(judged),
        "missed_behind_counterparty": len(missed & behind_judged),
        "missed_endpoints_behind_counterparty": len(missed_endpoints & behind_judged),
        "missed_endpoints_by_kind": dict(Counter(str(kinds.get(a, "?")) for a in missed_endpoints).most_common()),
        "missed_endpoints_reached_not_stopped": len(missed_endpoints & traced.addresses),
        "missed_endpoints_without_stolen_value": len(missed_endpoints - reachable),
        "endpoints_value_reachable": len(reachable),
        "endpoint_recall_of_value_reachable": round(len(reachable & traced.stopped) / len(reachable), 4)
        if reachable
        else None,
        "false_positives_by_origin": dict(
            Counter(
                gen.purposes.get(a, "expert-upstream" if a in case.upstream else "other") for a in false_pos
            ).most_common()
        ),
    }


def _downstream(starts: frozenset[str], successors: dict[str, set[str]], terminals: frozenset[str]) -> set[str]:
    seen = set(starts)
    stack = list(starts)
    while stack:
        node = stack.pop()
        if node in terminals:
            continue
        for nxt in successors.get(node, ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def answer_of(case: GroundTruthCase, gen: GeneratedWorld) -> Answer:
    """The expert answer; the confounder endpoints (deposit, per-order, counterparty) are terminals too."""
    extra = frozenset(gen.confounders.endpoints) if gen.confounders else frozenset()
    return Answer(case.sources, case.laundering, (case.terminals & case.addresses) | extra)


def amount_truth(case: GroundTruthCase, gen: GeneratedWorld) -> AmountTruth:
    """True theft, true endpoint amounts (what the thieves paid each terminal) and the confounders' truth."""
    thieves = case.sources | case.laundering
    endpoints: dict[str, int] = {}
    for f in case.flows:
        if f.receiver in case.terminals and f.sender in thieves:
            endpoints[f.receiver] = endpoints.get(f.receiver, 0) + f.usd_cents * UNITS_PER_CENT
    truth = gen.confounders
    confounded = {a: paid for a, (_kind, paid) in truth.endpoints.items()} if truth else {}
    key = f"ethereum:{gen.token.address}"
    recirculated = sum(
        f.usd_cents * UNITS_PER_CENT for f in case.flows if f.receiver in case.sources and f.sender in case.laundering
    )
    return AmountTruth(
        asset=key,
        decimals=TOKEN_DECIMALS,
        theft=gen.theft,
        decimals_of={key: TOKEN_DECIMALS, "ethereum:native": 18},
        endpoints={**endpoints, **confounded},
        confounder_endpoints=confounded,
        innocent=frozenset(truth.innocent) if truth else frozenset(),
        withdrawals=tuple(truth.withdrawals) if truth else (),
        recirculated={key: recirculated} if recirculated else {},
    )


def run_case_matrix(
    case: GroundTruthCase,
    *,
    options: WorldOptions,
    configs: Sequence[tuple[str, ...]],
    work_dir: Path,
    max_addresses: int | None = None,
) -> dict[str, Any]:
    """Generate the world once, trace it under every config (each from an empty store), score each."""
    from tracer.demo.run import load_label_book, trace_world

    started = time.perf_counter()
    gen = generate_world(case, options)
    generated_in = time.perf_counter() - started
    book = load_label_book(gen.labels)
    answer = answer_of(case, gen)
    amounts = amount_truth(case, gen)
    reachable = _value_reachable(gen, answer)
    runs = []
    for config in configs:
        policy, strategy = config[:2]
        attribution = VALUE_ONLY not in config
        run: dict[str, Any] = {
            "case": case.slug,
            "policy": policy,
            "strategy": strategy,
            "attribution": "first-funder" if attribution else "off",
            "world": "standard",
            "default": tuple(config) == DEFAULT,
            "baseline": tuple(config) in BASELINES or not attribution,
            "error": None,
        }
        try:
            traced_world = trace_world(
                gen.world,
                lambda url, on=attribution: gen.case_toml(api_url=url, attribution=on),
                work_dir=work_dir / f"{case.slug}-{'-'.join(config)}",
                labels=book,
                policy=policy,
                strategy=strategy,
                max_addresses=max_addresses,
            )
        except Exception as exc:  # one failing configuration must not hide the others
            run["error"] = f"{type(exc).__name__}: {exc}"[:300]
            runs.append(run)
            print(f"  {case.slug:<20} {'/'.join(config):<26} ERROR {run['error']}", flush=True)
            continue
        result = traced_world.result
        traced = traced_from_result(result)
        score = score_trace(answer, traced)
        visited, summary_requests = _counts(result)
        requests = traced_world.requests or summary_requests
        run.update(score.as_dict())
        run.update(
            score_amounts(
                amounts,
                summary=result.summary,
                addresses=result.addresses.to_dicts(),
                flows=result.flows.to_dicts(),
                endpoints=result.endpoints.to_dicts(),
            )
        )
        run.update(
            addresses_visited=visited,
            requests=requests,
            requests_per_address=requests_per_address(requests, visited),
            wall_seconds=round(traced_world.seconds, 2),
            complete=bool(result.summary.get("complete")),
            diagnosis=_diagnose(
                gen,
                case,
                traced,
                answer,
                frozenset(c["address"] for c in result.summary.get("counterparties", [])),
                reachable,
            ),
            attributed_addresses=len(result.summary.get("attributed_addresses", [])),
        )
        runs.append(run)
        print(
            f"  {case.slug:<20} {'/'.join(config):<26} recall {score.address_recall:.3f} "
            f"precision {score.precision:.3f} endpoints {score.endpoint_recall:.3f} traced {score.traced:>5} "
            f"fetched {visited:>5} req {requests:>6} ({run['requests_per_address']}/addr) "
            f"{traced_world.seconds:6.1f} s",
            flush=True,
        )
    return {
        "case": {
            "slug": case.slug,
            "title": case.info.title,
            "sources": len(case.sources),
            "laundering": len(case.laundering),
            "terminals": len(answer.terminals),
            "upstream_excluded": len(case.upstream),
            "flows": len(case.flows),
            "world": gen.stats,
            "generated_seconds": round(generated_in, 2),
        },
        "runs": runs,
    }


def shortfalls(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Where the default configuration misses a target, with the diagnosis that explains it."""
    found = []
    for run in runs:
        if not run.get("default"):
            continue
        if run.get("error"):
            found.append({"case": run["case"], "metric": "run", "value": None, "target": "-", "why": run["error"]})
            continue
        diag = run.get("diagnosis", {})
        checks = (
            ("address_recall", run["address_recall"] < TARGETS["address_recall"], _why_recall(run, diag)),
            ("precision", run["precision"] < TARGETS["precision"], _why_precision(diag)),
            ("endpoint_recall", run["endpoint_recall"] < TARGETS["endpoint_recall"], _why_endpoints(diag)),
            (
                "requests_per_address",
                run["requests_per_address"] > TARGETS["requests_per_address"],
                "pagination of large histories (row cap 1000 per request) or repeated partial reads",
            ),
            (
                "stolen_over_theft_worst",
                not run.get("stolen_exact", True),
                f"stolen minus theft per asset (base units): {run.get('stolen_minus_theft_units')}; "
                f"laundering addresses paid back into seeds: {run.get('recirculated_units')}",
            ),
            (
                "innocent_inflow_share",
                run.get("innocent_inflow_share", 0.0) > TARGETS["innocent_inflow_share"],
                f"{run.get('innocent_inflow_units')} base units counted at confounder endpoints beyond the "
                f"{run.get('thief_paid_confounders_units')} the thief paid them; "
                f"{run.get('innocent_addresses_traced')} innocent addresses traced",
            ),
            (
                "withdrawals_as_stolen_units",
                run.get("withdrawals_as_stolen_units", 0) > TARGETS["withdrawals_as_stolen_units"],
                f"of {run.get('withdrawals_total_units')} base units withdrawn from exchanges to laundering addresses",
            ),
        )
        for metric, short, why in checks:
            if short:
                found.append(
                    {"case": run["case"], "metric": metric, "value": run[metric], "target": TARGETS[metric], "why": why}
                )
    return found


def _why_recall(run: dict[str, Any], diag: dict[str, Any]) -> str:
    kinds = ", ".join(f"{n} {k}" for k, n in diag.get("missed_by_kind", {}).items())
    return (
        f"{run['laundering_total'] - run['laundering_found']} laundering addresses not reached ({kinds}); "
        f"{diag.get('missed_behind_unrecorded_inflow', 0)} of them sit downstream of an address whose outflows the "
        "records do not cover with inflows from the sources (unrecorded inflows dilute the taint below min_taint); "
        f"{diag.get('missed_behind_counterparty', 0)} sit behind the {diag.get('laundering_judged_counterparty', 0)} "
        "laundering addresses that the records show paid by many outside senders (judged counterparties)"
    )


def _why_precision(diag: dict[str, Any]) -> str:
    origins = ", ".join(f"{n} {k}" for k, n in list(diag.get("false_positives_by_origin", {}).items())[:6])
    return f"traced addresses outside the answer, by origin: {origins}"


def _why_endpoints(diag: dict[str, Any]) -> str:
    kinds = ", ".join(f"{n} {k}" for k, n in diag.get("missed_endpoints_by_kind", {}).items())
    passed = diag.get("missed_endpoints_reached_not_stopped", 0)
    behind = diag.get("missed_endpoints_behind_counterparty", 0)
    return (
        f"terminals not stopped at: {kinds}; {passed} of them were reached but value was followed through them; "
        f"{behind} sit behind laundering addresses judged counterparties; "
        f"{diag.get('missed_endpoints_without_stolen_value', 0)} receive no stolen value at all in a "
        "full-information haircut replay of the world (bench/reachability.py)"
    )


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_quality", description="tracing quality benchmark")
    parser.add_argument(
        "--cases", nargs="*", default=None, help="cluster numbers or slugs (default: every cluster found)"
    )
    parser.add_argument("--configs", nargs="*", default=None, help="policy/strategy pairs (default: the full matrix)")
    parser.add_argument("--quick", action="store_true", help="smaller synthetic crowds (for a fast look)")
    parser.add_argument(
        "--confounders",
        choices=("on", "off"),
        default="on",
        help="add the SYNTHETIC confounders of issue 13 (bench/confounders.py); off: the standard world",
    )
    parser.add_argument(
        "--no-robustness", action="store_true", help="skip the default config's reruns on the robustness worlds"
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON")
    args = parser.parse_args(list(argv) if argv is not None else [])
    configs = [parse_config(c) for c in args.configs] if args.configs else default_configs()
    options = QUICK_OPTIONS if args.quick else WorldOptions()
    if args.confounders == "on":
        options = replace(options, confounders=QUICK_CONFOUNDERS if args.quick else Confounders())
    started = time.perf_counter()
    cases_out: list[dict[str, Any]] = []
    runs: list[dict[str, Any]] = []
    skipped: list[str] = []
    with tempfile.TemporaryDirectory(prefix="heisttrace-bench-quality-") as tmp:
        for key in args.cases or [c.number for c in available_cases()]:
            try:
                case = read_case(key)
            except GroundTruthMissing as exc:
                skipped.append(str(exc))
                print(f"skipped: {exc}")
                continue
            except BadInput as exc:
                raise SystemExit(f"bench quality: {exc}") from None
            print(f"{case.slug}: {len(case.flows)} expert flows, {len(case.laundering)} laundering addresses")
            block = run_case_matrix(case, options=options, configs=configs, work_dir=Path(tmp))  # type: ignore[arg-type]
            cases_out.append(block["case"])
            runs.extend(block["runs"])
            if not args.no_robustness:  # the default configuration on worlds that differ from the standard one
                for world, variant in ROBUSTNESS_WORLDS.items():
                    if "confounders" in variant and options.confounders is None:
                        continue
                    extra = run_case_matrix(
                        case, options=replace(options, **variant), configs=[DEFAULT], work_dir=Path(tmp) / world
                    )
                    runs.extend({**r, "default": False, "world": world} for r in extra["runs"])
    doc: dict[str, Any] = {
        "benchmark": "quality",
        "command": "python -m bench quality",
        "dataset": CITATION,
        "world_options": _options_dict(options),
        "default": {"policy": DEFAULT[0], "strategy": DEFAULT[1], "attribution": "first-funder"},
        "targets": TARGETS,
        "cases": cases_out,
        "runs": runs,
        "shortfalls": shortfalls(runs),
        "skipped": skipped,
        "notes": NOTES,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "total_seconds": round(time.perf_counter() - started, 1),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.output} in {doc['total_seconds']} s")
    return doc


def _options_dict(options: Any) -> dict[str, Any]:
    out = {}
    for name in options.__slots__:
        value = getattr(options, name)
        out[name] = _options_dict(value) if hasattr(value, "__slots__") else value
    return out


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
