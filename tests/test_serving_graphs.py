"""CUDA-graph padding of decode-only iterations (serving_step.graph_padded_batch, serving._graph_padding)."""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from flopwatt import catalog
from flopwatt.perf import serving_step as step
from flopwatt.perf.lengths import Lengths
from flopwatt.perf.serving import EngineIteration, ServingPlans, evaluate_serving
from flopwatt.serve import ServeRequest, _setup

SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 384, 512, 1024, 2048, 4096, 8192)


@given(st.floats(min_value=1.0, max_value=20000.0))
def test_padded_batch_is_the_next_captured_size_or_the_batch_itself(seqs):
    padded = float(step.graph_padded_batch(np.array([seqs]), SIZES)[0])
    assert padded >= seqs
    if seqs <= SIZES[-1]:
        assert padded in SIZES and all(s < seqs for s in SIZES if s < padded)
    else:
        assert padded == seqs  # above the largest graph the batch runs eagerly, unpadded


def test_padded_batch_by_hand():
    got = step.graph_padded_batch(np.array([1.0, 3.0, 128.0, 129.0, 385.0, 9000.0]), SIZES)
    assert list(got) == [1.0, 4.0, 128.0, 256.0, 512.0, 9000.0]


@given(st.floats(min_value=0.0, max_value=5000.0), st.floats(min_value=1.0, max_value=5000.0))
def test_decode_only_share_is_a_probability_falling_with_the_batch(seqs, out):
    share, more = step.decode_only_share(np.array([seqs, seqs + 10.0]), out, 1.0)
    assert 0.0 <= more <= share <= 1.0


def _evaluate(batch: float, lengths: Lengths, graphs) -> dict:
    req = ServeRequest(model=catalog.get("models", "llama3.1-70b"), system=catalog.system_for("h200-sxm-141gb"),
                       devices=1, tp=1, input_len=lengths.input_tokens, output_len=lengths.output_tokens,
                       precision="fp8")
    hardware, element_bytes, slo = _setup(req)
    one = np.ones(1)
    engine = dataclasses.replace(EngineIteration(), graph_batch_sizes=graphs)
    result = evaluate_serving(req.model, hardware, 1, ServingPlans(tp=one, pp=one, batch=one * batch),
                              lengths=lengths, element_bytes=element_bytes, slo=slo, engine=engine)
    return {k: float(v[0]) for k, v in result.metrics.items()}


def test_padding_slows_an_iteration_but_not_its_attention():
    lengths = Lengths(128.0, 2048.0)
    plain, padded = _evaluate(130, lengths, None), _evaluate(130, lengths, SIZES)
    assert padded["tpot_s"] > plain["tpot_s"]
    assert padded["linear_s"] > plain["linear_s"]
    assert padded["decode_attention_s"] == plain["decode_attention_s"]  # empty slots hold no KV


def test_a_batch_of_a_captured_size_is_not_padded():
    lengths = Lengths(128.0, 2048.0)
    assert _evaluate(128, lengths, SIZES)["tpot_s"] == _evaluate(128, lengths, None)["tpot_s"]


def test_a_decode_only_pool_pads_every_iteration():
    """A prefilled (decode-only) pool never carries a prompt, so every iteration replays a padded graph: its
    extra time is the full padded-minus-real decode pass, more than a mixed pool's share of it."""
    mixed, pool = Lengths(1000.0, 1000.0), Lengths(1000.0, 1000.0, prefilled=True)
    extra = {name: _evaluate(130, lengths, SIZES)["tpot_s"] - _evaluate(130, lengths, None)["tpot_s"]
             for name, lengths in (("mixed", mixed), ("pool", pool))}
    assert extra["pool"] > extra["mixed"] > 0.0
