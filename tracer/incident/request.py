"""The text of a freeze / identification request to one service, from bundle files only."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tracer.incident.bundle import Bundle


def request_markdown(
    bundle: Bundle,
    service: str,
    rows: list[dict[str, str]],
    found: list[dict[str, str]],
    paths: dict[str, list[str]],
    sums: dict[str, Decimal],
) -> str:
    """request.md: who, what, when, the path to each deposit, evidence hashes, method and limits."""
    s, m = bundle.summary, bundle.manifest
    seeds = ", ".join(
        f"{x['chain']} {x.get('address') or x.get('tx')} ({x.get('role', 'thief')})" for x in s.get("seeds", [])
    )
    policy = str(s.get("policy", ""))
    lines = [
        f"# Request to freeze or identify: {service}",
        "",
        f"Case: {s.get('case', '')}. Prepared with heisttrace {m.get('version', '')} from the case's trace bundle.",
        "",
        "## What we ask",
        "",
        f"Funds traced to addresses we believe belong to {service} are, in part, proceeds of the theft described "
        "below. We ask you to review the deposits listed, to hold the remaining balance where your policy allows, "
        "and to preserve the account records (identity, logins, withdrawals) of the account(s) credited.",
        "",
        "## The theft",
        "",
        f"Starting points (seeds): {seeds}.",
        "",
        "## Deposits",
        "",
        "| time (UTC) | chain | deposit address | tx | asset | received | of which stolen |",
        "|---|---|---|---|---|---:|---:|",
    ]
    lines += [
        f"| {d['time']} | {d['chain']} | {d['deposit_address']} | {d['tx_hash']} | {d['asset']} | "
        f"{d['amount_received']} | {d['stolen_amount']} |"
        for d in found
    ]
    lines += ["", "Total stolen value deposited, per asset: " + "; ".join(f"{k}: {v}" for k, v in sums.items()), ""]
    lines += ["## Path from the theft to each deposit address", ""]
    for row in sorted(rows, key=lambda r: r["address"]):
        path = paths.get(row["address"]) or []
        shown = " → ".join(path) if path else "(no single path in the bundle; see flows.csv)"
        lines.append(f"- {row['address']} ({row['category']}, label source {row['label_source']}): {shown}")
    lines += [
        "",
        "## Evidence",
        "",
        f"- case file SHA-256: {m.get('case_file_sha256', 'not recorded')}",
        f"- chain tips the trace read up to: {_tips(m)}",
        f"- raw explorer responses archived: {len(m.get('raw_responses') or [])} (SHA-256 of each in manifest.json)",
        "- the bundle's flows.csv holds every transfer on the paths above, with explorer links here in deposits.csv",
        "",
        "## Method and limits",
        "",
        f"Stolen value was followed hop by hop under the {policy} policy: {_policy_words(policy)} "
        "A stolen amount is the share of a deposit attributed to the theft under that policy, not a claim that the "
        "rest of the deposit is clean or tainted. Labels come from the sources named above; a deposit address "
        "found by heuristic (label source beginning with 'heuristic:') should be confirmed in your own records. "
        f"The trace was {'complete' if s.get('complete') else 'INCOMPLETE (see gaps in summary.json)'} within its "
        "limits (hops, budget, threshold in summary.json).",
        "",
    ]
    return "\n".join(lines)


def _tips(manifest: dict[str, Any]) -> str:
    heights = manifest.get("block_heights") or {}
    return ", ".join(f"{c} block {b}" for c, b in sorted(heights.items())) or "not recorded"


def _policy_words(policy: str) -> str:
    return {
        "haircut": "every outflow of an address carries stolen value in proportion to the stolen share of its balance.",
        "poison": "any outflow of an address that received stolen value is counted as stolen (an upper bound).",
        "fifo": "value leaves an address in the order it arrived.",
        "lifo": "the latest value to arrive leaves first.",
        "tiho": "stolen value leaves first (taint in, haircut out).",
    }.get(policy, "see the methodology of the report.")
