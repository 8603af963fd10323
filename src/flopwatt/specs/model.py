"""Transformer model shapes (dense; GQA/MQA; gated or plain MLP).

The bias and norm fields default to the GPT-2/Megatron layout (biases everywhere, two LayerNorms per
layer), the convention every catalog entry was counted with; Hugging Face configs set them per family
(:mod:`flopwatt.specs.hf_config`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flopwatt.errors import InputError
from flopwatt.specs._check import one_of, positive, positive_int

MLP_KINDS = ("gelu", "swiglu", "geglu", "relu")
POSITION_KINDS = ("learned", "rope", "alibi", "relative")


@dataclass(frozen=True, kw_only=True, slots=True)
class MoESpec:
    """Mixture-of-experts MLP (GShard / Switch / DeepSeekMoE style)."""

    experts: int
    """Routed experts per MoE layer."""
    topk: int
    """Routed experts each token visits."""
    ffn_hidden: int
    """Inner width of one expert."""
    shared_experts: int = 0
    """Always-active experts of the same width (DeepSeekMoE)."""
    first_dense_layers: int = 0
    """Leading layers that keep a dense MLP (DeepSeek-V3: 3)."""
    capacity_factor: float = 1.0
    """Expert compute is padded to capacity_factor x the balanced load (1 = no padding, no drops)."""
    max_nodes_per_token: int | None = None
    """Node-limited routing (DeepSeek-V3 Sec. 2.1.2): a token's experts span at most this many nodes, and
    its hidden state crosses the network once per node, then fans out over the scale-up domain."""
    shared_expert_gate: bool = False
    """A sigmoid gate on the shared experts' output, a ``hidden x 1`` weight per MoE layer (Qwen2-MoE,
    transformers ``Qwen2MoeSparseMoeBlock.shared_expert_gate``)."""

    def check(self, owner: str) -> None:
        for name in ("experts", "topk", "ffn_hidden"):
            positive_int(owner, f"moe.{name}", getattr(self, name))
        if self.topk > self.experts:
            raise InputError(f"{owner}.moe.topk", f"at most the number of experts ({self.experts})", self.topk)
        if self.shared_experts < 0 or self.first_dense_layers < 0:
            raise InputError(f"{owner}.moe", "shared_experts and first_dense_layers >= 0")
        if not self.capacity_factor >= 1:
            raise InputError(f"{owner}.moe.capacity_factor", "a factor >= 1", self.capacity_factor)


@dataclass(frozen=True, kw_only=True, slots=True)
class MLASpec:
    """Multi-head latent attention (DeepSeek-V2, arXiv:2405.04434 Sec. 2.1): low-rank joint KV."""

    q_lora_rank: int | None
    kv_lora_rank: int
    qk_nope_head_dim: int
    qk_rope_head_dim: int
    v_head_dim: int


@dataclass(frozen=True, kw_only=True, slots=True)
class ModelSpec:
    """A decoder-only transformer.

    ``head_dim`` defaults to ``hidden / heads``; PaLM, LaMDA and others use another size, so the
    attention width ``heads * head_dim`` is kept separate from ``hidden``.
    """

    id: str
    name: str
    layers: int
    hidden: int
    ffn_hidden: int
    heads: int
    kv_heads: int
    vocab: int
    mlp: str = "gelu"
    head_dim: int | None = None
    seq_len: int | None = None
    """Training context of the published model (a workload may override it)."""
    position: str = "learned"
    tied_embeddings: bool = True
    params_published: float | None = None
    moe: MoESpec | None = None
    mla: MLASpec | None = None
    mtp_modules: int = 0
    """Multi-token-prediction modules (DeepSeek-V3: 1), each a layer plus a projection; not counted
    in the headline parameter count."""
    qkv_bias: bool = True
    """Biases on the query, key and value projections (GPT-2, GPT-NeoX, Qwen2: yes; Llama, Mistral: no)."""
    out_bias: bool = True
    """Bias on the attention output projection (GPT-2, GPT-NeoX: yes; Llama, Qwen2: no)."""
    mlp_bias: bool = True
    """Biases in the MLP and expert projections (GPT-2, GPT-NeoX: yes; Llama, Qwen, Gemma: no)."""
    norm_bias: bool = True
    """LayerNorm with a weight and a bias (True) or RMSNorm with a weight only (False)."""
    norms_per_layer: int = 2
    """Hidden-width norms in each layer: 2 (pre-attention, pre-MLP); 1 for Falcon-7B's parallel block;
    4 for Gemma 2/3 (pre and post norms around attention and MLP)."""
    dropout: bool = True
    """Trained with dropout on the attention and MLP outputs (GPT-2/3 and Megatron GPT models: yes, which is
    what Korthikanti et al. 2022's activation count assumes; Llama: no, its model code has no dropout): two
    1-byte masks per token and layer stored for the backward."""
    qk_norm: bool = False
    """Per-head RMSNorm on queries and keys (Qwen3, Gemma 3): 2 x head size weights per layer."""
    released_expert_weight_bytes: float | None = None
    """Bytes per routed-expert weight of the model's only released checkpoint, where narrower than 16 bits (gpt-oss:
    MXFP4, 4.25 bits = 0.53125 bytes); None = released at 16 bits (or in several formats). Serving keeps the experts
    at this width when the asked precision is wider (:func:`flopwatt.serve.weight_bytes`)."""
    aliases: tuple[str, ...] = field(default=())
    source: str
    retrieved: str
    notes: str = ""

    def __post_init__(self) -> None:
        owner = f"model {self.id}"
        for name in ("layers", "hidden", "ffn_hidden", "heads", "kv_heads", "vocab"):
            positive_int(owner, name, getattr(self, name))
        positive_int(owner, "head_dim", self.head_dim, allow_none=True)
        positive_int(owner, "seq_len", self.seq_len, allow_none=True)
        positive_int(owner, "norms_per_layer", self.norms_per_layer)
        positive(owner, "params_published", self.params_published, allow_none=True)
        positive(owner, "released_expert_weight_bytes", self.released_expert_weight_bytes, allow_none=True)
        if self.released_expert_weight_bytes is not None and self.moe is None:
            raise InputError(f"{owner}.released_expert_weight_bytes", "a mixture-of-experts model (it has no experts)")
        one_of(owner, "mlp", self.mlp, MLP_KINDS)
        one_of(owner, "position", self.position, POSITION_KINDS)
        if self.heads % self.kv_heads:
            raise InputError(f"{owner}.kv_heads", f"a divisor of heads ({self.heads})", self.kv_heads)
        if self.moe is not None:
            self.moe.check(owner)
            if self.moe.first_dense_layers > self.layers:
                raise InputError(f"{owner}.moe.first_dense_layers", f"at most layers ({self.layers})")
        if self.head_dim is None and self.hidden % self.heads and self.mla is None:
            raise InputError(f"{owner}.heads", f"a divisor of hidden ({self.hidden}) or an explicit head_dim",
                             self.heads)

    @property
    def head_size(self) -> int:
        return self.head_dim if self.head_dim is not None else self.hidden // self.heads

    @property
    def attention_width(self) -> int:
        """Width of the query projection output: heads x head size."""
        return self.heads * self.head_size

    @property
    def kv_width(self) -> int:
        """Width of each of the key and value projection outputs."""
        return self.kv_heads * self.head_size

    @property
    def mlp_matrices(self) -> int:
        """Weight matrices of the MLP: 3 when gated (SwiGLU/GeGLU), else 2."""
        return 3 if self.mlp in ("swiglu", "geglu") else 2

    def norm_params(self) -> int:
        """One hidden-width norm: weight and bias (LayerNorm) or weight only (RMSNorm)."""
        return self.hidden * (2 if self.norm_bias else 1)

    def attention_params(self) -> int:
        """Attention weights, biases and the layer's first norm (MLA: DeepSeek-V2 eq. 9-14 projections)."""
        h = self.hidden
        if self.mla is not None:
            m, n = self.mla, self.heads
            q_dim = n * (m.qk_nope_head_dim + m.qk_rope_head_dim)
            q = h * q_dim if m.q_lora_rank is None else h * m.q_lora_rank + m.q_lora_rank + m.q_lora_rank * q_dim
            kv = h * (m.kv_lora_rank + m.qk_rope_head_dim) + m.kv_lora_rank
            kv += m.kv_lora_rank * n * (m.qk_nope_head_dim + m.v_head_dim)
            return q + kv + n * m.v_head_dim * h + self.norm_params()
        a, kv = self.attention_width, self.kv_width
        biases = (a + 2 * kv if self.qkv_bias else 0) + (h if self.out_bias else 0)
        qk_norms = 2 * self.head_size if self.qk_norm else 0
        return h * (a + 2 * kv) + a * h + biases + qk_norms + self.norm_params()

    def mlp_params(self, width: int) -> int:
        """One MLP (or expert) of inner ``width``: weights and biases."""
        biases = (self.mlp_matrices - 1) * width + self.hidden if self.mlp_bias else 0
        return self.mlp_matrices * self.hidden * width + biases

    def _layer_norms_after_attention(self) -> int:
        """The layer's norms other than the pre-attention one (counted in :meth:`attention_params`)."""
        return (self.norms_per_layer - 1) * self.norm_params()

    @property
    def moe_layers(self) -> int:
        return 0 if self.moe is None else self.layers - self.moe.first_dense_layers

    @property
    def dense_layers(self) -> int:
        return self.layers - self.moe_layers

    def routed_expert_params(self) -> int:
        """Routed-expert weights of one MoE layer (what expert parallelism shards)."""
        return 0 if self.moe is None else self.moe.experts * self.mlp_params(self.moe.ffn_hidden)

    def moe_layer_params(self, active: bool = False) -> int:
        """One MoE layer: attention, router, shared and routed (or only the top-k active) experts."""
        m = self.moe
        routed = m.topk if active else m.experts
        gate = self.hidden if m.shared_expert_gate else 0
        return (self.attention_params() + self._layer_norms_after_attention() + self.hidden * m.experts + gate
                + (m.shared_experts + routed) * self.mlp_params(m.ffn_hidden))

    def dense_layer_params(self) -> int:
        return self.attention_params() + self._layer_norms_after_attention() + self.mlp_params(self.ffn_hidden)

    def layer_params(self) -> int:
        """Parameters of an average transformer layer (weights, biases and norms)."""
        moe = self.moe_layers * self.moe_layer_params() if self.moe else 0
        return (self.dense_layers * self.dense_layer_params() + moe) // self.layers

    def embedding_params(self, seq_len: int | None = None) -> int:
        """Token embedding (+ output head when untied) + learned positions + final norm."""
        positions = (seq_len or self.seq_len or 0) * self.hidden if self.position == "learned" else 0
        head = 0 if self.tied_embeddings else self.vocab * self.hidden
        return self.vocab * self.hidden + head + positions + self.norm_params()

    def total_params(self, seq_len: int | None = None) -> int:
        """All parameters (Narayanan et al. 2021 eq. 2 for GPT shapes, exact count here), MTP excluded."""
        moe = self.moe_layers * self.moe_layer_params() if self.moe else 0
        return self.dense_layers * self.dense_layer_params() + moe + self.embedding_params(seq_len)

    def active_params(self, seq_len: int | None = None) -> int:
        """Parameters one token uses: MoE layers count only the shared and top-k routed experts."""
        moe = self.moe_layers * self.moe_layer_params(active=True) if self.moe else 0
        return self.dense_layers * self.dense_layer_params() + moe + self.embedding_params(seq_len)
