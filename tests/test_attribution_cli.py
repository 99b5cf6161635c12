"""First-funder attribution at the edges: the case key, the library override, `trace --no-attribution`,
and how the balance sheets and the case file show it (and don't, for bundles without it).

The world and bundles are SYNTHETIC: the thief funds a fresh hop, which a stranger later tops up; the hop
then pays a mixer.
"""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from rich.console import Console

from chains.emulators.etherscan import EtherscanEmulator
from chains.emulators.world import EvmWorld, WorldTx
from tests.cli_env import labelled_home, make_env
from tests.report_browser import Browser, chromium_path
from tests.report_fixtures import HOSTILE_LABEL, write_synthetic_bundle
from tracer.api import config_from_case
from tracer.cases.case import parse_case, read_case
from tracer.cli import build_parser, main
from tracer.core.errors import BadCaseFile, BadInput
from tracer.report import terminal, write_report
from tracer.report.bundle import read_bundle
from tracer.report.casefile import analyse_bundle
from tracer.report.fmt import ATTRIBUTED_TEXT

ETH = 10**18
LINE = "thief funds: value thief-controlled addresses gained from elsewhere (first-funder attribution), not stolen"
GOOD = Path(__file__).parent / "data" / "cases"


def a(n: int) -> str:
    return f"0x{n:040x}"


def h(n: int) -> str:
    return f"0x{n:064x}"


VICTIM, THIEF, HOP, FUNDER, EXCHANGE, MIXER = (a(0xC0 + i) for i in range(6))


def world() -> EvmWorld:
    w = EvmWorld(chain_id=1)
    w.add(
        [
            WorldTx(h(1), 100, 0, 1_700_000_000, VICTIM, THIEF, 100 * ETH),  # the theft
            WorldTx(h(2), 101, 0, 1_700_000_012, THIEF, HOP, 20 * ETH),  # funds a fresh address
            WorldTx(h(3), 102, 0, 1_700_000_024, THIEF, EXCHANGE, 79 * ETH),
            WorldTx(h(4), 110, 0, 1_700_000_120, FUNDER, HOP, 5 * ETH),  # a top-up from elsewhere
            WorldTx(h(5), 120, 0, 1_700_000_240, HOP, MIXER, 24 * ETH),
        ]
    )
    return w


CASE = """[case]
id = "synthetic-attribution"
title = "Synthetic top-up laundering (fictional)"

[[seeds]]
chain = "ethereum"
address = "{thief}"

[trace]
since = 100
max_hops = 10
max_addresses = 50
{extra}
[source]
ethereum = {{ kind = "etherscan", url = "{url}" }}
"""


@pytest.fixture(scope="module")
def emulator():
    with EtherscanEmulator(world()) as server:
        yield server


def setup(tmp: Path, url: str, extra: str = "") -> tuple[Path, Path]:
    home = labelled_home(tmp, exchange=EXCHANGE, mixer=MIXER)
    case = tmp / "case.toml"
    case.write_text(CASE.format(thief=THIEF, url=url, extra=extra))
    return home, case


def trace_json(home: Path, case: Path, out: Path, *flags: str) -> dict:
    env, stdout, err = make_env(home)
    assert main(["trace", str(case), "--out", str(out), "--json", *flags], env=env) == 0, err.getvalue()
    return json.loads(stdout.getvalue())


# --------------------------------------------------------------------------- case file and library


def test_case_key_defaults_to_true_and_reads_a_boolean() -> None:
    assert read_case(GOOD / "minimal.toml").trace.attribution is True
    base = '[case]\nid = "t"\n[[seeds]]\nchain = "ethereum"\naddress = "0x' + "ab" * 20 + '"\n[trace]\n'
    assert parse_case(base + "attribution = false\n", name="x.toml").trace.attribution is False
    assert parse_case(base + "attribution = true\n", name="x.toml").trace.attribution is True
    with pytest.raises(BadCaseFile, match=r"^x\.toml: trace\.attribution: expected true or false") as info:
        parse_case(base + 'attribution = "off"\n', name="x.toml")
    assert info.value.exit_code == 2 and "\n" not in str(info.value)


def test_library_override_wins_over_the_case() -> None:
    case = read_case(GOOD / "minimal.toml")
    assert config_from_case(case).attribution is True
    assert config_from_case(case, attribution=False).attribution is False
    off = case.with_overrides(attribution=False)
    assert off.trace.attribution is False and config_from_case(off).attribution is False
    assert config_from_case(off, attribution=True).attribution is True
    assert config_from_case(case).fingerprint() != config_from_case(off).fingerprint()  # no cross-resume
    with pytest.raises(BadInput, match="attribution must be True, False or None"):
        config_from_case(case, attribution="no")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- CLI


def test_help_names_the_flag() -> None:
    sub = next(a for a in build_parser()._actions if hasattr(a, "choices") and isinstance(a.choices, dict))
    text = sub.choices["trace"].format_help()
    assert "--no-attribution" in text and "value-only" in text


def test_attribution_is_on_by_default_and_reported(emulator, tmp_path: Path) -> None:
    home, case = setup(tmp_path, emulator.api_url)
    summary = trace_json(home, case, tmp_path / "on")
    assert summary["parameters"]["attribution"] == "first-funder"
    native = summary["assets"]["ethereum:native"]
    assert native["stolen"] == "100" and native["thief_funds"]["gained"] == "5"  # the top-up is thief funds
    assert summary["endpoints_by_category"]["mixer"]["ethereum:native"] == "19.2"  # stolen only
    mixer = next(r for r in summary["endpoints"] if r["category"] == "mixer")
    assert mixer["amount"] == "19.2" and native["thief_funds"]["endpoints"] == "4.8"  # the top-up, apart
    assert [(r["address"], r["funded_by"], r["tx_hash"]) for r in summary["attributed_addresses"]] == [
        (HOP, THIEF, h(2))
    ]
    # the terminal balance sheet (a re-run answered from the store) says what part was attributed
    env, out, _ = make_env(home)
    assert main(["trace", str(case), "--out", str(tmp_path / "again"), "--offline"], env=env) == 0
    printed = " ".join(out.getvalue().split())
    assert f"plus 5 ETH {ATTRIBUTED_TEXT}" in printed and "1 address taken as thief-controlled" in printed
    # so do `show` and the case file written with the bundle
    env, out, _ = make_env(home)
    assert main(["show", str(tmp_path / "on")], env=env) == 0
    assert f"plus 5 ETH {LINE}" in " ".join(out.getvalue().split())
    html = (tmp_path / "on" / "report.html").read_text()
    assert '<section id="attribution">' in html and f"https://etherscan.io/address/{HOP}" in html


def test_no_attribution_flag_traces_value_only(emulator, tmp_path: Path) -> None:
    home, case = setup(tmp_path, emulator.api_url)
    summary = trace_json(home, case, tmp_path / "off", "--no-attribution")
    assert summary["parameters"]["attribution"] == "off"
    assert summary["attributed_addresses"] == []
    native = summary["assets"]["ethereum:native"]
    assert "thief_funds" not in native and native["stolen"] == "100"
    assert Decimal(summary["endpoints_by_category"]["mixer"]["ethereum:native"]) < Decimal("19.3")  # diluted
    html = (tmp_path / "off" / "report.html").read_text()
    assert 'id="attribution"' not in html and LINE not in html
    env, out, _ = make_env(home)
    assert main(["trace", str(case), "--out", str(tmp_path / "off2"), "--offline", "--no-attribution"], env=env) == 0
    assert ATTRIBUTED_TEXT not in " ".join(out.getvalue().split())


def test_case_key_switches_it_off_and_the_flag_overrides_with_compare(emulator, tmp_path: Path) -> None:
    home, case = setup(tmp_path, emulator.api_url, extra="attribution = false\n")
    assert trace_json(home, case, tmp_path / "off")["parameters"]["attribution"] == "off"
    home2, case2 = setup(tmp_path / "cmp", emulator.api_url)
    env, _, err = make_env(home2)
    code = main(
        ["trace", str(case2), "--out", str(tmp_path / "cmp" / "out"), "--compare", "haircut,fifo", "--no-attribution"],
        env=env,
    )
    assert code == 0, err.getvalue()
    doc = json.loads((tmp_path / "cmp" / "out" / "comparison.json").read_text())
    assert {p: s["parameters"]["attribution"] for p, s in doc.items()} == {"haircut": "off", "fifo": "off"}


def test_a_non_boolean_case_key_is_exit_2(tmp_path: Path) -> None:
    case = tmp_path / "case.toml"
    case.write_text(CASE.format(thief=THIEF, url="http://127.0.0.1:1/api", extra="attribution = 1\n"))
    env, _, err = make_env(tmp_path / "home")
    assert main(["trace", str(case), "--out", str(tmp_path / "x"), "--offline"], env=env) == 2
    text = "".join(err.getvalue().splitlines())  # one message; the test console wraps it at 160 columns
    assert err.getvalue().count("heisttrace:") == 1 and "Traceback" not in text
    assert f"{case}: trace.attribution: expected true or false" in text


# --------------------------------------------------------------------------- reports from bundles


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """An older bundle (no attribution keys) and the same bundle with them added."""
    root = tmp_path_factory.mktemp("attr-bundles")
    old = write_synthetic_bundle(root / "old", addresses=80)
    new = Path(shutil.copytree(old, root / "new"))
    for name in ("report.html", "report.md"):
        (new / name).unlink(missing_ok=True)
    summary = json.loads((new / "summary.json").read_text())
    bundle = read_bundle(new)
    transit = sorted(r.address for r in bundle.addresses if r.chain == "ethereum" and r.role == "transit")
    seed = next(r.address for r in bundle.addresses if r.chain == "ethereum" and r.role == "seed")
    tx = next(f.tx_hash for f in bundle.flows if f.chain == "ethereum")
    summary["assets"]["ethereum:native"]["thief_funds"] = {"gained": "1.25", "endpoints": "1.25"}
    summary["parameters"]["attribution"] = "first-funder"
    summary["attributed_addresses"] = [
        {
            "chain": "ethereum",
            "address": transit[0],
            "funded_by": seed,
            "tx_hash": tx,
            "timestamp": "2023-06-03T01:02:03Z",
        },
        {"chain": "ethereum", "address": transit[1], "funded_by": HOSTILE_LABEL, "tx_hash": tx, "timestamp": ""},
    ]
    (new / "summary.json").write_text(json.dumps(summary))
    return {"old": old, "new": new, "transit": transit[0], "tx": tx}  # type: ignore[dict-item]


def _sheet(bundle_dir: Path) -> str:
    console = Console(width=200, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(terminal.balance_sheet(analyse_bundle(read_bundle(bundle_dir))))
    return " ".join(console.export_text().split())


def test_older_bundle_reads_and_renders_without_attribution(bundles: dict, tmp_path: Path) -> None:
    bundle = read_bundle(bundles["old"])
    assert bundle.attributed == [] and all(info.attributed == 0 for info in bundle.assets.values())
    html = write_report(bundles["old"], out=tmp_path / "old.html").read_text()
    assert 'id="attribution"' not in html and LINE not in html and 'href="#attribution"' not in html
    assert LINE not in write_report(bundles["old"], fmt="md", out=tmp_path / "old.md").read_text()
    assert "first-funder" not in _sheet(bundles["old"])
    env, _, err = make_env(tmp_path / "home")
    assert main(["report", str(bundles["old"]), "--out", str(tmp_path / "cli.html")], env=env) == 0, err.getvalue()


def test_bundle_with_attribution_shows_the_line_and_the_section(bundles: dict, tmp_path: Path) -> None:
    bundle = read_bundle(bundles["new"])
    assert bundle.assets["ethereum:native"].attributed == Decimal("1.25") and len(bundle.attributed) == 2
    html = write_report(bundles["new"], out=tmp_path / "new.html").read_text()
    assert '<section id="attribution"><h2>Thief-controlled addresses (2)</h2>' in html
    assert 'href="#attribution"' in html  # in the table of contents and under the balance sheet
    assert f"plus 1.25 ETH {LINE}" in html.replace("</span>", "").replace('<span title="1.25">', "")
    assert "1.25 ETH reached endpoints" in html.replace("</span>", "").replace('<span title="1.25">', "")
    assert f'href="https://etherscan.io/address/{bundles["transit"]}"' in html
    assert f'href="https://etherscan.io/tx/{bundles["tx"]}"' in html
    assert "--no-attribution" in html and "attribution = false" in html
    assert HOSTILE_LABEL not in html
    md = write_report(bundles["new"], fmt="md", out=tmp_path / "new.md").read_text()
    assert "## Thief-controlled addresses (2)" in md and "plus 1\\.25 ETH thief funds" in md
    sheet = _sheet(bundles["new"])
    assert f"plus 1.25 ETH {LINE}" in sheet and "2 addresses taken as thief-controlled" in sheet


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ({"a": 1}, "'attributed_addresses' must be a list"),
        ([{"chain": "ethereum"}], "attributed_addresses[0] must be an object"),
    ],
)
def test_malformed_attribution_in_a_bundle_is_one_line_bad_input(bundles: dict, tmp_path: Path, value, needle) -> None:
    broken = Path(shutil.copytree(bundles["new"], tmp_path / "broken"))
    summary = json.loads((broken / "summary.json").read_text())
    summary["attributed_addresses"] = value
    (broken / "summary.json").write_text(json.dumps(summary))
    with pytest.raises(BadInput) as info:
        read_bundle(broken)
    assert needle in str(info.value) and "\n" not in str(info.value)
    summary["attributed_addresses"] = []
    summary["assets"]["ethereum:native"]["thief_funds"] = {"gained": "lots"}
    (broken / "summary.json").write_text(json.dumps(summary))
    with pytest.raises(BadInput, match="thief_funds holds an amount that is not a decimal"):
        read_bundle(broken)


@pytest.mark.skipif(chromium_path() is None, reason="Debian package `chromium` is not installed")
def test_attribution_section_in_chromium(bundles: dict, tmp_path: Path) -> None:
    path = write_report(bundles["new"], out=tmp_path / "report.html")
    with Browser() as browser:
        page = browser.open(path.as_uri())
        page.wait_for("window.heisttrace && window.heisttrace.ready === true")
        assert page.evaluate("document.querySelectorAll('#attribution tbody tr').length") == 2
        text = page.evaluate("document.getElementById('attribution').innerText")
        assert HOSTILE_LABEL in text and "first-funder" in text.lower()
        page.settle(0.3)
        log = page.log()
        assert log.errors() == [] and log.dialogs == []
        assert set(log.requests) == {path.as_uri()}
