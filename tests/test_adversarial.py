"""The adversarial suite (issue 15): a hostile local source, secrets in both source URLs, the real CLI.

`heisttrace trace` runs as a separate process (as a user runs it) against chains/emulators/hostile.py on
127.0.0.1, which streams endless, truncated, null-field, negative and non-JSON bodies. The Etherscan
source carries a key (ETHERSCAN_API_KEY, sent as `apikey=`) and a password in its URL's userinfo; the
node URL carries a key in its path, as hosted nodes do. For every case: the right exit code, no
traceback, and none of the secrets in stdout, stderr, any file of the store (database, WAL, rate
budget) or any file of the bundle. All data is SYNTHETIC.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from chains.emulators.hostile import TX_HASH, HostileServer
from tests.cli_env import labelled_home
from tests.test_engine_cli import CASE, EXCHANGE, MIXER, THIEF, synthetic_world

ROOT = Path(__file__).resolve().parents[1]
API_KEY = "ADVERSARIALAPIKEY0123456789XYZ"
USERINFO = "USERINFOSECRET42"
PATH_KEY = "RPCPATHSECRET0123456789abcdef"
SECRETS = (API_KEY, USERINFO, PATH_KEY)
#: mode -> the exit code expected (3: a source error; 0: a clean trace)
EXPECTED = {"endless": 3, "truncated": 3, "nonjson": 3, "null": 3, "negative": 3, "ok": 0}
RPC_CASE = """[case]
id = "adversarial-rpc"
title = "Adversarial node (synthetic)"

[[seeds]]
chain = "ethereum"
tx = "{tx}"

[trace]
max_hops = 3

[source]
ethereum = {{ kind = "rpc", url = "{url}" }}
"""


@pytest.fixture(scope="module")
def server():
    with HostileServer(synthetic_world(), api_keys={API_KEY}) as hostile:
        yield hostile


def _url(server: HostileServer, source: str, mode: str) -> str:
    host = server.base_url.split("//", 1)[1]
    if source == "etherscan":
        return f"http://analyst:{USERINFO}@{host}/{mode}/v2/api"
    return f"http://{host}/{mode}/v2/{PATH_KEY}"


def _case(tmp: Path, server: HostileServer, source: str, mode: str) -> Path:
    url = _url(server, source, mode)
    text = CASE.format(thief=THIEF, url=url) if source == "etherscan" else RPC_CASE.format(tx=TX_HASH, url=url)
    path = tmp / "case.toml"
    path.write_text(text)
    return path


def _run(case: Path, home: Path, out: Path, *extra: str, after: tuple[str, ...] = ()) -> tuple[int, str, str]:
    env = {
        **os.environ,
        "HEISTTRACE_HOME": str(home),
        "ETHERSCAN_API_KEY": API_KEY,
        "HEISTTRACE_MAX_OUTAGE": "2",  # rate limits and 5xx are waited out this long (default: minutes)
        "HEISTTRACE_MAX_BODY_BYTES": str(2 * 1024 * 1024),  # the endless body ends here (default 256 MiB)
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "tracer", *extra, "trace", str(case), "--out", str(out), *after],
        env=env,
        cwd=ROOT,
        capture_output=True,
        timeout=300,
    )
    return proc.returncode, proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace")


def _files(*roots: Path) -> list[Path]:
    return [p for root in roots if root.exists() for p in sorted(root.rglob("*")) if p.is_file()]


def _assert_no_secret(stdout: str, stderr: str, *roots: Path) -> None:
    for secret in SECRETS:
        assert secret not in stdout and secret not in stderr, secret
        for path in _files(*roots):
            assert secret.encode() not in path.read_bytes(), (secret, path)


@pytest.mark.parametrize("mode", list(EXPECTED))
@pytest.mark.parametrize("source", ["etherscan", "rpc"])
def test_hostile_answers_give_one_line_the_right_exit_code_and_no_secret(
    server: HostileServer, tmp_path: Path, source: str, mode: str
) -> None:
    home = labelled_home(tmp_path, exchange=EXCHANGE, mixer=MIXER)
    case, out = _case(tmp_path, server, source, mode), tmp_path / "bundle"
    code, stdout, stderr = _run(case, home, out)
    assert code == EXPECTED[mode], (code, stderr)
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    if code == 3:
        assert stderr.strip().startswith("heisttrace: "), stderr
        assert not out.exists()  # a failed trace writes no bundle
    else:
        assert (out / "manifest.json").is_file() and (out / "summary.json").is_file()
    assert list(home.glob("store.sqlite3*")), "the store was used"
    _assert_no_secret(stdout, stderr, home, out)


@pytest.mark.parametrize("mode", ["nonjson", "null", "endless"])
@pytest.mark.parametrize("source", ["etherscan", "rpc"])
def test_debug_tracebacks_carry_no_secret_either(server: HostileServer, tmp_path: Path, source: str, mode: str) -> None:
    home = labelled_home(tmp_path, exchange=EXCHANGE, mixer=MIXER)
    code, stdout, stderr = _run(_case(tmp_path, server, source, mode), home, tmp_path / "bundle", "--debug")
    assert code == 3
    _assert_no_secret(stdout, stderr, home, tmp_path / "bundle")


def test_a_key_in_an_api_url_query_is_refused_without_echoing_it(server: HostileServer, tmp_path: Path) -> None:
    home = labelled_home(tmp_path, exchange=EXCHANGE, mixer=MIXER)
    case = _case(tmp_path, server, "etherscan", "ok")
    host = server.base_url.split("//", 1)[1]
    url = f"http://{host}/ok/v2/api?apikey={API_KEY}"
    code, stdout, stderr = _run(case, home, tmp_path / "b", after=("--api-url", url))
    assert code == 2 and "--api-url" in stderr
    _assert_no_secret(stdout, stderr, home, tmp_path / "b")
    code, stdout, stderr = _run(case, home, tmp_path / "b", url)  # a stray argument: argparse echoes it
    assert code == 2 and "invalid choice" in stderr
    _assert_no_secret(stdout, stderr, home, tmp_path / "b")
