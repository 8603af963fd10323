"""The space of plans for a workload on N devices: every combination of the knobs left open.

Knobs a user fixes stay fixed; the others range over what the stack and the model allow. The
enumeration is a Cartesian product built with numpy (no Python loop over configurations), then
trimmed to the combinations that multiply out to the device count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from flopwatt.errors import InputError
from flopwatt.perf.partition import first_last_split
from flopwatt.perf.plans import RECOMPUTE, Plans
from flopwatt.specs import ModelSpec, StackProfile, System

MAX_MICRO_BATCH = 64
PARTIAL_RECOMPUTE = (0.25, 0.5, 0.75, 1.0)
"""Fractions of each stage's layers fully recomputed when the stack can limit recomputation."""
MAX_VPP = 8


@dataclass(frozen=True, kw_only=True, slots=True)
class PlanRequest:
    """What the user fixed; ``None`` means "choose for me"."""

    devices: int
    global_batch: int
    tp: int | None = None
    pp: int | None = None
    dp: int | None = None
    cp: int | None = 1
    ep: int | None = None
    """Expert-parallel degree (MoE models; chosen among divisors of tp x cp x dp and of the experts when open)."""
    vpp: int | None = None
    micro_batch: int | None = None
    zero_stage: int | None = None
    recompute: str | None = None
    sequence_parallel: bool | None = None

    def __post_init__(self) -> None:
        for name in ("devices", "global_batch", "tp", "pp", "dp", "cp", "ep", "vpp", "micro_batch"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise InputError(name, "an integer >= 1", value)
        if self.zero_stage is not None and self.zero_stage not in (0, 1, 2, 3):
            raise InputError("zero_stage", "0, 1, 2 or 3", self.zero_stage)
        if self.recompute is not None and self.recompute not in RECOMPUTE:
            raise InputError("recompute", f"one of {', '.join(RECOMPUTE)}", self.recompute)
        fixed = [getattr(self, k) for k in ("tp", "pp", "dp", "cp")]
        if all(v is not None for v in fixed) and math.prod(fixed) != self.devices:
            raise InputError("devices", f"tp*pp*dp*cp = {math.prod(fixed)}", self.devices)
        product = math.prod(v for v in fixed if v is not None)
        if self.devices % product:
            raise InputError("devices", f"a multiple of the fixed parallel degrees' product ({product})",
                             self.devices)


def divisors(n: int) -> np.ndarray:
    d = np.arange(1, n + 1)
    return d[n % d == 0]


def _options(value: object, default: np.ndarray) -> np.ndarray:
    return np.atleast_1d(np.asarray(value)) if value is not None else default


def _layouts(request: PlanRequest, model: ModelSpec, stack: StackProfile,
             axes: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """Per-axis indices of the (tp, pp, cp, vpp, ep) layouts that fit the devices and the stack's layer split:
    the rules that involve no micro-batch, ZeRO or recompute knob, checked once per layout."""
    tp, pp, cp, vpp, ep = axes
    grid = np.meshgrid(*(np.arange(len(a)) for a in axes), indexing="ij")
    i_tp, i_pp, i_cp, i_vpp, i_ep = (g.ravel() for g in grid)
    tp_, pp_, cp_, vpp_, ep_ = tp[i_tp], pp[i_pp], cp[i_cp], vpp[i_vpp], ep[i_ep]
    keep = layout_rules(request, tp_, pp_, cp_, vpp_, ep_) & stack_layout_rules(model, stack, pp_, vpp_)
    return tuple(i[keep] for i in (i_tp, i_pp, i_cp, i_vpp, i_ep))


def layout_rules(request: PlanRequest, tp: np.ndarray, pp: np.ndarray, cp: np.ndarray, vpp: np.ndarray,
                 ep: np.ndarray) -> np.ndarray:
    """Which (tp, pp, cp, vpp, ep) layouts fit the devices, whatever the stack."""
    n = request.devices
    dp = n // (tp * pp * cp)
    keep = (tp * pp * cp * dp == n) & ((vpp == 1) | (pp > 1)) & (dp > 0)
    keep &= np.maximum(tp * cp * dp, 1) % ep == 0  # EP folds over tp x cp x dp (perf/feasibility.py "ep")
    if request.dp is not None:
        keep &= dp == request.dp
    return keep


def stack_layout_rules(model: ModelSpec, stack: StackProfile, pp: np.ndarray, vpp: np.ndarray) -> np.ndarray:
    """Which layouts the stack's layer split allows (all where it allows every split)."""
    keep = np.ones(np.shape(pp), dtype=bool)
    if not stack.uneven_pipeline_partition:
        keep &= model.layers % (pp * vpp) == 0
    if stack.pipeline_partition == "first-last":
        keep &= first_last_split(model.layers, pp, vpp)["ok"]
    return keep


def _axes(request: PlanRequest, model: ModelSpec, stack: StackProfile, system: System) -> tuple[np.ndarray, ...]:
    """Each knob's options: (tp, pp, cp, micro-batch, vpp, ZeRO, recompute code, sequence parallel, ep, fraction)."""
    tp, pp, cp, mb, vpp, sp, ep = shape_axes(request, model, stack, system)
    zero = _options(request.zero_stage, np.array(stack.zero_stages))
    recompute_names = [r for r in RECOMPUTE if r != "selective" or stack.selective_recompute]
    recompute = _options(None if request.recompute is None else RECOMPUTE.index(request.recompute),
                         np.arange(len(RECOMPUTE))[[r in recompute_names for r in RECOMPUTE]])
    fractions = np.array(PARTIAL_RECOMPUTE if stack.partial_recompute and request.recompute is None else [1.0])
    return tp, pp, cp, mb, vpp, zero, recompute, sp, ep, fractions


def shape_axes(request: PlanRequest, model: ModelSpec, stack: StackProfile,
               system: System) -> tuple[np.ndarray, ...]:
    """The options of the knobs that make a shape: (tp, pp, cp, micro-batch, vpp, sequence parallel, ep)."""
    divs = divisors(request.devices)
    tp_max = 2 * system.scale_up_domain_devices  # TP beyond the scale-up domain is never competitive
    tp_open = divs[(divs <= tp_max) & (model.heads % divs == 0)] if stack.tensor_parallel else np.array([1])
    tp = _options(request.tp, tp_open)
    pp = _options(request.pp, divs[divs <= model.layers] if stack.pipeline_parallel else np.array([1]))
    cp = _options(request.cp, np.array([1]))
    mb_default = 2 ** np.arange(int(np.log2(min(MAX_MICRO_BATCH, request.global_batch))) + 1)
    mb = _options(request.micro_batch, mb_default)
    vpp_default = np.arange(1, MAX_VPP + 1) if stack.interleaved_pipeline else np.array([1])
    vpp = _options(request.vpp, vpp_default)
    sp = _options(request.sequence_parallel, np.array([False, True]) if stack.sequence_parallel else np.array([False]))
    ep = _options(request.ep, divisors(model.moe.experts) if model.moe is not None else np.array([1]))
    return tp, pp, cp, mb, vpp, sp, ep


def enumerate_plans(request: PlanRequest, model: ModelSpec, stack: StackProfile, system: System) -> Plans:
    """All plans consistent with ``request`` (structurally valid degrees; memory is checked later)."""
    n = request.devices
    axes = _axes(request, model, stack, system)
    index = _valid_combinations(request, model, stack, axes)
    tp_, pp_, cp_, mb_, vpp_, z_, rc_, sp_, ep_, fr_ = (a[i] for a, i in zip(axes, index, strict=True))
    # the columns Plans.build makes of these (each already one array per plan; recompute as valid codes)
    ints = {"tp": tp_, "pp": pp_, "dp": n // (tp_ * pp_ * cp_), "cp": cp_, "ep": ep_, "vpp": vpp_,
            "micro_batch": mb_, "global_batch": np.full(len(tp_), request.global_batch), "zero_stage": z_,
            "recompute": rc_}
    return Plans(**{k: np.ascontiguousarray(v, dtype=np.int64) for k, v in ints.items()},
                 recompute_layers=np.ascontiguousarray(fr_, dtype=float),
                 sequence_parallel=np.ascontiguousarray(sp_, dtype=bool))


def shape_superset(request: PlanRequest, model: ModelSpec, stack: StackProfile, system: System) -> Plans:
    """The shapes (:func:`enumerate_shapes`) of ``request`` for every global batch at once: each valid layout with
    every micro-batch option of any batch (up to MAX_MICRO_BATCH when it is open) and sequence-parallel choice,
    the batch split not checked; ``global_batch`` holds a placeholder. :func:`batch_mask` selects one batch's."""
    n = request.devices
    request = superset_request(request)
    axes = _axes(request, model, stack, system)
    tp, pp, cp, mb, vpp, _, _, sp, ep, _ = axes
    layout, li, mi = _layout_batches(request, model, stack, axes, split=False)
    si, pi = (g.ravel() for g in np.meshgrid(np.arange(len(sp)), np.arange(len(li)), indexing="ij"))
    lay = li[pi]
    keep = ~sp[si] | (tp[layout[0][lay]] > 1)  # sequence parallelism needs tensor parallelism
    lay, pi, si = lay[keep], pi[keep], si[keep]
    tp_, pp_, cp_ = tp[layout[0][lay]], pp[layout[1][lay]], cp[layout[2][lay]]
    return Plans.build(tp=tp_, pp=pp_, dp=n // (tp_ * pp_ * cp_), cp=cp_, ep=ep[layout[4][lay]],
                       vpp=vpp[layout[3][lay]], micro_batch=mb[mi[pi]], global_batch=request.global_batch,
                       zero_stage=0, recompute="none", sequence_parallel=sp[si], recompute_layers=1.0)


def superset_request(request: PlanRequest) -> PlanRequest:
    """The request whose knob options are those of every global batch (:func:`shape_superset`)."""
    if request.micro_batch is None:  # the micro-batch options of a batch >= MAX_MICRO_BATCH include all others
        return replace(request, global_batch=MAX_MICRO_BATCH)
    return request


def batch_mask(replica: np.ndarray, micro_batch: np.ndarray, global_batch: int, open_micro_batch: bool) -> np.ndarray:
    """Which shapes of a :func:`shape_superset` (``replica`` = dp x micro-batch) belong to ``global_batch``: the
    batch splits into whole micro-batches, and an open micro-batch is an option of that batch (a power of two
    up to min(MAX_MICRO_BATCH, batch))."""
    keep = global_batch % replica == 0
    if open_micro_batch:
        keep &= micro_batch <= min(MAX_MICRO_BATCH, global_batch)
    return keep


def enumerate_shapes(request: PlanRequest, model: ModelSpec, stack: StackProfile, system: System) -> Plans:
    """Every (tp, pp, dp, cp, vpp, ep, micro-batch, sequence-parallel) of :func:`enumerate_plans`'s space once,
    with ZeRO 0 and no recomputation: empty exactly when the space is. A plan's step-time lower bound
    (perf/bounds.py) ignores ZeRO and grows with recomputation, so its least value over these is at most the
    least over the space (:func:`flopwatt.perf.bounds.space_lower_bound`)."""
    superset = shape_superset(request, model, stack, system)
    keep = batch_mask(superset.dp * superset.micro_batch, superset.micro_batch, request.global_batch,
                      request.micro_batch is None)
    shapes = superset.take(np.flatnonzero(keep))
    return replace(shapes, global_batch=np.full(len(shapes), request.global_batch, dtype=np.int64))


def _layout_batches(request: PlanRequest, model: ModelSpec, stack: StackProfile, axes: tuple[np.ndarray, ...],
                    split: bool = True) -> tuple[tuple[np.ndarray, ...], np.ndarray, np.ndarray]:
    """The valid layouts (:func:`_layouts`) and the (layout, micro-batch) pairs that split the global batch
    (every pair without ``split``)."""
    tp, pp, cp, mb, vpp, _, _, _, ep, _ = axes
    layout = _layouts(request, model, stack, (tp, pp, cp, vpp, ep))
    dp_layout = request.devices // (tp[layout[0]] * pp[layout[1]] * cp[layout[2]])
    li, mi = (g.ravel() for g in np.meshgrid(np.arange(len(layout[0])), np.arange(len(mb)), indexing="ij"))
    if not split:
        return layout, li, mi
    keep = request.global_batch % np.maximum(dp_layout[li] * mb[mi], 1) == 0
    return layout, li[keep], mi[keep]


def _valid_combinations(request: PlanRequest, model: ModelSpec, stack: StackProfile,
                        axes: tuple[np.ndarray, ...]) -> list[np.ndarray]:
    """Per-axis indices of every valid combination, in the order of the full Cartesian product of ``axes``.

    Each rule is checked on the smallest product it involves: the layout rules once per (tp, pp, cp, vpp, ep),
    the batch split once per (layout, micro-batch), the recompute fraction once per knob combination;
    only the survivors are multiplied out (the same set as filtering the whole product)."""
    tp, pp, cp, mb, vpp, zero, recompute, sp, ep, fractions = axes
    layout, li, mi = _layout_batches(request, model, stack, axes)
    knobs = np.meshgrid(*(np.arange(len(a)) for a in (zero, recompute, sp, fractions)), indexing="ij")
    i_z, i_rc, i_sp, i_fr = (k.ravel() for k in knobs)
    qualified = (recompute[i_rc] == RECOMPUTE.index("full")) | (fractions[i_fr] == 1.0)  # a fraction qualifies full
    i_z, i_rc, i_sp, i_fr = i_z[qualified], i_rc[qualified], i_sp[qualified], i_fr[qualified]
    pi, ki = (g.ravel() for g in np.meshgrid(np.arange(len(li)), np.arange(len(i_z)), indexing="ij"))
    lay = li[pi]
    keep = ~sp[i_sp[ki]] | (tp[layout[0][lay]] > 1)  # sequence parallelism needs tensor parallelism
    lay, pi, ki = lay[keep], pi[keep], ki[keep]
    index = [layout[0][lay], layout[1][lay], layout[2][lay], mi[pi], layout[3][lay], i_z[ki], i_rc[ki],
             i_sp[ki], layout[4][lay], i_fr[ki]]  # per-axis indices, in the order of the axes
    position = np.zeros(len(lay), dtype=np.int64)
    for axis, i in zip(axes, index, strict=True):  # mixed-radix position in the full product
        position = position * len(axis) + i
    order = np.argsort(position, kind="stable")
    return [i[order] for i in index]
