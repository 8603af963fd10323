"""The paths api.train can take to one answer agree number for number (issue 22): a fresh process (nothing
cached), one that keeps the batch-free shape bounds of other global batches of the same model, system and
device count (estimate.clear_choices(shapes=False)), and the exhaustive search (every plan of every stack
evaluated), on requests of the size bench/bench_api.py times (llama3-70b on 1,000 devices, knobs open, advice on)."""

from __future__ import annotations

import pytest

from flopwatt import api, estimate
from flopwatt.api.requests import TrainRequest

BATCHES = (2000, 5000, 8000)


def _request(batch: int, **knobs) -> TrainRequest:
    return TrainRequest(model="llama3-70b", devices=1000, global_batch=batch, tokens=1e12, advise=True, **knobs)


@pytest.mark.parametrize("knobs", [{}, {"stack": "megatron-2021"}, {"accelerator": "h100-sxm5-80gb"}])
def test_fresh_kept_and_exhaustive_searches_give_one_answer(knobs):
    try:
        estimate.clear_choices()
        fresh = []
        for batch in BATCHES:
            estimate.clear_choices()
            fresh.append(api.train(_request(batch, **knobs)))
        estimate.clear_choices()
        kept = []
        for batch in BATCHES:  # each batch a new space; the shape bounds of the earlier ones kept
            estimate.clear_choices(shapes=False)
            kept.append(api.train(_request(batch, **knobs)))
        estimate.SEARCH_PRUNED = False
        whole = []
        for batch in BATCHES:
            estimate.clear_choices()
            whole.append(api.train(_request(batch, **knobs)))
    finally:
        estimate.SEARCH_PRUNED = True
        estimate.clear_choices()
    assert fresh == kept == whole
    assert all(r.feasible for r in fresh)
