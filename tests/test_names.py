"""Catalog name resolution: normal forms, exact matches, ambiguity as an error, unknown as None."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flopwatt import catalog
from flopwatt.catalog.names import AmbiguousNameError, normalise, resolve_name
from flopwatt.specs.model import ModelSpec


@pytest.mark.parametrize(("name", "model_id"), [
    ("Llama 3.3 70B Instruct", "llama3.3-70b"),
    ("Meta-Llama-3-70B", "llama3-70b"),
    ("meta-llama/Llama-3.1-8B", "llama3.1-8b"),
    ("Llama-2-70b-hf", "llama2-70b"),
    ("Llama-2-70b-chat-hf", "llama2-70b"),
    ("Mixtral-8x7B-Instruct-v0.1", "mixtral-8x7b"),
    ("mistralai/Mixtral-8x22B-v0.1", "mixtral-8x22b"),
    ("DeepSeek-V3", "deepseek-v3"),
    ("deepseek-ai/DeepSeek-R1", "deepseek-r1"),
    ("meta-llama/Meta-Llama-3.1-405B-Instruct", "llama3.1-405b"),
    ("llama3.1-70b", "llama3.1-70b"),
    ("OPT-175B pre-training", "opt-175b"),  # rule 6: a training run of the model
    ("Llama 3 70B pretraining", "llama3-70b"),
    ("Qwen3_30B_a3B", "qwen3-30b-a3b"),
    ("nvidia/Llama-3.3-70B-Instruct-FP8", "llama3.3-70b"),  # rule 7: a quantised export
    ("RedHatAI/Meta-Llama-3.1-70B-Instruct-FP8-dynamic", "llama3.1-70b"),
    ("Llama-3.1-8B-Instruct-quantized.w8a8", "llama3.1-8b"),
    ("DeepSeek-R1-0528", "deepseek-r1"),  # rule 8: a dated re-release
    ("deepseek-ai/DeepSeek-V3-0324", "deepseek-v3"),
    ("Qwen3-235B-A22B-Instruct-2507-FP8", "qwen3-235b-a22b"),
    ("Qwen3-235B-A22B-Thinking-2507", "qwen3-235b-a22b"),
])
def test_published_names_resolve(name, model_id):
    assert resolve_name(name, catalog.models()).id == model_id


@pytest.mark.parametrize(("name", "model_id"), [
    ("DeepSeekV3 (w/o MTP) (Megatron-Bridge recipe)", "deepseek-v3"),  # alias, tried as the part before '('
    ("Qwen3_235B_a22B (Megatron-Bridge recipe)", "qwen3-235b-a22b"),
    ("GPT OSS 120B (Megatron-Bridge recipe)", "gpt-oss-120b"),
])
def test_validation_row_names_resolve(name, model_id):
    assert catalog.model_by_name(name).id == model_id


@pytest.mark.parametrize(("name", "model_id"), [
    ("Qwen/Qwen3-32B", "qwen3-32b"), ("Qwen3 32B", "qwen3-32b"), ("Qwen/Qwen3-32B-FP8", "qwen3-32b"),
    ("Qwen/Qwen2.5-7B-Instruct", "qwen2.5-7b"), ("meta-llama/Llama-3.2-1B-Instruct", "llama3.2-1b"),
    ("Llama 3.2 1B", "llama3.2-1b"), ("mistralai/Mistral-7B-Instruct-v0.3", "mistral-7b-v0.3"),
    ("mistralai/Mistral-Small-24B-Instruct-2501", "mistral-small-24b"),
    ("Qwen/Qwen3-Coder-480B-A35B-Instruct-FP8", "qwen3-coder-480b-a35b"), ("openai/gpt-oss-20b", "gpt-oss-20b"),
    ("deepseek-ai/DeepSeek-R1-Distill-Qwen-32B", "qwen2.5-32b"), ("google/gemma-3-27b-it", "gemma3-27b"),
    ("meta-llama/Llama-4-Scout-17B-16E-Instruct", "llama4-scout"), ("microsoft/phi-4", "phi-4"),
    ("zai-org/GLM-4.5", "glm-4.5"), ("zai-org/GLM-4.5-FP8", "glm-4.5"), ("GLM 4.5 Air", "glm-4.5-air"),
    ("zai-org/GLM-4.5-Air-FP8", "glm-4.5-air"),
    ("moonshotai/Kimi-K2-Instruct", "kimi-k2"), ("Kimi K2", "kimi-k2"),
    ("deepseek-ai/DeepSeek-V3.1", "deepseek-v3"),
])
def test_serving_benchmark_names_resolve(name, model_id):
    """Names as published serving benchmarks write them (Hugging Face repo ids, spaced names, quantised
    exports) resolve to the open-weight serving entries."""
    assert catalog.model_by_name(name).id == model_id


@pytest.mark.parametrize("name", ["GPT-9 1T", "Llama 3.2 11B", "", "instruct", "DeepSeek-V2.5", "Mixtral"])
def test_unknown_names_give_none(name):
    assert resolve_name(name, catalog.models()) is None


def test_normal_form_rules():
    assert normalise("  meta-llama/Llama_3.1  8B ") == "llama-3-1-8b"
    assert normalise("Mixtral-8x7B-Instruct-v0.1") == "mixtral-8x7b"
    assert normalise("gemma-2-9b-it") == "gemma-2-9b"
    assert normalise("DeepSeek-V3") == "deepseek-v3"  # only Mistral's v0.<n> release tags are dropped
    assert normalise("Qwen2.5-7B-Instruct") == "qwen2-5-7b"
    assert normalise("LLaMA-65B pre-training") == "llama-65b"
    assert normalise("Llama 3.1 8B training") == "llama-3-1-8b"
    assert normalise("training") == ""  # a run word alone names no model
    assert normalise("Mixtral-8x7B-Instruct-v0.1-FP8") == "mixtral-8x7b"
    assert normalise("DeepSeek-R1-0528") == "deepseek-r1"
    assert normalise("Llama-3.1-405B") == "llama-3-1-405b"  # a size is not a revision (4 digits, no letter)


@given(st.text(max_size=40))
def test_normalise_is_idempotent_and_canonical(text):
    once = normalise(text)
    assert normalise(once) == once
    assert "--" not in once and not once.startswith("-") and not once.endswith("-")
    assert once == once.casefold() and not any(c in once for c in " _./")


def test_every_catalog_form_resolves_to_its_own_model():
    models = catalog.models()
    for model in models.values():
        for text in (model.id, model.name, *model.aliases):
            assert resolve_name(text, models) is model, text


def test_two_models_with_one_normal_form_are_ambiguous():
    base = catalog.models()["llama3.1-8b"]
    fields = {f: getattr(base, f) for f in ModelSpec.__dataclass_fields__ if f not in ("id", "name", "aliases")}
    models = {"a": ModelSpec(id="a", name="Llama 3.1 8B", **fields),
              "b": ModelSpec(id="b", name="Llama-3.1-8B-Instruct", **fields)}
    with pytest.raises(AmbiguousNameError) as info:
        resolve_name("meta-llama/Llama-3.1-8B", models)
    assert info.value.ids == ["a", "b"] and info.value.field == "model"
    assert resolve_name("a", models).id == "a"
