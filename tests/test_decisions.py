"""`[[decisions]]` in the case file: parsed strictly, applied by the engine, listed in summary and report.

Over the SYNTHETIC world of tests/test_engine_cli.py (fictional entities and amounts).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from chains.emulators.etherscan import EtherscanEmulator
from tests.cli_env import make_env
from tests.test_engine_cli import DEPOSIT, EXCHANGE, HOP1, HOP2, setup_case, synthetic_world
from tracer.cases.case import parse_case
from tracer.cli import main
from tracer.core.errors import BadCaseFile

BALANCE = ("endpoints", "unmoved", "fees", "below_threshold", "unexplored", "swapped_out", "excluded")


def _decide(case: Path, text: str) -> None:
    case.write_text(case.read_text() + "\n" + text)


def _trace(tmp: Path, decisions: str) -> dict:
    with EtherscanEmulator(synthetic_world()) as emulator:
        home, case = setup_case(tmp, emulator.api_url)
        _decide(case, decisions)
        env, out, err = make_env(home)
        assert main(["trace", str(case), "--out", str(tmp / "b"), "--json"], env=env) == 0, err.getvalue()
    return json.loads(out.getvalue())


def test_exclude_and_follow_change_the_trace_and_are_recorded(tmp_path: Path) -> None:
    summary = _trace(
        tmp_path,
        f"""[[decisions]]
chain = "ethereum"
address = "{HOP2}"
action = "exclude"
reason = "payroll wallet of an unrelated company, confirmed by its owner (synthetic)"

[[decisions]]
chain = "ethereum"
address = "{DEPOSIT}"
action = "follow"
reason = "not an exchange deposit: the analyst follows it (synthetic)"
""",
    )
    native = summary["assets"]["ethereum:native"]
    assert native["excluded"] == "20"  # what HOP2 received stops there
    for row in summary["assets"].values():  # the balance identity holds with the new bucket
        assert Decimal(row["stolen"]) + Decimal(row["swapped_in"]) == sum(Decimal(row[b]) for b in BALANCE)
    reached = {e["address"] for e in summary["endpoints"]}
    assert EXCHANGE in reached and DEPOSIT not in reached and HOP2 not in reached  # followed past the deposit
    assert [d["action"] for d in summary["decisions"]] == ["exclude", "follow"]
    report = (tmp_path / "b" / "report.html").read_text()
    assert "payroll wallet of an unrelated company" in report


def test_endpoint_and_thief_decisions(tmp_path: Path) -> None:
    summary = _trace(
        tmp_path,
        f"""[[decisions]]
chain = "ethereum"
address = "{HOP1}"
action = "endpoint"
category = "otc"
label = "Synthetic OTC desk"
reason = "the desk confirmed the address is its own (synthetic)"

[[decisions]]
chain = "ethereum"
address = "{HOP2}"
action = "thief"
reason = "same operator as the thief (synthetic)"
""",
    )
    by_address = {e["address"]: e for e in summary["endpoints"]}
    assert by_address[HOP1]["category"] == "otc" and by_address[HOP1]["label"] == "Synthetic OTC desk"
    assert DEPOSIT not in by_address  # value stops at the decided endpoint
    assert {"chain": "ethereum", "address": HOP2, "role": "thief"} in summary["seeds"]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('action = "ignore"\nreason = "x"', "decisions[0].action: expected endpoint | follow | thief | exclude"),
        ('action = "exclude"', "decisions[0].reason: expected a reason"),
        ('action = "endpoint"\nreason = "x"\ncategory = "exchange"', "decisions[0].label"),
    ],
)
def test_bad_decisions_are_one_line_errors_naming_the_entry(entry: str, message: str) -> None:
    text = f"""[case]\nid = "c"\n[[seeds]]\nchain = "ethereum"\naddress = "{HOP1}"\n
[[decisions]]\nchain = "ethereum"\naddress = "{HOP2}"\n{entry}\n"""
    with pytest.raises(BadCaseFile) as info:
        parse_case(text, name="case.toml")
    assert message in info.value.message and "\n" not in info.value.message
