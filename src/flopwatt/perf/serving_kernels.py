"""Measured serving kernels of large expert-parallel MLA models (catalog ``serving_kernels.toml``).

MLA decode attention (FlashMLA, deepseek-ai/FlashMLA README): the absorbed decode multiplies each of the
``h`` query heads with the 576-wide latent key and the 512-wide latent value of every cached token, so a
decode token costs ``2 h (576 + 512)`` FLOPs per cached token per layer and reads the latent once per
sequence. The kernel reaches 660 TFLOP/s compute-bound and 3000 GB/s memory-bound on an H800 with a BF16
cache; with an FP8 cache it dequantises to BF16 before the matrix multiplications and reaches 410 TFLOP/s.
Its time is the roofline of those two rates, taken as fractions of the device's BF16 dense peak and HBM
bandwidth (ASSUMED to carry over from the H800 to other devices):

    t = roofline_time(FLOPs / (f_c(kv) x peak_bf16), bytes / (f_m x HBM))   (perf/compute.py)
    f_c = 660/989.4 or 410/989.4, f_m = 3000/3350

Expert dispatch/combine at small token counts (DeepEP low-latency kernels, deepseek-ai/DeepEP docs/legacy.md):
at 128 tokens per rank a call takes 77-194 us (dispatch) and 114-369 us (combine) over EP 8-256, more than its
bytes need at the links' maximum rates. What is left once the bytes are sent at those maxima (NVLink
160 GB/s to the node's peers, the 50 GB/s NIC beyond, concurrently) is the call's fixed cost (signalling,
waiting for every peer, the receive-side layout); its median over the table is the latency floor of one
call (:func:`deepep_fixed_latency_s`), ASSUMED the same for every engine's EP kernels and device.
"""

from __future__ import annotations

import functools
import statistics
from dataclasses import dataclass

from flopwatt import catalog
from flopwatt.errors import InputError

CATALOG = "serving_kernels.toml"


@functools.cache
def _table(name: str) -> dict:
    table = catalog.read_toml(CATALOG, f"catalog {CATALOG}").get(name)
    if not isinstance(table, dict):
        raise InputError(f"catalog {CATALOG} [{name}]", "a table of measured kernel rates", table)
    return table


@dataclass(frozen=True, slots=True)
class MlaDecodeKernel:
    """Fractions of a device's BF16 dense peak and HBM bandwidth the MLA decode kernel reaches."""

    compute_fraction_bf16_kv: float
    compute_fraction_fp8_kv: float
    memory_fraction: float

    def compute_fraction(self, kv_element_bytes: float) -> float:
        """A cache of under 2 bytes an element is dequantised to BF16 first (the FP8-cache kernel's rate)."""
        return self.compute_fraction_fp8_kv if kv_element_bytes < 2.0 else self.compute_fraction_bf16_kv


@functools.cache
def mla_decode_kernel() -> MlaDecodeKernel:
    """FlashMLA's measured rates over the peaks of the device it was measured on (module docstring)."""
    entry = _table("flashmla_decode")
    try:
        device = catalog.get("accelerators", entry["device"])
        peak, hbm = device.peak_flops_per_s["bf16"], device.hbm_bandwidth_bytes_per_s
        return MlaDecodeKernel(float(entry["bf16_kv_flops_per_s"]) / peak, float(entry["fp8_kv_flops_per_s"]) / peak,
                               float(entry["memory_bytes_per_s"]) / hbm)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"catalog {CATALOG} [flashmla_decode]", "device, bf16_kv_flops_per_s, fp8_kv_flops_per_s "
                         "and memory_bytes_per_s", str(exc)) from exc


def mla_decode_measured_on() -> str:
    """Catalog id of the device FlashMLA's decode rates were measured on (``[flashmla_decode] device``)."""
    return str(_table("flashmla_decode").get("device"))


def deepep_call_residuals_s(kind: str) -> list[float]:
    """Per row of DeepEP's low-latency table: measured latency minus the time its bytes need at the links'
    maximum rates (``kind``: "dispatch" or "combine"; module docstring)."""
    t = _table("deepep_low_latency")
    try:
        node, nvlink, nic = int(t["devices_per_node"]), float(t["nvlink_bytes_per_s"]), float(t["nic_bytes_per_s"])
        sent = (float(t["tokens_per_rank"]) * float(t["topk"]) * float(t["hidden"])
                * float(t[f"{kind}_bytes_per_element"]))
        rows = list(zip(t["ep"], t[f"{kind}_latency_s"], strict=True))
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"catalog {CATALOG} [deepep_low_latency]", "the low-latency table's fields", str(exc)) from exc
    residuals = []
    for ep, latency in rows:
        inside = (min(ep, node) - 1) / ep * sent  # to the other devices of the node (NVLink)
        outside = max(ep - node, 0) / ep * sent  # beyond the node (the NIC)
        residuals.append(float(latency) - max(inside / nvlink, outside / nic))
    return residuals


@functools.cache
def deepep_fixed_latency_s() -> tuple[float, float]:
    """(dispatch, combine) fixed cost of one low-latency EP call: the median residual of DeepEP's table."""
    return tuple(statistics.median(deepep_call_residuals_s(kind)) for kind in ("dispatch", "combine"))
