"""What an engine profile keeps out of the KV cache on one accelerator (:func:`memory`): the profile's memory fields
(catalog/engines.toml, each with its source) turned into :class:`flopwatt.perf.engine_memory.EngineMemory`, with
the assumption line that says which rule applied."""

from __future__ import annotations

import dataclasses

from flopwatt.perf.engine_memory import USABLE_MEMORY, EngineMemory
from flopwatt.specs import Accelerator
from flopwatt.specs.engine import EngineProfile

GPU_WORKER_VENDORS = ("NVIDIA", "AMD")
"""Accelerator vendors whose devices vLLM drives with its GPU worker (CUDA and ROCm share
vllm/v1/worker/gpu_worker.py), the code a profile's ``sampler_bytes_per_logit`` was read from; SGLang's static
fraction is read from its CUDA/ROCm model runner too."""


def memory(profile: EngineProfile, *, limits: bool = True,
           accelerator: Accelerator | None = None) -> tuple[EngineMemory, str]:
    """What ``profile`` keeps out of the KV cache on ``accelerator``, and the assumption line that says so:

    - SGLang's static fraction where the profile states it (:func:`_static_fraction`);
    - else ``gpu_memory_utilization`` (or :data:`flopwatt.perf.engine_memory.USABLE_MEMORY`, a rule) as the share
      weights, activations and KV fill, less, with ``sampler_bytes_per_logit``, ``max_num_tokens`` and
      ``max_batch_size``, the activation peak of the start-up profile (vLLM V1).

    Both are the CUDA/ROCm code's: another vendor's device runs another worker, and keeps the plain share.
    ``limits=False`` (the run set its own token budget and batch, not known here): no profiled peak."""
    vendor = None if accelerator is None else accelerator.vendor
    gpu = vendor in GPU_WORKER_VENDORS
    share = profile.gpu_memory_utilization
    how = "profile gpu_memory_utilization"
    if share is None:
        share, how = USABLE_MEMORY, "rule: not in the profile; vLLM's and TensorRT-LLM's documented 0.9"
    static = profile.mem_fraction_static_by_tp is not None or profile.reserved_memory_by_device_memory is not None
    if static and gpu:
        return _static_fraction(profile, accelerator)
    profiled = (profile.sampler_bytes_per_logit is not None and profile.max_num_tokens is not None
                and profile.max_batch_size is not None)
    why = ""
    if (profiled or static) and not gpu:
        why = f" (the profile's rule is its GPU worker's; {vendor} devices run another)"
    elif profiled and not limits:
        why = " (the run set its own token budget and batch)"
    if not profiled or why:
        line = f"engine memory: weights and KV fill {share:g} of each device ({how}); no activation peak counted{why}"
        return EngineMemory(share=share), line
    held = EngineMemory(share=share, profile_tokens=profile.max_num_tokens, profile_seqs=profile.max_batch_size,
                        sampler_bytes_per_logit=profile.sampler_bytes_per_logit)
    line = (f"engine memory: KV gets {share:g} of each device ({how}) less the weights and the activation peak of "
            f"the start-up profile: a step of {profile.max_num_tokens} tokens and a sampler pass over "
            f"{min(profile.max_num_tokens, profile.max_batch_size)} requests x the vocabulary at "
            f"{profile.sampler_bytes_per_logit:g} B per logit (profile {profile.id}; flopwatt.perf.engine_memory)")
    return held, line


def asked_share(held: EngineMemory, share: float) -> EngineMemory:
    """``held`` with the share a request asks (vLLM --gpu-memory-utilization, SGLang --mem-fraction-static): it
    replaces the profile's share, tp steps and reserve; a profiled activation peak still comes off it."""
    return dataclasses.replace(held, share=share, share_by_tp=None, reserved_bytes=0.0, reserved_bytes_per_rank=0.0)


def _static_fraction(profile: EngineProfile, accelerator: Accelerator) -> tuple[EngineMemory, str]:
    """SGLang: weights and KV fill ``mem_fraction_static`` of the device. By tp steps (0.4.0), or the device's
    memory less what its memory class reserves, base plus per rank of tp x pp (0.4.9; the class is that of the
    catalog's memory, where SGLang reads nvidia-smi's memory.total)."""
    if profile.mem_fraction_static_by_tp is not None:
        steps = profile.mem_fraction_static_by_tp
        held = EngineMemory(share=steps[0][1], share_by_tp=steps)
        text = ", ".join(f"{v:g} from tp {t}" for t, v in steps)
        return held, (f"engine memory: weights and KV fill mem_fraction_static of each device ({text}; profile "
                      f"{profile.id}); activations and CUDA graphs use the rest")
    row = [r for r in profile.reserved_memory_by_device_memory if accelerator.hbm_bytes >= r[0]][-1]
    start, base, per_rank = row
    held = EngineMemory(share=1.0, reserved_bytes=base, reserved_bytes_per_rank=per_rank)
    return held, (f"engine memory: weights and KV fill each device's memory less {base / 2**30:g} GiB + "
                  f"{per_rank / 2**30:g} GiB per rank of tp x pp kept for activations and CUDA graphs (devices from "
                  f"{start / 2**30:g} GiB; profile {profile.id}, its mem_fraction_static rule)")
