"""The largest batch KV memory holds (flopwatt.perf.serving.kv_batch_limit) and the plans it adds to the search."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flopwatt import catalog, serve
from flopwatt.perf.serving import ServingPlans, evaluate_serving, kv_batch_limit
from flopwatt.serve import ServeRequest, estimate_serving


def _request(percentile: float | None, devices: int = 8, **kw) -> ServeRequest:
    """llama2-70b in BF16 on H100s: KV-bound at a few hundred sequences per replica."""
    slo = {} if percentile is None else {"ttft_slo_s": 30.0, "slo_percentile": percentile}
    return ServeRequest(model=catalog.get("models", "llama2-70b"), system=catalog.system_for("h100-sxm5-80gb"),
                        devices=devices, input_len=1024.0, output_len=1024.0, precision="bf16", **slo, **kw)


def _memory_reason(req: ServeRequest, tp: int, batch: float) -> int:
    hardware, element_bytes, slo = serve._setup(req)
    one = np.ones(1)
    plans = ServingPlans(tp=one * tp, pp=one, batch=np.array([batch]))
    result = evaluate_serving(req.model, hardware, req.devices, plans, lengths=req.lengths,
                              element_bytes=element_bytes, slo=slo, engine=req.engine)
    return int(result.reason[0])


@settings(max_examples=12, deadline=None)
@given(tp=st.sampled_from([4, 8]), percentile=st.sampled_from([None, 50.0, 90.0, 99.0]))
def test_the_limit_is_the_last_batch_the_memory_check_passes(tp, percentile):
    """At the limit the plan's memory (its tail batch under a percentile) fits; one more sequence does not."""
    req = _request(percentile)
    hardware, element_bytes, slo = serve._setup(req)
    one = np.ones(1)
    limit = kv_batch_limit(req.model, hardware, (one * tp, one, one), lengths=req.lengths,
                           element_bytes=element_bytes, slo=slo, engine=req.engine)[0]
    assert limit >= 1
    assert _memory_reason(req, tp, limit) != 2
    assert _memory_reason(req, tp, limit + 1) == 2


def test_a_tail_percentile_holds_fewer_sequences_than_the_mean():
    req_mean, req_tail = _request(None), _request(99.0)
    hardware, element_bytes, _ = serve._setup(req_mean)
    shape = (np.full(1, 8.0), np.ones(1), np.ones(1))
    mean = kv_batch_limit(req_mean.model, hardware, shape, lengths=req_mean.lengths,
                          element_bytes=element_bytes, engine=req_mean.engine)[0]
    tail = kv_batch_limit(req_tail.model, hardware, shape, lengths=req_tail.lengths,
                          element_bytes=element_bytes, slo=serve._setup(req_tail)[2], engine=req_tail.engine)[0]
    assert tail < mean
    assert tail + 2.33 * np.sqrt(tail) == pytest.approx(mean, abs=2.33 + 1.0)


def test_a_kv_bound_search_runs_the_batch_memory_holds_not_the_grid_step_below():
    """The best plan of a KV-bound request sits at its shape's KV limit, which lies between two grid batches."""
    req = _request(None)
    best = estimate_serving(req)
    hardware, element_bytes, slo = serve._setup(req)
    plan = best["plan"]
    one = np.ones(1)
    limit = kv_batch_limit(req.model, hardware, (one * plan["tp"], one * plan["pp"], one * plan["ep"]),
                           lengths=req.lengths, element_bytes=element_bytes, slo=slo, engine=req.engine)[0]
    assert plan["batch_per_replica"] == limit
    assert limit not in serve.BATCHES
