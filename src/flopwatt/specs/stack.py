"""Software-stack profiles: the few documented behaviours that differ between frameworks.

Physical knobs with sources, never per-run factors: which communication overlaps with compute,
which kernels are fused, which pipeline schedules exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from flopwatt.errors import InputError

PARTITIONS = ("uniform", "parameters", "transformer-embedding", "first-last")
SELECTIVE = ("attention-core", "every-other-matmul")
GATHER_UNITS = ("module", "layer")


@dataclass(frozen=True, kw_only=True, slots=True)
class StackProfile:
    """A training software stack (Megatron-LM of a given year, DeepSpeed, FSDP...)."""

    id: str
    name: str
    tensor_parallel: bool = True
    """The stack shards layers over devices (Megatron-style TP); FSDP-only stacks have none."""
    pipeline_parallel: bool = True
    """The stack splits layers into pipeline stages."""
    interleaved_pipeline: bool
    """Interleaved 1F1B (virtual pipeline stages) is available (Narayanan et al. 2021 Sec. 2.2.2)."""
    pipeline_partition: str
    """How layers are split over pipeline stages (``PARTITIONS``): ``uniform`` (Megatron: layers % (pp x vpp)
    == 0, output layer added to the last stage), ``parameters`` (DeepSpeed's default: balanced by
    parameter count, ceil(layers / pp) on the busiest stage), ``transformer-embedding`` (DeepSpeed
    ``type:transformer|embedding``: the embedding and the output layer count as one layer each),
    ``first-last`` (Megatron-Core ``--decoder-first/last-pipeline-num-layers``: any count on the first and
    last stages, the middle stages equal; see :mod:`flopwatt.perf.partition`)."""
    sequence_parallel: bool
    """Megatron sequence parallelism (Korthikanti et al. 2022 Sec. 4.2.2) is available."""
    selective_recompute: bool
    """Selective activation recomputation (Korthikanti et al. 2022 Sec. 5) is available."""
    partial_recompute: bool = False
    """Full recomputation can be limited to some layers of each stage (Megatron-LM >= 2022
    ``--recompute-method block --recompute-num-layers``; per-block checkpointing in FSDP/JAX stacks)."""
    flash_attention: bool
    """Attention scores are never written to memory (Dao et al. 2022)."""
    fused_elementwise: bool
    """Fused bias+GeLU, bias+dropout+add and scale+mask+softmax kernels (Megatron-LM >= 2020)."""
    dp_overlap: bool
    """Data-parallel gradient reduction overlaps the backward pass (bucketed DDP)."""
    zero3_prefetch_overlap: bool
    """ZeRO-3 parameter gathers are prefetched and overlap compute."""
    tp_overlap: bool = False
    """Backward tensor-parallel communication (input-gradient all-reduce, or the sequence-parallel
    all-gather) runs concurrently with the weight-gradient GEMMs (Megatron-LM
    ``LinearWithGradAccumulationAndAsyncCommunication``)."""
    scatter_gather_p2p: bool = False
    """Pipeline sends are split over the TP ranks' NICs (Narayanan et al. 2021 Sec. 4.1)."""
    blocking_p2p: bool = False
    """Pipeline sends and receives are blocking and serialised (DeepSpeed's pipe/p2p.py broadcasts in
    two-rank groups), so a micro-batch waits for four transfers instead of two concurrent pairs."""
    zero3_flat_collectives: bool = False
    """ZeRO-3 gathers and reduce-scatters move each rank's full share over its own scale-out NIC (a flat
    ring over the data-parallel group) instead of a topology-aware hierarchy through all NICs of a node."""
    ep_overlap: bool = False
    """Expert-parallel all-to-all overlaps computation (DeepSeek-V3 DualPipe, Sec. 3.2.1)."""
    ep_dispatch_fp8: bool = False
    """MoE dispatch sends FP8 activations (combine stays BF16) (DeepSeek-V3 Sec. 3.3.4)."""
    fp8_activation_cache: bool = False
    """Activations saved for the backward of linear layers are cached in FP8 (DeepSeek-V3 Sec. 3.3.4)."""
    selective_saves: str = "attention-core"
    """What selective recomputation keeps (``SELECTIVE``): ``attention-core`` (Korthikanti et al. 2022
    Sec. 5: everything but the attention scores/softmax/dropout), ``every-other-matmul`` (torchtitan's
    op-level policy: the outputs of the 1st, 3rd, 5th... matmul of a layer and of the attention kernel;
    the rest is recomputed)."""
    fused_cross_entropy: bool = True
    """The loss reads the logits in place (Megatron vocab-parallel cross entropy: 4 B per fp32 logit);
    otherwise ``F.cross_entropy(logits.float())`` holds the 16-bit logits, their fp32 copy and the fp32
    log-softmax it saves (10 B per logit at the loss peak)."""
    fp32_sharded_params: bool = False
    """The sharded parameters are the fp32 master weights and gradients accumulate in fp32 (FSDP2 with
    MixedPrecisionPolicy(param_dtype=bf16, reduce_dtype=fp32)): 4 B weights + 4 B gradients + 8 B Adam
    moments per parameter over the shard group, and without reshard after forward (ZeRO-1 here) a 16-bit
    unsharded copy of the weights and fp32 unsharded gradients besides."""
    zero3_with_pipeline: bool = False
    """ZeRO-3 (re-gathering the weights for every micro-batch) may run with pipeline stages. DeepSpeed's
    PipelineEngine refuses ZeRO-2/3; torchtitan allows it (parallelism.fsdp_reshard_after_forward "always"
    under pipelining, torchtitan/distributed/fsdp.py get_fsdp_reshard_after_forward_policy)."""
    zero3_gather_unit: str = "module"
    """What ZeRO-3 / FSDP gathers at once (``GATHER_UNITS``): ``module`` (DeepSpeed, FSDP1 auto-wrap of a
    linear: the widest weight, one in use and one prefetched) or ``layer`` (FSDP2 ``fully_shard`` per
    transformer block: two layers' 16-bit weights, the one in use and the prefetched next, plus one layer's
    unsharded fp32 gradients before their reduce-scatter)."""
    cuda_runtime_reserve: bool = True
    """The device memory of catalog runtime.toml is reserved beyond the tensors: the CUDA/ROCm context,
    NCCL/RCCL communicator buffers and the PyTorch caching allocator's fragmentation (every source there
    measures that runtime). False for XLA stacks on TPU (MaxText, Pax): XLA assigns every buffer at compile
    time (its heap simulator, tensorflow/compiler/xla/service/heap_simulator.cc) and runs neither NCCL nor
    a caching allocator; what the TPU runtime itself reserves is unknown and left out."""
    pipeline_schedule: str = "1f1b"
    """``1f1b`` (interleaved when vpp > 1) or ``dualpipe`` (DeepSeek-V3 Table 2: bubble (PP/2 - 1) chunks
    instead of PP - 1, with two copies of the parameters)."""
    parallel_block: bool = False
    """The stack trains the parallel transformer block, y = x + MLP(LN(x)) + Attention(LN(x)) (MegaScale,
    Jiang et al. 2024 Sec. 3.1 eq. 2; PaLM): one TP AllGather and one ReduceScatter per layer and pass
    instead of two each (Fig. 3a). Same parameters and FLOPs as the serial block."""
    tp_gemm_overlap: bool = False
    """Forward (and backward) TP AllGather/ReduceScatter are fused into the FFN linears, split into chunks
    and pipelined with the GEMM on a second stream (MegaScale Sec. 3.2, Fig. 3b-c)."""
    tp_collective_matmul: bool = False
    """On a TPU ICI torus, each tensor-parallel AllGather / ReduceScatter is decomposed into a ring of
    collective-permutes pipelined with the chunks of the matmul it feeds or follows (XLA's windowed einsum,
    "collective matmul", Wang et al. ASPLOS'23): :func:`flopwatt.perf.model_parallel.collective_matmul_exposed`."""
    pp_overlap: bool = False
    """Pipeline sends and receives are decoupled and asynchronous, beside the stage's computation
    (MegaScale Sec. 3.2, Fig. 4)."""
    dp_chunk_overlap: bool = False
    """Data parallelism gathers each model chunk's parameters before its forward and reduce-scatters its
    gradients after its backward, the first gather prefetched: only the last chunk's reduce-scatter,
    1/(2 vpp) of the traffic, stays exposed (MegaScale Sec. 3.2)."""
    bf16_grad_reduce_fp32: bool = False
    """With bf16 parameters, gradients are accumulated and reduced over data parallelism in fp32 (4 B per
    gradient instead of 2): Megatron-LM's validate_args sets ``accumulate_allreduce_grads_in_fp32`` for
    ``--bf16`` ("bfloat16 requires gradient accumulation and all-reduce to be done in fp32")."""
    rank_jitter_mean_s: float | None = None
    """Mean per-rank, per-step stall from host-side work that is not coordinated across ranks (Python garbage
    collection, some PyTorch operations; MegaScale Sec. 6.3), where the stack has it: a replica loses the sum of
    its ranks' stalls and the step waits for the slowest replica at the gradient reduce-scatter
    (:func:`flopwatt.perf.data_parallel.rank_jitter_time`). None: not modelled."""
    attention_kernel: str | None = None
    """The flash-attention kernel the stack's attention core runs (an ``[attention_kernel.<name>]`` of
    efficiency.toml, with its measured fraction of peak per device). None: the GEMM tables' efficiency."""
    fp8_cast: str | None = None
    """The FP8 scaling recipe whose cast traffic the stack's FP8 linears pay (an ``[fp8_cast.<name>]`` of
    efficiency.toml). None: casts taken as free (fused into neighbouring kernels or unmeasured)."""
    moe_dispatch_host_sync: bool = False
    """Dropless MoE token dispatch copies the tokens-per-expert counts to the host before the EP All-to-All, so
    each MoE layer takes at least the host's kernel-issue time (Megatron-Core token_dispatcher.py
    ``cuda_sync_point``; :func:`flopwatt.perf.experts.host_issue_floor`)."""
    cp_kv_exchange: str = "ring"
    """How context-parallel attention moves the KV shards: "ring" (one chunk per step beside that step's
    attention, Megatron-Core) or "allgather" (one AllGather hidden only behind the local sub-attention);
    :func:`flopwatt.perf.context_parallel.cp_layer_time`."""
    zero_stages: tuple[int, ...] = (0,)
    """Optimizer-state sharding stages the stack provides (a plan left open chooses among these)."""
    source: str
    retrieved: str
    notes: str = ""

    def __post_init__(self) -> None:
        if self.pipeline_partition not in PARTITIONS:
            raise InputError(f"stack {self.id}.pipeline_partition", f"one of {', '.join(PARTITIONS)}",
                             self.pipeline_partition)
        for name in ("tensor_parallel", "pipeline_parallel", "interleaved_pipeline", "sequence_parallel",
                     "selective_recompute", "flash_attention", "fused_elementwise", "dp_overlap",
                     "zero3_prefetch_overlap", "tp_overlap", "scatter_gather_p2p", "zero3_flat_collectives",
                     "blocking_p2p", "ep_overlap", "ep_dispatch_fp8", "fp8_activation_cache", "partial_recompute",
                     "fused_cross_entropy", "fp32_sharded_params", "zero3_with_pipeline", "cuda_runtime_reserve",
                     "bf16_grad_reduce_fp32", "parallel_block", "tp_gemm_overlap", "pp_overlap",
                     "dp_chunk_overlap", "tp_collective_matmul", "moe_dispatch_host_sync"):
            if not isinstance(getattr(self, name), bool):
                raise InputError(f"stack {self.id}.{name}", "true or false", getattr(self, name))
        for name, allowed in (("selective_saves", SELECTIVE), ("zero3_gather_unit", GATHER_UNITS)):
            if getattr(self, name) not in allowed:
                raise InputError(f"stack {self.id}.{name}", f"one of {', '.join(allowed)}", getattr(self, name))
        if self.cp_kv_exchange not in ("ring", "allgather"):
            raise InputError(f"stack {self.id}.cp_kv_exchange", "ring or allgather", self.cp_kv_exchange)
        if self.pipeline_schedule not in ("1f1b", "dualpipe"):
            raise InputError(f"stack {self.id}.pipeline_schedule", "1f1b or dualpipe", self.pipeline_schedule)
        for name in ("attention_kernel", "fp8_cast"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise InputError(f"stack {self.id}.{name}", "the name of an efficiency.toml table", value)
        jitter = self.rank_jitter_mean_s
        if jitter is not None and (isinstance(jitter, bool) or not isinstance(jitter, (int, float)) or jitter < 0):
            raise InputError(f"stack {self.id}.rank_jitter_mean_s", "a number of seconds >= 0", jitter)
        if not self.zero_stages or any(z not in (0, 1, 2, 3) for z in self.zero_stages):
            raise InputError(f"stack {self.id}.zero_stages", "a non-empty list of stages among 0-3",
                             list(self.zero_stages))

    @property
    def uneven_pipeline_partition(self) -> bool:
        """Stages may hold different numbers of layers."""
        return self.pipeline_partition != "uniform"
