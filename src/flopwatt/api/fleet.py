"""``api.fleet``: a fleet simulation from a bundled example or a config's text, under each policy asked for.

The config goes through the CLI's loader (:func:`flopwatt.fleet.config.parse_config`), the jobs through
:func:`flopwatt.fleet.simulate.prepare` and each policy through ``simulate`` and ``summarize`` (the same
metrics as ``flopwatt fleet --policy compare``). The answer is a pure function of the request and the
catalog: the wall-clock timings the CLI prints are left out.
"""

from __future__ import annotations

from typing import Any

from flopwatt.api.configs import bundled_trace, config_data
from flopwatt.api.requests import FleetRequest
from flopwatt.errors import InputError

MAX_SYNTHETIC_JOBS = 1_000_000
"""Largest synthetic trace the web generates before taking its first ``max_jobs`` jobs."""
RULES = (
    "a running job draws its plan's average IT power; a service node its devices' board power plus host; a device "
    "doing neither draws its idle power (board power where no idle figure is published: an upper bound)",
    "facility energy = IT energy x the PUE of the pool's site",
    "carbon and electricity price each run at its site's mean grid intensity / price over the run (hourly profiles "
    "where the catalog has them, else the annual figure); idle energy at the mean over the whole horizon",
    "effective compute = reference-device-seconds of work done / device-seconds spent",
)
"""How the fleet metrics are computed (flopwatt.fleet.metrics), stated with them."""


def _no_other_files(data: dict[str, Any], base: Any) -> None:
    """An uploaded config may name only the bundled traces (``[trace].path``, ``[services.ID].trace``)."""
    trace = data.get("trace")
    if isinstance(trace, dict) and "path" in trace:
        bundled_trace("[trace].path", trace["path"], base)
    if isinstance(trace, dict) and isinstance(trace.get("synthetic_jobs"), int) \
            and trace["synthetic_jobs"] > MAX_SYNTHETIC_JOBS:
        raise InputError("[trace].synthetic_jobs", f"at most {MAX_SYNTHETIC_JOBS:,} on the web",
                         trace["synthetic_jobs"])
    services = data.get("services")
    for sid, table in (services.items() if isinstance(services, dict) else ()):
        if isinstance(table, dict) and "trace" in table:
            bundled_trace(f"[services.{sid}].trace", table["trace"], base)


def _catalog_refs(cfg: Any) -> dict[str, list[str]]:
    """The catalog entries the fleet used (their sources are in /v1/catalog)."""
    refs = {"sites": list(cfg.sites), "cooling": sorted({s.cooling.id for s in cfg.sites.values()}),
            "systems": sorted({p.system.id for p in cfg.pools}),
            "accelerators": sorted({p.system.accelerator.id for p in cfg.pools}),
            "models": sorted({c.model.id for c in cfg.classes.values()} | {s.model.id for s in cfg.services}),
            "stacks": sorted({c.stack.id for c in cfg.classes.values()})}
    return {k: v for k, v in refs.items() if v}


def _assumptions(cfg: Any, req: FleetRequest, what: str, limit: int | None, jobs: int) -> list[str]:
    out = [f"config: {what}"]
    if cfg.trace is not None:
        source = cfg.trace.path.name if cfg.trace.path else f"a synthetic trace of {cfg.trace.synthetic_jobs:,} jobs"
        out.append(f"trace: {source}; the first {limit:,} jobs at most (max_jobs)" if limit else f"trace: {source}")
        out.append(f"traced durations are times on {cfg.trace.reference_accelerator} (the config's "
                   "reference_accelerator)")
    out.append(f"{jobs:,} training jobs; class draw seed {cfg.seed if req.seed is None else req.seed}"
               + (" (the config's [fleet].seed)" if req.seed is None else ""))
    return [*out, *RULES]


def fleet(req: FleetRequest) -> dict[str, Any]:
    """Per-policy metrics of one fleet (jobs, queueing, utilisation, energy, $, carbon, SLOs)."""
    from flopwatt.fleet import config as fleet_config
    from flopwatt.fleet.metrics import summarize, versus
    from flopwatt.fleet.policies import make_policy
    from flopwatt.fleet.simulate import prepare, simulate

    data, base, what = config_data("fleet", req.example, req.config_toml)
    if req.config_toml is not None:
        _no_other_files(data, base)
    cfg = fleet_config.parse_config(data, base)
    if len(cfg.jobs) > req.max_jobs:
        raise InputError("[[jobs]]", f"at most max_jobs ({req.max_jobs:,}) entries", len(cfg.jobs))
    limit = None
    if cfg.trace is not None:
        limit = min(req.max_jobs, cfg.trace.max_jobs or req.max_jobs)
    prep = prepare(cfg, None, req.seed, limit)
    runs = {}
    for name in dict.fromkeys(req.policies):
        runs[name] = summarize(simulate(prep, make_policy(name)))
    if "fifo" in runs:
        for s in runs.values():
            s["versus_fifo"] = versus(s, runs["fifo"])
    return {"fleet": cfg.name, "seed": cfg.seed if req.seed is None else req.seed, "jobs": len(prep.jobs),
            "pools": {p.id: {"site": p.site, "system": p.system.id, "accelerator": p.system.accelerator.id,
                             "devices": p.devices} for p in cfg.pools},
            "sites": list(cfg.sites), "services": [s.id for s in cfg.services], "runs": runs,
            "catalog": _catalog_refs(cfg), "assumptions": _assumptions(cfg, req, what, limit, len(prep.jobs))}
