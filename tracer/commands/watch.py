"""`heisttrace watch DIR`: report each new outflow of dormant loot or thief-controlled addresses once."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from tracer.core.errors import BadInput
from tracer.environment import Environment


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "watch",
        help="report new outflows of addresses holding unmoved stolen value or thief-controlled",
        description=(
            "Re-trace the bundle's case past its pinned tip and print one JSON line per new outflow of an "
            "address that held unmoved stolen value or is thief-controlled (each reported once: the store "
            "remembers it). With --webhook, each alert is also POSTed (retried; alerts the webhook does not "
            "accept stay queued and are retried next round). Without --once, runs every --interval seconds "
            "until interrupted (Ctrl-C: exit 130)."
        ),
    )
    parser.add_argument("bundle", help="the bundle directory written by 'heisttrace trace'")
    parser.add_argument("--once", action="store_true", help="one round, then exit 0")
    parser.add_argument("--interval", type=float, default=300.0, help="seconds between rounds (default 300)")
    parser.add_argument("--webhook", help="URL to POST each alert to (JSON)")
    parser.add_argument("--json", action="store_true", help="JSON lines only (the default output is JSON lines too)")
    parser.add_argument("--api-url", help="Etherscan-compatible API URL (overrides the case's)")
    parser.add_argument("--case", dest="case_file", help="the case file, when the bundle holds no case.toml copy")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, env: Environment) -> int:
    from pathlib import Path

    from tracer.cases.case import read_case
    from tracer.incident.bundle import read_bundle
    from tracer.store import Store

    if args.api_url is not None:
        from chains.http import check_url

        check_url(args.api_url, what="--api-url")
    if args.webhook is not None:
        from chains.http import check_url

        check_url(args.webhook, what="--webhook")
    if args.interval <= 0:
        raise BadInput(f"--interval must be more than 0 seconds, not {args.interval}")
    bundle = read_bundle(args.bundle)
    case_path = Path(args.case_file) if args.case_file else bundle.case_file()
    if case_path is None:
        raise BadInput(f"{args.bundle} holds no case.toml; give the case file with --case")
    case = read_case(case_path).with_overrides(api_url=args.api_url)
    with Store.open(env.store_path) as store:
        while True:
            watch_round(bundle, case, store=store, env=env, webhook=args.webhook, api_url=args.api_url)
            if args.once:
                return 0
            time.sleep(args.interval)


def watch_round(bundle: Any, case: Any, *, store: Any, env: Environment, webhook: str | None, api_url: str | None):
    """Re-trace, print the new alerts, deliver every queued alert to the webhook."""
    from tracer.incident.watch import new_outflows, retrace
    from tracer.incident.webhook import post_alert
    from tracer.store.watch import mark_delivered, record_alerts, undelivered

    result, _ = retrace(bundle, case, store=store, api_url=api_url, api_key=env.api_key("ETHERSCAN_API_KEY"))
    fresh = record_alerts(store, bundle.case_id, list(new_outflows(bundle, result)), needs_delivery=bool(webhook))
    for alert in fresh:
        env.stdout.out(json.dumps(alert, sort_keys=True, ensure_ascii=False), highlight=False)
    if webhook:
        for alert in undelivered(store, bundle.case_id):
            if post_alert(webhook, alert):
                mark_delivered(store, bundle.case_id, alert)
    return fresh
