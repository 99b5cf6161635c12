"""Does the shared HTTP client sustain its configured rate? 4 workers, 20 requests/s, ~10 s, local server.

A small emulator on 127.0.0.1 answers every request at once; four threads share one
:class:`chains.http.HttpClient` (token bucket 20/s, burst 1, 4 concurrent requests) and call
it as fast as they can. Achieved rate = requests completed / elapsed seconds; the busiest
one-second window of arrivals at the server shows the limiter does not overshoot. `python -m bench.bench_client`.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from pathlib import Path
from typing import Any

from chains.emulators.server import EmulatorServer, Reply, Request
from chains.http import HttpClient

RESULTS = Path(__file__).resolve().parent / "results"


class _Pong(EmulatorServer):
    def __init__(self) -> None:
        super().__init__()
        self.arrivals: list[float] = []

    def handle(self, request: Request) -> Reply:
        self.arrivals.append(time.monotonic())
        return Reply.json({"status": "1", "message": "OK", "result": request.query.get("n", "")})


def run(*, rate: float = 20.0, workers: int = 4, seconds: float = 10.0) -> dict[str, Any]:
    stamps: list[float] = []
    latencies: list[float] = []
    lock = threading.Lock()
    with _Pong() as server:
        client = HttpClient(source="bench", rate_per_s=rate, burst=1, max_concurrency=workers)
        client.get_json(server.base_url + "/warm-up")  # connect once, spend the burst token
        time.sleep(1.0 / rate)
        started = time.monotonic()
        deadline = started + seconds

        def worker(index: int) -> None:
            n = 0
            while time.monotonic() < deadline and n < int(rate * seconds * 2):  # bounded in time and count
                before = time.monotonic()
                if before >= deadline:
                    break
                client.get_json(server.base_url + "/ping", params={"n": f"{index}-{n}"})
                after = time.monotonic()
                with lock:
                    stamps.append(after)
                    latencies.append(after - before)
                n += 1

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        served = server.requests
        arrivals = [a for a in server.arrivals if started <= a <= deadline]
    done = [s for s in stamps if s <= deadline]
    achieved = len(done) / seconds
    busiest = max(sum(1 for s in arrivals if w <= s < w + 1.0) for w in arrivals) if arrivals else 0
    return {
        "configured_rate_per_s": rate,
        "workers": workers,
        "seconds": seconds,
        "requests": len(done),
        "achieved_rate_per_s": round(achieved, 2),
        "share_of_configured_pct": round(100.0 * achieved / rate, 1),
        "busiest_1s_window": busiest,
        "median_wait_ms": round(1000 * statistics.median(latencies), 1) if latencies else None,
        "server_requests": served,
    }


def main() -> dict[str, Any]:
    result = run()
    print(f"{'configured/s':>13} {'workers':>8} {'requests':>9} {'achieved/s':>11} {'share':>7} {'busiest 1s':>11}")
    share = f"{result['share_of_configured_pct']}%"
    print(
        f"{result['configured_rate_per_s']:>13} {result['workers']:>8} {result['requests']:>9}"
        f" {result['achieved_rate_per_s']:>11} {share:>7} {result['busiest_1s_window']:>11}"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "client.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
