"""GPU microbenchmarks at serving shapes (CUDA only; torch and NVML are imported here, lazily).

Each benchmark returns plain records (dicts, SI units in the key names) that
:mod:`flopwatt.calibrate.overlay` turns into catalog tables; nothing here writes the catalog. Timing: CUDA
events around ``repeats`` back-to-back calls after warm-up, the median call kept (the nccl-tests and
MAMF-finder convention of timing many calls, not one).

- GEMM: ``tokens x k @ k x n`` for the projection shapes of a 70B-class decoder (hidden 8192, MLP 28672) at
  token counts from decode (1) to prefill (8192); bf16 via ``torch.matmul``, fp8 via ``torch._scaled_mm``
  (per-tensor scales, the path vLLM and SGLang use for FP8 linear layers).
- HBM: a device-to-device copy of 2 GiB (bytes read + written, the STREAM-copy convention).
- Decode attention: one query token per sequence over a KV cache (GQA 64 query / 8 KV heads of 128), bytes
  = the KV read.
- Launch: per-kernel time of many tiny kernels launched eagerly and replayed from one CUDA graph (the
  per-iteration CPU cost an engine hides with graphs).
- NCCL all-reduce / all-to-all over every rank when started under ``torchrun`` (WORLD_SIZE > 1); with one
  process they are recorded as skipped, with the reason.
- Power: NVML board power read right after each timed GEMM loop (the driver's averaging window).
"""

from __future__ import annotations

import os
import statistics
from typing import Any

from flopwatt.errors import InputError

HIDDEN, MLP = 8192, 28672
"""Projection widths of a 70B-class decoder (Llama 2/3 70B: hidden 8192, MLP 28672)."""
GEMM_SHAPES = ((HIDDEN, HIDDEN), (HIDDEN, MLP), (MLP, HIDDEN))
"""(k, n) of the attention output / MLP up / MLP down projections."""
TOKENS = (1, 8, 32, 128, 512, 2048, 8192)
"""Tokens per GEMM: decode batches to prefill chunks (TensorRT-LLM's default max_num_tokens 8192)."""
ATTENTION_CASES = ((64, 1024), (256, 1024), (64, 4096), (256, 4096))
"""(sequences, KV context tokens) of the decode-attention benchmark."""
MESSAGE_BYTES = tuple(2 ** p for p in range(10, 31, 2))
"""NCCL message sizes, 1 KiB to 1 GiB."""


def _torch():
    """torch with a CUDA device, or one InputError line saying what is missing (the CLI exits 2)."""
    try:
        import torch
    except ImportError as exc:
        raise InputError("calibrate", "torch with a CUDA GPU on this machine", "torch is not installed") from exc
    if not torch.cuda.is_available():
        raise InputError("calibrate", "torch with a CUDA GPU on this machine", "no CUDA GPU visible to torch")
    return torch


def _median_call_s(torch, fn, repeats: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1e3)
    return statistics.median(times)


def _nvml_power_w() -> float | None:
    """Board power of the current device (W), or None without NVML."""
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(int(os.environ.get("LOCAL_RANK", "0")))
        return pynvml.nvmlDeviceGetPowerUsage(handle) / 1e3
    except pynvml.NVMLError:
        return None


def environment() -> dict[str, Any]:
    torch = _torch()
    props = torch.cuda.get_device_properties(0)
    return {"device_name": props.name, "device_memory_bytes": int(props.total_memory),
            "torch": torch.__version__, "cuda": torch.version.cuda, "gpus": torch.cuda.device_count()}


def gemm(repeats: int, dtype: str = "bf16") -> list[dict[str, Any]]:
    torch = _torch()
    out = []
    for k, n in GEMM_SHAPES:
        for m in TOKENS:
            a = torch.randn(m, k, device="cuda", dtype=torch.bfloat16)
            b = torch.randn(n, k, device="cuda", dtype=torch.bfloat16)
            if dtype == "fp8":
                if not hasattr(torch, "_scaled_mm"):
                    return [{"kind": "skipped", "what": "gemm fp8", "reason": "this torch has no _scaled_mm"}]
                a8, b8 = a.to(torch.float8_e4m3fn), b.to(torch.float8_e4m3fn)
                one = torch.ones((), device="cuda")
                def call(a8=a8, b8=b8, one=one):
                    return torch._scaled_mm(a8, b8.t(), scale_a=one, scale_b=one, out_dtype=torch.bfloat16)
            else:
                def call(a=a, b=b):
                    return a @ b.t()
            try:
                seconds = _median_call_s(torch, call, repeats)
            except RuntimeError as exc:  # e.g. an FP8 kernel's shape limits (m a multiple of 16)
                out.append({"kind": "skipped", "what": f"gemm {dtype} {m}x{n}x{k}", "reason": str(exc)[:200]})
                continue
            out.append({"kind": "gemm", "dtype": dtype, "m": m, "n": n, "k": k, "flops": 2.0 * m * n * k,
                        "seconds": seconds, "power_w": _nvml_power_w()})
    return out


def hbm(repeats: int, nbytes: int = 2 ** 31) -> list[dict[str, Any]]:
    torch = _torch()
    src = torch.empty(nbytes, dtype=torch.uint8, device="cuda")
    dst = torch.empty_like(src)
    seconds = _median_call_s(torch, lambda: dst.copy_(src), repeats)
    return [{"kind": "hbm", "bytes": 2.0 * nbytes, "seconds": seconds, "power_w": _nvml_power_w()}]


def decode_attention(repeats: int, heads: int = 64, kv_heads: int = 8, head_dim: int = 128) -> list[dict[str, Any]]:
    torch = _torch()
    sdpa = torch.nn.functional.scaled_dot_product_attention
    out = []
    for seqs, context in ATTENTION_CASES:
        q = torch.randn(seqs, heads, 1, head_dim, device="cuda", dtype=torch.bfloat16)
        kv = [torch.randn(seqs, kv_heads, context, head_dim, device="cuda", dtype=torch.bfloat16) for _ in range(2)]
        try:
            seconds = _median_call_s(torch, lambda q=q, kv=kv: sdpa(q, kv[0], kv[1], enable_gqa=True), repeats)
        except TypeError:  # torch < 2.5: no enable_gqa
            return [{"kind": "skipped", "what": "decode attention", "reason": "this torch's SDPA has no enable_gqa"}]
        out.append({"kind": "decode_attention", "sequences": seqs, "context_tokens": context, "heads": heads,
                    "kv_heads": kv_heads, "head_dim": head_dim, "bytes": 2.0 * seqs * context * kv_heads * head_dim * 2,
                    "seconds": seconds})
    return out


def launch(repeats: int, kernels: int = 1000) -> list[dict[str, Any]]:
    torch = _torch()
    x = torch.zeros(1, device="cuda")

    def burst():
        for _ in range(kernels):
            x.add_(1.0)

    eager = _median_call_s(torch, burst, repeats)
    graph = torch.cuda.CUDAGraph()
    burst()
    torch.cuda.synchronize()
    with torch.cuda.graph(graph):
        burst()
    replay = _median_call_s(torch, graph.replay, repeats)
    return [{"kind": "launch", "kernels": kernels, "eager_seconds": eager, "graph_seconds": replay}]


def collectives(repeats: int) -> list[dict[str, Any]]:
    """NCCL all-reduce and all-to-all over every rank (torchrun); skipped records with one process."""
    torch = _torch()
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world < 2:
        reason = "one process: run under torchrun --nproc-per-node N to measure NCCL"
        return [{"kind": "skipped", "what": w, "reason": reason} for w in ("all_reduce", "all_to_all")]
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("nccl")
    torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    out = []
    for nbytes in MESSAGE_BYTES:
        buf = torch.empty(nbytes // 2, dtype=torch.bfloat16, device="cuda")
        other = torch.empty_like(buf)
        for what, call in (("all_reduce", lambda buf=buf: dist.all_reduce(buf)),
                           ("all_to_all", lambda buf=buf, other=other: dist.all_to_all_single(other, buf))):
            dist.barrier()
            out.append({"kind": what, "ranks": world, "bytes": float(nbytes),
                        "seconds": _median_call_s(torch, call, repeats)})
    return out


def run(repeats: int, low_precision: str) -> dict[str, Any]:
    """Every benchmark on the local GPU: {"environment": ..., "records": [...]}."""
    env = environment()
    records = gemm(repeats, "bf16")
    if low_precision != "none":
        records += gemm(repeats, low_precision)
    records += hbm(repeats) + decode_attention(repeats) + launch(repeats) + collectives(repeats)
    return {"environment": env, "records": records}
