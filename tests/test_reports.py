"""HTML reports: self-contained (inline SVG, no external references) and carrying the run's numbers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytest.importorskip("matplotlib", reason="report extra (matplotlib) not installed")

from flopwatt.cli import main  # noqa: E402


@pytest.mark.parametrize("argv", [
    ["train", "--devices", "256", "--global-batch", "512"],
    ["fabric", "compare", "--topology", "fat-tree,rail-only", "--endpoints", "4096"],
])
def test_report_is_self_contained_and_matches_json(tmp_path, capsys, argv):
    path = tmp_path / "report.html"
    assert main([*argv, "--report", str(path), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    page = path.read_text()
    assert page.count("<svg") >= 1
    assert not re.search(r"(src|href)=[\"']https?://", page)
    if argv[0] == "train":
        assert f"{payload['metrics']['step_time_s']:.4g}" in page
        assert "Sensitivity" in page
    else:
        assert f"{payload[0]['switches']:,}" in page


def test_plan_report(tmp_path, capsys):
    cfg = tmp_path / "plan.toml"
    cfg.write_text("[workload]\nmodel = 'llama3-8b'\ntokens = 1e12\nglobal_batch = 512\n"
                   "[menu]\ndevices = [256]\nsites = ['us-oregon', 'cn-guizhou']\n")
    path = tmp_path / "plan.html"
    assert main(["plan", str(cfg), "--no-progress", "--report", str(path), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    page = path.read_text()
    assert "Pareto" in page and page.count("<svg") == 1
    assert f"{payload['configurations']:,}" in page


def test_report_into_a_missing_directory_is_one_clear_error(tmp_path, capsys):
    assert main(["train", "--report", str(tmp_path / "no" / "such" / "dir.html")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--report" in err[0]


def test_fleet_report(tmp_path, capsys):
    path = tmp_path / "fleet.html"
    config = Path(__file__).resolve().parents[1] / "examples" / "fleet-3site.toml"
    assert main(["fleet", str(config), "--policy", "compare", "--max-jobs", "300",
                 "--report", str(path), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    page = path.read_text()
    assert page.count("<svg") == 2 and "utilisation by pool" in page
    assert not re.search(r"(src|href)=[\"']https?://", page)
    fifo = payload["runs"]["fifo"]["training"]
    assert f"{fifo['jct_s']['mean'] / 3600:.3g}" in page
