"""A model whose only released checkpoint keeps its experts narrower than the asked precision (gpt-oss: MXFP4) is
served with them at that width, and says so (flopwatt.serve.weight_bytes)."""

from __future__ import annotations

import dataclasses

import pytest

from flopwatt import catalog
from flopwatt.errors import InputError
from flopwatt.perf.serving import BYTES
from flopwatt.perf.serving_ep import expert_share
from flopwatt.serve import ServeRequest, estimate_serving, weight_bytes


@pytest.mark.parametrize("precision", ["bf16", "fp8"])
def test_released_experts_stay_narrow_under_a_wider_precision(precision):
    model = catalog.get("models", "gpt-oss-120b")
    mean, note = weight_bytes(model, precision)
    share = expert_share(model)
    assert mean == pytest.approx(share * model.released_expert_weight_bytes + (1.0 - share) * BYTES[precision])
    assert BYTES["fp8"] > mean > model.released_expert_weight_bytes and "only released checkpoint" in note


def test_a_narrower_precision_or_a_model_without_the_field_is_unchanged():
    assert weight_bytes(catalog.get("models", "gpt-oss-120b"), "fp4") == (BYTES["fp4"], None)
    assert weight_bytes(catalog.get("models", "mixtral-8x7b"), "bf16") == (2.0, None)


def test_gpt_oss_120b_in_bf16_fits_one_80_gb_gpu_as_its_card_says():
    model = catalog.get("models", "gpt-oss-120b")
    request = ServeRequest(model=model, system=catalog.system_for("h100-sxm5-80gb"), devices=1, input_len=1000,
                           output_len=1000, precision="bf16")
    assert estimate_serving(request)["metrics"]["output_tokens_per_s"] > 0
    unreleased = dataclasses.replace(model, released_expert_weight_bytes=None)
    with pytest.raises(InputError):  # at 2 bytes per weight, 117B parameters do not fit 80 GB
        estimate_serving(dataclasses.replace(request, model=unreleased))


def test_a_dense_model_cannot_carry_released_expert_weights():
    with pytest.raises(InputError, match="released_expert_weight_bytes"):
        dataclasses.replace(catalog.get("models", "llama3.1-8b"), released_expert_weight_bytes=0.5)


def test_a_validation_row_of_the_model_keeps_its_released_experts_and_a_reshaped_one_does_not():
    """validate builds the row's model from its columns; the catalog's released width comes along only when the
    row's experts are the catalog model's own."""
    from flopwatt.validate.row_specs import _model

    row = {"id": "ZZW-01", "model": "gpt-oss-120b", "source": "test", "layers": "36", "hidden": "2880",
           "ffn_hidden": "2880", "heads": "64", "kv_heads": "8", "vocab": "201088", "params_b": "",
           "moe_experts": "128", "moe_topk": "4", "moe_ffn_hidden": "2880", "moe_shared_experts": ""}
    assert _model(row, []).released_expert_weight_bytes == pytest.approx(0.53125)
    assert _model({**row, "moe_experts": "64"}, []).released_expert_weight_bytes is None


def test_gpt_oss_20b_in_bf16_fits_16_gb_of_weights_as_its_card_says():
    """OpenAI: MXFP4 experts let the smaller model run on systems with as little as 16 GB."""
    model = catalog.get("models", "gpt-oss-20b")
    assert model.total_params() * weight_bytes(model, "bf16")[0] < 16e9 < model.total_params() * BYTES["bf16"]
