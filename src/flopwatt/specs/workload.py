"""Workloads: what is to be computed."""

from __future__ import annotations

from dataclasses import dataclass

from flopwatt.errors import InputError
from flopwatt.specs._check import positive, positive_int
from flopwatt.specs.hardware import PRECISIONS
from flopwatt.specs.model import ModelSpec


@dataclass(frozen=True, kw_only=True, slots=True)
class TrainingWorkload:
    """Train ``model`` on ``tokens`` tokens in sequences of ``seq_len`` at a matmul ``precision``."""

    model: ModelSpec
    seq_len: int
    tokens: float | None = None
    precision: str = "bf16"

    def __post_init__(self) -> None:
        positive_int("workload", "seq_len", self.seq_len)
        positive("workload", "tokens", self.tokens, allow_none=True)
        if self.precision not in PRECISIONS:
            raise InputError("workload.precision", f"one of {', '.join(PRECISIONS)}", self.precision)


@dataclass(frozen=True, kw_only=True, slots=True)
class ServingDataset:
    """A serving benchmark's request set: mean prompt and generated lengths measured over its samples.

    ``keywords`` all appear in the description of a published run that used it.
    """

    id: str
    keywords: tuple[str, ...]
    mean_input_tokens: float
    mean_output_tokens: float
    source: str
    retrieved: str
    mean_output_sq_tokens2: float | None = None
    """E[out^2] over the samples (None: unknown; the request set is then taken as all-mean)."""
    mean_input_output_tokens2: float | None = None
    """E[in x out] over the samples."""
    mean_input_sq_tokens2: float | None = None
    """E[in^2] over the samples."""
    suite: str | None = None
    """The benchmark suite the request set belongs to (e.g. ``mlperf-inference``)."""
    model: str | None = None
    """The catalog model id the suite's benchmark serves with this request set."""
    max_output_tokens: int | None = None
    """The benchmark's cap on each request's generated tokens (its reference harness's max_new_tokens), which
    an engine reserving KV at admission holds for every request (None: not stated)."""

    def __post_init__(self) -> None:
        positive(f"dataset {self.id}", "mean_input_tokens", self.mean_input_tokens)
        positive(f"dataset {self.id}", "max_output_tokens", self.max_output_tokens, allow_none=True)
        positive(f"dataset {self.id}", "mean_output_tokens", self.mean_output_tokens)
        for name in ("mean_output_sq_tokens2", "mean_input_output_tokens2", "mean_input_sq_tokens2"):
            positive(f"dataset {self.id}", name, getattr(self, name), allow_none=True)
        if not self.keywords or not all(isinstance(k, str) and k for k in self.keywords):
            raise InputError(f"dataset {self.id}.keywords", "a non-empty list of words", self.keywords)


@dataclass(frozen=True, kw_only=True, slots=True)
class PowerLimit:
    """A board power limit a published run was measured under (the submission's own configuration).

    ``keywords`` all appear in the description of the runs it applies to.
    """

    id: str
    keywords: tuple[str, ...]
    power_limit_w: float
    source: str
    retrieved: str

    def __post_init__(self) -> None:
        positive(f"power limit {self.id}", "power_limit_w", self.power_limit_w)
        if not self.keywords or not all(isinstance(k, str) and k for k in self.keywords):
            raise InputError(f"power limit {self.id}.keywords", "a non-empty list of words", self.keywords)
