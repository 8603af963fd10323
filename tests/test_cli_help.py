"""Every subcommand's --help prints and exits 0; the catalog listing names each entry's source and date."""
import argparse

import pytest

from flopwatt import catalog
from flopwatt.cli import build_parser, main


def _subcommands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix] if prefix else []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _subcommands(sub, (*prefix, name))
    return found


@pytest.mark.parametrize("argv", _subcommands(build_parser()), ids=" ".join)
def test_help_prints_and_exits_zero(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        main([*argv, "--help"])
    assert stop.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_catalog_listing_names_source_and_date(capsys):
    assert main(["catalog", "accelerators"]) == 0
    out = capsys.readouterr().out
    for key, entry in catalog.accelerators().items():
        line = next(i for i, text in enumerate(out.splitlines()) if text.split()[:1] == [key])
        source_line = out.splitlines()[line + 1]
        assert f"retrieved {entry.retrieved}" in out.splitlines()[line]
        assert source_line.strip() == f"source: {entry.source}"
