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
