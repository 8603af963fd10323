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
from flopwatt.errors import InputError
from flopwatt.fabric.bom import POLICIES
from flopwatt.fabric.network import TOPOLOGIES

TABLES = {
    "workload": {"model", "tokens", "seq_len", "global_batch", "precision"},
    "menu": {"accelerators", "systems", "devices", "stacks", "fabrics", "media", "oversubscription", "switch",
             "cooling", "sites"},
    "plan": {"tp", "pp", "dp", "vpp", "micro_batch", "zero_stage", "recompute", "sequence_parallel"},
    "constraints": {"deadline_days", "budget_usd", "power_cap_mw", "max_devices", "pue_cap"},
    "output": {"top_k"},
}


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


def _list(table: dict[str, Any], key: str, default: Any, where: str) -> tuple:
    value = table.get(key, default)
    values = tuple(value) if isinstance(value, list) else (value,)
    if not values or any(v is None for v in values) and default is not None:
        raise InputError(f"{where}.{key}", "a non-empty value or list (the menu is empty)")
    return values


def _number(table: dict[str, Any], key: str, where: str, *, minimum: float = 0.0) -> float | None:
    if key not in table:
        return None
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > minimum:
        raise InputError(f"{where}.{key}", f"a number > {minimum:g}", value)
    return float(value)


def _devices(menu: dict[str, Any], max_devices: float | None) -> tuple[int, ...]:
    value = menu.get("devices")
    if isinstance(value, dict):
        if set(value) - {"min", "max"} or not {"min", "max"} <= set(value):
            raise InputError("[menu].devices", "a list of counts or {min = N, max = M} (powers of two between)")
        lo, hi = int(value["min"]), int(value["max"])
        counts = tuple(2**k for k in range(0, 31) if lo <= 2**k <= hi)
    else:
        counts = _list(menu, "devices", None, "[menu]")
    if not counts or any(isinstance(c, bool) or not isinstance(c, int) or c < 1 for c in counts):
        raise InputError("[menu].devices", "positive integer device counts", list(counts))
    if max_devices is not None:
        counts = tuple(c for c in counts if c <= max_devices)
        if not counts:
            raise InputError("[constraints].max_devices", "a limit that leaves some device count of the menu",
                             max_devices)
    return counts


def _check_ids(kind: str, ids: tuple[str, ...], where: str) -> None:
    for entry in ids:
        catalog.get(kind, entry)
    if not ids:
        raise InputError(where, "at least one id (the menu is empty)")


def load(path: Path) -> PlanConfig:
    """Parse and validate a plan config file; every problem is one InputError naming the key."""
    return from_dict(catalog.read_toml(path, "plan config"), str(path))


def from_dict(data: dict[str, Any], path: str = "plan config") -> PlanConfig:
    """Validate a plan config already parsed (TOML file, or the JSON body of the HTTP API)."""
    if not isinstance(data, dict):
        raise InputError(path, "a table of tables")
    for table, keys in data.items():
        if table not in TABLES:
            raise InputError(f"{path} [{table}]", f"one of the tables {', '.join(TABLES)}")
        if not isinstance(keys, dict):
            raise InputError(f"{path} [{table}]", "a table")
        unknown = sorted(set(keys) - TABLES[table])
        if unknown:
            raise InputError(f"[{table}].{unknown[0]}", f"one of {', '.join(sorted(TABLES[table]))}")
    workload, menu = data.get("workload", {}), data.get("menu", {})
    limits, output = data.get("constraints", {}), data.get("output", {})
    if "model" not in workload or "tokens" not in workload:
        raise InputError("[workload]", "model and tokens")
    model = catalog.get("models", workload["model"])
    seq = workload.get("seq_len", model.seq_len)
    if not isinstance(seq, int) or seq < 1:
        raise InputError("[workload].seq_len", "a positive integer", seq)
    systems = _systems(menu)
    stacks = _list(menu, "stacks", "megatron-core", "[menu]")
    _check_ids("stacks", stacks, "[menu].stacks")
    fabrics = _list(menu, "fabrics", "ideal", "[menu]")
    for f in fabrics:
        if f != "ideal" and f not in TOPOLOGIES:
            raise InputError("[menu].fabrics", f"'ideal' or one of {', '.join(TOPOLOGIES)}", f)
    media = _list(menu, "media", "auto", "[menu]")
    for m in media:
        if m not in POLICIES:
            raise InputError("[menu].media", f"one of {', '.join(POLICIES)}", m)
    sites, cooling = _list(menu, "sites", "us-virginia", "[menu]"), _list(menu, "cooling", "air", "[menu]")
    _check_ids("sites", sites, "[menu].sites")
    _check_ids("cooling", cooling, "[menu].cooling")
    max_devices = _number(limits, "max_devices", "[constraints]")
    return PlanConfig(
        model=model.id, tokens=_number(workload, "tokens", "[workload]"), seq_len=seq,
        global_batches=tuple(int(g) for g in _list(workload, "global_batch", 1024, "[workload]")),
        precisions=_list(workload, "precision", None, "[workload]") if "precision" in workload else (None,),
        systems=systems, devices=_devices(menu, max_devices), stacks=stacks, fabrics=fabrics, media=media,
        oversubscription=tuple(float(r) for r in _list(menu, "oversubscription", 1.0, "[menu]")),
        switch=str(menu.get("switch", "eth-51t2-400g")), cooling=cooling, sites=sites, fixed=data.get("plan", {}),
        deadline_s=None if "deadline_days" not in limits else _number(limits, "deadline_days", "[constraints]") * 86400,
        budget_usd=_number(limits, "budget_usd", "[constraints]"),
        power_cap_w=None if "power_cap_mw" not in limits else _number(limits, "power_cap_mw", "[constraints]") * 1e6,
        pue_cap=_number(limits, "pue_cap", "[constraints]", minimum=1.0 - 1e-12),
        top_k=int(output.get("top_k", 10)),
    )


def _systems(menu: dict[str, Any]) -> tuple[str, ...]:
    if "systems" in menu:
        systems = _list(menu, "systems", None, "[menu]")
        _check_ids("systems", systems, "[menu].systems")
        return systems
    accelerators = _list(menu, "accelerators", "a100-sxm4-80gb", "[menu]")
    return tuple(catalog.system_for(a).id for a in accelerators)
