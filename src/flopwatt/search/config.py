"""``flopwatt plan`` configuration: a workload, a menu of choices, constraints (TOML, exact keys).

    [workload]   model, tokens, seq_len, global_batch (one or a list), precision (one or a list)
    [menu]       accelerators, devices (list, or {min, max} for powers of two), stacks,
                 fabrics (topology names or "ideal"), media, oversubscription, switch, cooling, sites
    [plan]       optional fixed knobs: tp, pp, dp, vpp, micro_batch, zero_stage, recompute, sequence_parallel
    [constraints] deadline_days, budget_usd, power_cap_mw, max_devices, pue_cap
    [output]     top_k
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flopwatt import catalog
from flopwatt.api.requests import DeviceRange, PlanMenu, PlanSearchRequest, parse, plan_label
from flopwatt.api.resolve import Assumptions, resolve_model
from flopwatt.errors import InputError


@dataclass(frozen=True, kw_only=True, slots=True)
class PlanConfig:
    model: str
    tokens: float
    seq_len: int
    global_batches: tuple[int, ...]
    precisions: tuple[str | None, ...]
    systems: tuple[str, ...]
    devices: tuple[int, ...]
    stacks: tuple[str, ...]
    fabrics: tuple[str, ...]
    media: tuple[str, ...]
    oversubscription: tuple[float, ...]
    switch: str
    cooling: tuple[str, ...]
    sites: tuple[str, ...]
    fixed: dict[str, Any] = field(default_factory=dict)
    deadline_s: float | None = None
    budget_usd: float | None = None
    power_cap_w: float | None = None
    pue_cap: float | None = None
    top_k: int = 10


def load(path: Path) -> PlanConfig:
    """Parse and validate a plan config file; every problem is one InputError naming the key."""
    return from_dict(catalog.read_toml(path, "plan config"), str(path))


def from_dict(data: dict[str, Any], path: str = "plan config") -> PlanConfig:
    """Validate a plan config (a TOML file's tables, or the JSON body of ``/v1/plan``) through
    :class:`flopwatt.api.requests.PlanSearchRequest`, the same definitions as ``flopwatt train``."""
    if not isinstance(data, dict):
        raise InputError(path, "a table of tables")
    req = parse(PlanSearchRequest, data, plan_label())
    return from_request(req)


def from_request(req: PlanSearchRequest) -> PlanConfig:
    """Resolve the catalog ids of a validated search request into a :class:`PlanConfig`."""
    workload, menu, limits = req.workload, req.menu, req.constraints
    model = resolve_model(workload.model, Assumptions(), allow_files=False, field_name="[workload].model")
    seq = workload.seq_len or model.seq_len
    if seq is None:
        raise InputError("[workload].seq_len", f"a value ({model.id} has no published context length)")
    for kind, ids in (("stacks", menu.stacks), ("sites", menu.sites), ("cooling", menu.cooling)):
        for entry in ids:
            catalog.get(kind, entry)
    return PlanConfig(
        model=model.id, tokens=workload.tokens, seq_len=seq, global_batches=tuple(workload.global_batch),
        precisions=tuple(workload.precision) if workload.precision else (None,),
        systems=_systems(menu), devices=_devices(menu, limits.max_devices), stacks=tuple(menu.stacks),
        fabrics=tuple(menu.fabrics), media=tuple(menu.media), oversubscription=tuple(menu.oversubscription),
        switch=menu.switch, cooling=tuple(menu.cooling), sites=tuple(menu.sites),
        fixed=req.plan.model_dump(exclude_none=True),
        deadline_s=None if limits.deadline_days is None else limits.deadline_days * 86400,
        budget_usd=limits.budget_usd,
        power_cap_w=None if limits.power_cap_mw is None else limits.power_cap_mw * 1e6,
        pue_cap=limits.pue_cap, top_k=req.output.top_k,
    )


def _devices(menu: PlanMenu, max_devices: int | None) -> tuple[int, ...]:
    """The menu's device counts (a {min, max} range: the powers of two between), within max_devices."""
    if isinstance(menu.devices, DeviceRange):
        lo, hi = menu.devices.min, menu.devices.max
        counts = tuple(2**k for k in range(0, 31) if lo <= 2**k <= hi)
        if not counts:
            raise InputError("[menu].devices", "a {min, max} range holding a power of two", f"{lo}..{hi}")
    else:
        counts = tuple(menu.devices)
    if max_devices is not None:
        counts = tuple(c for c in counts if c <= max_devices)
        if not counts:
            raise InputError("[constraints].max_devices", "a limit that leaves some device count of the menu",
                             max_devices)
    return counts


def _systems(menu: PlanMenu) -> tuple[str, ...]:
    if menu.systems is not None:
        for entry in menu.systems:
            catalog.get("systems", entry)
        return tuple(menu.systems)
    return tuple(catalog.system_for(a).id for a in menu.accelerators)
