"""Evaluate the plan space in chunks: work items -> per-chunk counts, Pareto front, top-k, rows.

A *group* fixes everything but the plan knobs (system, device count, stack, fabric, precision,
global batch); its plans are enumerated deterministically, so a work item is just (group, slice)
and any process or Ray worker can rebuild it. Each plan is then costed at every (site, cooling)
pair of the menu: one configuration per (plan, site, cooling).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from flopwatt import catalog
from flopwatt.fabric.design import design, rack_layout
from flopwatt.fabric.network import FabricSpec
from flopwatt.footprint import Setting, run_footprint
from flopwatt.perf import feasibility
from flopwatt.perf.plans import RECOMPUTE, Plans
from flopwatt.perf.space import PlanRequest, enumerate_plans
from flopwatt.perf.training import evaluate_training
from flopwatt.search.config import PlanConfig
from flopwatt.search.pareto import front_indices
from flopwatt.specs import TrainingWorkload

OBJECTIVES = ("wall_s", "usd", "facility_mwh", "tco2e")
CONSTRAINTS = ("deadline", "budget", "power_cap", "pue_cap")
PLAN_COLUMNS = ("tp", "pp", "dp", "cp", "ep", "vpp", "micro_batch", "zero_stage", "recompute", "recompute_layers",
                "sequence_parallel")


@dataclass(frozen=True, slots=True)
class Group:
    system: str
    devices: int
    stack: str
    fabric: str
    media: str
    oversubscription: float
    precision: str | None
    global_batch: int


def groups(cfg: PlanConfig) -> list[Group]:
    """Every combination of the menu's outer choices (the ideal fabric ignores media/oversubscription)."""
    out = []
    for system, devices, stack, fabric, precision, gb in itertools.product(
            cfg.systems, cfg.devices, cfg.stacks, cfg.fabrics, cfg.precisions, cfg.global_batches):
        shapes = [("auto", 1.0)] if fabric == "ideal" else list(itertools.product(cfg.media, cfg.oversubscription))
        out.extend(Group(system, devices, stack, fabric, m, r, precision, gb) for m, r in shapes)
    return out


def _request(cfg: PlanConfig, g: Group) -> PlanRequest:
    fixed = {k: v for k, v in cfg.fixed.items()}
    return PlanRequest(devices=g.devices, global_batch=g.global_batch, **fixed)


@functools.lru_cache(maxsize=4)
def _enumerated(request: PlanRequest, model_id: str, stack_id: str, system_id: str) -> Plans:
    """``enumerate_plans`` of these arguments, kept for the next work items of the same space.

    Groups that differ only in fabric, media, oversubscription or precision share one plan space,
    and a large group is split into several work items: enumerating once per process, not once per
    item, saves a Cartesian product per item. The arrays are read-only so that no caller can change
    the copy the next item reads. A few spaces are kept (memory: one space is at most a few columns
    of the configurations a work item covers).
    """
    plans = enumerate_plans(request, catalog.get("models", model_id), catalog.get("stacks", stack_id),
                            catalog.get("systems", system_id))
    for f in dataclasses.fields(plans):
        getattr(plans, f.name).flags.writeable = False
    return plans


def plan_space(cfg: PlanConfig, g: Group):
    """(workload, system, stack, plans) of a group, rebuilt identically anywhere."""
    model = catalog.get("models", cfg.model)
    system = catalog.get("systems", g.system)
    stack = catalog.get("stacks", g.stack)
    precision = g.precision or system.accelerator.half_precision()
    workload = TrainingWorkload(model=model, seq_len=cfg.seq_len, tokens=cfg.tokens, precision=precision)
    return workload, system, stack, _enumerated(_request(cfg, g), cfg.model, g.stack, g.system)


@dataclass
class ChunkResult:
    """What one work item reports back (small: counts, its front and its top-k rows)."""

    configurations: int = 0
    infeasible: dict[str, int] = field(default_factory=dict)
    eliminated: dict[str, int] = field(default_factory=dict)
    feasible: int = 0
    front: list[dict[str, Any]] = field(default_factory=list)
    top: list[dict[str, Any]] = field(default_factory=list)


def _fabric(cfg: PlanConfig, g: Group, system):
    """(Fabric, bill of materials) of the group's network, or None for the ideal one."""
    if g.fabric == "ideal":
        return None
    spec = FabricSpec(topology=g.fabric, switch=cfg.switch, media=g.media, oversubscription=g.oversubscription)
    return design(spec, g.devices, system.devices_per_node, layout=rack_layout(system, system.devices_per_node))


def _timing_key(g: Group, start: int, stop: int, fabric) -> tuple:
    """What ``evaluate_training`` reads for an item: its plans, workload, system, stack and the fabric as
    the training model sees it. The media policy (optics, LPO, copper) prices and powers the links but
    sets neither their rate nor the switch hops, so fabrics that differ only in it time every plan alike
    (tests/test_search_speed.py checks this on ``evaluate_training`` itself). The built topology carries
    the oversubscription it applies, so ratios a topology ignores compare equal as well."""
    seen = None if fabric is None else dataclasses.replace(fabric[0], media_policy="")
    return (g.system, g.devices, g.stack, g.precision, g.global_batch, g.fabric, start, stop, seen)


def evaluate_items(cfg: PlanConfig, items: list[tuple[Group, int, int, Any]]) -> list[ChunkResult]:
    """Evaluate work items, one ``ChunkResult`` each, in the order given.

    Items that ``evaluate_training`` sees alike (``_timing_key``: the same plans on fabrics that
    differ only in media, or in an oversubscription the topology ignores) share one call; each is
    still costed, constrained and written on its own, so every item's result is what ``evaluate_item``
    gives it. Items are visited key by key, so only one training result is held at a time.
    """
    keys = []
    for g, start, stop, _ in items:
        fabric = _fabric(cfg, g, catalog.get("systems", g.system))
        keys.append((repr(_timing_key(g, start, stop, fabric)), fabric))
    first_seen = {key: n for n, (key, _) in reversed(list(enumerate(keys)))}
    out: list[ChunkResult | None] = [None] * len(items)
    result, current = None, None
    for n in sorted(range(len(items)), key=lambda n: first_seen[keys[n][0]]):
        (key, fabric), (g, start, stop, sink) = keys[n], items[n]
        workload, system, stack, space = plan_space(cfg, g)
        if key != current:
            plans = space.take(np.arange(start, min(stop, len(space))))
            result = evaluate_training(workload, system, plans, stack, g.devices,
                                       fabric=None if fabric is None else fabric[0])
            reasons = feasibility.reason_counts(result.reason)
            good = result.take(np.flatnonzero(result.feasible))
            current = key
        out[n] = _summarise(cfg, g, (len(result), reasons, good), (workload, system, fabric), sink)
    return out


def evaluate_item(cfg: PlanConfig, g: Group, start: int, stop: int, sink=None) -> ChunkResult:
    """Evaluate plans [start, stop) of group ``g`` at every (site, cooling); rows go to ``sink``."""
    return evaluate_items(cfg, [(g, start, stop, sink)])[0]


def _summarise(cfg: PlanConfig, g: Group, evaluated: tuple, context: tuple, sink) -> ChunkResult:
    """Counts, costed feasible rows, the item's front and top-k from its training result
    (``evaluated``: its number of plans, reason counts and the feasible plans' result)."""
    plans, reasons, good = evaluated
    out = ChunkResult()
    settings = list(itertools.product(cfg.sites, cfg.cooling))
    out.configurations = plans * len(settings)
    # the cooling rule (perf/feasibility.py) refuses every plan of this system at a cooling type that cannot carry
    # its racks (air above the sourced limit): those settings are skipped, their plans counted under "cooling"
    allowed = feasibility.cooling_allowed(catalog.get("systems", g.system), [c for _, c in settings])
    settings = [s for s, ok in zip(settings, allowed, strict=True) if ok]
    if not allowed.all():
        out.infeasible[feasibility.COOLING_REASON] = plans * int((~allowed).sum())
    for name, count in reasons.items():
        if name != "ok" and settings:
            out.infeasible[name] = count * len(settings)
    if len(good) == 0 or not settings:
        return out
    tables = [_costed(cfg, g, good, context, (site, cooling), out) for site, cooling in settings]
    table = {k: np.concatenate([t[k] for t in tables]) for k in tables[0]}
    out.feasible = len(table["wall_s"])
    if out.feasible == 0:
        return out
    objectives = np.column_stack([table[k] for k in OBJECTIVES])
    out.front = _rows(cfg, g, table, front_indices(objectives))
    top = np.argsort(table["wall_s"], kind="stable")[:cfg.top_k]
    out.top = _rows(cfg, g, table, top)
    if sink is not None:
        sink(g, table)
    return out


def _costed(cfg: PlanConfig, g: Group, good, context: tuple, place: tuple[str, str],
            out: ChunkResult) -> dict[str, np.ndarray]:
    """Footprint of the feasible plans at one (site, cooling), constraints applied."""
    workload, system, fabric = context
    site_id, cooling_id = place
    setting = Setting(site=catalog.get("sites", site_id), cooling=catalog.get("cooling", cooling_id),
                      economics=catalog.economics(), failures=catalog.failure_model())
    fp = run_footprint(good, workload, system, g.devices, setting, fabric)
    unknown = np.full(len(good), np.inf)  # an unpublished price or board power: never better than a known figure
    usd = fp.get("money/run_usd", unknown)
    table = {
        "plan_index": np.arange(len(good)),
        "site": np.full(len(good), cfg.sites.index(site_id)),
        "cooling": np.full(len(good), cfg.cooling.index(cooling_id)),
        "wall_s": fp["reliability/expected_wall_s"], "usd": usd,
        "facility_mwh": fp.get("energy/facility_j", unknown) / 3.6e9, "tco2e": fp.get("carbon/tco2e", unknown),
        "peak_mw": fp.get("power/facility_peak_w", unknown) / 1e6, "pue": fp["facility/pue"],
        "step_time_s": good.metrics["step_time_s"], "mfu": good.metrics["mfu"],
        "memory_gib": good.memory["memory/total"] / 2**30,
    }
    for col in PLAN_COLUMNS:
        table[col] = getattr(good.plans, col)
    limits = {
        "deadline": None if cfg.deadline_s is None else table["wall_s"] <= cfg.deadline_s,
        "budget": None if cfg.budget_usd is None else table["usd"] <= cfg.budget_usd,
        "power_cap": None if cfg.power_cap_w is None else table["peak_mw"] * 1e6 <= cfg.power_cap_w,
        "pue_cap": None if cfg.pue_cap is None else table["pue"] <= cfg.pue_cap,
    }
    keep = np.ones(len(good), dtype=bool)
    for name in CONSTRAINTS:
        mask = limits[name]
        if mask is None:
            continue
        out.eliminated[name] = out.eliminated.get(name, 0) + int(np.sum(keep & ~mask))
        keep &= mask
    return {k: v[keep] for k, v in table.items()}


def _rows(cfg: PlanConfig, g: Group, table: dict[str, np.ndarray], index: np.ndarray) -> list[dict[str, Any]]:
    rows = []
    for i in index:
        row: dict[str, Any] = {"system": g.system, "devices": g.devices, "stack": g.stack, "fabric": g.fabric,
                               "media": g.media, "oversubscription": g.oversubscription,
                               "precision": g.precision or "default", "global_batch": g.global_batch,
                               "site": cfg.sites[int(table["site"][i])],
                               "cooling": cfg.cooling[int(table["cooling"][i])]}
        for col in PLAN_COLUMNS:
            value = table[col][i].item()
            row[col] = RECOMPUTE[value] if col == "recompute" else value
        for col in ("wall_s", "usd", "facility_mwh", "tco2e", "peak_mw", "pue", "step_time_s", "mfu", "memory_gib"):
            row[col] = float(table[col][i])
        rows.append(row)
    return rows
