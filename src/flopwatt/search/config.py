"""``flopwatt plan`` configuration: a workload, a menu of choices, constraints (TOML, exact keys).

    [workload]   model, tokens, seq_len, global_batch (one or a list), precision (one or a list)
    [menu]       accelerators, devices (list, or {min, max} for powers of two), stacks,
                 fabrics (topology names or "ideal"), media, oversubscription, switch, cooling, sites,
                 market (a markets.toml id: accelerators its sourced rules do not allow are removed first)
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
from flopwatt.catalog import facility_costs, markets
from flopwatt.errors import InputError, unknown_id


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
    market: str | None = None
    market_excluded: tuple[dict[str, Any], ...] = ()
    """Rulings (flopwatt.catalog.markets.ruling) of the menu's systems removed by the market filter."""


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
    systems, removed = _market_filter(menu, _systems(menu))
    return PlanConfig(
        model=model.id, tokens=workload.tokens, seq_len=seq, global_batches=tuple(workload.global_batch),
        precisions=tuple(workload.precision) if workload.precision else (None,),
        systems=systems, devices=_devices(menu, limits.max_devices), stacks=tuple(menu.stacks),
        fabrics=tuple(menu.fabrics), media=tuple(menu.media), oversubscription=tuple(menu.oversubscription),
        switch=menu.switch, cooling=tuple(menu.cooling), sites=tuple(menu.sites),
        fixed=req.plan.model_dump(exclude_none=True),
        deadline_s=None if limits.deadline_days is None else limits.deadline_days * 86400,
        budget_usd=limits.budget_usd,
        power_cap_w=None if limits.power_cap_mw is None else limits.power_cap_mw * 1e6,
        pue_cap=limits.pue_cap, top_k=req.output.top_k, market=menu.market, market_excluded=removed,
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


def _market_filter(menu: PlanMenu, systems: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[dict[str, Any], ...]]:
    """The menu's systems whose accelerator the market allows, and the rulings of those removed."""
    if menu.market is None:
        return systems, ()
    if menu.market not in markets.markets():
        raise unknown_id("[menu].market", menu.market, markets.markets())
    kept, removed = [], []
    for system_id in systems:
        acc_id = catalog.get("systems", system_id).accelerator.id
        entry = markets.ruling(menu.market, acc_id)
        if entry["allowed"]:
            kept.append(system_id)
        else:
            removed.append({"system": system_id, **entry})
    if not kept:
        raise InputError("[menu].market", f"a market where some accelerator of the menu is allowed; in "
                         f"{menu.market}: " + "; ".join(str(r["rule"]) for r in removed))
    return tuple(kept), tuple(removed)


def market_summary(cfg: PlanConfig) -> dict[str, Any] | None:
    """The market filter of a search, for reports: {market, kept systems, removed: rulings}."""
    if cfg.market is None:
        return None
    return {"market": cfg.market, "systems": list(cfg.systems), "removed": [dict(r) for r in cfg.market_excluded]}


def assumptions(cfg: PlanConfig) -> list[str]:
    """The stated rules the search's money rests on: the facility capex of each (site, cooling) of the menu."""
    return [f"{site} / {cooling}: {facility_costs.rule_text(catalog.get('sites', site), cooling)}"
            for site in cfg.sites for cooling in cfg.cooling]
