"""Every CLI command has help and is documented in the README."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from tracer.cli import build_parser, main

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def _commands(parser: argparse.ArgumentParser, prefix: str = "heisttrace") -> list[tuple[str, argparse.ArgumentParser]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append((f"{prefix} {name}", sub))
                found.extend(_commands(sub, f"{prefix} {name}"))
    return found


COMMANDS = _commands(build_parser())


@pytest.mark.parametrize(("name", "parser"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_command_has_help_and_is_in_readme(name: str, parser: argparse.ArgumentParser) -> None:
    assert parser.description or parser.format_help().strip(), f"{name} has no help"
    assert parser.description, f"{name} needs a description"
    assert f"`{name}" in README, f"{name} is not documented in README.md"


def test_unknown_command_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["no-such-command"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "error" in err[0]
