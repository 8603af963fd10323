"""``api.capacity``: a capacity build-out plan from a bundled example or a config's text.

The config goes through the CLI's loader (:func:`flopwatt.capacity.config.parse_config`) and planner
(:func:`flopwatt.capacity.plan.run_plan`); the answer is the CLI's ``--json`` payload
(:func:`flopwatt.capacity.output.payload`) with the catalog entries it used.
"""

from __future__ import annotations

from typing import Any

from flopwatt.api.configs import config_data
from flopwatt.api.requests import CapacityRequest


def _catalog_refs(cfg: Any) -> dict[str, list[str]]:
    refs = {"sites": sorted({s.site.id for s in cfg.sites.values()}),
            "cooling": sorted({s.cooling.id for s in cfg.sites.values()}),
            "systems": sorted({h.system.id for h in cfg.hardware.values()}),
            "accelerators": sorted({h.system.accelerator.id for h in cfg.hardware.values()}),
            "models": sorted({t.model.id for t in cfg.training} | {s.model.id for s in cfg.serving}),
            "stacks": sorted({t.stack.id for t in cfg.training})}
    return {k: v for k, v in refs.items() if v}


def capacity(req: CapacityRequest) -> dict[str, Any]:
    """Per period: devices, MW, TWh, capex/opex, tCO2e by site, unmet demand, placements."""
    from flopwatt.capacity.config import parse_config
    from flopwatt.capacity.output import payload
    from flopwatt.capacity.plan import run_plan

    data, _, what = config_data("capacity", req.example, req.config_toml)
    cfg = parse_config(data)
    out = payload(cfg, run_plan(cfg))
    out["assumptions"] = [f"config: {what}", *out["assumptions"]]
    out["catalog"] = _catalog_refs(cfg)
    return out
