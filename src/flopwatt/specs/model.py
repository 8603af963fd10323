"""Transformer model shapes (dense; GQA/MQA; gated or plain MLP)."""

from __future__ import annotations

from dataclasses import dataclass, field

from flopwatt.errors import InputError
from flopwatt.specs._check import one_of, positive, positive_int

MLP_KINDS = ("gelu", "swiglu", "geglu", "relu")
POSITION_KINDS = ("learned", "rope", "alibi", "relative")


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
        positive(owner, "params_published", self.params_published, allow_none=True)
        one_of(owner, "mlp", self.mlp, MLP_KINDS)
        one_of(owner, "position", self.position, POSITION_KINDS)
        if self.heads % self.kv_heads:
            raise InputError(f"{owner}.kv_heads", f"a divisor of heads ({self.heads})", self.kv_heads)
        if self.head_dim is None and self.hidden % self.heads:
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

    def layer_params(self) -> int:
        """Parameters of one transformer layer (weights, biases and norms)."""
        h, a, kv, f = self.hidden, self.attention_width, self.kv_width, self.ffn_hidden
        attention = h * (a + 2 * kv) + a * h + (a + 2 * kv) + h
        mlp = self.mlp_matrices * h * f + (self.mlp_matrices - 1) * f + h
        norms = 4 * h
        return attention + mlp + norms

    def embedding_params(self, seq_len: int | None = None) -> int:
        """Token embedding (+ output head when untied) + learned positions + final norm."""
        positions = (seq_len or self.seq_len or 0) * self.hidden if self.position == "learned" else 0
        head = 0 if self.tied_embeddings else self.vocab * self.hidden
        return self.vocab * self.hidden + head + positions + 2 * self.hidden

    def total_params(self, seq_len: int | None = None) -> int:
        """All parameters (Narayanan et al. 2021 eq. 2 for GPT shapes, exact count here)."""
        return self.layers * self.layer_params() + self.embedding_params(seq_len)
