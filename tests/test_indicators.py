"""`heisttrace export`: STIX parses with stix2, the MISP event loads with pymisp, the TagPack round-trips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import stix2
from pymisp import MISPEvent

from chains.emulators.etherscan import EtherscanEmulator
from tests.cli_env import make_env
from tests.test_engine_cli import DEPOSIT, HOP2, MIXER, THIEF, setup_case, synthetic_world
from tracer.cli import main
from tracer.store import Store


@pytest.fixture(scope="module")
def traced(tmp_path_factory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("export")
    with EtherscanEmulator(synthetic_world()) as emulator:
        home, case = setup_case(tmp, emulator.api_url)
        env, _, err = make_env(home)
        assert main(["trace", str(case), "--out", str(tmp / "b"), "--json"], env=env) == 0, err.getvalue()
    return home, tmp / "b"


def _export(home: Path, bundle: Path, fmt: str) -> str:
    env, _, err = make_env(home)
    target = bundle.parent / f"export.{fmt}"
    assert main(["export", str(bundle), "--format", fmt, "--out", str(target)], env=env) == 0, err.getvalue()
    return target.read_text()


def test_stix_bundle_parses_with_indicators_and_observed_data(traced) -> None:
    home, bundle = traced
    text = _export(home, bundle, "stix")
    parsed = stix2.parse(text, allow_custom=True)
    kinds = {o["type"] for o in parsed.objects}
    assert {"report", "indicator", "observed-data"} <= kinds
    patterns = [o["pattern"] for o in parsed.objects if o["type"] == "indicator"]
    assert any(THIEF in p for p in patterns) and any(HOP2 in p for p in patterns)  # seed and attributed
    assert not any(DEPOSIT in p for p in patterns)  # endpoints are observations, not indicators
    observed = [o for o in parsed.objects if o["type"] == ADDRESS_TYPE]
    assert {o["address"] for o in observed} == {DEPOSIT, MIXER}
    assert text == _export(home, bundle, "stix")  # deterministic


ADDRESS_TYPE = "x-heisttrace-crypto-address"


def test_misp_event_loads_with_pymisp(traced) -> None:
    home, bundle = traced
    event = MISPEvent()
    event.load(_export(home, bundle, "misp"))
    values = {a.value for o in event.objects for a in o.attributes if a.object_relation == "address-crypto"}
    assert {THIEF, HOP2, DEPOSIT, MIXER} <= values
    assert event.info.startswith("heisttrace case synthetic-cli")


def test_tagpack_round_trips_through_labels_import(traced, tmp_path: Path) -> None:
    home, bundle = traced
    pack = tmp_path / "case.tagpack.yaml"
    pack.write_text(_export(home, bundle, "tagpack"))
    env, _, err = make_env(tmp_path / "home2")
    assert main(["labels", "import", str(pack)], env=env) == 0, err.getvalue()
    with Store.open(tmp_path / "home2" / "store.sqlite3") as store:
        labels = {(lb.address, lb.category.value) for lb in store.read_user_labels()}
    assert {(THIEF, "hacker"), (HOP2, "hacker"), (DEPOSIT, "exchange-deposit"), (MIXER, "mixer")} <= labels
    assert json.dumps(sorted(labels))  # plain data
