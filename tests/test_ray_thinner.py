"""The Ray backend's Thinner drops only rows ``engine.merge`` cannot use: merging the thinned items gives the
same front, top-k and best-per-system as merging them whole, whatever the arrival order and thinning points.

Rows are drawn from a tiny grid of objective values so that equal rows (ties) and dominance are common; the
arrival order of the tasks is shuffled and the thinning threshold is small, so rows are dropped many times.
"""

from __future__ import annotations

import copy
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from flopwatt.search import config as plan_config
from flopwatt.search import engine
from flopwatt.search.ray_backend import Thinner
from flopwatt.search.run import ChunkResult

VALUES = st.sampled_from([1.0, 2.0, 3.0, float("inf")])
ROW = st.fixed_dictionaries({"system": st.sampled_from(["a", "b", "c"]), "wall_s": VALUES, "usd": VALUES,
                             "facility_mwh": VALUES, "tco2e": VALUES, "tag": st.integers(0, 10**6)})
MENU = """
[workload]
model = "gpt3-175b"
tokens = 300e9
global_batch = [512, 1024]

[menu]
accelerators = ["a100-sxm4-80gb", "h100-sxm5-80gb"]
devices = [256]
stacks = ["megatron-core", "fsdp"]
fabrics = ["ideal", "rail-only"]
media = ["auto", "optics"]
cooling = ["direct-liquid"]
sites = ["us-virginia", "no-oslo"]

[output]
top_k = 3
"""
ITEM = st.tuples(st.lists(ROW, max_size=6), st.lists(ROW, max_size=4))


def _key(report):
    return report.front, report.top, report.best_per_system, report.configurations


def _thinned(items: list[ChunkResult], tasks: list[list[int]], top_k: int, limit: int) -> list[ChunkResult]:
    thinner = Thinner(top_k, limit_rows=limit)
    numbered = [(n, copy.deepcopy(r)) for n, r in enumerate(items)]
    for task in tasks:
        thinner.add([numbered[n] for n in task])
    thinner.thin()
    return [r for _, r in sorted(thinner.items, key=lambda pair: pair[0])]


@settings(max_examples=200, deadline=None)
@given(st.lists(ITEM, min_size=1, max_size=12), st.integers(1, 4), st.integers(0, 8), st.randoms())
def test_merge_of_thinned_items_is_merge_of_all(items, top_k, limit, rnd):
    results = [ChunkResult(configurations=1, front=front, top=top) for front, top in items]
    order = list(range(len(results)))
    rnd.shuffle(order)
    cut = sorted(rnd.sample(range(1, len(order)), k=min(3, len(order) - 1))) if len(order) > 1 else []
    tasks = [order[a:b] for a, b in zip([0, *cut], [*cut, len(order)], strict=True)]
    whole = engine.merge(copy.deepcopy(results), top_k)
    thinned = _thinned(results, tasks, top_k, limit)
    assert _key(engine.merge(thinned, top_k)) == _key(whole)
    assert sum(len(r.front) + len(r.top) for r in thinned) <= sum(len(r.front) + len(r.top) for r in results)


def test_thinning_a_real_search_keeps_its_report_and_drops_rows(tmp_path: Path):
    path = tmp_path / "plan.toml"
    path.write_text(MENU)
    cfg = plan_config.load(path)
    groups, items = engine.work_items(cfg)
    tasks = engine._tasks(cfg, groups, items, None, "csv")
    numbered = [pair for t in tasks for pair in engine._task(t)]
    results = [r for _, r in sorted(numbered, key=lambda pair: pair[0])]
    whole = engine.merge(copy.deepcopy(results), cfg.top_k)
    arrival = [numbers for _, numbers, _ in reversed(tasks)]
    thinned = _thinned(results, arrival, cfg.top_k, limit=0)
    assert _key(engine.merge(thinned, cfg.top_k)) == _key(whole)
    kept = sum(len(r.front) + len(r.top) for r in thinned)
    assert kept < sum(len(r.front) + len(r.top) for r in results)
    assert kept <= len(whole.front) + cfg.top_k + len(whole.best_per_system)
