"""flopwatt plan --out: atomic parts, a manifest written last, refusal of a non-empty directory, workers that
die with the planner, Ctrl-C as exit 130 and one line, pyarrow only for Parquet, progress lines off a terminal."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flopwatt import cli, progress
from flopwatt.search import config as plan_config
from flopwatt.search import engine, sink

ROOT = Path(__file__).resolve().parents[1]
LONG = ROOT / "examples" / "llama3-70b-15t.toml"  # 160 chunks, ~1M CSV rows: seconds to minutes
SMALL = """
[workload]
model = "gpt3-175b"
tokens = 300e9
global_batch = 512

[menu]
accelerators = ["a100-sxm4-80gb", "h100-sxm5-80gb"]
devices = [256]
stacks = ["megatron-core"]
fabrics = ["ideal", "rail-only"]
cooling = ["air"]
sites = ["us-virginia", "no-oslo"]

[plan]
tp = 8
"""


@pytest.fixture
def small(tmp_path) -> Path:
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    return path


def _parts(out: Path) -> list[str]:
    return sorted(p.name for p in out.glob("part-*"))


def _csv_rows(path: Path) -> int:
    """Rows of a whole CSV part (fails on a cut one: last line unterminated or short)."""
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n"), f"{path.name} is cut"
    rows = list(csv.reader(io.StringIO(text)))
    assert rows and all(len(r) == len(rows[0]) for r in rows), f"{path.name} has a short row"
    return len(rows) - 1


def _consistent(out: Path, *, killed: bool = False) -> None:
    """Every part on disk is listed in a completed manifest, or there is no manifest and the marker is there.
    After a SIGKILL no cleanup code runs: a worker killed mid-write may leave its hidden temporary file, which
    is never a part and is one of the files ``--overwrite`` removes."""
    manifest = out / sink.MANIFEST
    if manifest.exists():
        data = json.loads(manifest.read_text())
        assert data["completed"] is True and not (out / sink.INCOMPLETE).exists()
        assert sorted(p["name"] for p in data["parts"]) == _parts(out)
    else:
        assert (out / sink.INCOMPLETE).exists()
    leftovers = list(out.glob(".*.tmp"))
    assert not leftovers or (killed and all(sink._ours(t) for t in leftovers)), leftovers
    for name in _parts(out):
        _csv_rows(out / name)


def _main(capsys, *argv: str) -> tuple[int, list[str]]:
    code = cli.main([str(a) for a in argv])
    return code, capsys.readouterr().err.splitlines()


def test_manifest_is_written_last_and_lists_every_part(small, tmp_path):
    out = tmp_path / "out"
    cfg = plan_config.load(small)
    report = engine.search(cfg, workers=2, out_dir=out, fmt="csv")
    data = json.loads((out / sink.MANIFEST).read_text())
    assert data["completed"] is True and data["format"] == "csv" and data["flopwatt_version"]
    assert data["config_sha256"] == engine.config_sha256(cfg) and len(data["config_sha256"]) == 64
    assert data["configurations"] == report.configurations and data["rows"] == report.feasible > 0
    assert [p["name"] for p in data["parts"]] == _parts(out)
    assert all(_csv_rows(out / p["name"]) == p["rows"] for p in data["parts"])
    assert sum(p["rows"] for p in data["parts"]) == report.feasible
    assert sum(p["configurations"] for p in data["parts"]) <= report.configurations
    _consistent(out)
    other = plan_config.load(_write(tmp_path, SMALL.replace('"no-oslo"', '"fi-hamina"')))
    assert engine.config_sha256(other) != data["config_sha256"]


def test_parquet_parts_hold_the_manifest_rows(small, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "out"
    report = engine.search(plan_config.load(small), workers=1, out_dir=out)
    data = json.loads((out / sink.MANIFEST).read_text())
    assert data["format"] == "parquet" and [p["name"] for p in data["parts"]] == _parts(out)
    assert [pq.read_metadata(out / p["name"]).num_rows for p in data["parts"]] == [p["rows"] for p in data["parts"]]
    assert pq.read_table(out).num_rows == report.feasible  # the manifest and marker stay out of the dataset


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "other.toml"
    path.write_text(text)
    return path


def _no_work(monkeypatch) -> None:
    def fail(*_a, **_k):
        raise AssertionError("work started before the output checks")
    monkeypatch.setattr(engine, "work_items", fail)
    monkeypatch.setattr(plan_config, "load", fail)


def test_non_empty_out_is_refused_before_any_work(small, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    _no_work(monkeypatch)
    code, err = _main(capsys, "plan", small, "--out", out, "--format", "csv")
    assert code == 2 and len(err) == 1 and "--overwrite" in err[0] and str(out) in err[0]
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_existing_report_needs_overwrite(small, tmp_path, capsys, monkeypatch):
    page = tmp_path / "r.html"
    page.write_text("old")
    _no_work(monkeypatch)
    code, err = _main(capsys, "plan", small, "--report", page)
    assert code == 2 and len(err) == 1 and "--report" in err[0] and "--overwrite" in err[0]
    assert page.read_text() == "old"


def test_overwrite_replaces_plan_files_and_keeps_others(small, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    for name in ("part-999999.csv", "part-000000.jsonl", sink.MANIFEST, ".part-000001.csv.7.tmp", "notes.txt"):
        (out / name).write_text("stale")
    code, _ = _main(capsys, "plan", small, "--out", out, "--format", "csv", "--overwrite", "--workers", "1")
    assert code == 0
    assert "part-999999.csv" not in _parts(out) and "part-000000.jsonl" not in _parts(out)
    assert (out / "notes.txt").read_text() == "stale"
    _consistent(out)
    assert json.loads((out / sink.MANIFEST).read_text())["completed"] is True


def test_parquet_without_pyarrow_is_one_line_naming_the_extra(small, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow raises; find_spec finds nothing
    code, err = _main(capsys, "plan", small, "--out", tmp_path / "out")
    assert code == 2 and len(err) == 1 and "flopwatt[plan]" in err[0] and "pyarrow" in err[0]
    assert not (tmp_path / "out").exists()


def test_plan_without_out_needs_no_pyarrow(small):
    """The README's first command must work with a plain ``pip install -e .``: pyarrow blocked, not imported."""
    code = ("import sys; sys.modules['pyarrow'] = None\n"
            "from flopwatt.cli import main\n"
            f"rc = main(['plan', {str(small)!r}, '--workers', '2', '--json'])\n"
            "assert rc == 0, rc\n"
            "assert not [m for m in sys.modules if m.startswith('pyarrow.')], 'pyarrow imported'\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["pareto_front"]


def _group_alive(pgid: int) -> list[int]:
    """Live (non-zombie) processes of process group ``pgid``, from /proc (no psutil)."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(entry.name))
    return alive


def _wait_gone(pgid: int, timeout_s: float = 15.0) -> list[int]:
    """Survivors of group ``pgid`` after waiting; they are then killed, so a failing test leaves no orphan."""
    deadline = time.monotonic() + timeout_s
    while (left := _group_alive(pgid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    if left:
        os.killpg(pgid, signal.SIGKILL)
    return left


def _start_long_plan(out: Path, pipe: int = subprocess.PIPE) -> subprocess.Popen:
    """The README example writing CSV parts over 2 workers, in its own process group; returns once a part exists."""
    proc = subprocess.Popen([sys.executable, "-m", "flopwatt", "plan", str(LONG), "--out", str(out), "--format", "csv",
                             "--workers", "2", "--no-progress"], cwd=ROOT, stdout=pipe, stderr=pipe, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while not _parts(out) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None and _parts(out), "the plan ended (or wrote nothing) before it could be interrupted"
    return proc


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find orphans")
@pytest.mark.parametrize("ctrl_c_to_group", [True, False], ids=["group", "main-only"])
def test_ctrl_c_is_exit_130_one_line_no_orphans(tmp_path, ctrl_c_to_group):
    out = tmp_path / "out"
    proc = _start_long_plan(out)
    (os.killpg if ctrl_c_to_group else os.kill)(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.splitlines() == ["flopwatt plan: interrupted"]
    assert _wait_gone(proc.pid) == []
    assert not (out / sink.MANIFEST).exists()
    _consistent(out)
    rerun = subprocess.run([sys.executable, "-m", "flopwatt", "plan", str(LONG), "--out", str(out)], cwd=ROOT,
                           capture_output=True, text=True, timeout=60)
    assert rerun.returncode == 2 and len(rerun.stderr.splitlines()) == 1 and "--overwrite" in rerun.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux process groups and /proc")
def test_sigkill_of_the_planner_leaves_no_worker(tmp_path):
    out = tmp_path / "out"
    proc = _start_long_plan(out, subprocess.DEVNULL)  # no pipe an orphan could hold open
    before = _group_alive(proc.pid)
    assert len(before) >= 3  # the planner and its 2 workers
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    assert _wait_gone(proc.pid) == []
    _consistent(out, killed=True)


WATCHED_CHILD = """
import os, sys, time
from flopwatt.search import workers
planner = os.getpid()                  # taken before the fork, as the pool passes it: the test may kill
pid = os.fork()                        # this process before the child has armed its watchdog
if pid == 0:
    sys.platform = "no-prctl"          # the watchdog alone, as on a system without PR_SET_PDEATHSIG
    workers.start_worker(planner, True)
    time.sleep(120)
    os._exit(0)
print(pid, flush=True)
time.sleep(120)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="os.fork and /proc")
def test_watchdog_alone_ends_a_worker_whose_parent_died():
    middle = subprocess.Popen([sys.executable, "-c", WATCHED_CHILD], stdout=subprocess.PIPE, text=True,
                              start_new_session=True)
    child = int(middle.stdout.readline())
    assert child in _group_alive(middle.pid)
    middle.kill()
    middle.wait(timeout=30)
    assert _wait_gone(middle.pid) == []


def test_heartbeat_prints_status_lines():
    stream = io.StringIO()
    with progress.Heartbeat("plan", interval_s=0.01, stream=stream) as beat:
        beat.status = "3/80 chunks"
        time.sleep(0.2)
    lines = stream.getvalue().splitlines()
    assert lines and all(line.startswith("flopwatt plan: ") and line.endswith(" s)") for line in lines)
    assert any("3/80 chunks" in line for line in lines)
    count = len(lines)
    time.sleep(0.05)
    assert len(stream.getvalue().splitlines()) == count  # stopped on exit


@pytest.mark.parametrize("argv", [["plan", "SMALL", "--workers", "1"],
                                  ["fleet", "examples/fleet-3site.toml", "--policy", "compare", "--max-jobs", "50"]])
def test_long_commands_report_progress_off_a_terminal(small, capsys, monkeypatch, argv):
    monkeypatch.setattr(progress, "INTERVAL_S", 0.01)
    monkeypatch.chdir(ROOT)
    assert not sys.stderr.isatty()
    code, err = _main(capsys, *[str(small) if a == "SMALL" else a for a in argv])
    assert code == 0 and err
    want = "chunks" if argv[0] == "plan" else "policy"
    assert all(line.startswith(f"flopwatt {argv[0]}: ") for line in err) and any(want in line for line in err)
