"""Request rates (issue 15 item 5): configurable per source (case file `rate`, `--rate N`), shared across
processes using one key through the store (tracer/store/ratebudget.py), shown on the live line.

SYNTHETIC world of tests/test_engine_cli.py behind the Etherscan emulator on 127.0.0.1, which limits
the test key to 3 requests per second as a free Etherscan key would be.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chains.emulators.etherscan import EtherscanEmulator
from chains.http import HttpClient, RetryPolicy, rate_limit_status
from chains.ratelimit import LIMITERS, key_fingerprint
from tests.cli_env import labelled_home, make_env
from tests.test_engine_cli import CASE, EXCHANGE, MIXER, THIEF, synthetic_world
from tracer.bundle.schema import CONTRACT_FILES
from tracer.cli import main
from tracer.store.ratebudget import RateBudget, budget_path

KEY = "SYNTHETICKEY0123456789ABCDEFGHIJ"  # a made-up key (the emulator accepts it)
ROOT = Path(__file__).resolve().parents[1]


def _case(tmp: Path, url: str, name: str, *, policy: str = "haircut", rate: str = "") -> Path:
    text = CASE.format(thief=THIEF, url=url).replace('id = "synthetic-cli"', f'id = "synthetic-{name}"')
    text = text.replace('policy = "haircut"', f'policy = "{policy}"')
    if rate:
        text = text.replace('kind = "etherscan", url', f'kind = "etherscan", rate = {rate}, url')
    path = tmp / f"{name}.toml"
    path.write_text(text)
    return path


def test_case_file_rate_reaches_the_client(tmp_path: Path) -> None:
    case = _case(tmp_path, "http://127.0.0.1:9/v2/api", "r", rate="4")
    from tracer.cases.plan import build_plan
    from tracer.sources.factory import build_adapter

    plan = build_plan(case)
    assert plan.sources["ethereum"].rate == 4.0
    adapter = build_adapter("ethereum", plan.sources["ethereum"])
    assert adapter.client.rate_per_s == 4.0
    assert build_plan(case, rate=2).sources["ethereum"].rate == 2.0  # --rate wins over the case file


@pytest.mark.parametrize("rate", ["0", "-1", '"fast"', "1e9", "true"])
def test_a_bad_rate_in_the_case_file_is_one_line_exit_2(tmp_path: Path, rate: str) -> None:
    case = _case(tmp_path, "http://127.0.0.1:9/v2/api", "bad", rate=rate)
    env, _, err = make_env(tmp_path / "home")
    assert main(["trace", str(case), "--out", str(tmp_path / "b")], env=env) == 2
    line = " ".join(err.getvalue().split())  # the console wraps at its width
    assert line.count("heisttrace:") == 1 and "source.ethereum.rate" in line and "Traceback" not in line


@pytest.mark.parametrize("command", ["trace", "fetch"])
def test_a_bad_rate_flag_is_exit_2(tmp_path: Path, command: str) -> None:
    case = _case(tmp_path, "http://127.0.0.1:9/v2/api", "flag")
    env, _, err = make_env(tmp_path / "home")
    argv = ["trace", str(case), "--out", str(tmp_path / "b")] if command == "trace" else ["fetch", "ethereum", THIEF]
    assert main([*argv, "--rate", "0"], env=env) == 2
    assert "--rate" in err.getvalue()


def test_the_shared_budget_spaces_requests_across_budgets_and_stores_no_key(tmp_path: Path) -> None:
    path = budget_path(tmp_path / "store.sqlite3")
    now = [1000.0]
    one, two = RateBudget(path, clock=lambda: now[0]), RateBudget(path, clock=lambda: now[0])  # two "processes"
    fp = key_fingerprint([KEY])
    waits = [b.reserve("api.example:443", fp, 4.0) for b in (one, two, one, two)]
    assert waits == [0.0, 0.25, 0.5, 0.75]
    assert one.reserve("api.example:443", key_fingerprint(["other"]), 4.0) == 0.0  # another key, another budget
    one.close(), two.close()
    data = path.read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("*.rates-*"))
    assert KEY.encode() not in data and fp.encode() in data


def test_an_unusable_budget_file_degrades_to_limiting_alone(tmp_path: Path) -> None:
    budget = RateBudget(tmp_path / "missing-dir" / "x.rates")
    assert budget.reserve("h", "fp", 3.0, delay=0.2) == 0.2 and budget.disabled


def test_the_live_line_says_when_a_request_waits_on_a_slot_of_another_process(tmp_path: Path) -> None:
    seen: list[str] = []

    def sleep(seconds: float) -> None:
        seen.append(rate_limit_status())

    previous = LIMITERS.shared
    other = RateBudget(budget_path(tmp_path / "s.sqlite3"))
    LIMITERS.share_through(RateBudget(budget_path(tmp_path / "s.sqlite3")))
    try:
        with EtherscanEmulator(synthetic_world()) as server:
            client = HttpClient(source="etherscan", rate_per_s=2.0, retry=RetryPolicy(attempts=2), sleep=sleep)
            host = server.api_url.split("//", 1)[1].split("/", 1)[0]
            for _ in range(3):  # another process booked the next 1.5 s of this key's budget
                other.reserve(host, key_fingerprint([]), 2.0)
            client.get(server.api_url, params={"module": "proxy", "action": "eth_blockNumber", "chainid": "1"})
    finally:
        LIMITERS.share_through(previous)
    assert seen == ["waiting on etherscan rate limit"]


def _trace(case: Path, home: Path, out: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "HEISTTRACE_HOME": str(home), "ETHERSCAN_API_KEY": KEY, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "tracer", "trace", str(case), "--out", str(out), *extra],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _finish(proc: subprocess.Popen) -> tuple[int, str]:
    out, err = proc.communicate(timeout=300)
    return proc.returncode, (out + err).decode()


def test_two_processes_sharing_one_key_finish_with_the_bundles_they_give_alone(tmp_path: Path) -> None:
    with EtherscanEmulator(synthetic_world(), api_keys={KEY}, rate_limit_per_s=3) as server:
        cases = {
            "a": _case(tmp_path, server.api_url, "a"),
            "b": _case(tmp_path, server.api_url, "b", policy="fifo"),
        }
        alone = {}
        for name, case in cases.items():
            home = labelled_home(tmp_path / f"alone-{name}", exchange=EXCHANGE, mixer=MIXER)
            code, text = _finish(_trace(case, home, tmp_path / f"alone-{name}" / "out", "--rate", "3"))
            assert code == 0, text
            alone[name] = tmp_path / f"alone-{name}" / "out"
        server.reset_counters()
        shared_home = labelled_home(tmp_path / "together", exchange=EXCHANGE, mixer=MIXER)
        started = time.monotonic()
        procs = {
            name: _trace(case, shared_home, tmp_path / "together" / name, "--rate", "3") for name, case in cases.items()
        }
        results = {name: _finish(proc) for name, proc in procs.items()}
        elapsed = time.monotonic() - started
        refused, served = server.rate_limited, server.requests
    for name, (code, text) in results.items():
        assert code == 0, text
        assert "Traceback" not in text and KEY not in text
        for file in CONTRACT_FILES:
            together = (tmp_path / "together" / name / file).read_bytes()
            assert together == (alone[name] / file).read_bytes(), (name, file)
    # the two processes kept to the key's 3 requests/s together: the server refused (almost) nothing
    assert refused == 0, (refused, served, elapsed)
    assert served >= 3 * (elapsed - 1) * 0.5  # and they did not crawl either
    assert KEY.encode() not in budget_path(shared_home / "store.sqlite3").read_bytes()


def test_without_a_shared_budget_two_processes_still_finish(tmp_path: Path, monkeypatch) -> None:
    """Degraded (each process alone): rate-limit answers slow both down, neither fails."""
    with EtherscanEmulator(synthetic_world(), api_keys={KEY}, rate_limit_per_s=3) as server:
        cases = [_case(tmp_path, server.api_url, "c"), _case(tmp_path, server.api_url, "d", policy="fifo")]
        procs = []
        for i, case in enumerate(cases):  # two homes: no store (and no budget) in common
            home = labelled_home(tmp_path / f"h{i}", exchange=EXCHANGE, mixer=MIXER)
            procs.append(_trace(case, home, tmp_path / f"out{i}", "--rate", "6"))
        results = [_finish(p) for p in procs]
    for code, text in results:
        assert code == 0, text
