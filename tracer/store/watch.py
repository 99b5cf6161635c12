"""The store's watch tables: alerts already reported, and those the webhook has not accepted yet."""

from __future__ import annotations

import json
from typing import Any


def record_alerts(store: Any, case_id: str, alerts: list[dict[str, Any]], *, needs_delivery: bool) -> list[dict]:
    """Remember `alerts`; returns those not seen before (in order). Undelivered when `needs_delivery`."""
    fresh = []
    with store._write() as conn:
        for alert in alerts:
            key = (case_id, alert["chain"], alert["tx_hash"], int(alert["position"]))
            row = conn.execute(
                "SELECT 1 FROM watch_alerts WHERE case_id = ? AND chain = ? AND tx_hash = ? AND position = ?", key
            ).fetchone()
            if row is not None:
                continue
            conn.execute(
                "INSERT INTO watch_alerts (case_id, chain, tx_hash, position, body, seen_at, delivered)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (*key, json.dumps(alert, sort_keys=True), int(store._clock()), 0 if needs_delivery else 1),
            )
            fresh.append(alert)
    return fresh


def undelivered(store: Any, case_id: str) -> list[dict[str, Any]]:
    """Alerts the webhook has not accepted yet, oldest first."""
    with store._read() as conn:
        rows = conn.execute(
            "SELECT body FROM watch_alerts WHERE case_id = ? AND delivered = 0 ORDER BY seen_at, chain, tx_hash,"
            " position",
            (case_id,),
        ).fetchall()
    return [json.loads(r[0]) for r in rows]


def mark_delivered(store: Any, case_id: str, alert: dict[str, Any]) -> None:
    with store._write() as conn:
        conn.execute(
            "UPDATE watch_alerts SET delivered = 1 WHERE case_id = ? AND chain = ? AND tx_hash = ? AND position = ?",
            (case_id, alert["chain"], alert["tx_hash"], int(alert["position"])),
        )
