"""``flopwatt fleet`` from the command line: bad input is one line and exit 2; rejections are reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from test_cli_errors import assert_one_line_error, run

ROOT = Path(__file__).resolve().parents[1]
HEADER = "timestamp,duration,num_gpus,gpu_time,cluster\n"
CONFIG = """
[fleet]
name = "cli"
[sites.us-oregon]
[pools.a]
site = "us-oregon"
accelerator = "{accelerator}"
devices = 8
[classes.small]
model = "gpt3-125m"
global_batch = 64
[trace]
path = "{trace}"
reference_accelerator = "v100-sxm2-32gb"
"""


def write(tmp_path: Path, rows: str, accelerator: str = "h100-sxm5-80gb") -> Path:
    trace = tmp_path / "jobs.csv"
    trace.write_text(HEADER + rows)
    cfg = tmp_path / "fleet.toml"
    cfg.write_text(CONFIG.format(accelerator=accelerator, trace=trace))
    return cfg


def test_malformed_trace_row_names_its_line(tmp_path):
    cfg = write(tmp_path, "2017-10-09 07:01:55,66.0,1,66.0,a\n2017-10-09 07:02:55,sixty,1,60,a\n")
    assert_one_line_error(run("fleet", str(cfg)), "jobs.csv:3", "duration")


def test_unknown_accelerator_in_config(tmp_path):
    cfg = write(tmp_path, "2017-10-09 07:01:55,66.0,1,66.0,a\n", accelerator="h100-sxm")
    assert_one_line_error(run("fleet", str(cfg)), "accelerator", "h100-sxm5-80gb")


@pytest.mark.parametrize(("args", "needles"), [
    (["--policy", "fastest"], ("--policy", "max-throughput")),
    (["--policy", "os:path"], ("--policy", "subclass")),
    (["--max-jobs", "0"], ("--max-jobs",)),
    (["--workers", "0"], ("--workers", ">= 1")),
    (["--trace", "/no/such/trace.csv"], ("--trace", "existing")),
])
def test_bad_flags(tmp_path, args, needles):
    cfg = write(tmp_path, "2017-10-09 07:01:55,66.0,1,66.0,a\n")
    assert_one_line_error(run("fleet", str(cfg), *args), *needles)


def test_config_errors_name_the_field(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[fleet]\nname = 'x'\n[sites.us-oregon]\nfans = 3\n")
    assert_one_line_error(run("fleet", str(bad)), "[sites.us-oregon].fans")
    assert_one_line_error(run("fleet", str(tmp_path / "missing.toml")), "config", "existing TOML")


def test_impossible_job_is_a_reported_rejection(tmp_path):
    cfg = write(tmp_path, "2017-10-09 07:01:55,66.0,1,66.0,a\n2017-10-09 07:05:00,10.0,64,640.0,a\n")
    proc = run("fleet", str(cfg), "--policy", "fifo", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)["runs"]["fifo"]["training"]
    assert out["rejected"] == {"more devices than any pool": 1} and out["completed"] == 1
