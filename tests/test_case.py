"""Case files: valid ones parse to the right values; each malformed one gives a one-line error naming the problem."""

from __future__ import annotations

import io
import subprocess
import sys
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from rich.console import Console

from tracer.cases.case import Case, SourceSpec, TimeBound, parse_case, read_case
from tracer.cli import build_parser, main
from tracer.core.errors import BadCaseFile, BadInput
from tracer.core.models import Policy
from tracer.environment import Environment

DATA = Path(__file__).parent / "data"
BAD_CASES = sorted((DATA / "bad_cases").glob("*.toml"))
GOOD = DATA / "cases"


def _expected_fragment(path: Path) -> str:
    first = path.read_bytes().split(b"\n", 1)[0].decode("ascii")
    assert first.startswith("# expect: "), f"{path.name} lacks its '# expect: ...' first line"
    return first.removeprefix("# expect: ").strip()


def test_corpus_is_large_enough() -> None:
    assert len(BAD_CASES) >= 30


@pytest.mark.parametrize("path", BAD_CASES, ids=[p.stem for p in BAD_CASES])
def test_bad_case_gives_one_line_error_naming_file_and_problem(path: Path) -> None:
    with pytest.raises(BadCaseFile) as info:
        read_case(path)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    assert message.startswith(f"{path}: ")
    assert _expected_fragment(path) in message
    assert info.value.exit_code == 2
    assert "SECRETKEY123" not in message  # a key in a URL is never echoed


def test_interfaces_example_parses() -> None:
    case = read_case(GOOD / "interfaces_example.toml")
    assert case.id == "atomic-wallet-2023"
    assert case.title == "Atomic Wallet hack, June 2023"
    assert case.path == GOOD / "interfaces_example.toml"
    (seed,) = case.seeds
    assert seed.chain == "ethereum" and seed.address == "0x6dd68bb7177edfb4f2f88fe62d80a6545378ef40"
    assert seed.role == "thief" and seed.amount == Decimal("123.4") and seed.asset == "ETH"
    assert case.trace.since == TimeBound(timestamp=1685664000)  # 2023-06-02T00:00:00Z
    assert case.trace.until == TimeBound(timestamp=1719705600)
    assert case.trace.policy is Policy.HAIRCUT
    assert case.trace.min_taint == Fraction(1, 10_000)
    assert (case.trace.max_hops, case.trace.max_addresses) == (25, 3000)
    assert case.sources["bitcoin"] == SourceSpec("esplora", "https://mempool.space/api")


def test_defaults_when_keys_are_absent() -> None:
    case = read_case(GOOD / "minimal.toml")
    assert case.title == "minimal" and case.notes == ""
    assert case.seeds[0].address == "0x6dd68bb7177edfb4f2f88fe62d80a6545378ef40"  # checksummed input, stored lower
    assert case.trace.since == TimeBound(block=0) and case.trace.until is None
    assert case.trace.policy is Policy.HAIRCUT
    assert (case.trace.max_hops, case.trace.min_taint, case.trace.max_addresses) == (25, Fraction(1, 10000), 3000)
    assert case.source_for("ethereum") == SourceSpec("etherscan")
    assert case.source_for("bitcoin") == SourceSpec("esplora")
    assert case.source_for("tron") == SourceSpec("tron")


def test_mixed_chains_blocks_tx_seed_and_victim() -> None:
    case = read_case(GOOD / "mixed_chains.toml")
    assert case.chains == ("bitcoin", "ethereum", "bsc")
    btc, victim, bsc = case.seeds
    assert btc.tx == "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b" and btc.address is None
    assert victim.role == "victim" and victim.amount == Decimal("1000000") and victim.asset == "USDT"
    assert bsc.amount == Decimal("12.5") and bsc.asset is None
    assert case.trace.since == TimeBound(block=17_000_000) and case.trace.until == TimeBound(block=18_000_000)
    assert case.trace.min_taint == Fraction(1, 1000)  # a TOML float is read by its decimal text
    assert case.trace.policy is Policy.FIFO
    assert case.source_for("bitcoin") == SourceSpec("esplora")
    assert case.source_for("bsc") == SourceSpec("rpc", "http://127.0.0.1:8545")


def test_time_bounds_accept_offsets_and_toml_datetimes() -> None:
    base = '[case]\nid = "t"\n[[seeds]]\nchain = "ethereum"\naddress = "0x' + "ab" * 20 + '"\n[trace]\n'
    offset = parse_case(base + 'since = "2023-06-02T02:00:00+02:00"\n', name="x.toml")
    native = parse_case(base + "since = 2023-06-02T00:00:00Z\n", name="x.toml")
    assert offset.trace.since == native.trace.since == TimeBound(timestamp=1685664000)
    assert str(native.trace.since) == "2023-06-02T00:00:00Z"


def test_parse_case_names_the_given_name() -> None:
    with pytest.raises(BadCaseFile, match=r"^inline-case: case: expected"):
        parse_case("", name="inline-case")


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BadCaseFile, match="cannot read the case file"):
        read_case(tmp_path / "nope.toml")


class TestOverrides:
    def case(self) -> Case:
        return read_case(GOOD / "mixed_chains.toml")

    def test_policy_and_budget(self) -> None:
        case = self.case().with_overrides(policy="tiho", max_addresses=7)
        assert case.trace.policy is Policy.TIHO and case.trace.max_addresses == 7
        assert case.seeds == self.case().seeds

    def test_bad_policy_names_the_flag(self) -> None:
        with pytest.raises(BadInput, match=r"^--policy: expected poison \| haircut"):
            self.case().with_overrides(policy="median")
        with pytest.raises(BadInput, match="--max-addresses"):
            self.case().with_overrides(max_addresses=0)

    def test_source_kind_applies_where_it_fits(self) -> None:
        case = self.case().with_overrides(source_kind="rpc")
        assert {c: case.source_for(c).kind for c in case.chains} == {
            "bitcoin": "esplora",
            "ethereum": "rpc",
            "bsc": "rpc",
        }
        expected = "--source: expected one of etherscan, rpc, esplora, tron, export, got 'snapshot'"
        with pytest.raises(BadInput, match=expected):
            self.case().with_overrides(source_kind="snapshot")
        case = read_case(GOOD / "interfaces_example.toml").with_overrides(source_kind="rpc")
        assert case.source_for("ethereum") == SourceSpec("rpc")  # the etherscan URL does not carry over
        with pytest.raises(BadInput, match="--source esplora: no seed chain"):
            read_case(GOOD / "minimal.toml").with_overrides(source_kind="esplora")

    def test_urls_override_every_seed_chain_of_their_kind(self) -> None:
        case = self.case().with_overrides(api_url="http://127.0.0.1:1/api", rpc_url="http://127.0.0.1:2")
        assert case.source_for("bitcoin") == SourceSpec("esplora", "http://127.0.0.1:1/api")
        assert case.source_for("ethereum") == SourceSpec("etherscan", "http://127.0.0.1:1/api")
        assert case.source_for("bsc") == SourceSpec("rpc", "http://127.0.0.1:2")
        minimal = read_case(GOOD / "minimal.toml")
        with pytest.raises(BadInput, match=r"--rpc-url: no seed chain .* \(add --source rpc\)"):
            minimal.with_overrides(rpc_url="http://127.0.0.1:2")
        assert (
            minimal.with_overrides(source_kind="rpc", rpc_url="http://x:1").source_for("ethereum").url == "http://x:1"
        )
        with pytest.raises(BadInput, match="without an API key") as info:
            minimal.with_overrides(api_url="https://api.etherscan.io/v2/api?apikey=SECRETKEY123")
        assert "SECRETKEY123" not in str(info.value)


# ---------------------------------------------------------------------- command line

_HAS_TRACE = "trace" in next(
    (a.choices for a in build_parser()._actions if hasattr(a, "choices") and isinstance(a.choices, dict)), {}
)


@pytest.mark.skipif(not _HAS_TRACE, reason="the `trace` command is not registered yet")
@pytest.mark.parametrize("path", BAD_CASES[::5], ids=[p.stem for p in BAD_CASES[::5]])
def test_cli_reports_bad_case_as_exit_2(path: Path, tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    env = Environment(stdout=Console(file=out, width=200), stderr=Console(file=err, width=400), home=tmp_path / "home")
    code = main(["trace", str(path), "--out", str(tmp_path / "bundle"), "--offline"], env)
    lines = err.getvalue().strip().splitlines()
    assert code == 2
    assert len(lines) == 1 and _expected_fragment(path) in lines[0]
    assert "Traceback" not in err.getvalue() + out.getvalue()


@pytest.mark.skipif(not _HAS_TRACE, reason="the `trace` command is not registered yet")
def test_python_m_tracer_bad_case_no_traceback(tmp_path: Path) -> None:
    path = DATA / "bad_cases" / "seed_bad_checksum.toml"
    run = subprocess.run(
        [sys.executable, "-m", "tracer", "trace", str(path), "--out", str(tmp_path / "x"), "--offline"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"HEISTTRACE_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"},
        cwd=Path(__file__).resolve().parents[1],
    )
    assert run.returncode == 2
    assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1
    assert "checksum" in run.stderr
