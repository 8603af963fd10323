"""Published per-step host (CPU) overheads of open serving engines (bench/data/engine_step_overheads.csv): schema,
units and sourcing. Reference data only; nothing is predicted here. A time read in milliseconds but written as
seconds (or the reverse) fails the bounds below, as does a percentage written as 33 instead of 0.33."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import heldout_data

CSV = Path(__file__).resolve().parents[1] / "bench" / "data" / "engine_step_overheads.csv"
COLUMNS = ["engine", "engine_version_or_pr", "device", "model", "batch_size", "quantity", "value", "what_is_included",
           "overlapped", "source", "retrieved", "notes"]
# Seconds per engine step (or per step component / saved per step).
TIME_QUANTITIES = {"host_time_per_step_s", "host_component_time_per_step_s", "scheduler_time_per_step_s",
                   "gpu_idle_time_per_step_s", "step_time_saving_s"}
# Dimensionless fractions of a step, of host step time, or of total time.
FRACTION_QUANTITIES = {"host_share_of_step", "scheduler_share_of_time", "scheduler_share_of_host_step",
                       "api_server_share_of_time", "gpu_busy_share", "gpu_idle_share", "step_time_saving_share"}
ENGINES = {"vllm", "sglang", "sglang-jax", "tensorrt-llm", "vllm (tenstorrent fork)"}
# A source names where the number is: a pull request or issue, or repo@commit:path of a post.
SOURCE_ANCHOR = re.compile(r"(PR #\d+|issue #\d+|@[0-9a-f]{40}:\S+)")


def _rows() -> list[dict[str, str]]:
    return heldout_data.read(CSV)[1]


def test_header_is_the_documented_schema():
    assert heldout_data.read(CSV)[0] == COLUMNS


def test_every_quantity_has_one_unit_class():
    assert not TIME_QUANTITIES & FRACTION_QUANTITIES
    assert all(q.endswith("_s") for q in TIME_QUANTITIES)
    assert not any(q.endswith("_s") for q in FRACTION_QUANTITIES)


@pytest.mark.parametrize("row", _rows(), ids=lambda r: f"{r['engine']}-{r['quantity']}-{r['value']}")
def test_row_units_and_sourcing(row):
    assert row["engine"] in ENGINES
    assert row["engine_version_or_pr"].strip() and row["device"].strip() and row["model"].strip()
    quantity, value = row["quantity"], float(row["value"])
    if quantity in TIME_QUANTITIES:
        assert 0 < value < 1.0, "a per-step time in seconds"
    else:
        assert quantity in FRACTION_QUANTITIES, quantity
        assert 0 <= value <= 1.0, "a fraction, not a percentage"
    if row["batch_size"]:
        assert int(row["batch_size"]) >= 1
    assert row["overlapped"] in ("yes", "no", "unknown")
    assert row["what_is_included"].strip()
    assert SOURCE_ANCHOR.search(row["source"]), "the source names the PR, issue or repo@commit:path"
    assert row["retrieved"] == "2026-12-07"
    assert row["notes"].strip()


def test_derived_values_say_so_and_figure_readings_are_marked():
    """A value computed from the source's numbers says 'derived:'; one read off a plot says so."""
    for row in _rows():
        if row["quantity"] in ("step_time_saving_share", "step_time_saving_s", "host_share_of_step"):
            stated = re.search(r"\d+(\.\d+)?%", row["source"]) and "derived:" not in row["notes"]
            assert "derived:" in row["notes"] or stated, row["source"][:80]
        if "static/images/" in row["source"]:
            assert "Read from figure, approximate" in row["notes"]


def test_no_duplicate_rows():
    keys = [tuple(r[k] for k in ("engine", "engine_version_or_pr", "device", "model", "batch_size", "quantity",
                                 "what_is_included", "source")) for r in _rows()]
    assert len(keys) == len(set(keys))
