"""Plans: N training configurations as a struct of numpy arrays (one estimate is N = 1).

A plan says *how* to run: parallel degrees, micro-batch, global batch, ZeRO stage, activation
recomputation and sequence parallelism. ``None`` in a user request means "choose for me"; here
every field is a concrete array (see :mod:`flopwatt.perf.space` for the enumeration of choices).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from flopwatt.errors import InputError

RECOMPUTE = ("none", "selective", "full")
"""Activation recomputation codes, in array order (0 none, 1 selective, 2 full)."""

INT_FIELDS = ("tp", "pp", "dp", "cp", "ep", "vpp", "micro_batch", "global_batch", "zero_stage", "recompute")


@dataclass(frozen=True, slots=True)
class Plans:
    """Struct of arrays, all of the same length N."""

    tp: np.ndarray
    pp: np.ndarray
    dp: np.ndarray
    cp: np.ndarray
    ep: np.ndarray
    """Expert-parallel degree, carved out of the data-parallel ranks (ep divides dp)."""
    vpp: np.ndarray
    """Virtual pipeline stages per device (interleaved 1F1B); 1 = plain 1F1B."""
    micro_batch: np.ndarray
    """Sequences per micro-batch per model replica."""
    global_batch: np.ndarray
    """Sequences per optimizer step."""
    zero_stage: np.ndarray
    recompute: np.ndarray
    """Index into ``RECOMPUTE``."""
    recompute_layers: np.ndarray
    """With full recompute: the fraction of each stage's layers recomputed in full (Megatron
    --recompute-num-layers); the others keep their activations (selectively recomputed where the
    stack can). 1 = every layer."""
    sequence_parallel: np.ndarray
    """Megatron sequence parallelism on (bool)."""

    def __post_init__(self) -> None:
        sizes = {np.shape(getattr(self, f.name)) for f in fields(self)}
        if len(sizes) != 1 or len(next(iter(sizes))) != 1:
            raise InputError("plans", "1-D arrays of one common length", sorted(sizes))

    def __len__(self) -> int:
        return int(self.tp.shape[0])

    @classmethod
    def build(cls, **columns: object) -> Plans:
        """Broadcast scalars/arrays to a common length; ``recompute`` may be given by name."""
        recompute = columns.get("recompute", "none")
        columns["recompute"] = _recompute_codes(recompute)
        columns.setdefault("cp", 1)
        columns.setdefault("ep", 1)
        columns.setdefault("vpp", 1)
        columns.setdefault("zero_stage", 0)
        columns.setdefault("sequence_parallel", False)
        columns.setdefault("recompute_layers", 1.0)
        arrays = np.broadcast_arrays(*(np.atleast_1d(np.asarray(columns[f.name])) for f in fields(cls)))
        out = {}
        for f, arr in zip(fields(cls), arrays, strict=True):
            dtype = bool if f.name == "sequence_parallel" else float if f.name == "recompute_layers" else np.int64
            out[f.name] = np.ascontiguousarray(arr, dtype=dtype)
        return cls(**out)

    @property
    def devices(self) -> np.ndarray:
        return self.tp * self.pp * self.dp * self.cp

    @property
    def micro_batches(self) -> np.ndarray:
        """Micro-batches per step per pipeline (gradient-accumulation steps); 0 where indivisible."""
        per_replica = self.dp * self.micro_batch
        return np.where(self.global_batch % per_replica == 0, self.global_batch // per_replica, 0)

    def recompute_weights(self, selective_available: bool) -> tuple[np.ndarray, np.ndarray]:
        """(share of layers fully recomputed, share selectively recomputed) per plan."""
        full = np.where(self.recompute == 2, self.recompute_layers, 0.0)
        rest = np.where(self.recompute == 2, 1.0 - self.recompute_layers, 0.0) if selective_available else 0.0
        return full, np.where(self.recompute == 1, 1.0, rest)

    def take(self, index: np.ndarray | slice) -> Plans:
        """The sub-batch of plans at ``index``."""
        return Plans(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    def row(self, i: int) -> dict[str, object]:
        """Plan ``i`` as plain Python values (recompute by name)."""
        out: dict[str, object] = {f.name: getattr(self, f.name)[i].item() for f in fields(self)}
        out["recompute"] = RECOMPUTE[int(out["recompute"])]
        return out


def _recompute_codes(value: object) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(value))
    if arr.dtype.kind in "iu":
        if np.any((arr < 0) | (arr >= len(RECOMPUTE))):
            raise InputError("recompute", f"codes 0..{len(RECOMPUTE) - 1}", arr.tolist())
        return arr.astype(np.int64)
    codes = []
    for item in arr.tolist():
        if item not in RECOMPUTE:
            raise InputError("recompute", f"one of {', '.join(RECOMPUTE)}", item)
        codes.append(RECOMPUTE.index(item))
    return np.asarray(codes, dtype=np.int64)
