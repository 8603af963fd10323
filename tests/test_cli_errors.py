"""Bad input: one clear line on stderr naming the field, exit status 2, no traceback, nothing on stdout."""

from __future__ import annotations

import subprocess
import sys

import pytest

TRAIN = ["train", "--devices", "384"]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flopwatt", *args], capture_output=True, text=True, timeout=60)


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode == 2, proc
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.mark.parametrize(("args", "needles"), [
    (["train", "--model", "gpt3-175"], ("model", "unknown id 'gpt3-175'", "gpt3-175b")),
    (["train", "--accelerator", "h100"], ("accelerator", "h100-sxm5-80gb")),
    (["train", "--stack", "megatron"], ("stack", "megatron-")),
    (["train", "--system", "dgx-h1000"], ("system", "dgx-h100")),
    (["catalog", "models", "llama3"], ("model", "llama3-8b")),
    (["train", "--devices", "-4"], ("--devices", "integer >= 1")),
    (["train", "--devices", "many"], ("--devices", "a number")),
    ([*TRAIN, "--devices", "512"], ("--devices", "given more than once", "expected it once")),
    (["serve", "compare", "--accelerator", "h100-sxm5-80gb", "--accelerator", "mi300x"],
     ("--accelerator", "given more than once", "comma-separated")),
    ([*TRAIN, "--tokens", "lots"], ("--tokens", "a number")),
    ([*TRAIN, "--tokens", "0"], ("--tokens", "> 0")),
    ([*TRAIN, "--zero", "5"], ("--zero",)),
    ([*TRAIN, "--tp", "64", "--pp", "1"], ("plan", "heads not divisible by tp")),
    (["train", "--devices", "1000", "--tp", "8", "--pp", "8"], ("devices", "multiple", "64")),
    ([*TRAIN, "--tp", "8", "--pp", "12", "--dp", "8"], ("devices", "tp*pp*dp*cp = 768")),
    ([*TRAIN, "--precision", "fp8"], ("precision", "a100-sxm4-80gb")),
    ([*TRAIN, "--precision", "fp7"], ("precision",)),
    ([*TRAIN, "--stack", "megatron-2021", "--recompute", "selective"], ("plan", "no selective recompute")),
    ([*TRAIN, "--site", "cn-guizho"], ("site", "unknown id", "cn-guizhou")),
    ([*TRAIN, "--cooling", "liquid"], ("cooling", "direct-liquid")),
    ([*TRAIN, "--pue", "0.9"], ("--pue", ">= 1")),
    ([*TRAIN, "--pue-cap", "0.8"], ("--pue-cap", ">= 1")),
    ([*TRAIN, "--pue-cap", "1.05"], ("--pue-cap", "air at us-virginia gives PUE")),
    ([*TRAIN, "--electricity-price", "-0.1"], ("--electricity-usd-per-kwh", ">= 0")),
    ([*TRAIN, "--carbon-intensity", "dirty"], ("--carbon-g-per-kwh", "a number")),
    ([*TRAIN, "--price-factor", "-1"], ("--price-factor", "> 0")),
    (["reliability", "--devices", "0", "--days", "3"], ("--devices", "integer >= 1")),
    (["fabric", "--endpoints", "4096", "--radix", "63"], ("radix", "even")),
    (["fabric", "--endpoints", "100000000"], ("endpoints", "at most")),
    (["fabric", "--endpoints", "1000", "--topology", "dragonfly", "--dragonfly", "2,4,2"], ("endpoints", "a*p")),
    (["fabric", "--endpoints", "4096", "--switch", "qm9800"], ("switch", "unknown id")),
    (["fabric", "--endpoints", "4096", "--topology", "mesh"], ("--topology", "fat-tree")),
    (["fabric", "--endpoints", "4096", "--topology", ""], ("--topology", "one or more")),
    (["fabric", "--endpoints", "4096", "--oversubscription", "0.5"], ("--oversubscription", ">= 1")),
    (["train", "--fabric", "rail-only", "--switch", "nope"], ("switch", "unknown id")),
    ([*TRAIN, "--ep", "4"], ("--ep", "dense")),
    (["train", "--model", "mixtral-8x7b", "--devices", "64", "--global-batch", "64", "--ep", "3"],
     ("--ep", "divisor of the 8 experts")),
    (["plan", "/nonexistent/plan.toml"], ("plan config", "existing TOML")),
    (["validate", "/nonexistent/runs.csv"], ("validation file", "readable CSV")),
    (["validate", "README.md", "--kind", "oops"], ("--kind",)),
])
def test_bad_input_is_one_line_exit_2(args, needles):
    assert_one_line_error(run(*args), *needles)


def test_malformed_toml_config(tmp_path):
    bad = tmp_path / "run.toml"
    bad.write_text("[train\nmodel = 'x'")
    assert_one_line_error(run("train", "--config", str(bad)), "--config", "valid TOML")


def test_unknown_config_key_names_the_key(tmp_path):
    bad = tmp_path / "run.toml"
    bad.write_text("[train]\nmodle = 'gpt3-175b'\n")
    assert_one_line_error(run("train", "--config", str(bad)), "[train].modle")


def test_bad_config_value_names_the_key(tmp_path):
    bad = tmp_path / "run.toml"
    bad.write_text("[train]\ndevices = -3\n")
    assert_one_line_error(run("train", "--config", str(bad)), "[train].devices", "integer >= 1")


def test_csv_with_wrong_header(tmp_path):
    bad = tmp_path / "runs.csv"
    bad.write_text("id,kind,value\nA,train,1\n")
    assert_one_line_error(run("validate", str(bad)), "header", "missing column")


def test_csv_with_short_row_names_the_line(visible_csv, tmp_path):
    header = visible_csv.read_text().splitlines()[0]
    bad = tmp_path / "runs.csv"
    bad.write_text(header + "\nX-01,train,src\n")
    assert_one_line_error(run("validate", str(bad)), "line 2")


def test_csv_with_non_numeric_value_names_row_and_field(visible_csv, tmp_path):
    lines = visible_csv.read_text().splitlines()
    row = next(line for line in lines if line.startswith("MEG21-01,"))
    bad = tmp_path / "runs.csv"
    bad.write_text(lines[0] + "\n" + row.replace(",24,2304,", ",twenty-four,2304,") + "\n")
    assert_one_line_error(run("validate", str(bad)), "MEG21-01", "layers", "a number")


def test_plan_constraint_no_configuration_meets_says_which(tmp_path):
    cfg = tmp_path / "plan.toml"
    cfg.write_text("[workload]\nmodel = 'gpt3-175b'\ntokens = 300e9\nglobal_batch = 512\n"
                   "[menu]\ndevices = [256]\n[plan]\ntp = 8\npp = 8\n[constraints]\ndeadline_days = 1\n")
    assert_one_line_error(run("plan", str(cfg), "--no-progress"), "[constraints]", "deadline removed")


def test_plan_with_empty_menu(tmp_path):
    cfg = tmp_path / "plan.toml"
    cfg.write_text("[workload]\nmodel = 'gpt3-175b'\ntokens = 300e9\n[menu]\nstacks = []\n")
    assert_one_line_error(run("plan", str(cfg)), "[menu].stacks", "the list is empty")
