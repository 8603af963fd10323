"""Hugging Face config.json -> ModelSpec: verbatim fixtures against published totals, family mappings, errors.

Fixtures (tests/fixtures/hf/*.json) are real config.json files; SOURCES.toml gives where each copy came
from and where its total parameter count is published. Synthetic dicts below are labelled as such and
test the mapping rules only, never a published figure.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flopwatt import catalog
from flopwatt.errors import InputError
from flopwatt.specs.hf_config import FAMILIES, load_hf_config, model_from_hf_config

FIXTURES = Path(__file__).parent / "fixtures" / "hf"
SOURCES = tomllib.loads((FIXTURES / "SOURCES.toml").read_text())
SLUGS = sorted(SOURCES)
TOLERANCE = 0.005
UNITS = {"M": 1e6, "B": 1e9, "T": 1e12}


def relative_error(slug: str) -> float:
    published = SOURCES[slug]["published_params"]
    return load_hf_config(FIXTURES / f"{slug}.json").total_params() / published - 1


def rounds_to_printed(total: int, text: str) -> bool:
    """True when ``total`` rounded to the precision of the printed figure (``'46.7B'``) gives that figure."""
    number, unit = re.fullmatch(r"([\d.]+)([MBT])", text).groups()
    decimals = len(number.partition(".")[2])
    return round(total / UNITS[unit], decimals) == float(number)


def test_every_fixture_has_a_source_and_every_source_a_fixture():
    assert sorted(p.stem for p in FIXTURES.glob("*.json")) == SLUGS
    for slug, entry in SOURCES.items():
        for key in ("hf_repo", "copy", "licence", "published_params", "published_text", "published_where",
                    "retrieved"):
            assert entry.get(key), f"{slug}: {key}"
        number, unit = re.fullmatch(r"([\d.]+)([MBT])", entry["published_text"]).groups()
        assert float(number) * UNITS[unit] == pytest.approx(entry["published_params"])


@pytest.mark.parametrize("slug", SLUGS)
def test_fixture_loads_as_its_model_type(slug):
    path = FIXTURES / f"{slug}.json"
    model = load_hf_config(path)
    assert model.id == slug and model.source.endswith(str(path))
    assert json.loads(path.read_text())["model_type"] in FAMILIES
    assert model.total_params() >= model.active_params() > 0


@pytest.mark.parametrize("slug", [s for s in SLUGS if not SOURCES[s].get("size_class")])
def test_total_matches_the_published_count(slug):
    """Within 0.5 %, or equal to the printed figure at its printed precision ('0.6B', '8.2B')."""
    total = load_hf_config(FIXTURES / f"{slug}.json").total_params()
    error = relative_error(slug)
    assert abs(error) <= TOLERANCE or rounds_to_printed(total, SOURCES[slug]["published_text"]), f"{error:+.3%}"


def test_at_least_twelve_models_within_half_a_percent():
    within = [slug for slug in SLUGS if abs(relative_error(slug)) <= TOLERANCE]
    assert len(within) >= 12, within


@pytest.mark.parametrize(("slug", "catalog_id"), [
    ("llama-3.1-8b", "llama3.1-8b"), ("llama-3.1-70b", "llama3.1-70b"), ("llama-3.1-405b", "llama3.1-405b"),
    ("mixtral-8x7b-v0.1", "mixtral-8x7b"), ("mixtral-8x22b-v0.1", "mixtral-8x22b"), ("deepseek-v3", "deepseek-v3"),
    ("deepseek-v3.1", "deepseek-v3"),
])
def test_fixture_shape_agrees_with_the_catalog_entry(slug, catalog_id):
    """The catalog entries were typed in from papers and model cards; the configs must agree with them,
    except where SOURCES.toml records a known difference (``differs_from_catalog``)."""
    ours, theirs = load_hf_config(FIXTURES / f"{slug}.json"), catalog.models()[catalog_id]
    known = SOURCES[slug].get("differs_from_catalog", {})
    for field in ("layers", "hidden", "ffn_hidden", "heads", "kv_heads", "vocab", "mlp", "position",
                  "tied_embeddings", "mla", "mtp_modules"):
        if field in known:
            assert (getattr(ours, field), getattr(theirs, field)) == tuple(known[field]), field
        else:
            assert getattr(ours, field) == getattr(theirs, field), field
    if theirs.moe is not None:
        for field in ("experts", "topk", "ffn_hidden", "shared_experts", "first_dense_layers"):
            assert getattr(ours.moe, field) == getattr(theirs.moe, field), field


def test_deepseek_v3_1_config_gives_deepseek_v3s_shape():
    """The deepseek-v3 entry lists DeepSeek-V3.1 as an alias: the two config.json files must map onto one
    ModelSpec (they differ only in transformers_version and the FP8 scale format)."""
    v3, v31 = (load_hf_config(FIXTURES / f"{slug}.json") for slug in ("deepseek-v3", "deepseek-v3.1"))
    assert replace(v31, id=v3.id, name=v3.name, source=v3.source, retrieved=v3.retrieved, notes=v3.notes) == v3


FULL_SHAPE = ("layers", "hidden", "ffn_hidden", "heads", "kv_heads", "head_size", "vocab", "mlp", "seq_len", "position",
              "tied_embeddings", "qkv_bias", "out_bias", "mlp_bias", "norm_bias", "norms_per_layer", "qk_norm", "mla",
              "mtp_modules")
"""Every field of a catalog entry that a config.json determines (head_size: head_dim or hidden / heads)."""


@pytest.mark.parametrize(("slug", "catalog_id"), [
    ("qwen3-0.6b", "qwen3-0.6b"), ("qwen3-1.7b", "qwen3-1.7b"), ("qwen3-8b", "qwen3-8b"), ("qwen3-32b", "qwen3-32b"),
    ("qwen3-coder-480b-a35b-instruct", "qwen3-coder-480b-a35b"), ("qwen2.5-7b", "qwen2.5-7b"),
    ("qwen2.5-32b", "qwen2.5-32b"), ("qwen2.5-72b", "qwen2.5-72b"),
])
def test_serving_model_entry_is_its_config(slug, catalog_id):
    """The open-weight serving entries were copied from these configs field by field: every field a config
    determines (head size, biases, norms, context included) and the MoE shape must be equal."""
    ours, theirs = load_hf_config(FIXTURES / f"{slug}.json"), catalog.models()[catalog_id]
    for field in FULL_SHAPE:
        assert getattr(ours, field) == getattr(theirs, field), field
    assert ours.total_params() == theirs.total_params()
    assert (ours.moe is None) == (theirs.moe is None)
    if theirs.moe is not None:
        assert ours.moe == theirs.moe


# Synthetic configs (not real models): small shapes to test each family's mapping rules.
LLAMA_LIKE = {"hidden_size": 64, "intermediate_size": 160, "num_hidden_layers": 3, "num_attention_heads": 8,
              "vocab_size": 1000, "max_position_embeddings": 512}


def spec(model_type: str, **overrides):
    return model_from_hf_config({**LLAMA_LIKE, "model_type": model_type, **overrides}, id="t", name="t", source="test")


@given(layers=st.integers(1, 8), hidden=st.sampled_from([64, 128, 256]), ffn=st.integers(1, 1024),
       heads=st.sampled_from([1, 2, 4, 8]), kv_div=st.sampled_from([1, 2, 4]), vocab=st.integers(1, 5000),
       tied=st.booleans())
def test_llama_count_is_the_bias_free_rmsnorm_formula(layers, hidden, ffn, heads, kv_div, vocab, tied):
    """Independent count of the Llama layout: q, k, v, o, gate/up/down, two RMSNorm weights per layer,
    the final norm, the embedding and (untied) the output head; no biases."""
    kv = max(1, heads // kv_div)
    model = spec("llama", num_hidden_layers=layers, hidden_size=hidden, intermediate_size=ffn,
                 num_attention_heads=heads, num_key_value_heads=kv, vocab_size=vocab, tie_word_embeddings=tied)
    d = hidden // heads
    layer = hidden * heads * d * 2 + hidden * kv * d * 2 + 3 * hidden * ffn + 2 * hidden
    assert model.total_params() == layers * layer + vocab * hidden * (1 if tied else 2) + hidden


def test_llama_defaults_and_gating():
    model = spec("llama")
    assert (model.kv_heads, model.mlp, model.tied_embeddings, model.position) == (8, "swiglu", False, "rope")
    assert not (model.qkv_bias or model.out_bias or model.mlp_bias or model.norm_bias)
    assert spec("llama", attention_bias=True).qkv_bias and spec("llama", hidden_act="gelu").mlp == "geglu"
    assert spec("llama").seq_len == 512 and spec("llama", head_dim=16).attention_width == 128


def test_qwen2_has_qkv_bias_only():
    model = spec("qwen2", num_key_value_heads=2)
    assert model.qkv_bias and not model.out_bias and not model.mlp_bias
    assert model.attention_params() - spec("llama", num_key_value_heads=2).attention_params() == 64 + 2 * 16


def test_qwen2_moe_shared_expert_counts_as_expert_widths_with_a_gate():
    model = spec("qwen2_moe", num_experts=4, num_experts_per_tok=2, moe_intermediate_size=32,
                 shared_expert_intermediate_size=128)
    assert (model.moe.shared_experts, model.moe.shared_expert_gate, model.moe.first_dense_layers) == (4, True, 0)
    plain = spec("qwen2_moe", num_experts=4, num_experts_per_tok=2, moe_intermediate_size=32,
                 shared_expert_intermediate_size=32)
    assert model.total_params() - plain.total_params() == 3 * (3 * 64 * 32) * 3  # 3 more widths x 3 layers
    with pytest.raises(InputError, match="shared_expert_intermediate_size"):
        spec("qwen2_moe", num_experts=4, num_experts_per_tok=2, moe_intermediate_size=32,
             shared_expert_intermediate_size=100)


def test_qwen3_moe_dense_prefix_and_interleaving():
    moe = {"num_experts": 4, "num_experts_per_tok": 2, "moe_intermediate_size": 32}
    assert spec("qwen3_moe", **moe, mlp_only_layers=[0, 1]).moe.first_dense_layers == 2
    assert spec("qwen3_moe", **moe).qk_norm
    with pytest.raises(InputError, match="decoder_sparse_step"):
        spec("qwen3_moe", **moe, decoder_sparse_step=2)
    with pytest.raises(InputError, match="decoder_sparse_step"):
        spec("qwen3_moe", **moe, mlp_only_layers=[1])


def test_gemma_families():
    gemma = spec("gemma", hidden_act="gelu")
    assert (gemma.head_dim, gemma.tied_embeddings, gemma.mlp, gemma.norms_per_layer) == (256, True, "geglu", 2)
    assert spec("gemma2", head_dim=8).norms_per_layer == 4 and not spec("gemma2", head_dim=8).qk_norm
    assert spec("gemma3_text", head_dim=8).qk_norm
    assert spec("gemma", hidden_activation="gelu_pytorch_tanh", hidden_act="silu").mlp == "geglu"


@pytest.mark.parametrize(("layers", "hidden", "ffn_dims", "heads", "kv_heads", "embedding", "non_embedding"), [
    (18, 2048, 32768, 8, 1, 524_550_144, 1_981_884_416),
    (28, 3072, 49152, 16, 16, 786_825_216, 7_751_248_896),
])
def test_gemma_mapping_reproduces_the_gemma_report_counts(layers, hidden, ffn_dims, heads, kv_heads, embedding,
                                                          non_embedding):
    """Keys filled from the Gemma report (arXiv:2403.08295) Table 1 (not a config.json): d_model, layers,
    'feedforward hidden dims' (both GeGLU branches, so intermediate_size is half), heads, KV heads, head size
    256, vocabulary 256,128. Table 2 prints the embedding and non-embedding counts exactly."""
    model = spec("gemma", num_hidden_layers=layers, hidden_size=hidden, intermediate_size=ffn_dims // 2,
                 num_attention_heads=heads, num_key_value_heads=kv_heads, vocab_size=256_128, hidden_act="gelu")
    assert model.vocab * model.hidden == embedding
    assert model.total_params() - embedding == non_embedding


PYTHIA = [  # (layers, d_model, heads, published non-embedding params)
    (6, 128, 4, 1_189_888), (6, 256, 8, 4_739_072), (6, 512, 8, 18_915_328), (12, 768, 12, 85_056_000),
    (24, 1024, 16, 302_311_424), (16, 2048, 8, 805_736_448), (24, 2048, 16, 1_208_602_624),
    (32, 2560, 32, 2_517_652_480), (32, 4096, 32, 6_444_163_072), (36, 5120, 40, 11_327_027_200),
]


@pytest.mark.parametrize(("layers", "hidden", "heads", "non_embedding"), PYTHIA)
def test_gpt_neox_mapping_reproduces_the_pythia_counts(layers, hidden, heads, non_embedding):
    """Keys filled from the Pythia README table (EleutherAI/pythia@a19eecb807ec2c79a39ebf18108816e6ffffc1d5:
    README.md, n_layers / d_model / n_heads; not a config.json), FFN 4 x d_model (the GPT-NeoX default: the
    Pythia training configs set no FFN width). The Pythia model cards' 'Naming convention and parameter
    count' table prints the non-embedding counts (total minus the untied input and output embeddings)."""
    model = spec("gpt_neox", num_hidden_layers=layers, hidden_size=hidden, intermediate_size=4 * hidden,
                 num_attention_heads=heads, hidden_act="gelu")
    assert model.total_params() - 2 * model.vocab * model.hidden == non_embedding


def test_deepseek_mla_moe_and_mtp():
    mla = {"kv_lora_rank": 16, "qk_nope_head_dim": 8, "qk_rope_head_dim": 4, "v_head_dim": 8, "q_lora_rank": None}
    dense = spec("deepseek_v2", **mla)
    assert dense.moe is None and dense.mla.q_lora_rank is None
    moe = spec("deepseek_v3", **mla, n_routed_experts=8, num_experts_per_tok=2, moe_intermediate_size=32,
               n_shared_experts=1, first_k_dense_replace=1, num_nextn_predict_layers=1)
    assert (moe.moe.first_dense_layers, moe.moe.shared_experts, moe.mtp_modules) == (1, 1, 1)
    with pytest.raises(InputError, match="moe_layer_freq"):
        spec("deepseek_v3", **mla, n_routed_experts=8, num_experts_per_tok=2, moe_intermediate_size=32,
             moe_layer_freq=2)


def test_gpt2_and_gpt_neox_and_falcon():
    gpt2 = model_from_hf_config({"model_type": "gpt2", "n_embd": 64, "n_layer": 2, "n_head": 4, "n_inner": None,
                                 "vocab_size": 100, "n_positions": 32}, id="g", name="g", source="test")
    assert (gpt2.ffn_hidden, gpt2.position, gpt2.seq_len, gpt2.tied_embeddings, gpt2.mlp) == (256, "learned", 32,
                                                                                                True, "gelu")
    assert gpt2.qkv_bias and gpt2.out_bias and gpt2.mlp_bias and gpt2.norm_bias
    neox = spec("gpt_neox", hidden_act="gelu")
    assert (neox.mlp, neox.tied_embeddings, neox.qkv_bias, neox.norm_bias) == ("gelu", False, True, True)
    falcon = {"model_type": "falcon", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 8,
              "vocab_size": 100}
    mqa = model_from_hf_config(falcon, id="f", name="f", source="test")
    assert (mqa.kv_heads, mqa.norms_per_layer, mqa.ffn_hidden, mqa.qkv_bias, mqa.tied_embeddings) == (1, 1, 256,
                                                                                                       False, True)
    new = model_from_hf_config({**falcon, "new_decoder_architecture": True, "num_kv_heads": 2}, id="f", name="f",
                               source="test")
    assert (new.kv_heads, new.norms_per_layer) == (2, 2)
    one_norm = model_from_hf_config({**falcon, "new_decoder_architecture": True, "num_ln_in_parallel_attn": 1},
                                    id="f", name="f", source="test")
    serial = model_from_hf_config({**falcon, "parallel_attn": False}, id="f", name="f", source="test")
    assert (one_norm.norms_per_layer, serial.norms_per_layer) == (1, 2)


@pytest.mark.parametrize(("config", "field"), [
    ({**LLAMA_LIKE, "model_type": "bert"}, "model_type"),
    ({**LLAMA_LIKE, "model_type": ["llama"]}, "model_type"),
    (LLAMA_LIKE, "model_type"),
    ({k: v for k, v in {**LLAMA_LIKE, "model_type": "llama"}.items() if k != "hidden_size"}, "hidden_size"),
    ({**LLAMA_LIKE, "model_type": "llama", "num_attention_heads": "8"}, "num_attention_heads"),
    ({**LLAMA_LIKE, "model_type": "llama", "hidden_act": "relu"}, "hidden_act"),
    ({**LLAMA_LIKE, "model_type": "llama", "tie_word_embeddings": "no"}, "tie_word_embeddings"),
    ({**LLAMA_LIKE, "model_type": "mixtral"}, "num_local_experts"),
    ({**LLAMA_LIKE, "model_type": "deepseek_v2", "kv_lora_rank": 16, "qk_nope_head_dim": 8, "qk_rope_head_dim": 4,
      "v_head_dim": 8}, "q_lora_rank"),
    ({**LLAMA_LIKE, "model_type": "qwen2_moe", "num_experts": 4, "num_experts_per_tok": 8,
      "moe_intermediate_size": 32}, "num_experts_per_tok"),
])
def test_bad_config_names_the_field(config, field):
    with pytest.raises(InputError) as info:
        model_from_hf_config(config, id="x", name="x", source="test")
    assert info.value.field == field


def test_unknown_model_type_lists_the_supported_ones():
    with pytest.raises(InputError, match="one of llama, mistral, mixtral"):
        spec("t5")


def test_bad_files_name_the_path(tmp_path):
    missing = tmp_path / "absent.json"
    with pytest.raises(InputError) as info:
        load_hf_config(missing)
    assert info.value.field == str(missing)
    broken = tmp_path / "config.json"
    broken.write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON") as info:
        load_hf_config(broken)
    assert info.value.field == str(broken)


def test_config_json_takes_its_folder_name(tmp_path):
    folder = tmp_path / "my-model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({**LLAMA_LIKE, "model_type": "llama"}))
    assert load_hf_config(folder / "config.json").id == "my-model"
