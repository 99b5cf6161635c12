"""Bad input to every CLI command: one clear `heisttrace:` line, the documented exit code, nothing else.

Project rule: bad input always gets a clear one-line error and a non-zero exit code — never a
traceback, never silent garbage, never lost work. Commands are discovered from
`tracer.cli.build_parser()`, so a new command is swept automatically (and must add a baseline
below). Everything runs in-process with a test Environment (HEISTTRACE_HOME = tmp), plus a few
`python -m tracer` subprocesses to catch anything printed outside the consoles. The only network
touched is a closed port on 127.0.0.1. Bundles and label files here are SYNTHETIC.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from rich.console import Console

import chains.http
from tests.report_fixtures import write_tiny_bundle
from tracer.cli import build_parser, main
from tracer.environment import Environment

REPO = Path(__file__).resolve().parents[1]
ADDR = "0x6dd68bb7177edfb4f2f88fe62d80a6545378ef40"
ADDR_BAD_CHECKSUM = "0x6dd68bB7177eDfB4F2F88fE62D80a6545378EF40"  # right hex, wrong EIP-55 case
BUNDLE_ADDR = "0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"  # a transit address of the tiny bundle
BUNDLE_ADDR_BAD_CHECKSUM = "0xAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"  # its EIP-55 form is 0xaAaAaAaa...
BTC_ADDR = "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"
GARBAGE = bytes(range(256)) * 3  # not UTF-8, not CSV, not JSON, not TOML, not YAML
SUCCESS_WORDS = ("wrote", "written", "imported", "deleted", "complete")

CASE_TOML = f"""\
[case]
id = "synthetic-bad-input"
title = "SYNTHETIC case for the bad-input sweep"

[[seeds]]
chain = "ethereum"
address = "{ADDR}"

[trace]
since = 100
"""


# --------------------------------------------------------------------------- running the CLI


@dataclass
class Outcome:
    code: int | str | None
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(autouse=True)
def _no_retry_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries against the closed port happen at once (the retry count and the error stay real)."""
    monkeypatch.setattr(chains.http.RetryPolicy, "backoff", lambda self, failures, rng: 0.0)


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Callable[..., Outcome]:
    """Run `heisttrace ARGV` in-process; stdout/stderr include anything printed outside the consoles."""
    monkeypatch.chdir(tmp_path)  # relative default outputs (demo) land in tmp
    monkeypatch.setenv("HEISTTRACE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("ETHERSCAN_API_KEY", raising=False)

    def run(*argv: str, home: Path | None = None) -> Outcome:
        out, err = io.StringIO(), io.StringIO()
        env = Environment(
            stdout=Console(file=out, soft_wrap=True, width=120),
            stderr=Console(file=err, soft_wrap=True, width=120),
            home=home or tmp_path / "home",
            environ={},
        )
        capsys.readouterr()
        # Without pytest's log handler on the root logger, as in a real run: a stray warning would reach
        # stderr through Python's last-resort handler, and the one-line check must see it.
        root_handlers, logging.root.handlers = logging.root.handlers, []
        try:
            code: int | str | None = main(list(argv), env)
        except SystemExit as exc:  # argparse reports usage errors by exiting
            code = exc.code
        finally:
            logging.root.handlers = root_handlers
        captured = capsys.readouterr()
        return Outcome(code, out.getvalue() + captured.out, err.getvalue() + captured.err)

    return run


#: Failures left in modules still being written (none now). Each entry marks a test xfail(strict=False).
KNOWN_BUGS: dict[tuple[str, ...], str] = {}


def _known_bug(request: pytest.FixtureRequest, *key: str) -> None:
    reason = KNOWN_BUGS.get(key)
    if reason:
        request.applymarker(pytest.mark.xfail(strict=False, reason=reason))


def assert_clean_failure(result: Outcome, code: int, *needles: str) -> None:
    """Exit `code`; stderr is one `heisttrace:` line naming each needle; no traceback; no success on stdout."""
    shown = f"exit {result.code}\nstdout: {result.stdout!r}\nstderr: {result.stderr!r}"
    assert "Traceback" not in result.stderr + result.stdout, shown
    assert "internal error" not in result.stderr, shown
    assert result.code == code, shown
    assert len(result.error_lines) == 1, f"stderr must be one line\n{shown}"
    assert result.error_lines[0].startswith("heisttrace:"), shown
    for needle in needles:
        assert needle in result.error_lines[0], f"the error should name {needle!r}\n{shown}"
    if code == 4:  # incomplete, not failed: the bundle is written (and says what is missing), its table shown
        assert "bundle written" in result.stdout, shown
    else:
        assert result.stdout.strip() == "", f"nothing on stdout when failing\n{shown}"


# --------------------------------------------------------------------------- discovery


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], bool]]:
    """(command path, is a group) for every registered command and subcommand."""
    found = []
    for name, sub in _subparsers(parser).items():
        children = _subparsers(sub)
        found.append(((*path, name), bool(children)))
        found.extend(_walk(sub, (*path, name)))
    return found


PARSER = build_parser()
COMMANDS = _walk(PARSER)
LEAVES = [path for path, group in COMMANDS if not group]
GROUPS = [path for path, group in COMMANDS if group]


def _parser_of(path: tuple[str, ...]) -> argparse.ArgumentParser:
    parser = PARSER
    for name in path:
        parser = _subparsers(parser)[name]
    return parser


def _options(path: tuple[str, ...]) -> list[argparse.Action]:
    return [a for a in _parser_of(path)._actions if a.option_strings and not isinstance(a, argparse._HelpAction)]


def _positionals(path: tuple[str, ...]) -> list[argparse.Action]:
    return [a for a in _parser_of(path)._actions if not a.option_strings]


def _id(path: tuple[str, ...]) -> str:
    return " ".join(path)


def _is_path(action: argparse.Action) -> bool:
    """A file or directory argument: `type=Path`, or a converter annotated to return a Path."""
    returns = getattr(action.type, "__annotations__", {}).get("return")
    return action.type is Path or returns in (Path, "Path")


def _wants_directory(action: argparse.Action) -> bool:
    return action.metavar == "DIR" or "director" in (action.help or "")


# --------------------------------------------------------------------------- fixtures on disk


@dataclass
class Files:
    root: Path
    bundle: Path
    case: Path
    labels_csv: Path
    regular_file: Path
    empty_dir: Path

    def write(self, name: str, content: str | bytes) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path


@pytest.fixture
def files(tmp_path: Path) -> Files:
    root = tmp_path / "in"
    root.mkdir()
    case = root / "case.toml"
    case.write_text(CASE_TOML)
    labels_csv = root / "labels.csv"
    labels_csv.write_text(f"chain,address,category,name\nethereum,{ADDR},exchange,SYNTHETIC Exchange\n")
    regular = root / "a-file.txt"
    regular.write_text("just a file\n")
    empty_dir = root / "empty-dir"
    empty_dir.mkdir()
    return Files(root, write_tiny_bundle(root / "bundle"), case, labels_csv, regular, empty_dir)


@dataclass
class Baseline:
    """A command line that gets past every check the mutations target, and what it exits with."""

    positionals: list[str]
    options: list[str]
    code: int

    def argv(self, path: tuple[str, ...]) -> list[str]:
        return [*path, *self.positionals, *self.options]

    def with_option(self, flag: str, *values: str) -> Baseline:
        """This baseline with `flag VALUES` (replacing the flag and as many values when it is there)."""
        options = list(self.options)
        if flag in options:
            i = options.index(flag)
            del options[i : i + 1 + len(values)]
        return Baseline(self.positionals, [*options, flag, *values], self.code)

    def with_positional(self, index: int, value: str) -> Baseline:
        positionals = list(self.positionals)
        positionals[index] = value
        return Baseline(positionals, self.options, self.code)


#: A valid (or documented-failure) command line per command; offline and fast. Exit 4 is the
#: documented `--offline` gap in an empty store: a mutation that exits 2 was caught before it.
BASELINES: dict[tuple[str, ...], Callable[[Files], Baseline]] = {
    ("trace",): lambda f: Baseline([str(f.case)], ["--out", str(f.root / "out"), "--offline"], 4),
    ("fetch",): lambda f: Baseline(["ethereum", ADDR], ["--offline"], 4),
    ("report",): lambda f: Baseline([str(f.bundle)], [], 0),
    ("export",): lambda f: Baseline([str(f.bundle)], ["--format", "json"], 0),
    ("show",): lambda f: Baseline([str(f.bundle)], [], 0),
    ("path",): lambda f: Baseline([str(f.bundle), BUNDLE_ADDR], [], 0),
    ("address",): lambda f: Baseline([str(f.bundle), BUNDLE_ADDR], [], 0),
    ("labels", "show"): lambda f: Baseline([ADDR], ["--chain", "ethereum"], 0),
    ("labels", "import"): lambda f: Baseline([str(f.labels_csv)], [], 0),
    ("labels", "export"): lambda f: Baseline([], ["--out", str(f.root / "labels-out.csv")], 0),
    ("labels", "stats"): lambda f: Baseline([], ["--json"], 0),
    ("labels", "delete"): lambda f: Baseline([], ["--all"], 0),
    ("cases", "list"): lambda f: Baseline([], [], 0),
    ("cases", "show"): lambda f: Baseline(["atomic-wallet-2023"], ["--json"], 0),
    ("demo",): lambda f: Baseline([], ["--out", str(f.root / "demo-out")], 0),
    ("store", "info"): lambda f: Baseline([], [], 0),
    ("prices", "fetch"): lambda f: Baseline(
        ["ethereum:native"], ["--since", "2023-09-01", "--until", "2023-09-02", "--url", _coingecko_url()], 0
    ),
    # watch needs the network; its baseline stops at the missing case copy (the fixture bundle holds none)
    ("watch",): lambda f: Baseline([str(f.bundle)], ["--once"], 2),
    ("freeze",): lambda f: Baseline([str(f.bundle)], ["--out", str(f.root / "packs"), "--no-pdf"], 0),
    ("index-export",): lambda f: Baseline([str(_evm_export(f))], ["--out", str(f.root / "index")], 0),
    ("cluster",): lambda f: Baseline(
        [str(_btc_export(f))], ["--out", str(f.root / "clusters"), "--labels", str(f.labels_csv)], 0
    ),
}


def _evm_export(f: Files) -> Path:
    """A SYNTHETIC two-transaction ethereum-etl export."""
    from bench.etl_export import write_etl_export
    from chains.emulators.world import EvmWorld, WorldTx

    world = EvmWorld()
    world.add([WorldTx(f"0x{n:064x}", 100 + n, 0, 1_700_000_000 + n, ADDR, BUNDLE_ADDR, 10**18) for n in (1, 2)])
    return write_etl_export(world, f.root / "evm-export")


def _btc_export(f: Files) -> Path:
    """A SYNTHETIC bitcoin-etl export of a few wallets."""
    from bench.btc_export import write_bitcoin_export

    write_bitcoin_export(f.root / "btc-export", txs=20, wallets=8, coinjoins=2, service_deposits=3)
    return f.root / "btc-export"


_COINGECKO: list = []


def _coingecko_url() -> str:
    """A SYNTHETIC CoinGecko emulator on 127.0.0.1 (started once) for the `prices fetch` baseline."""
    if not _COINGECKO:
        from chains.emulators.coingecko import CoinGeckoEmulator

        points = [(1_693_526_400 + 3600 * h, "1650.00") for h in range(48)]
        _COINGECKO.append(CoinGeckoEmulator({"ethereum": points}, now=1_694_000_000).start())
    return _COINGECKO[0].base_url


SLOW_BASELINES = {("demo",)}  # a full (offline) demo run: mutations of it are tested once, explicitly


def test_every_command_has_a_baseline() -> None:
    missing = [_id(p) for p in LEAVES if p not in BASELINES]
    assert not missing, f"add a baseline command line to BASELINES for: {', '.join(missing)}"
    assert len(LEAVES) >= 10, "command discovery found too few commands"


@pytest.mark.parametrize("path", [p for p in LEAVES if p not in SLOW_BASELINES], ids=_id)
def test_baseline_is_what_the_mutations_start_from(path: tuple[str, ...], cli, files: Files) -> None:
    baseline = BASELINES[path](files)
    result = cli(*baseline.argv(path))
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    assert result.code == baseline.code, f"{result.code}: {result.stderr}"


# --------------------------------------------------------------------------- argparse-level, every command


@pytest.mark.parametrize("path", LEAVES, ids=_id)
def test_unknown_flag(path: tuple[str, ...], cli, files: Files) -> None:
    baseline = BASELINES[path](files)
    assert_clean_failure(cli(*baseline.argv(path), "--no-such-flag"), 2, "--no-such-flag")


@pytest.mark.parametrize("path", LEAVES, ids=_id)
def test_surplus_positional_argument(path: tuple[str, ...], cli, files: Files) -> None:
    baseline = BASELINES[path](files)
    assert_clean_failure(cli(*baseline.argv(path), "surplus-argument"), 2, "surplus-argument")


REQUIRED = [
    (path, action)
    for path in LEAVES
    for action in _positionals(path) + _options(path)
    if action.required and action.nargs != "?"
]


@pytest.mark.parametrize(
    ("path", "action"),
    REQUIRED,
    ids=[f"{_id(p)}-{a.option_strings[0] if a.option_strings else a.dest}" for p, a in REQUIRED],
)
def test_missing_required_argument(path: tuple[str, ...], action: argparse.Action, cli, files: Files) -> None:
    baseline = BASELINES[path](files)
    if action.option_strings:
        options = list(baseline.options)
        flag = next(f for f in action.option_strings if f in options)
        del options[options.index(flag) : options.index(flag) + 2]
        argv = [*path, *baseline.positionals, *options]
    else:
        index = _positionals(path).index(action)
        argv = [*path, *baseline.positionals[:index], *baseline.options]  # drop it and those after it
    assert_clean_failure(cli(*argv), 2, "required")


def _needs_arguments(path: tuple[str, ...]) -> bool:
    groups = _parser_of(path)._mutually_exclusive_groups
    return any(a.required for a in _positionals(path) + _options(path)) or any(g.required for g in groups)


@pytest.mark.parametrize("path", [p for p in LEAVES if _needs_arguments(p)], ids=_id)
def test_no_arguments_at_all(path: tuple[str, ...], cli) -> None:
    assert_clean_failure(cli(*path), 2, "required")


INT_OPTIONS = [(path, a.option_strings[-1]) for path in LEAVES for a in _options(path) if a.type is int]


@pytest.mark.parametrize(("path", "flag"), INT_OPTIONS, ids=[f"{_id(p)}{f}" for p, f in INT_OPTIONS])
@pytest.mark.parametrize("value", ["abc", "1.5", "", "0x10"])
def test_int_option_rejects_non_integers(path: tuple[str, ...], flag: str, value: str, cli, files: Files) -> None:
    baseline = BASELINES[path](files).with_option(flag, value)
    assert_clean_failure(cli(*baseline.argv(path)), 2, flag)


@pytest.mark.parametrize(("path", "flag"), INT_OPTIONS, ids=[f"{_id(p)}{f}" for p, f in INT_OPTIONS])
def test_int_option_rejects_negative_numbers(path: tuple[str, ...], flag: str, cli, files: Files) -> None:
    baseline = BASELINES[path](files).with_option(flag, "-1")
    assert_clean_failure(cli(*baseline.argv(path)), 2, flag)


def _is_enum(action: argparse.Action) -> bool:
    """Options with a fixed set of values: argparse choices, or documented as `a | b | c` / a policy list."""
    help_text = action.help or ""
    return bool(action.choices) or " | " in help_text or action.dest in ("policy", "strategy", "compare")


ENUM_OPTIONS = [(path, a.option_strings[-1]) for path in LEAVES for a in _options(path) if _is_enum(a)]


@pytest.mark.parametrize(("path", "flag"), ENUM_OPTIONS, ids=[f"{_id(p)}{f}" for p, f in ENUM_OPTIONS])
def test_enum_option_rejects_unknown_value(path: tuple[str, ...], flag: str, cli, files: Files) -> None:
    baseline = BASELINES[path](files).with_option(flag, "nope")
    assert_clean_failure(cli(*baseline.argv(path)), 2, "nope")


URL_OPTIONS = [(path, a.option_strings[-1]) for path in LEAVES for a in _options(path) if a.dest.endswith("_url")]
BAD_URLS = {
    "garbage": "not a url",
    "ftp": "ftp://127.0.0.1/api",
    "no-host": "http://",
    "bad-ipv6": "http://[::1/api",
    "port-out-of-range": "http://127.0.0.1:99999/api",
    "port-not-a-number": "http://127.0.0.1:port/api",
    "spaces": "http://127.0.0.1/ api",
}


@pytest.mark.parametrize(("path", "flag"), URL_OPTIONS, ids=[f"{_id(p)}{f}" for p, f in URL_OPTIONS])
@pytest.mark.parametrize("url", BAD_URLS.values(), ids=BAD_URLS.keys())
def test_url_option_rejects_malformed_urls(path: tuple[str, ...], flag: str, url: str, cli, files: Files) -> None:
    baseline = BASELINES[path](files).with_option(flag, url)
    if flag == "--rpc-url" and "--source" in {o for a in _options(path) for o in a.option_strings}:
        baseline = baseline.with_option("--source", "rpc")
    assert_clean_failure(cli(*baseline.argv(path)), 2, "URL")


# --------------------------------------------------------------------------- files and directories, every command

PATH_INPUTS = [
    (path, action)
    for path in LEAVES
    for action in _positionals(path) + _options(path)
    if _is_path(action) and action.dest != "out"
]
PATH_OUTPUTS = [(path, a.option_strings[-1]) for path in LEAVES for a in _options(path) if a.dest == "out"]


def _set_path(baseline: Baseline, path: tuple[str, ...], action: argparse.Action, value: str) -> Baseline:
    if action.option_strings:
        return baseline.with_option(action.option_strings[-1], value)
    return baseline.with_positional(_positionals(path).index(action), value)


def _input_ids(items: list) -> list[str]:
    return [f"{_id(p)}-{a.dest}" for p, a in items]


@pytest.mark.parametrize(("path", "action"), PATH_INPUTS, ids=_input_ids(PATH_INPUTS))
@pytest.mark.parametrize("kind", ["missing", "wrong-kind", "empty", "binary-garbage"])
def test_path_argument_with_bad_file_or_directory(
    path: tuple[str, ...], action: argparse.Action, kind: str, cli, files: Files
) -> None:
    want_dir = _wants_directory(action)
    if kind == "missing":
        target = files.root / "does-not-exist"
    elif kind == "wrong-kind":
        target = files.regular_file if want_dir else files.empty_dir
    elif kind == "empty":
        target = files.empty_dir if want_dir else files.write("empty" + (files.labels_csv.suffix), "")
    else:
        target = (
            files.write("garbage-dir/summary.json", GARBAGE).parent if want_dir else files.write("garbage.csv", GARBAGE)
        )
    baseline = _set_path(BASELINES[path](files), path, action, str(target))
    assert_clean_failure(cli(*baseline.argv(path)), 2, target.name)


@pytest.mark.parametrize(("path", "flag"), PATH_OUTPUTS, ids=[f"{_id(p)}{f}" for p, f in PATH_OUTPUTS])
def test_output_under_a_regular_file_is_refused_before_any_work(
    path: tuple[str, ...], flag: str, cli, files: Files, request: pytest.FixtureRequest
) -> None:
    _known_bug(request, *path, flag, "under-a-file")
    if path in SLOW_BASELINES:
        pytest.skip("covered by an explicit test below")
    before = files.regular_file.read_bytes()
    baseline = BASELINES[path](files).with_option(flag, str(files.regular_file / "sub" / "out.x"))
    assert_clean_failure(cli(*baseline.argv(path)), 2, files.regular_file.name)
    assert files.regular_file.read_bytes() == before


@pytest.mark.parametrize(("path", "flag"), PATH_OUTPUTS, ids=[f"{_id(p)}{f}" for p, f in PATH_OUTPUTS])
def test_empty_output_path_is_not_read_as_the_current_directory(
    path: tuple[str, ...], flag: str, cli, files: Files, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    _known_bug(request, *path, flag, "empty")
    """`--out "$UNSET"` must not scatter a bundle or tables over the working directory."""
    before = sorted(p.name for p in tmp_path.iterdir())
    assert_clean_failure(cli(*BASELINES[path](files).with_option(flag, "").argv(path)), 2, flag)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize(("path", "flag"), PATH_OUTPUTS, ids=[f"{_id(p)}{f}" for p, f in PATH_OUTPUTS])
def test_output_file_that_is_a_directory(path: tuple[str, ...], flag: str, cli, files: Files) -> None:
    if path in SLOW_BASELINES or path in (("trace",), ("freeze",), ("index-export",), ("cluster",)):
        pytest.skip("--out is a bundle, pack, index or cluster directory here")
    if path == ("export",):
        pytest.skip("export --format csv/parquet writes a directory; covered by the explicit export tests")
    assert_clean_failure(cli(*BASELINES[path](files).with_option(flag, str(files.empty_dir)).argv(path)), 2)


# --------------------------------------------------------------------------- groups and the top level


@pytest.mark.parametrize("path", GROUPS, ids=_id)
def test_group_without_subcommand_shows_help_and_exits_2(path: tuple[str, ...], cli) -> None:
    result = cli(*path)
    assert result.code == 2 and "Traceback" not in result.stderr
    assert result.stdout.startswith("usage: heisttrace"), result.stdout


@pytest.mark.parametrize("path", GROUPS, ids=_id)
def test_group_with_unknown_subcommand(path: tuple[str, ...], cli) -> None:
    assert_clean_failure(cli(*path, "no-such-subcommand"), 2, "no-such-subcommand")


def test_no_command_shows_help_and_exits_2(cli) -> None:
    result = cli()
    assert result.code == 2 and "Traceback" not in result.stderr
    assert result.stdout.startswith("usage: heisttrace"), result.stdout


def test_unknown_command_and_top_level_flag(cli) -> None:
    assert_clean_failure(cli("no-such-command"), 2, "no-such-command")
    assert_clean_failure(cli("--no-such-flag"), 2, "--no-such-flag")


# --------------------------------------------------------------------------- addresses and chains


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["fetch", "ethereum", ADDR_BAD_CHECKSUM, "--offline"], "checksum"),
        (["fetch", "ethereum", "garbage", "--offline"], "garbage"),
        (["fetch", "ethereum", ADDR[:-2], "--offline"], ADDR[:-2]),
        (["fetch", "ethereum", BTC_ADDR, "--offline"], BTC_ADDR),
        (["fetch", "no-such-chain", ADDR, "--offline"], "no-such-chain"),
        (["fetch", "bitcoin", ADDR, "--offline"], "bitcoin"),
        (["fetch", "tron", ADDR, "--offline"], "not a TRON address"),
        (["labels", "show", ADDR_BAD_CHECKSUM], "checksum"),
        (["labels", "show", "garbage"], "garbage"),
        (["labels", "show", ADDR, "--chain", "no-such-chain"], "no-such-chain"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_invalid_address_or_chain(argv: list[str], needle: str, cli) -> None:
    assert_clean_failure(cli(*argv), 2, needle)


def test_evm_address_on_bitcoin_says_which_chain(cli) -> None:
    assert_clean_failure(cli("labels", "show", ADDR, "--chain", "bitcoin"), 2, ADDR, "bitcoin")


@pytest.mark.parametrize("command", ["path", "address"])
@pytest.mark.parametrize(
    ("query", "needle"),
    [
        (BUNDLE_ADDR_BAD_CHECKSUM, "checksum"),
        ("garbage", "garbage"),
        (f"no-such-chain:{BUNDLE_ADDR}", "no-such-chain"),
        ("0x" + "12" * 20, "0x" + "12" * 20),
    ],
)
def test_bundle_views_reject_addresses(command: str, query: str, needle: str, cli, files: Files) -> None:
    assert_clean_failure(cli(command, str(files.bundle), query), 2, needle)


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--since", "yesterday"], "--since"),
        (["--since", "2024-13-01"], "--since"),
        (["--since", "-5"], "--since"),
        (["--until", "not-a-block"], "--until"),
        (["--since", "10", "--until", "5"], "--since"),
        (["--refresh"], "--refresh"),
    ],
)
def test_fetch_bad_ranges(extra: list[str], needle: str, cli) -> None:
    assert_clean_failure(cli("fetch", "ethereum", ADDR, "--offline", *extra), 2, needle)


# --------------------------------------------------------------------------- unreachable sources (exit 3)


@pytest.mark.parametrize("json_flag", [[], ["--json"]], ids=["table", "json"])
def test_fetch_unreachable_api_is_exit_3_in_one_line(json_flag: list[str], cli) -> None:
    url = f"http://127.0.0.1:{closed_port()}/v2/api"
    result = cli("fetch", "ethereum", ADDR, "--api-url", url, *json_flag)
    assert_clean_failure(result, 3, "127.0.0.1")


def test_trace_unreachable_api_is_exit_3(cli, files: Files) -> None:
    url = f"http://127.0.0.1:{closed_port()}/v2/api"
    result = cli("trace", str(files.case), "--out", str(files.root / "out"), "--api-url", url, "--json")
    assert_clean_failure(result, 3, "127.0.0.1")


def test_trace_unreachable_rpc_is_exit_3(cli, files: Files) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    result = cli("trace", str(files.case), "--out", str(files.root / "out"), "--source", "rpc", "--rpc-url", url)
    assert_clean_failure(result, 3, "127.0.0.1")


def test_trace_unreachable_source_writes_no_bundle_that_looks_complete(cli, files: Files) -> None:
    out = files.root / "out"
    url = f"http://127.0.0.1:{closed_port()}/v2/api"
    assert cli("trace", str(files.case), "--out", str(out), "--api-url", url).code == 3
    assert not (out / "summary.json").exists() or '"complete": false' in (out / "summary.json").read_text()


# --------------------------------------------------------------------------- trace: case files and overrides

BAD_CASES = {
    "malformed-toml": ("[case\nid = ", "not valid TOML"),
    "unknown-top-key": (CASE_TOML + "\n[surprise]\nx = 1\n", "surprise"),
    "unknown-seed-key": (CASE_TOML.replace('chain = "ethereum"', 'chain = "ethereum"\nwallet = "x"'), "wallet"),
    "unknown-chain": (CASE_TOML.replace('chain = "ethereum"', 'chain = "no-such-chain"'), "no-such-chain"),
    "bad-checksum": (CASE_TOML.replace(ADDR, ADDR_BAD_CHECKSUM), "checksum"),
    "address-on-wrong-chain": (CASE_TOML.replace('chain = "ethereum"', 'chain = "bitcoin"'), "seeds[0]"),
    "bad-policy": (CASE_TOML + 'policy = "nope"\n', "nope"),
    "bad-max-addresses": (CASE_TOML + "max_addresses = -1\n", "max_addresses"),
    "min-taint-out-of-range": (CASE_TOML + "min_taint = 1.5\n", "min_taint"),
    "no-seeds": ('[case]\nid = "x"\n', "seeds"),
    "bad-case-id": (CASE_TOML.replace("synthetic-bad-input", "Not A Slug"), "case.id"),
    "bad-source-kind": (CASE_TOML + '[source]\nethereum = { kind = "nope" }\n', "nope"),
    "bad-source-url": (CASE_TOML + '[source]\nethereum = { kind = "etherscan", url = "http://[::1/x" }\n', "URL"),
    "bad-tx-hash": (CASE_TOML.replace(f'address = "{ADDR}"', 'tx = "0x12"'), "seeds[0].tx"),
    "address-and-tx": (
        CASE_TOML.replace(f'address = "{ADDR}"', f'address = "{ADDR}"\ntx = "0x{"ab" * 32}"'),
        "seeds[0]",
    ),
    "bad-since": (CASE_TOML.replace("since = 100", 'since = "yesterday"'), "trace.since"),
    "until-before-since": (CASE_TOML + "until = 50\n", "trace.until"),
    "bad-role": (CASE_TOML.replace('chain = "ethereum"', 'chain = "ethereum"\nrole = "bystander"'), "role"),
    "json-not-toml": ('{"case": {"id": "x"}}', "case.toml"),
}


@pytest.mark.parametrize(("text", "needle"), BAD_CASES.values(), ids=BAD_CASES.keys())
def test_trace_rejects_bad_case_files(text: str, needle: str, cli, files: Files) -> None:
    case = files.write("case.toml", text)
    out = files.root / "out"
    assert_clean_failure(cli("trace", str(case), "--out", str(out), "--offline"), 2, needle)
    assert not out.exists(), "a rejected case must not leave a bundle behind"


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--source", "esplora"], "--source"),
        (["--source", "nope"], "--source"),
        (["--rpc-url", "http://127.0.0.1:1"], "--rpc-url"),
        (["--max-addresses", "0"], "--max-addresses"),
        (["--max-addresses", "99999999999999999999"], "--max-addresses"),
        (["--compare", ","], "--compare"),
        (["--compare", "haircut,nope"], "nope"),
        (["--strategy", "nope"], "nope"),
    ],
)
def test_trace_rejects_bad_overrides(extra: list[str], needle: str, cli, files: Files) -> None:
    out = files.root / "out"
    assert_clean_failure(cli("trace", str(files.case), "--out", str(out), "--offline", *extra), 2, needle)


def test_trace_case_file_that_is_a_directory_says_so(cli, files: Files) -> None:
    result = cli("trace", str(files.empty_dir), "--out", str(files.root / "out"), "--offline")
    assert_clean_failure(result, 2, "directory")


def test_trace_unwritable_out_is_refused_before_the_sources_are_asked(cli, files: Files) -> None:
    """Never lost work: a trace that cannot write its bundle must say so before reading any source."""
    url = f"http://127.0.0.1:{closed_port()}/v2/api"
    result = cli("trace", str(files.case), "--out", str(files.regular_file / "bundle"), "--api-url", url)
    assert_clean_failure(result, 2, files.regular_file.name)


def test_heisttrace_home_that_is_a_file(cli, files: Files) -> None:
    for argv in (["fetch", "ethereum", ADDR, "--offline"], ["labels", "import", str(files.labels_csv)]):
        result = cli(*argv, home=files.regular_file)
        assert_clean_failure(result, 1, "store")


def test_trace_home_that_is_a_file(cli, files: Files) -> None:
    result = cli("trace", str(files.case), "--out", str(files.root / "out"), "--offline", home=files.regular_file)
    assert_clean_failure(result, 1, "store")


@pytest.mark.parametrize(
    "argv",
    [
        ["store", "info"],
        ["labels", "stats"],
        ["labels", "delete", "--all"],
        ["fetch", "ethereum", ADDR, "--offline"],
        ["cases", "show", "atomic-wallet-2023"],
    ],
    ids=" ".join,
)
def test_corrupt_store_is_one_line_exit_1(argv: list[str], cli, tmp_path: Path) -> None:
    home = tmp_path / "corrupt-home"
    home.mkdir()
    (home / "store.sqlite3").write_bytes(GARBAGE * 20)
    assert_clean_failure(cli(*argv, home=home), 1, "store")


# --------------------------------------------------------------------------- bundles (report, export, show, ...)

BUNDLE_COMMANDS = [path for path in LEAVES if _positionals(path) and _positionals(path)[0].metavar == "DIR"]


def _corrupt(bundle: Path, name: str) -> str:
    """Damage `bundle` in the way `name` says; return a word the error message must contain."""
    summary, flows = bundle / "summary.json", bundle / "flows.csv"
    if name == "summary-missing":
        summary.unlink()
        return "summary.json"
    if name == "summary-not-json":
        summary.write_text('{"case": ')
        return "summary.json"
    if name == "summary-binary":
        summary.write_bytes(GARBAGE)
        return "summary.json"
    if name == "summary-a-list":
        summary.write_text("[]")
        return "summary.json"
    if name == "summary-without-assets":
        summary.write_text('{"case": "x", "policy": "haircut"}')
        return "assets"
    if name == "summary-bad-amount":
        summary.write_text('{"case": "x", "policy": "haircut", "assets": {"ethereum:native": {"stolen": "lots"}}}')
        return "lots"
    if name == "summary-is-a-directory":
        summary.unlink()
        summary.mkdir()
        return "summary.json"
    if name == "manifest-missing":
        (bundle / "manifest.json").unlink()
        return "manifest.json"
    if name == "flows-missing":
        flows.unlink()
        return "flows.csv"
    if name == "flows-empty":
        flows.write_text("")
        return "flows.csv"
    if name == "flows-binary":
        flows.write_bytes(GARBAGE)
        return "flows.csv"
    if name == "flows-wrong-columns":
        flows.write_text("a,b\n1,2\n")
        return "flows.csv"
    if name == "flows-bad-amount":
        lines = flows.read_text().splitlines()
        cells = lines[1].split(",")
        cells[9] = "abc"
        flows.write_text("\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n")
        return "abc"
    if name == "flows-negative-amount":
        lines = flows.read_text().splitlines()
        cells = lines[1].split(",")
        cells[10] = "-5"
        flows.write_text("\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n")
        return "-5"
    if name == "flows-ragged-row":
        with flows.open("a") as fh:
            fh.write("ethereum,0xabc\n")
        return "flows.csv"
    if name == "flows-quote-unterminated":
        with flows.open("a") as fh:
            fh.write('ethereum,"0xabc,1,1\n')
        return "flows.csv"
    if name == "flows-is-a-directory":
        flows.unlink()
        flows.mkdir()
        return "flows.csv"
    if name == "addresses-bad-hop":
        lines = (bundle / "addresses.csv").read_text().splitlines()
        cells = lines[1].split(",")
        cells[6] = "first"
        (bundle / "addresses.csv").write_text("\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n")
        return "first"
    if name in ("addresses-missing", "endpoints-missing"):
        table = bundle / f"{name.split('-')[0]}.csv"
        table.unlink()
        return table.name
    if name == "summary-bad-asset-key":
        summary.write_text('{"case": "x", "policy": "haircut", "assets": {"ETH": {"stolen": "1"}}}')
        return "ETH"
    if name == "comparison-garbage":
        (bundle / "comparison.json").write_text('{"haircut": 1}')
        return "comparison.json"
    raise AssertionError(name)


CORRUPTIONS = [
    "summary-missing",
    "summary-not-json",
    "summary-binary",
    "summary-a-list",
    "summary-without-assets",
    "summary-bad-amount",
    "summary-is-a-directory",
    "manifest-missing",
    "flows-missing",
    "flows-empty",
    "flows-binary",
    "flows-wrong-columns",
    "flows-bad-amount",
    "flows-negative-amount",
    "flows-ragged-row",
    "flows-quote-unterminated",
    "flows-is-a-directory",
    "addresses-bad-hop",
    "addresses-missing",
    "endpoints-missing",
    "summary-bad-asset-key",
    "comparison-garbage",
]


@pytest.mark.parametrize("path", BUNDLE_COMMANDS, ids=_id)
@pytest.mark.parametrize("corruption", CORRUPTIONS)
def test_corrupt_bundle(path: tuple[str, ...], corruption: str, cli, files: Files) -> None:
    needle = _corrupt(files.bundle, corruption)
    before = sorted(p.name for p in files.bundle.iterdir())
    assert_clean_failure(cli(*BASELINES[path](files).argv(path)), 2, needle)
    assert sorted(p.name for p in files.bundle.iterdir()) == before, "nothing may be written from a corrupt bundle"


def test_bundle_commands_were_discovered() -> None:
    assert {("report",), ("export",), ("show",), ("path",), ("address",)} <= set(BUNDLE_COMMANDS)


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["export", "{bundle}", "--format", "csv", "--out", "{file}"], "a-file.txt"),
        (["export", "{bundle}", "--format", "parquet", "--out", "{file}/tables"], "a-file.txt"),
        (["export", "{bundle}", "--format", "graphml", "--out", "{dir}"], "empty-dir"),
        (["export", "{bundle}", "--format", "json", "--out", "{root}/no-such-dir/x.json"], "no-such-dir"),
        (["report", "{bundle}", "--format", "md", "--out", "{root}/no-such-dir/x.md"], "no-such-dir"),
        (["report", "{bundle}", "--out", "{dir}"], "empty-dir"),
    ],
)
def test_report_and_export_bad_out(argv: list[str], needle: str, cli, files: Files) -> None:
    values = {"bundle": files.bundle, "file": files.regular_file, "dir": files.empty_dir, "root": files.root}
    assert_clean_failure(cli(*(a.format(**values) for a in argv)), 2, needle)
    assert list(files.empty_dir.iterdir()) == []


def test_report_of_a_comparison_directory_names_the_bundles(cli, files: Files) -> None:
    parent = files.root / "compare"
    write_tiny_bundle(parent / "haircut")
    (parent / "comparison.json").write_text("{}")
    assert_clean_failure(cli("report", str(parent)), 2, "haircut")


# --------------------------------------------------------------------------- label files

BAD_LABEL_FILES = {
    "empty.csv": ("", "empty"),
    "empty.yaml": ("", "tags"),
    "binary.csv": (GARBAGE, "UTF-8"),
    "binary.yaml": (GARBAGE, "UTF-8"),
    "header-only-junk.csv": ("a,b\n1,2\n", "header"),
    "unterminated-quote.csv": (f'chain,address,category\nethereum,"{ADDR},exchange\n', "line"),
    "ragged.csv": (f"chain,address,category\nethereum,{ADDR},exchange,extra\n", "line 2"),
    "unknown-chain.csv": (f"chain,address,category\nno-such-chain,{ADDR},exchange\n", "no-such-chain"),
    "bad-category.csv": (f"chain,address,category\nethereum,{ADDR},nope\n", "nope"),
    "bad-confidence.csv": (f"chain,address,category,confidence\nethereum,{ADDR},exchange,2\n", "confidence"),
    "bad-checksum.csv": (f"chain,address,category\nethereum,{ADDR_BAD_CHECKSUM},exchange\n", "checksum"),
    "empty-address.csv": ("chain,address,category\nethereum,,exchange\n", "address"),
    "wrong-chain-address.csv": (f"chain,address,category\nbitcoin,{ADDR},exchange\n", "not a bitcoin address"),
    "malformed.yaml": ("tags: [\n  - {address: ", "YAML"),
    "list.yaml": ("- a\n- b\n", "tags"),
    "tag-without-address.yaml": ("tags:\n  - label: x\n    currency: ETH\n", "address"),
    "tag-bad-address.yaml": ("tags:\n  - address: garbage\n    currency: ETH\n    category: exchange\n", "garbage"),
    "tag-without-category.yaml": (f'tags:\n  - address: "{ADDR}"\n    currency: ETH\n', "category"),
    "labels.toml": ("x = 1\n", ".toml"),
    "labels.json": ("[]", ".json"),
}


@pytest.mark.parametrize(("name", "content", "needle"), [(k, *v) for k, v in BAD_LABEL_FILES.items()])
def test_labels_import_rejects_bad_files_as_a_whole(name: str, content, needle: str, cli, files: Files) -> None:
    path = files.write(name, content)
    assert_clean_failure(cli("labels", "import", str(path)), 2, needle)
    exported = cli("labels", "export")
    assert exported.code == 0 and exported.stdout.strip().count("\n") == 0, "a rejected file imports nothing"


def test_labels_import_good_rows_then_a_bad_one_imports_nothing(cli, files: Files) -> None:
    other = "0x" + "12" * 20
    text = f"chain,address,category\nethereum,{ADDR},exchange\nethereum,{other},exchange\nethereum,garbage,mixer\n"
    path = files.write("partly-bad.csv", text)
    assert_clean_failure(cli("labels", "import", str(path)), 2, "line 4")
    assert cli("labels", "export").stdout.strip().count("\n") == 0


def test_labels_export_to_a_directory_keeps_existing_files(cli, files: Files) -> None:
    assert_clean_failure(cli("labels", "export", "--out", str(files.empty_dir)), 2, "empty-dir")
    assert_clean_failure(cli("labels", "export", "--out", str(files.regular_file / "x.csv")), 2, "a-file.txt")
    assert files.regular_file.read_text() == "just a file\n"


# --------------------------------------------------------------------------- catalogue, demo


@pytest.mark.parametrize("case_id", ["nope", "../../etc/passwd", "", "BYBIT-2025"])
@pytest.mark.parametrize("toml", [[], ["--toml"]], ids=["table", "toml"])
def test_cases_show_unknown_id(case_id: str, toml: list[str], cli) -> None:
    assert_clean_failure(cli("cases", "show", case_id, *toml), 2, "catalogue")


def test_demo_rejects_unknown_policy_before_starting(cli, tmp_path: Path) -> None:
    result = cli("demo", "--policy", "nope", "--out", str(tmp_path / "demo"))
    assert_clean_failure(result, 2, "--policy", "nope")
    assert not (tmp_path / "demo").exists()


def test_demo_unwritable_out_is_refused_before_the_work(cli, files: Files) -> None:
    result = cli("demo", "--out", str(files.regular_file / "demo"))
    assert_clean_failure(result, 2, files.regular_file.name)


# --------------------------------------------------------------------------- real processes: `python -m tracer`

SUBPROCESS_CASES = {
    "unknown-command": (["no-such-command"], 2),
    "report-missing-bundle": (["report", "{root}/nowhere"], 2),
    "fetch-bad-checksum": (["fetch", "ethereum", ADDR_BAD_CHECKSUM], 2),
    "trace-malformed-case": (["trace", "{root}/bad.toml", "--out", "{root}/out"], 2),
    "labels-import-garbage": (["labels", "import", "{root}/garbage.csv"], 2),
    "trace-offline-gap": (["trace", "{root}/case.toml", "--out", "{root}/out", "--offline"], 4),
    "fetch-unreachable": (["fetch", "ethereum", ADDR, "--api-url", "http://127.0.0.1:{port}/v2/api"], 3),
}
# `python -m tracer`, with retry waits off so the closed-port case stays fast (the retries still happen).
_RUN_MODULE = (
    "import runpy, chains.http; chains.http.RetryPolicy.backoff = lambda self, n, rng: 0.0; "
    "runpy.run_module('tracer', run_name='__main__', alter_sys=True)"
)


@pytest.mark.parametrize(("argv", "code"), SUBPROCESS_CASES.values(), ids=SUBPROCESS_CASES.keys())
def test_python_m_tracer_prints_one_line(argv: list[str], code: int, tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text("[case\n")
    (tmp_path / "case.toml").write_text(CASE_TOML)
    (tmp_path / "garbage.csv").write_bytes(GARBAGE)
    values = {"root": tmp_path, "port": closed_port()}
    env = {k: v for k, v in os.environ.items() if k != "ETHERSCAN_API_KEY"}
    env.update(HEISTTRACE_HOME=str(tmp_path / "home"), PYTHONPATH=str(REPO), NO_COLOR="1")
    proc = subprocess.run(
        [sys.executable, "-c", _RUN_MODULE, *(a.format(**values) for a in argv)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert_clean_failure(Outcome(proc.returncode, proc.stdout, proc.stderr), code)
