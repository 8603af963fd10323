"""bench/megascale_ablation.py: its steps rebuild the megascale stack from its Megatron-LM baseline."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

from flopwatt import catalog

ROOT = Path(__file__).resolve().parents[1]


def _bench():
    spec = importlib.util.spec_from_file_location("megascale_ablation", ROOT / "bench" / "megascale_ablation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_last_step_is_the_megascale_stack_and_the_first_its_baseline():
    bench = _bench()
    stacks = bench.step_stacks()
    assert bench.same_behaviour(stacks[0][1], catalog.get("stacks", "megatron-lm-2024"))
    assert bench.same_behaviour(stacks[-1][1], catalog.get("stacks", "megascale"))
    assert not bench.same_behaviour(stacks[0][1], stacks[-1][1])


def test_every_published_step_has_a_stack_change():
    with (ROOT / "validation" / "megascale_ablation.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert sorted(int(r["step"]) for r in rows) == sorted(_bench().STEPS)
    assert all(0 < float(r["mfu"]) < 1 and r["source"] for r in rows)
