"""Model shapes from Hugging Face ``config.json`` files.

:func:`model_from_hf_config` is pure: it dispatches on the typed ``model_type`` field (a model's name is
never read for anything) and maps each family's keys onto :class:`~flopwatt.specs.model.ModelSpec`.
:func:`load_hf_config` is the edge that reads the file.

Where a key is absent the family's ``transformers`` configuration-class default applies, cited per
family below (transformers ``models/<family>/configuration_<family>.py``; ``PretrainedConfig`` sets
``tie_word_embeddings=True`` where the class does not override it). The structural keys (layers,
widths, heads, vocabulary) have no fallback: a missing one is an :class:`InputError` naming the key.

Not counted (each < 0.01 % of the models it concerns): DeepSeek-V3's per-expert routing bias
(``e_score_correction_bias``) and rotary-embedding buffers, which are not parameters.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flopwatt.errors import InputError
from flopwatt.specs.model import MLASpec, ModelSpec, MoESpec

GATED_MLP = {"silu": "swiglu", "swish": "swiglu", "gelu": "geglu", "gelu_new": "geglu",
             "gelu_pytorch_tanh": "geglu", "gelu_fast": "geglu"}
"""Gated-MLP families (Llama-like, Gemma): activation of the gate -> the MLP kind."""
PLAIN_MLP = {"gelu": "gelu", "gelu_new": "gelu", "gelu_pytorch_tanh": "gelu", "gelu_fast": "gelu", "relu": "relu"}
"""Two-matrix MLP families (GPT-2, GPT-NeoX, Falcon): activation -> the MLP kind."""


class _Keys:
    """Typed reads of one config dict; every error names the key."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    def has(self, key: str) -> bool:
        return self.config.get(key) is not None

    def count(self, key: str, default: int | None = None) -> int:
        """A positive integer; ``default`` (a class default) only when the key is absent or null."""
        value = self.config.get(key)
        if value is None:
            if default is None:
                raise InputError(key, "an integer >= 1 in the config (required key missing)")
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(key, "an integer >= 1", value)
        return value

    def optional_count(self, key: str) -> int | None:
        return self.count(key) if self.has(key) else None

    def flag(self, key: str, default: bool) -> bool:
        value = self.config.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise InputError(key, "true or false", value)
        return value

    def activation(self, key: str, default: str, kinds: dict[str, str]) -> str:
        value = self.config.get(key, default)
        if value not in kinds:
            raise InputError(key, f"one of {', '.join(kinds)}", value)
        return kinds[value]

    def whole_number(self, key: str, default: int) -> int:
        """An integer >= 0 (0 allowed: e.g. no shared experts)."""
        value = self.config.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InputError(key, "an integer >= 0", value)
        return value


def _attention(c: _Keys, *, kv_default: int | None = None, head_dim_default: int | None = None) -> dict[str, Any]:
    """Layers, widths and heads under the Llama-style key names (``num_key_value_heads`` absent ->
    ``num_attention_heads``, the LlamaConfig/Qwen2Config/Qwen3Config/GemmaConfig default)."""
    heads = c.count("num_attention_heads")
    return {"layers": c.count("num_hidden_layers"), "hidden": c.count("hidden_size"),
            "ffn_hidden": c.count("intermediate_size"), "heads": heads,
            "kv_heads": c.count("num_key_value_heads", kv_default or heads), "vocab": c.count("vocab_size"),
            "head_dim": c.count("head_dim", head_dim_default) if c.has("head_dim") or head_dim_default else None,
            "seq_len": c.optional_count("max_position_embeddings"), "position": "rope"}


def _rms_gated(c: _Keys, *, act_key: str = "hidden_act", act_default: str = "silu") -> dict[str, Any]:
    """RMSNorm (weight only), gated MLP, no MLP biases: the Llama-like layer."""
    return {"mlp": c.activation(act_key, act_default, GATED_MLP), "norm_bias": False, "mlp_bias": False}


def _llama(c: _Keys) -> dict[str, Any]:
    """LlamaConfig: tie_word_embeddings False, attention_bias False (q, k, v and o), mlp_bias False."""
    bias = c.flag("attention_bias", False)
    return {**_attention(c), **_rms_gated(c), "mlp_bias": c.flag("mlp_bias", False), "qkv_bias": bias,
            "out_bias": bias, "tied_embeddings": c.flag("tie_word_embeddings", False)}


def _mistral(c: _Keys) -> dict[str, Any]:
    """MistralConfig: tie_word_embeddings False; no projection has a bias."""
    return {**_attention(c), **_rms_gated(c), "qkv_bias": False, "out_bias": False,
            "tied_embeddings": c.flag("tie_word_embeddings", False)}


def _moe(c: _Keys, experts_key: str, width_key: str, **fields: Any) -> MoESpec:
    """Routed experts under the family's key names; top-k (``num_experts_per_tok``) checked against them."""
    experts, topk = c.count(experts_key), c.count("num_experts_per_tok")
    if topk > experts:
        raise InputError("num_experts_per_tok", f"at most {experts_key} ({experts})", topk)
    return MoESpec(experts=experts, topk=topk, ffn_hidden=c.count(width_key), **fields)


def _mixtral(c: _Keys) -> dict[str, Any]:
    """MixtralConfig: num_key_value_heads 8, tie_word_embeddings False; every layer routes over
    ``num_local_experts`` experts of width ``intermediate_size`` (router without bias)."""
    moe = _moe(c, "num_local_experts", "intermediate_size")
    return {**_attention(c, kv_default=8), **_rms_gated(c), "qkv_bias": False, "out_bias": False,
            "tied_embeddings": c.flag("tie_word_embeddings", False), "moe": moe}


def _qwen2(c: _Keys) -> dict[str, Any]:
    """Qwen2Config: tie_word_embeddings False; q, k and v carry biases, o does not (modeling_qwen2)."""
    return {**_attention(c), **_rms_gated(c), "qkv_bias": True, "out_bias": False,
            "tied_embeddings": c.flag("tie_word_embeddings", False)}


def _qwen3(c: _Keys) -> dict[str, Any]:
    """Qwen3Config: tie_word_embeddings False, attention_bias False; per-head q/k RMSNorm."""
    bias = c.flag("attention_bias", False)
    return {**_attention(c), **_rms_gated(c), "qkv_bias": bias, "out_bias": bias, "qk_norm": True,
            "tied_embeddings": c.flag("tie_word_embeddings", False)}


def _qwen_moe_layers(c: _Keys, layers: int) -> int:
    """Leading dense layers. A layer is sparse when it is not in ``mlp_only_layers`` and
    ``(i + 1) % decoder_sparse_step == 0`` (modeling_qwen2_moe); only a dense prefix is representable."""
    step = c.count("decoder_sparse_step", 1)
    dense_only = c.config.get("mlp_only_layers") or []
    if not isinstance(dense_only, list) or not all(isinstance(i, int) for i in dense_only):
        raise InputError("mlp_only_layers", "a list of layer indices", dense_only)
    sparse = [i for i in range(layers) if i not in dense_only and (i + 1) % step == 0]
    first = sparse[0] if sparse else layers
    if sparse != list(range(first, layers)):
        raise InputError("decoder_sparse_step", "MoE layers that run from one layer to the last (interleaved "
                         "dense and MoE layers are not modelled)", step)
    return first


def _qwen_moe(c: _Keys, base: dict[str, Any]) -> dict[str, Any]:
    """Routed experts of ``moe_intermediate_size``; the shared expert (Qwen2-MoE) of
    ``shared_expert_intermediate_size`` counts as that many expert widths, with its sigmoid gate."""
    width = c.count("moe_intermediate_size")
    shared_width = c.whole_number("shared_expert_intermediate_size", 0)
    if shared_width % width:
        raise InputError("shared_expert_intermediate_size", f"a multiple of moe_intermediate_size ({width})",
                         shared_width)
    moe = _moe(c, "num_experts", "moe_intermediate_size", shared_experts=shared_width // width,
               shared_expert_gate=shared_width > 0, first_dense_layers=_qwen_moe_layers(c, base["layers"]))
    return {**base, "moe": moe}


def _qwen2_moe(c: _Keys) -> dict[str, Any]:
    """Qwen2MoeConfig: as Qwen2 plus a shared expert (default width 5632) behind a sigmoid gate."""
    if not c.has("shared_expert_intermediate_size"):
        c = _Keys({**c.config, "shared_expert_intermediate_size": 5632})
    return _qwen_moe(c, _qwen2(c))


def _qwen3_moe(c: _Keys) -> dict[str, Any]:
    """Qwen3MoeConfig: as Qwen3; no shared expert (a key of 0 or absent)."""
    return _qwen_moe(c, _qwen3(c))


def _deepseek(c: _Keys) -> dict[str, Any]:
    """DeepseekV2Config / DeepseekV3Config: MLA (``q_lora_rank`` null = full-rank queries), dense layers
    of ``intermediate_size``, then MoE layers from ``first_k_dense_replace`` (``moe_layer_freq`` 1);
    tie_word_embeddings False; ``num_nextn_predict_layers`` MTP modules, outside the headline count."""
    base = {**_attention(c), **_rms_gated(c), "tied_embeddings": c.flag("tie_word_embeddings", False),
            "qkv_bias": False, "out_bias": False, "mtp_modules": c.whole_number("num_nextn_predict_layers", 0)}
    base["kv_heads"] = c.count("num_key_value_heads", base["heads"])
    if "q_lora_rank" not in c.config:  # null means full-rank queries; absence is not read as either
        raise InputError("q_lora_rank", "an integer or null in the config (required key missing)")
    base["mla"] = MLASpec(q_lora_rank=c.optional_count("q_lora_rank"), kv_lora_rank=c.count("kv_lora_rank"),
                          qk_nope_head_dim=c.count("qk_nope_head_dim"),
                          qk_rope_head_dim=c.count("qk_rope_head_dim"), v_head_dim=c.count("v_head_dim"))
    if not c.has("n_routed_experts"):
        return base
    if c.count("moe_layer_freq", 1) != 1:
        raise InputError("moe_layer_freq", "1 (interleaved dense and MoE layers are not modelled)",
                         c.config["moe_layer_freq"])
    base["moe"] = _moe(c, "n_routed_experts", "moe_intermediate_size",
                       shared_experts=c.whole_number("n_shared_experts", 0),
                       first_dense_layers=c.whole_number("first_k_dense_replace", 0))
    return base


def _gemma(c: _Keys, *, norms: int = 2, qk_norm: bool = False) -> dict[str, Any]:
    """GemmaConfig/Gemma2Config/Gemma3TextConfig: head_dim 256, tie_word_embeddings True,
    attention_bias False, GeGLU (``hidden_activation`` over ``hidden_act``); RMSNorm weights;
    Gemma 2 and 3 add post-attention and post-MLP norms (4 per layer), Gemma 3 q/k norms."""
    act_key = "hidden_activation" if c.has("hidden_activation") else "hidden_act"
    bias = c.flag("attention_bias", False)
    return {**_attention(c, head_dim_default=256), **_rms_gated(c, act_key=act_key, act_default="gelu_pytorch_tanh"),
            "qkv_bias": bias, "out_bias": bias, "norms_per_layer": norms, "qk_norm": qk_norm,
            "tied_embeddings": c.flag("tie_word_embeddings", True)}


def _gpt2(c: _Keys) -> dict[str, Any]:
    """GPT2Config: learned positions (``n_positions``), ``n_inner`` null -> 4 x ``n_embd``, LayerNorm and
    biases everywhere; the LM head is tied to the token embedding (PretrainedConfig default True)."""
    hidden, heads = c.count("n_embd"), c.count("n_head")
    return {"layers": c.count("n_layer"), "hidden": hidden, "ffn_hidden": c.count("n_inner", 4 * hidden),
            "heads": heads, "kv_heads": heads, "vocab": c.count("vocab_size"), "seq_len": c.count("n_positions"),
            "position": "learned", "mlp": c.activation("activation_function", "gelu_new", PLAIN_MLP),
            "tied_embeddings": c.flag("tie_word_embeddings", True)}


def _gpt_neox(c: _Keys) -> dict[str, Any]:
    """GPTNeoXConfig: rotary positions, tie_word_embeddings False, attention_bias True, MLP biases,
    LayerNorm (two per layer also with ``use_parallel_residual``)."""
    bias = c.flag("attention_bias", True)
    return {**_attention(c), "mlp": c.activation("hidden_act", "gelu", PLAIN_MLP), "qkv_bias": bias,
            "out_bias": bias, "tied_embeddings": c.flag("tie_word_embeddings", False)}


def _falcon(c: _Keys) -> dict[str, Any]:
    """FalconConfig: ``ffn_hidden_size`` null -> 4 x hidden, multi_query True, new_decoder_architecture
    False, parallel_attn True, bias False, alibi False, tie_word_embeddings True. KV heads: ``num_kv_heads``
    under the new architecture or without multi-query, else 1 (MQA). Norms (FalconDecoderLayer): two when
    attention is not parallel or ``num_ln_in_parallel_attn`` is 2 (its default under the new architecture:
    ln_attn, ln_mlp), else one shared input norm."""
    hidden, heads = c.count("hidden_size"), c.count("num_attention_heads")
    new_arch = c.flag("new_decoder_architecture", False)
    grouped = new_arch or not c.flag("multi_query", True)
    parallel_norms = c.count("num_ln_in_parallel_attn", 2) if new_arch else c.optional_count("num_ln_in_parallel_attn")
    norms = 2 if not c.flag("parallel_attn", True) or parallel_norms == 2 else 1
    bias = c.flag("bias", False)
    return {"layers": c.count("num_hidden_layers"), "hidden": hidden,
            "ffn_hidden": c.count("ffn_hidden_size", 4 * hidden), "heads": heads,
            "kv_heads": c.count("num_kv_heads", heads) if grouped else 1,
            "vocab": c.count("vocab_size"), "seq_len": c.count("max_position_embeddings", 2048),
            "position": "alibi" if c.flag("alibi", False) else "rope",
            "mlp": c.activation("activation", "gelu", PLAIN_MLP), "qkv_bias": bias, "out_bias": bias,
            "mlp_bias": bias, "norms_per_layer": norms, "tied_embeddings": c.flag("tie_word_embeddings", True)}


FAMILIES: dict[str, Callable[[_Keys], dict[str, Any]]] = {
    "llama": _llama, "mistral": _mistral, "mixtral": _mixtral, "qwen2": _qwen2, "qwen2_moe": _qwen2_moe,
    "qwen3": _qwen3, "qwen3_moe": _qwen3_moe, "deepseek_v2": _deepseek, "deepseek_v3": _deepseek,
    "gpt2": _gpt2, "gpt_neox": _gpt_neox, "falcon": _falcon, "gemma": _gemma,
    "gemma2": lambda c: _gemma(c, norms=4), "gemma3_text": lambda c: _gemma(c, norms=4, qk_norm=True),
}
"""Supported ``model_type`` values and the function mapping each onto ModelSpec fields."""


def model_from_hf_config(config: dict[str, Any], *, id: str, name: str, source: str,  # noqa: A002
                         retrieved: str = "") -> ModelSpec:
    """The :class:`ModelSpec` of a Hugging Face ``config.json`` (already parsed), chosen by ``model_type``."""
    if not isinstance(config, dict):
        raise InputError("config", "a JSON object (the contents of config.json)", type(config).__name__)
    model_type = config.get("model_type")
    family = FAMILIES.get(model_type) if isinstance(model_type, str) else None
    if family is None:
        raise InputError("model_type", f"one of {', '.join(FAMILIES)}", model_type)
    return ModelSpec(id=id, name=name, source=source, retrieved=retrieved, **family(_Keys(config)))


def load_hf_config(path: str | Path, *, id: str | None = None, name: str | None = None) -> ModelSpec:  # noqa: A002
    """Read a ``config.json`` and build its ModelSpec. ``id`` and ``name`` default to the file's stem (or
    its folder's name for a file called ``config.json``); ``retrieved`` is left empty (a local file)."""
    path = Path(path)
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(str(path), "a readable config.json file", message=f"cannot read it ({exc.strerror})") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(str(path), "a JSON file", message=f"not valid JSON ({exc})") from exc
    label = path.parent.name if path.stem == "config" and path.parent.name else path.stem
    return model_from_hf_config(config, id=id or label, name=name or label,
                                source=f"Hugging Face config.json read from {path}")
