"""Length distributions in serving: length-biased slots, checked by hand and by simulating slots."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flopwatt import catalog
from flopwatt.errors import InputError
from flopwatt.perf.lengths import Lengths
from flopwatt.serve import ServeRequest, estimate_serving


def test_fixed_lengths_are_the_plain_means():
    lengths = Lengths(800.0, 200.0)
    assert lengths.slot_context_tokens() == 900.0
    assert lengths.slot_reserved_tokens() == 1000.0
    assert lengths.prompt_attention_tokens() == 800.0
    assert tuple(lengths) == (800.0, 200.0) and lengths.output_cv() == 0.0


def test_two_requests_by_hand():
    """(in 100, out 10) and (in 10, out 100): a slot spends 10 iterations on the first at mean context
    105 and 100 on the second at mean context 60, so (10 x 105 + 100 x 60) / 110 = 64.09."""
    lengths = Lengths.from_samples(np.array([100, 10]), np.array([10, 100]))
    assert lengths.slot_context_tokens() == pytest.approx((10 * 105 + 100 * 60) / 110)
    assert lengths.slot_reserved_tokens() == pytest.approx(110.0)  # each reserves in + out = 110


def test_slot_means_match_a_simulated_slot():
    """One batch slot serving random requests back to back: the time-average context it holds."""
    rng = np.random.default_rng(7)
    inp = rng.integers(1, 2000, 20_000)
    out = np.maximum(1, (rng.lognormal(4.5, 1.0, 20_000) * (1 + (inp < 500)))).astype(int)  # correlated
    ages = np.concatenate([np.arange(o) for o in out])  # tokens generated before each iteration
    context = np.repeat(inp, out) + ages + 0.5  # a token's KV is read while it is produced: midpoint
    reserved = np.repeat(inp + out, out)
    lengths = Lengths.from_samples(inp, out)
    assert context.mean() == pytest.approx(lengths.slot_context_tokens(), rel=1e-3)
    assert reserved.mean() == pytest.approx(lengths.slot_reserved_tokens(), rel=1e-9)


def test_scaling_outputs_keeps_their_spread():
    base = Lengths.from_samples(np.array([100, 300, 50]), np.array([20, 200, 80]))
    scaled = base.with_output_mean(2 * base.output_tokens)
    assert scaled.output_cv() == pytest.approx(base.output_cv())
    assert scaled.input_output_tokens2 == pytest.approx(2 * base.input_output_tokens2)


def test_a_second_moment_below_the_mean_squared_is_an_input_error():
    with pytest.raises(InputError, match="output_sq_tokens2"):
        Lengths(100.0, 50.0, output_sq_tokens2=2000.0)


def test_more_spread_in_outputs_never_raises_throughput():
    """Same means, wider outputs: slots hold longer contexts and reserve more, so no more tokens/s."""
    system, model = catalog.system_for("h100-sxm5-80gb"), catalog.get("models", "llama2-70b")
    rates = []
    for cv in (0.0, 0.5, 1.0, 2.0):
        moments = Lengths(1000.0, 300.0, output_sq_tokens2=300.0**2 * (1 + cv * cv))
        req = ServeRequest(model=model, system=system, devices=8, input_len=1000, output_len=300,
                           length_moments=moments, tpot_slo_s=0.1)
        rates.append(estimate_serving(req)["metrics"]["output_tokens_per_s"])
    assert all(b <= a * (1 + 1e-12) for a, b in zip(rates, rates[1:], strict=False))
    assert rates[-1] < rates[0]


def test_moments_must_agree_with_the_means():
    system, model = catalog.system_for("h100-sxm5-80gb"), catalog.get("models", "llama2-70b")
    with pytest.raises(InputError, match="length_moments"):
        ServeRequest(model=model, system=system, devices=8, input_len=1000, output_len=300,
                     length_moments=Lengths(900.0, 300.0))


def test_cli_takes_lengths_from_a_request_trace(tmp_path):
    from test_cli_errors import assert_one_line_error, run

    trace = tmp_path / "requests.csv"
    trace.write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03.9799600,1000,10\n"
                     "2023-11-16 18:17:04.0319600,200,500\n")
    proc = run("serve", "--devices", "8", "--lengths-from", str(trace))
    assert proc.returncode == 0, proc.stderr
    assert "in 600 / out 255 tokens (output CV 0.96" in proc.stdout
    assert_one_line_error(run("serve", "--devices", "8", "--lengths-from", str(trace), "--output-len", "9"),
                          "--lengths-from", "not both")
    assert_one_line_error(run("serve", "--devices", "8", "--input-len", "100"), "--output-len")
    bad = tmp_path / "bad.csv"
    bad.write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03.97,x,10\n")
    assert_one_line_error(run("serve", "--devices", "8", "--lengths-from", str(bad)), "bad.csv:2")


@given(inp=st.floats(1, 4000), out=st.floats(1, 1000), cv=st.floats(0, 1.5), extra=st.floats(0, 4000))
def test_a_cap_on_generated_tokens_is_what_a_reservation_holds(inp, out, cv, extra):
    """A reserving engine cannot know a request's length: with a cap (max_new_tokens) each slot holds the cap
    (TensorRT-LLM getRemainingBlocksToCompletion); the mean context a slot holds does not depend on it."""
    base = Lengths(inp, out, out * out * (1 + cv * cv))
    capped = dataclasses.replace(base, max_output_tokens=out + extra)
    assert capped.slot_reserved_tokens() == pytest.approx(base._io() / out + out + extra)
    assert capped.slot_context_tokens() == base.slot_context_tokens()
    assert capped.with_output_mean(out).max_output_tokens == out + extra


def test_a_cap_below_the_mean_output_is_an_input_error():
    with pytest.raises(InputError, match="max_output_tokens"):
        Lengths(200.0, 300.0, max_output_tokens=100.0)


def test_a_cap_shrinks_the_batch_a_reserving_engine_fits_and_leaves_on_demand_alone():
    lengths = Lengths(222.0, 294.0, 294.0 ** 2 * 1.6)
    capped = dataclasses.replace(lengths, max_output_tokens=1024.0)
    runs = {}
    for reserve in (True, False):
        for name, moments in (("own", lengths), ("cap", capped)):
            req = ServeRequest(model=catalog.model_by_name("llama2-70b"), system=catalog.system_for("h200-sxm-141gb"),
                               devices=1, input_len=222.0, output_len=294.0, tp=1, kv_reserve=reserve,
                               length_moments=moments)
            runs[reserve, name] = estimate_serving(req)["plan"]["batch_per_replica"]
    assert runs[True, "cap"] < runs[True, "own"]
    assert runs[False, "cap"] == runs[False, "own"]
