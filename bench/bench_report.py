"""How fast is the reporter on a 5,000-address trace, and does report.html stay responsive in Chromium?

A SYNTHETIC bundle of ~5,000 traced addresses (tests/report_fixtures.py) is rendered to
report.html (read + analyse + render, best of three), report.md and every export. Then real
headless Chromium (DevTools protocol, tests/report_browser.py) opens the report: time to the
load event, to the graph being ready, to idle (two animation frames and an idle callback after
ready), long tasks (> 50 ms) on the main thread, and the latency of interactions — selecting a
node (details panel filled and painted), a zoom step and a pan step (next frame painted).
Target: render ≤ 10 s. `python -m bench.bench_report`.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.report_browser import Browser, chromium_path
from tests.report_fixtures import write_synthetic_bundle
from tracer.report import write_report
from tracer.report.bundle import read_bundle
from tracer.report.exports import FORMATS, export_bundle

RESULTS = Path(__file__).resolve().parent / "results"
ADDRESSES = 5_000
RENDER_TARGET_S = 10.0
LONG_TASKS = """
window.__longTasks = [];
new PerformanceObserver(list => { for (const e of list.getEntries()) window.__longTasks.push(e.duration); })
  .observe({entryTypes: ['longtask']});
"""
NEXT_PAINT = "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


def _timed(fn: Any) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _interaction(page: Any, action: str) -> float:
    """Milliseconds from starting `action` in the page to the next painted frame."""
    return page.evaluate(
        f"(async () => {{ const t = performance.now(); {action}; await {NEXT_PAINT}; "
        "return performance.now() - t; })()",
        await_promise=True,
    )


def measure_browser(report: Path) -> dict[str, Any]:
    with Browser(timeout=60) as browser:
        page = browser.open(report.as_uri(), init_script=LONG_TASKS)
        load_s = page.load_seconds
        ready_s = page.wait_for("window.heisttrace && window.heisttrace.ready === true", timeout=60)
        idle_ms = page.evaluate(
            f"(async () => {{ const t = performance.now(); await {NEXT_PAINT}; "
            "await new Promise(r => requestIdleCallback(r, {timeout: 5000})); return performance.now() - t; })()",
            await_promise=True,
        )
        nodes = page.evaluate("window.heisttrace.nodeIds()")
        select_ms = [
            _interaction(page, f"window.heisttrace.selectNode({json.dumps(node)})")
            for node in nodes[:: max(len(nodes) // 20, 1)]
        ]
        zoom_ms = [
            _interaction(page, "window.heisttrace.cy.zoom(window.heisttrace.cy.zoom() * 1.25)") for _ in range(10)
        ]
        pan_ms = [_interaction(page, "window.heisttrace.cy.panBy({x: 40, y: 25})") for _ in range(10)]
        long_tasks = page.evaluate("window.__longTasks")
        errors = page.log().errors()
        requests = page.log().requests
    return {
        "load_event_s": round(load_s, 3),
        "graph_ready_after_load_s": round(ready_s, 3),
        "load_to_idle_s": round(load_s + ready_s + idle_ms / 1000, 3),
        "graph_nodes_drawn": len(nodes),
        "select_node_ms_median": round(statistics.median(select_ms), 1),
        "select_node_ms_max": round(max(select_ms), 1),
        "zoom_frame_ms_median": round(statistics.median(zoom_ms), 1),
        "pan_frame_ms_median": round(statistics.median(pan_ms), 1),
        "long_tasks_over_50ms": len(long_tasks),
        "longest_task_ms": round(max(long_tasks), 1) if long_tasks else 0.0,
        "console_errors": len(errors),
        "requests_outside_file": len([u for u in requests if u != report.as_uri()]),
    }


def main() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        bundle_dir = write_synthetic_bundle(Path(tmp) / "bundle", addresses=ADDRESSES)
        bundle = read_bundle(bundle_dir)
        sizes = {
            "addresses": len({(r.chain, r.address) for r in bundle.addresses}),
            "flows": len(bundle.flows),
            "endpoints": len(bundle.endpoints),
        }
        html_runs = [_timed(lambda: write_report(bundle_dir)) for _ in range(3)]
        report = bundle_dir / "report.html"
        result: dict[str, Any] = {
            "bundle": sizes,
            "html_render_s_best": round(min(html_runs), 3),
            "html_render_s_worst": round(max(html_runs), 3),
            "html_bytes": report.stat().st_size,
            "html_within_target": max(html_runs) <= RENDER_TARGET_S,
            "md_render_s": round(_timed(lambda: write_report(bundle_dir, fmt="md")), 3),
            "exports_s": {
                fmt: round(_timed(lambda fmt=fmt: export_bundle(bundle, fmt, out=Path(tmp) / f"export.{fmt}")), 3)
                for fmt in FORMATS
            },
        }
        result["browser"] = measure_browser(report) if chromium_path() else "skipped: chromium is not installed"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "report.json").write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(f"report of {sizes['addresses']:,} addresses, {sizes['flows']:,} flows, {sizes['endpoints']:,} endpoints")
    print(
        f"  report.html render   {result['html_render_s_best']:.2f} s best, "
        f"{result['html_render_s_worst']:.2f} s worst "
        f"(target ≤ {RENDER_TARGET_S:.0f} s), {result['html_bytes'] / 1e6:.1f} MB"
    )
    print(f"  report.md render     {result['md_render_s']:.2f} s")
    print("  exports              " + ", ".join(f"{k} {v:.2f} s" for k, v in result["exports_s"].items()))
    if isinstance(result["browser"], dict):
        b = result["browser"]
        print(
            f"  chromium load→idle   {b['load_to_idle_s']:.2f} s (load event {b['load_event_s']:.2f} s), "
            f"{b['graph_nodes_drawn']} nodes drawn"
        )
        print(
            f"  interactions         select {b['select_node_ms_median']} ms (max {b['select_node_ms_max']}), "
            f"zoom {b['zoom_frame_ms_median']} ms, pan {b['pan_frame_ms_median']} ms per frame"
        )
        print(
            f"  long tasks >50 ms    {b['long_tasks_over_50ms']} (longest {b['longest_task_ms']} ms); "
            f"console errors {b['console_errors']}, outside requests {b['requests_outside_file']}"
        )
    else:
        print(f"  chromium             {result['browser']}")
    return result


if __name__ == "__main__":
    main()
