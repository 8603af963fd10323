"""The typed Python API of flopwatt: every entry point (CLI, TOML configs, web) is an adapter over it.

    from flopwatt import api
    result = api.train(api.TrainRequest(model="Llama 3.1 70B", accelerator="h100-sxm5-80gb", devices=1024,
                                        global_batch=1024, tokens="15T"))
    result.metrics["mfu"], result.footprint["energy/facility_j"], result.assumptions

Requests (:mod:`flopwatt.api.requests`) define each setting once (type, unit, bounds, default);
results (:class:`flopwatt.api.results.Result`) are one type for training and serving, infeasible
plans included. Bad input raises :class:`flopwatt.errors.InputError` naming the field.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flopwatt.api.requests import (
        FabricRequest,
        ReliabilityRequest,
        Request,
        ServeCompareRequest,
        ServeRequest,
        TrainRequest,
        parse,
    )
    from flopwatt.api.results import Result
    from flopwatt.api.serving import serve, serve_compare
    from flopwatt.api.training import train

_REQUESTS = "flopwatt.api.requests"
_LAZY = {"train": "flopwatt.api.training", "serve": "flopwatt.api.serving", "serve_compare": "flopwatt.api.serving",
         "Result": "flopwatt.api.results", "FabricRequest": _REQUESTS, "ReliabilityRequest": _REQUESTS,
         "Request": _REQUESTS, "ServeCompareRequest": _REQUESTS, "ServeRequest": _REQUESTS,
         "TrainRequest": _REQUESTS, "parse": _REQUESTS}
"""Names imported on first use, so a command loads only its own model (``api.train`` never imports the serving
model) and the CLI's training estimate never imports pydantic (the request models and Result); every import of
them sees the same objects."""


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def fabric(req: FabricRequest) -> list[dict[str, Any]]:
    """One design (counts, bill of materials, $ and W) per topology of the request."""
    from flopwatt.fabric.design import design
    from flopwatt.fabric.design import summary as fabric_summary
    from flopwatt.fabric.network import FabricSpec

    out = []
    for topology in req.topology:
        spec = FabricSpec(topology=topology, switch=req.switch, media=req.media, oversubscription=req.oversubscription,
                          rails=req.rails, radix=req.radix, dragonfly=req.dragonfly, torus=req.torus)
        out.append(fabric_summary(*design(spec, req.endpoints, req.rails or 8)))
    return out


def reliability(req: ReliabilityRequest) -> dict[str, Any]:
    """Interruptions, job MTBF, checkpoint interval and goodput; without ``params`` the checkpoint size,
    and so the checkpoint-dependent figures, are unknown (left out)."""
    import numpy as np

    from flopwatt import catalog
    from flopwatt.reliability import DAY_S, run_reliability

    model = catalog.failure_model()
    work = np.array([req.days * DAY_S])
    out = {k: float(v[0]) for k, v in run_reliability(work, np.array([req.devices]), req.params or 0.0,
                                                       model).items()}
    if req.params is None:  # no checkpoint size: only what the failure rates alone say
        out = {"reliability/mtbf_s": out["reliability/mtbf_s"],
               "reliability/interruptions_failure_free": float(work[0] / out["reliability/mtbf_s"]),
               "unknown": ["checkpoint interval, wall time, goodput and the interruptions of the restarts: give "
                           "params (the checkpoint size)"]}
    out["reliability/by_component"] = {k: r * req.devices * work[0] for k, r in model.rates_per_device_s.items()}
    return out


__all__ = ["FabricRequest", "ReliabilityRequest", "Request", "Result", "ServeCompareRequest", "ServeRequest",
           "TrainRequest", "fabric", "parse", "reliability", "serve", "serve_compare", "train"]
