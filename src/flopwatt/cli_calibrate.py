"""The ``flopwatt calibrate`` command: microbenchmarks on the local GPU -> a catalog overlay TOML.

Without a CUDA GPU (or without torch) it says so in one line and exits 2, unless ``--from-records`` builds
the overlay from a records JSON of an earlier run. The overlay is loaded once before the command returns
(:func:`flopwatt.catalog.use_overlay`), so a file it writes is one ``--catalog`` accepts.
"""

from __future__ import annotations

import argparse
import datetime
import json
from typing import Any

from flopwatt import catalog
from flopwatt.calibrate.request import CalibrateRequest
from flopwatt.cli_options import add_options, request
from flopwatt.errors import InputError


def add_calibrate_parser(sub: Any) -> None:
    p = sub.add_parser("calibrate", help="measure the local GPU (GEMM, HBM, attention, NCCL, launch) into a "
                       "catalog overlay for --catalog")
    add_options(p, CalibrateRequest)
    p.add_argument("--json", action="store_true")


def _scale_up(req: CalibrateRequest) -> str:
    if req.scale_up is not None:
        return req.scale_up
    return catalog.system_for(req.accelerator).scale_up.technology


def calibrate_command(args: argparse.Namespace) -> tuple[Any, str]:
    """Measure (or read the records), write the overlay and, after a measurement, its records JSON beside it;
    return (JSON payload, text)."""
    from flopwatt.calibrate import overlay

    req = request(CalibrateRequest, args)
    accelerator = catalog.get("accelerators", req.accelerator)
    if not req.out.parent.is_dir():
        raise InputError("--out", "a path in an existing directory", str(req.out))
    if req.from_records is not None:
        data, records_path = overlay.read_records(req.from_records), None
    else:
        from flopwatt.calibrate import microbench

        data = microbench.run(req.repeats, req.low_precision)
        records_path = req.out.with_suffix(".records.json")
        records_path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    retrieved = req.retrieved or datetime.datetime.now(datetime.UTC).date().isoformat()
    built = overlay.build_overlay(data, accelerator, _scale_up(req), retrieved)
    notes = overlay.summary(data, accelerator)
    staged = req.out.with_name(f".{req.out.name}.tmp")  # checked before it replaces --out: never half-written
    staged.write_text(overlay.to_toml(built, ["flopwatt calibrate overlay: load with --catalog "
                                              f"{req.out.name} or FLOPWATT_CATALOG", *notes]), encoding="utf-8")
    try:
        entries = catalog.use_overlay(staged)  # fails now, naming the file, if a table is malformed
    except InputError:
        staged.unlink(missing_ok=True)
        raise
    finally:
        catalog.reset_overlays()
    staged.replace(req.out)
    payload = {"out": str(req.out), "records": str(records_path or req.from_records), "entries": entries,
               "unread_by_the_model": notes, "test_fixture": bool(data.get("test_fixture"))}
    text = "\n".join([f"wrote {req.out} ({', '.join(entries)})",
                      *(f"  {n}" for n in notes),
                      f"use it: flopwatt serve --catalog {req.out} ..."])
    return payload, text
