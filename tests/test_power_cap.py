"""Board power limits: the DVFS clock rule by hand, what a cap does to serving, and bad limits."""

from __future__ import annotations

import pytest

from flopwatt import catalog
from flopwatt.energy.power_cap import capped_board_power_w, clock_ratio
from flopwatt.errors import InputError
from flopwatt.serve import ServeRequest, estimate_serving
from test_cli_errors import assert_one_line_error, run

H100 = catalog.get("accelerators", "h100-sxm5-80gb")


def test_clock_ratio_by_hand():
    """H100 SXM: board 700 W, idle 85 W; at 450 W the clock is ((450 - 85) / (700 - 85)) ** (1/3)."""
    assert clock_ratio(H100, 450) == pytest.approx((365 / 615) ** (1 / 3))
    assert clock_ratio(H100, None) == clock_ratio(H100, 700) == clock_ratio(H100, 900) == 1.0
    assert capped_board_power_w(H100, 450) == 450 and capped_board_power_w(H100, 900) == 700


def test_limits_a_device_cannot_take():
    with pytest.raises(InputError, match="idle draw"):
        clock_ratio(H100, 80)
    with pytest.raises(InputError, match="idle power"):  # no measured V100 idle draw is published
        clock_ratio(catalog.get("accelerators", "v100-sxm2-32gb"), 200)


def _serve(cap, **kw):
    req = ServeRequest(model=catalog.get("models", "llama2-70b"), system=catalog.system_for(H100.id), devices=8,
                       input_len=1000, output_len=300, power_cap_w=cap, **kw)
    return estimate_serving(req)


def test_a_lower_cap_never_serves_faster_and_draws_less():
    outs = [_serve(cap) for cap in (None, 600, 450, 300)]
    rates = [o["metrics"]["output_tokens_per_s"] for o in outs]
    assert rates == sorted(rates, reverse=True) and rates[-1] < rates[0]
    assert outs[2]["metrics"]["it_power_w"] < outs[0]["metrics"]["it_power_w"]


def test_memory_bound_decode_hardly_feels_the_cap():
    """One sequence on TP8 decoding (short prompt, long answer) streams weights: a 450 W cap slows it far
    less than the clock (0.84x)."""
    free, capped = (_serve(cap, tp=8, tpot_slo_s=None)["metrics"] for cap in (None, 450))
    single = [ServeRequest(model=catalog.get("models", "llama2-70b"), system=catalog.system_for(H100.id),
                           devices=8, input_len=100, output_len=1000, tp=8, power_cap_w=c) for c in (None, 450)]
    from flopwatt.perf.serving import ServingPlans, evaluate_serving
    from flopwatt.serve import _setup

    ratios = []
    for req in single:
        hw, element_bytes, slo = _setup(req)
        plans = ServingPlans(tp=[8], pp=[1], batch=[1])
        r = evaluate_serving(req.model, hw, 8, plans, lengths=req.lengths, element_bytes=element_bytes)
        ratios.append(r.metrics["output_tokens_per_s"][0])
    assert ratios[1] / ratios[0] > 0.95
    assert capped["output_tokens_per_s"] / free["output_tokens_per_s"] < ratios[1] / ratios[0]


def test_mlperf_maxq_rows_take_the_submitters_limit():
    from flopwatt.validate import conventions

    limit = catalog.power_limits()[conventions.for_row("MLPI-03").power_limit]
    assert limit.power_limit_w == 450
    assert conventions.for_row("MLPI-04").power_limit is None  # the same source's non-MaxQ rows


def test_cli_power_cap_errors():
    base = ["serve", "--devices", "8", "--input-len", "1000", "--output-len", "300"]
    assert_one_line_error(run(*base, "--power-cap-w", "50"), "--power-cap-w", "idle draw")
    assert_one_line_error(run(*base, "--accelerator", "v100-sxm2-32gb", "--power-cap-w", "200"),
                          "--power-cap-w", "idle power")
    assert run(*base, "--power-cap-w", "450").returncode == 0
