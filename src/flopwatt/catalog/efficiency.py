"""Efficiency tables: achievable fraction of peak, as data (STYLE 5: tables evaluated by interpolation).

- GEMM: fraction of the dense peak a matrix multiply reaches, by its FLOP count, per accelerator.
- Memory: fraction of HBM bandwidth streaming (element-wise) kernels reach, per accelerator.
- Collectives: achieved NCCL bus bandwidth as a fraction of the link rate, by message size,
  per link technology (nccl-tests ``busbw`` definition).
- Straggler: the share of markedly slow hosts and the step-time penalty one of them causes a synchronous job.
- Low precision: the fraction of its own peak a sustained FP8/FP4 matmul reaches, over the fraction
  BF16 reaches of its peak, per accelerator and precision (1 where nothing is measured).
- FP8 cast traffic: the bytes a dynamically scaled FP8 linear layer reads and writes to find its operands'
  scales and cast them (per element of input, weight and output gradient), for the stacks that run that recipe.
- Attention kernel: the fraction of the 16-bit peak a flash-attention kernel reaches per accelerator, and the
  stacks that run it; it scales the attention core's GEMM-table efficiency (1 where nothing is measured).

Each table carries its ``source`` or ``derivation``. Evaluation is vectorised (``np.interp`` in
log-size space), so any array of sizes is one call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from flopwatt.errors import InputError, unknown_id


def _curve(owner: str, entry: dict[str, Any], x_key: str, y_key: str,
           fraction: bool = True) -> tuple[np.ndarray, np.ndarray]:
    try:
        x = np.asarray(entry[x_key], dtype=float)
        y = np.asarray(entry[y_key], dtype=float)
    except KeyError as exc:
        raise InputError(f"{owner}.{exc.args[0]}", "a list of numbers") from exc
    if x.ndim != 1 or x.shape != y.shape or x.size < 1:
        raise InputError(owner, f"{x_key} and {y_key} as lists of equal length")
    if np.any(np.diff(x) <= 0) or np.any(x <= 0):
        raise InputError(f"{owner}.{x_key}", "positive, strictly increasing sizes")
    if np.any(y <= 0) or (fraction and np.any(y > 1)):
        raise InputError(f"{owner}.{y_key}", "fractions in (0, 1]" if fraction else "positive values")
    for key in ("source", "retrieved"):
        if key not in entry:
            raise InputError(f"{owner}.{key}", "a value (every table states its source)")
    return x, y


def _fractions(data: dict[str, Any], table: str, key: str) -> dict[str, float]:
    out = {}
    for acc, entry in data.get(table, {}).items():
        frac = entry.get(key)
        if not isinstance(frac, float) or not 0 <= frac <= 1 or "source" not in entry:
            raise InputError(f"efficiency {table}.{acc}", f"{key} in [0, 1] and a source")
        out[acc] = frac
    return out


@dataclass(frozen=True, slots=True)
class LayerPass:
    """``[layer_pass.VENDOR]``: fixed time a serving forward pass spends per layer on one device of the vendor,
    and the vendor whose fitted figure it borrows (None: fitted for this vendor itself)."""

    fixed_s: float
    borrowed_from: str | None = None


def _layer_passes(data: dict[str, Any]) -> dict[str, LayerPass]:
    out = {}
    for vendor, entry in data.get("layer_pass", {}).items():
        fixed = entry.get("fixed_s") if isinstance(entry, dict) else None
        if not isinstance(fixed, float) or not 0.0 <= fixed < 1e-3 or "source" not in entry or "retrieved" not in entry:
            raise InputError(f"efficiency layer_pass.{vendor}.fixed_s",
                             "seconds in [0, 1e-3) with a source and a retrieved date")
        borrowed = entry.get("borrowed_from")
        if borrowed is not None and not isinstance(borrowed, str):
            raise InputError(f"efficiency layer_pass.{vendor}.borrowed_from", "a vendor name", borrowed)
        out[vendor] = LayerPass(fixed, borrowed)
    return out


def _roofline_norm(data: dict[str, Any]) -> float | None:
    entry = data.get("gemm_call", {})
    norm = entry.get("roofline_norm")
    if norm is not None and (not isinstance(norm, float) or not norm >= 1.0 or "source" not in entry):
        raise InputError("efficiency gemm_call.roofline_norm", "an exponent >= 1 with a source (or absent: sharp max)")
    return norm


@dataclass(frozen=True, slots=True)
class Straggler:
    """Slow hosts in a synchronous job (``[straggler]``): each host is slow with ``slow_host_fraction``; a job
    with one loses ``step_slowdown`` of its step time."""

    slow_host_fraction: float
    step_slowdown: float
    source: str

    def penalty(self, hosts: np.ndarray) -> np.ndarray:
        """Expected relative step-time penalty of a job on ``hosts`` hosts: s x (1 - (1 - f)^hosts)."""
        h = np.maximum(np.asarray(hosts, dtype=float), 1.0)
        return self.step_slowdown * -np.expm1(h * np.log1p(-self.slow_host_fraction))


def _straggler(data: dict[str, Any]) -> Straggler | None:
    entry = data.get("straggler")
    if entry is None:
        return None
    f, s = entry.get("slow_host_fraction"), entry.get("step_slowdown")
    if not all(isinstance(v, float) and 0 <= v < 1 for v in (f, s)) or "source" not in entry \
            or "retrieved" not in entry:
        raise InputError("efficiency straggler", "slow_host_fraction and step_slowdown in [0, 1), a source and a "
                                                 "retrieved date")
    return Straggler(f, s, entry["source"])


def _low_precision(data: dict[str, Any]) -> dict[str, dict[str, float]]:
    out = {}
    for acc, entry in data.get("low_precision", {}).items():
        ratios = {k: v for k, v in entry.items() if k not in ("source", "retrieved")}
        if "source" not in entry or "retrieved" not in entry or not ratios or not all(
                isinstance(v, float) and 0 < v <= 2 for v in ratios.values()):
            raise InputError(f"efficiency low_precision.{acc}",
                             "precision = ratio in (0, 2], a source and a retrieved date")
        out[acc] = ratios
    return out


@dataclass(frozen=True, slots=True)
class AttentionKernel:
    """A flash-attention kernel (``[attention_kernel.<name>]``, named by the stacks that run it: StackProfile
    ``attention_kernel``): its measured fraction of the dense 16-bit peak per accelerator, and the reference device
    the GEMM tables were calibrated on."""

    peak_fraction: dict[str, float]
    reference: str
    source: str

    def scale(self, accelerator_id: str, gemm: dict[str, GemmTable]) -> float:
        """(kernel fraction / GEMM plateau) on the device over the same ratio on the reference device: how much
        further below a cuBLAS-class GEMM the kernel falls here than on the reference, where it is ASSUMED to run
        at the GEMM table's efficiency (the A100 tables' K was fitted on Megatron rows without flash attention);
        1 where the device has no measurement."""
        if accelerator_id not in self.peak_fraction or accelerator_id not in gemm:
            return 1.0
        def ratio(acc: str) -> float:
            return self.peak_fraction[acc] / float(np.max(gemm[acc].efficiency))
        return ratio(accelerator_id) / ratio(self.reference)


def _attention_kernels(data: dict[str, Any], gemm: dict[str, GemmTable]) -> dict[str, AttentionKernel]:
    out = {}
    for name, entry in data.get("attention_kernel", {}).items():
        owner = f"efficiency attention_kernel.{name}"
        fractions, ref = entry.get("peak_fraction"), entry.get("reference")
        if not isinstance(fractions, dict) or not fractions or not all(
                isinstance(v, float) and 0 < v <= 1 for v in fractions.values()):
            raise InputError(f"{owner}.peak_fraction", "accelerator = fraction of the dense peak in (0, 1]")
        if ref not in fractions or ref not in gemm:
            raise InputError(f"{owner}.reference", "an accelerator with a peak_fraction and a GEMM table")
        if "source" not in entry or "retrieved" not in entry:
            raise InputError(owner, "a source and a retrieved date")
        out[name] = AttentionKernel(dict(fractions), ref, entry["source"])
    return out


@dataclass(frozen=True, slots=True)
class CastTraffic:
    """Memory traffic of casting one FP8 linear layer's operands (``[fp8_cast.<recipe>]``, named by the stacks whose
    recipe it is: StackProfile ``fp8_cast``), in bytes per element of
    the forward input (M x K), the weight (K x N, forward and backward casts) and the output gradient (M x N), and
    the kernels it launches per layer (each at least ``kernel_floor_s``)."""

    input_forward: float
    weight_forward: float
    weight_backward: float
    grad_output_backward: float
    kernels_forward: int
    kernels_backward: int
    kernel_floor_s: float
    source: str
    norm_fused_input_backward: float | None = None
    """Where the recipe's norm kernel writes the FP8 input of the column-parallel GEMMs that follow it (Transformer
    Engine LayerNormLinear under delayed scaling): no forward input cast for those GEMMs, and this many bytes per
    element of the gathered input in the backward (the FP8 transpose for the weight gradient); None = no fusion."""


_CAST_FIELDS = ("input_forward", "weight_forward", "weight_backward", "grad_output_backward")


def _cast_traffic(data: dict[str, Any]) -> dict[str, CastTraffic]:
    out = {}
    for name, entry in data.get("fp8_cast", {}).items():
        owner = f"efficiency fp8_cast.{name}"
        for key in (*_CAST_FIELDS, "kernel_floor_s"):
            if not isinstance(entry.get(key), float) or entry[key] < 0:
                raise InputError(f"{owner}.{key}", "a number >= 0 (bytes per element; seconds for kernel_floor_s)")
        for key in ("kernels_forward", "kernels_backward"):
            if not isinstance(entry.get(key), int) or entry[key] < 0:
                raise InputError(f"{owner}.{key}", "a whole number of kernels >= 0")
        fused = entry.get("norm_fused_input_backward")
        if fused is not None and not (isinstance(fused, float) and fused >= 0):
            raise InputError(f"{owner}.norm_fused_input_backward", "a number >= 0 (bytes per element)")
        if "source" not in entry or "retrieved" not in entry:
            raise InputError(owner, "a source and a retrieved date")
        out[name] = CastTraffic(*(entry[k] for k in _CAST_FIELDS), entry["kernels_forward"],
                                entry["kernels_backward"], entry["kernel_floor_s"], entry["source"], fused)
    return out


@dataclass(frozen=True, slots=True)
class GemmTable:
    """Achievable fraction of dense peak vs GEMM size (FLOPs of one call)."""

    op_flops: np.ndarray
    efficiency: np.ndarray
    source: str

    def __call__(self, flops: np.ndarray) -> np.ndarray:
        x = np.log(np.maximum(np.asarray(flops, dtype=float), 1.0))
        return np.interp(x, np.log(self.op_flops), self.efficiency)


@dataclass(frozen=True, slots=True)
class CollectiveTable:
    """Achieved bus bandwidth / link bandwidth vs message size (bytes per rank)."""

    message_bytes: np.ndarray
    busbw_fraction: np.ndarray
    source: str

    def __call__(self, nbytes: np.ndarray) -> np.ndarray:
        x = np.log(np.maximum(np.asarray(nbytes, dtype=float), 1.0))
        return np.interp(x, np.log(self.message_bytes), self.busbw_fraction)


@dataclass(frozen=True, slots=True)
class EfficiencyCatalog:
    gemm: dict[str, GemmTable]
    memory: dict[str, float]
    collective: dict[str, CollectiveTable]
    overlap: dict[str, float]
    """Fraction of compute throughput lost while a collective runs concurrently, per accelerator."""
    low_precision: dict[str, dict[str, float]]
    """accelerator -> precision -> sustained low-precision matmul fraction over the BF16 one."""
    roofline_norm: float | None = None
    """Exponent of the smooth roofline of one GEMM call (``[gemm_call] roofline_norm``); None = max."""
    all_reduce_measured: dict[str, CollectiveTable] | None = None
    """Scale-up technology -> measured end-to-end all-reduce bus bandwidth (B/s, latency included) by
    message size (``[all_reduce_measured]``), where one exists."""
    straggler: Straggler | None = None
    """Slow-host penalty of synchronous steps (``[straggler]``); None = no penalty."""
    attention_kernels: dict[str, AttentionKernel] | None = None
    """Flash-attention kernels by name (``[attention_kernel]``), each with the stacks that run it."""
    fp8_casts: dict[str, CastTraffic] | None = None
    """FP8 scaling recipes by name (``[fp8_cast]``), each with the stacks that run it."""
    layer_pass: dict[str, LayerPass] | None = None
    """Accelerator vendor -> fixed time a serving forward pass spends per layer on one device whatever its size
    (``[layer_pass]``); a vendor absent has none known."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EfficiencyCatalog:
        gemm = {}
        for acc, entry in data.get("gemm", {}).items():
            x, y = _curve(f"efficiency gemm.{acc}", entry, "op_flops", "efficiency")
            gemm[acc] = GemmTable(x, y, entry["source"])
        memory = _fractions(data, "memory", "efficiency")
        overlap = _fractions(data, "overlap", "compute_slowdown")
        collective = {}
        for tech, entry in data.get("collective", {}).items():
            x, y = _curve(f"efficiency collective.{tech}", entry, "message_bytes", "busbw_fraction")
            collective[tech] = CollectiveTable(x, y, entry["source"])
        measured = {}
        for tech, entry in data.get("all_reduce_measured", {}).items():
            x, y = _curve(f"efficiency all_reduce_measured.{tech}", entry, "message_bytes", "busbw_bytes_per_s",
                          fraction=False)
            measured[tech] = CollectiveTable(x, y, entry["source"])
        return cls(gemm, memory, collective, overlap, _low_precision(data), _roofline_norm(data), measured,
                   _straggler(data), _attention_kernels(data, gemm), _cast_traffic(data), _layer_passes(data))

    def layer_pass_for(self, vendor: str) -> LayerPass | None:
        """``[layer_pass]`` fixed time per layer for this accelerator vendor; None = none known."""
        return (self.layer_pass or {}).get(vendor)

    def gemm_for(self, accelerator_id: str) -> GemmTable:
        if accelerator_id not in self.gemm:
            raise unknown_id("efficiency table gemm", accelerator_id, self.gemm)
        return self.gemm[accelerator_id]

    def memory_for(self, accelerator_id: str) -> float:
        if accelerator_id not in self.memory:
            raise unknown_id("efficiency table memory", accelerator_id, self.memory)
        return self.memory[accelerator_id]

    def overlap_for(self, accelerator_id: str) -> float:
        if accelerator_id not in self.overlap:
            raise unknown_id("efficiency table overlap", accelerator_id, self.overlap)
        return self.overlap[accelerator_id]

    def low_precision_for(self, accelerator_id: str, precision: str) -> float:
        """Scale on the ``precision`` peak of the device's linear GEMMs; 1 where none is measured
        (ASSUMED: low-precision matmuls then reach the BF16 fraction of their peak)."""
        return self.low_precision.get(accelerator_id, {}).get(precision, 1.0)

    def attention_core_scale(self, kernel: str | None, accelerator_id: str) -> float:
        """Scale on the attention core's GEMM-table efficiency for the flash ``kernel`` (a stack's
        ``attention_kernel``) on the device (:meth:`AttentionKernel.scale`); 1 for None or an unmeasured device."""
        if kernel is None:
            return 1.0
        kernels = self.attention_kernels or {}
        if kernel not in kernels:
            raise unknown_id("efficiency attention_kernel (a stack's attention_kernel)", kernel, kernels)
        return kernels[kernel].scale(accelerator_id, self.gemm)

    def fp8_cast_for(self, recipe: str | None) -> CastTraffic | None:
        """The FP8 cast traffic of a stack's scaling ``recipe`` (its ``fp8_cast``); None for None (the stack's
        casts are then taken as free: fused into neighbouring kernels or unmeasured)."""
        if recipe is None:
            return None
        casts = self.fp8_casts or {}
        if recipe not in casts:
            raise unknown_id("efficiency fp8_cast (a stack's fp8_cast)", recipe, casts)
        return casts[recipe]

    def all_reduce_measured_for(self, technology: str) -> CollectiveTable | None:
        """Measured all-reduce bus bandwidth of a scale-up technology, None where none is published."""
        return (self.all_reduce_measured or {}).get(technology)

    def collective_for(self, technology: str) -> CollectiveTable:
        if technology not in self.collective:
            raise unknown_id("efficiency table collective", technology, self.collective)
        return self.collective[technology]
