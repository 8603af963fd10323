"""The prompt queue under a TTFT target (flopwatt.perf.serving_queue)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flopwatt import catalog
from flopwatt.perf import serving_queue as queue
from flopwatt.serve import ServeRequest, estimate_serving


def test_exponential_service_gives_the_exact_mm1_waiting_time_quantile():
    """M/M/1: P(W > t) = rho exp(-(1 - rho) t / E[S]) exactly, so the p quantile is
    E[S] / (1 - rho) ln(rho / (1 - p)); Kingman's form with E[S^2] = 2 E[S]^2 is that."""
    mean_s, rho, p = 0.8, np.array([0.3, 0.6, 0.9]), 0.99
    got = queue.wait_quantile_s(rho, mean_s, 2 * mean_s ** 2, p)
    assert got == pytest.approx(mean_s / (1 - rho) * np.log(rho / (1 - p)))
    assert queue.wait_quantile_s(np.array([0.005]), mean_s, 2 * mean_s ** 2, p)[0] == 0.0  # P(wait) < 1 - p
    assert np.isinf(queue.wait_quantile_s(np.array([1.0]), mean_s, 2 * mean_s ** 2, p)[0])


def test_load_share_shrinks_as_the_target_tightens_and_is_zero_past_the_own_ttft():
    args = (np.full(4, 0.9), np.full(4, 1.0), np.full(4, 1.2), np.full(4, 0.5))
    loads = [queue.max_load_share(*args, target, 0.99)[0] for target in (60.0, 10.0, 4.0, 1.0)]
    assert loads[0] == 1.0 and loads == sorted(loads, reverse=True) and 0 < loads[-1] < loads[-2]
    assert queue.max_load_share(*args, 0.4, 0.99)[0] == 0.0
    u = queue.max_load_share(*args, 4.0, 0.99)[0]
    assert queue.wait_quantile_s(np.array([u * 0.9]), 1.0, 1.2, 0.99)[0] == pytest.approx(3.5, rel=1e-6)


def _request(model: str, inp: float, out: float, **kw) -> ServeRequest:
    return ServeRequest(model=catalog.get("models", model), system=catalog.system_for("h200-sxm-141gb"), devices=8,
                        input_len=inp, output_len=out, precision="fp8", **kw)


def test_short_prompts_never_queue_and_long_ones_cost_throughput_under_a_ttft_target():
    """llama2-70b's 222-token prompts prefill in ~30 ms: a 2 s target leaves the full load. 405B's
    9,429-token prompts take ~1 s each: at a 6 s p99 target the replica must keep headroom."""
    short = estimate_serving(_request("llama2-70b", 222.3, 294.5, ttft_slo_s=2.0, tpot_slo_s=0.2, slo_percentile=99))
    assert short["metrics"]["load_share"] == 1.0
    slo = {"ttft_slo_s": 6.0, "tpot_slo_s": 0.175, "slo_percentile": 99.0}
    long_free = estimate_serving(_request("llama3.1-405b", 9428.6, 684.7))["metrics"]
    long_slo = estimate_serving(_request("llama3.1-405b", 9428.6, 684.7, **slo))["metrics"]
    assert long_slo["load_share"] < 1.0 and long_slo["ttft_queue_wait_s"] > 0
    assert long_slo["ttft_slo_percentile_s"] <= 6.0 + 1e-9
    assert long_slo["output_tokens_per_s"] < long_free["output_tokens_per_s"]


def test_near_deterministic_service_decays_at_the_lundberg_rate_faster_than_kingman():
    """M/D/1 at rho = 0.5: the tail rate x / E[S] solves 0.5 (e^x - 1) = x, x = 1.2564 (Kingman's heavy-traffic
    rate would be 2 (1 - rho) / E[S] = 1.0 / E[S])."""
    mean_s, rho, p = 2.0, np.array([0.5]), 0.99
    got = queue.wait_quantile_s(rho, mean_s, mean_s ** 2 * (1 + 1e-9), p)[0]
    x = 1.2564312086261697  # root of 0.5 (e^x - 1) = x
    assert got == pytest.approx(np.log(0.5 / 0.01) * mean_s / x, rel=1e-4)


@given(extra=st.floats(0.0, 5.0), chunk=st.floats(1.0, 16384.0), floor=st.floats(0.0, 1e-3),
       micro=st.integers(1, 8))
def test_a_prompt_token_costs_one_micro_batch_its_chunk_time_or_leftover_budget_over_the_micro_batches(
        extra, chunk, floor, micro):
    """One micro-batch serves prompts at the marginal chunk time per token, at least its leftover-budget floor; the
    pp micro-batches of a pipeline serve different prompts side by side, a server pp times as fast."""
    one = queue.prompt_service_s_per_token(np.array([extra]), chunk, np.array([floor]), 1.0)[0]
    assert one == pytest.approx(max(extra / chunk, floor))
    assert queue.prompt_service_s_per_token(np.array([extra]), chunk, None)[0] == pytest.approx(extra / chunk)
    many = queue.prompt_service_s_per_token(np.array([extra]), chunk, np.array([floor]), np.array([micro]))[0]
    assert many == pytest.approx(one / micro)


@given(share=st.floats(0.05, 1.0), service=st.floats(0.05, 3.0), cv2=st.floats(0.0, 2.0), own=st.floats(0.0, 5.0),
       micro=st.integers(2, 8))
@settings(max_examples=30, deadline=None)
def test_more_prompt_servers_never_admit_less_load(share, service, cv2, own, micro):
    """Splitting the prefill over pp micro-batches lowers the utilisation and shortens the service, so the load a
    TTFT target admits never drops."""
    args = (service, service ** 2 * (1.0 + cv2), own, 6.0, 0.99)
    one, _ = queue.admitted_load(np.array([share]), *args)
    fast = (service / micro, args[1] / micro ** 2, own, 6.0, 0.99)
    pooled, _ = queue.admitted_load(np.array([share / micro]), *fast, micro)
    single_fast, _ = queue.admitted_load(np.array([share / micro]), *fast)
    assert pooled[0] >= single_fast[0] - 1e-9 >= one[0] - 2e-9  # c servers wait less often than one fast one


@given(rho=st.floats(0.01, 0.99), servers=st.integers(1, 8))
def test_erlang_c_is_rho_at_one_server_and_falls_with_more_servers_at_the_same_utilisation(rho, servers):
    one = queue.probability_of_waiting(np.array([rho]), 1)[0]
    assert one == pytest.approx(rho)
    c = queue.probability_of_waiting(np.array([rho, rho]), np.array([servers, servers + 1]))
    assert 0.0 < c[1] <= c[0] <= rho + 1e-12


def test_exponential_service_gives_the_exact_mmc_waiting_time_quantile():
    """M/M/2: P(wait) = 2 rho^2 / (1 + rho) and P(W > t) = P(wait) exp(-(2 mu - lambda) t), so the p quantile is
    ln(P(wait) / (1 - p)) / (2 mu (1 - rho)); the moments passed are those of the server twice as fast."""
    service, rho, p = 1.6, np.array([0.4, 0.7, 0.9]), 0.99
    fast = service / 2
    got = queue.wait_quantile_s(rho, fast, 2 * fast ** 2, p, 2)
    waits = 2 * rho ** 2 / (1 + rho)
    assert queue.probability_of_waiting(rho, 2) == pytest.approx(waits)
    assert got == pytest.approx(np.log(waits / (1 - p)) / (2 / service * (1 - rho)), rel=1e-6)


def test_each_pipeline_micro_batch_has_its_own_token_budget():
    """TensorRT-LLM schedules each of its pp micro-batches with the whole max_num_tokens: 300 decoding sequences over
    two micro-batches leave 106 tokens of a 256-token budget to prompts in each, where one micro-batch of 300 would
    leave none (the prompt never starts: TTFT unbounded)."""
    from flopwatt.perf.serving import EngineIteration, ServingPlans, evaluate_serving
    from flopwatt.serve import _setup

    req = _request("llama2-70b", 222.3, 294.5, ttft_slo_s=2.0, tpot_slo_s=0.2, slo_percentile=99.0)
    hardware, element_bytes, slo = _setup(req)
    engine = EngineIteration(chunk_tokens=256, token_budget=256)
    plans = ServingPlans(tp=np.array([2, 2]), pp=np.array([1, 2]), batch=np.array([300.0, 300.0]))
    result = evaluate_serving(req.model, hardware, 8, plans, lengths=req.lengths, element_bytes=element_bytes,
                              slo=slo, engine=engine)
    ttft = result.metrics["ttft_slo_percentile_s"]
    assert np.isinf(ttft[0]) and result.metrics["load_share"][0] == 0.0
    assert np.isfinite(ttft[1]) and result.metrics["load_share"][1] > 0.0


@pytest.mark.parametrize("budget", [None, 2560])
def test_a_pipeline_pools_its_prompt_servers_at_least_as_well_as_separate_replicas(budget):
    """Eight H200s as one tp4 x pp2 replica of 2b sequences or two tp4 replicas of b each: the same cycle and own
    TTFT, and the pipeline's two micro-batches prefill prompts side by side, so under a TTFT target it admits at
    least the load of the two separate replicas (a pooled queue), not half their prefill capacity."""
    from flopwatt.perf.serving import EngineIteration, ServingPlans, evaluate_serving
    from flopwatt.serve import _setup

    req = _request("llama3.1-405b", 9428.6, 684.7, ttft_slo_s=6.0, tpot_slo_s=0.175, slo_percentile=99.0)
    hardware, element_bytes, slo = _setup(req)
    engine = EngineIteration() if budget is None else EngineIteration(chunk_tokens=budget, token_budget=budget)
    b = np.array([4.0, 8.0, 16.0])
    plans = ServingPlans(tp=np.full(6, 4), pp=np.repeat([1, 2], 3), batch=np.concatenate([b, 2 * b]))
    m = evaluate_serving(req.model, hardware, 8, plans, lengths=req.lengths, element_bytes=element_bytes, slo=slo,
                         engine=engine).metrics
    assert m["tpot_s"][3:] == pytest.approx(m["tpot_s"][:3], rel=0.02)  # the same cycle either way
    assert (m["load_share"][3:] >= m["load_share"][:3]).all()
    assert (m["load_share"][:3] < 1.0).any()  # the target binds somewhere


def test_a_prompt_that_can_never_be_served_waits_forever_without_a_nan():
    """Infinite service time (the decodes fill the iteration budget): the wait is inf, never NaN, and no load is
    admitted under a TTFT target."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        wait = queue.wait_quantile_s(np.array([0.0, 0.5]), np.array([np.inf, np.inf]), np.array([np.inf, np.inf]),
                                     0.99, servers=2.0)
        load, at_load = queue.admitted_load(np.array([1.0]), np.array([np.inf]), np.array([np.inf]), np.array([0.1]),
                                            2.0, 0.99)
    assert wait.tolist() == [0.0, np.inf]
    assert load.tolist() == [0.0] and at_load.tolist() == [0.0]
