"""Records of :mod:`flopwatt.calibrate.microbench` -> a catalog overlay (pure: no GPU, no torch).

Tables written (the shapes :mod:`flopwatt.catalog.efficiency` reads, so ``--catalog`` takes them):

- ``[efficiency.gemm.ACC]``: bf16 GEMM time -> fraction of the catalog's dense bf16 peak by FLOPs per call
  (the best of the shapes with the same FLOPs);
- ``[efficiency.low_precision.ACC]``: the largest shape's low-precision fraction of its own peak over the
  bf16 fraction of the bf16 peak (the definition of that table);
- ``[efficiency.memory.ACC]``: copy bandwidth (bytes read + written per second) over the catalog's streaming
  bandwidth;
- ``[efficiency.all_reduce_measured.TECH]``: all-reduce bus bandwidth ``2 (n - 1) / n x bytes / s``
  (the nccl-tests busbw definition) by message size, when measured over n > 1 ranks.

Decode attention, launch and all-to-all records stay in the records file and the summary: no catalog table
reads them yet. A records file marked ``test_fixture`` yields tables whose source says so.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flopwatt.errors import InputError

KINDS = ("gemm", "hbm", "decode_attention", "launch", "all_reduce", "all_to_all", "skipped")
NEEDS = {"gemm": ("dtype", "flops", "seconds"), "hbm": ("bytes", "seconds"),
         "all_reduce": ("ranks", "bytes", "seconds"), "all_to_all": ("ranks", "bytes", "seconds"),
         "decode_attention": ("bytes", "seconds"), "launch": ("kernels", "eager_seconds", "graph_seconds"),
         "skipped": ("what", "reason")}


def read_records(path: Path) -> dict[str, Any]:
    """A records JSON ({"environment": {...}, "records": [...]}), each record checked; one InputError line
    naming the first bad field."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError("--from-records", "a readable records JSON file", str(path)) from exc
    except json.JSONDecodeError as exc:
        raise InputError("--from-records", f"valid JSON ({exc.msg}, line {exc.lineno})", str(path)) from exc
    if not isinstance(data, dict) or not isinstance(data.get("records"), list) or not isinstance(
            data.get("environment"), dict):
        raise InputError(f"{path}", "an object with 'environment' (object) and 'records' (list)")
    for i, rec in enumerate(data["records"]):
        check_record(f"{path} records[{i}]", rec)
    return data


def check_record(owner: str, rec: Any) -> None:
    if not isinstance(rec, dict) or rec.get("kind") not in KINDS:
        raise InputError(f"{owner}.kind", f"one of {', '.join(KINDS)}", rec.get("kind") if isinstance(rec, dict)
                         else rec)
    for key in NEEDS[rec["kind"]]:
        value = rec.get(key)
        if key in ("dtype", "what", "reason"):
            if not isinstance(value, str) or not value:
                raise InputError(f"{owner}.{key}", "a non-empty text", value)
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
            raise InputError(f"{owner}.{key}", "a positive finite number", value)


def _of(records: Iterable[dict[str, Any]], kind: str, **match: Any) -> list[dict[str, Any]]:
    return [r for r in records if r["kind"] == kind and all(r.get(k) == v for k, v in match.items())]


def _source(env: dict[str, Any], what: str, fixture: bool) -> str:
    head = "TEST FIXTURE, NOT A MEASUREMENT: " if fixture else "MEASURED by flopwatt calibrate: "
    device = ", ".join(f"{k} {env[k]}" for k in ("device_name", "torch", "cuda") if k in env)
    return f"{head}{what} on {device or 'an unnamed device'}"


def gemm_table(records: list[dict[str, Any]], peak_flops_per_s: float) -> tuple[list[float], list[float]]:
    """(op_flops, efficiency) of the bf16 GEMMs: the best fraction of the peak at each FLOP count."""
    best: dict[float, float] = {}
    for r in _of(records, "gemm", dtype="bf16"):
        eff = r["flops"] / r["seconds"] / peak_flops_per_s
        best[r["flops"]] = max(best.get(r["flops"], 0.0), eff)
    sizes = sorted(best)
    effs = [best[s] for s in sizes]
    if any(e > 1.0 for e in effs):
        raise InputError("records gemm", "at most the catalog's dense bf16 peak (a faster GEMM means the catalog "
                         "peak or the --accelerator is wrong)", max(effs))
    return sizes, effs


def low_precision_ratio(records: list[dict[str, Any]], dtype: str, peaks: dict[str, float]) -> float | None:
    """Sustained ``dtype`` fraction of its peak over the bf16 fraction of the bf16 peak, at the largest shape
    both were measured at (None: not both)."""
    low, high = _of(records, "gemm", dtype=dtype), _of(records, "gemm", dtype="bf16")
    common = {r["flops"] for r in low} & {r["flops"] for r in high}
    if not common or dtype not in peaks:
        return None
    size = max(common)
    frac = {d: max(r["flops"] / r["seconds"] for r in rs if r["flops"] == size) / peaks[d]
            for d, rs in ((dtype, low), ("bf16", high))}
    return frac[dtype] / frac["bf16"]


def all_reduce_table(records: list[dict[str, Any]]) -> tuple[list[float], list[float]] | None:
    """(message_bytes, busbw_bytes_per_s) over n > 1 ranks, the fastest at each size (None: none measured)."""
    best: dict[float, float] = {}
    for r in _of(records, "all_reduce"):
        if r["ranks"] > 1:
            busbw = 2.0 * (r["ranks"] - 1) / r["ranks"] * r["bytes"] / r["seconds"]
            best[r["bytes"]] = max(best.get(r["bytes"], 0.0), busbw)
    if not best:
        return None
    sizes = sorted(best)
    return sizes, [best[s] for s in sizes]


def build_overlay(data: dict[str, Any], accelerator: Any, scale_up: str, retrieved: str) -> dict[str, Any]:
    """The overlay ({"efficiency": {table: {id: entry}}}) of one records file for ``accelerator`` (a catalog
    Accelerator: its dense peaks and streaming bandwidth are the denominators)."""
    records, env = data["records"], data["environment"]
    fixture = bool(data.get("test_fixture"))
    acc = accelerator.id
    eff: dict[str, dict[str, Any]] = {}
    sizes, effs = gemm_table(records, accelerator.peak("bf16"))
    if sizes:
        eff["gemm"] = {acc: {"op_flops": sizes, "efficiency": effs, "retrieved": retrieved,
                             "source": _source(env, "bf16 GEMMs at serving shapes, best fraction of the catalog's "
                                               "dense bf16 peak per FLOP count", fixture)}}
    ratios = {d: low_precision_ratio(records, d, accelerator.peak_flops_per_s) for d in ("fp8", "fp4")}
    ratios = {d: v for d, v in ratios.items() if v is not None}
    if ratios:
        eff["low_precision"] = {acc: {**ratios, "retrieved": retrieved, "source": _source(
            env, "largest common GEMM shape, low-precision fraction of its peak over the bf16 fraction", fixture)}}
    copies = _of(records, "hbm")
    if copies:
        rate = max(r["bytes"] / r["seconds"] for r in copies)
        eff["memory"] = {acc: {"efficiency": rate / accelerator.streaming_bandwidth_bytes_per_s, "retrieved": retrieved,
                               "source": _source(env, "device copy, bytes read + written per second over the "
                                                 "catalog's streaming bandwidth", fixture)}}
    table = all_reduce_table(records)
    if table is not None:
        eff["all_reduce_measured"] = {scale_up: {"message_bytes": table[0], "busbw_bytes_per_s": table[1],
                                                 "retrieved": retrieved, "source": _source(
                                                     env, "NCCL all-reduce bus bandwidth 2(n-1)/n x bytes/s", fixture)}}
    if not eff:
        raise InputError("records", "at least one bf16 GEMM, copy or all-reduce record", "none")
    return {"efficiency": eff}


def _value(v: Any) -> str:
    if isinstance(v, str):
        return json.dumps(v)  # a TOML basic string is a JSON string for these texts
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return repr(float(v))


def to_toml(overlay: dict[str, Any], notes: Iterable[str] = ()) -> str:
    """TOML text of an overlay (tables of scalars, strings and lists only), ``notes`` as leading comments."""
    lines = [f"# {n}" for n in notes]
    for kind, tables in overlay.items():
        for table, entries in tables.items():
            for entry_id, entry in entries.items():
                lines += ["", f"[{kind}.{table}.{json.dumps(entry_id)}]"]
                lines += [f"{key} = {_value(value)}" for key, value in entry.items()]
    return "\n".join(lines) + "\n"


def summary(data: dict[str, Any], accelerator: Any) -> list[str]:
    """One line per measured quantity that no catalog table reads (decode attention, launch, all-to-all,
    skips), for the command's text and the overlay's comments."""
    records, lines = data["records"], []
    for r in _of(records, "decode_attention"):
        rate = r["bytes"] / r["seconds"]
        lines.append(f"decode attention {r.get('sequences')} seqs x {r.get('context_tokens')} tokens: "
                     f"{rate / 1e12:.3g} TB/s KV read ({rate / accelerator.streaming_bandwidth_bytes_per_s:.0%} "
                     "of the catalog's streaming bandwidth)")
    for r in _of(records, "launch"):
        lines.append(f"launch: {r['eager_seconds'] / r['kernels'] * 1e6:.3g} us per kernel eager, "
                     f"{r['graph_seconds'] / r['kernels'] * 1e6:.3g} us from a CUDA graph")
    for r in _of(records, "all_to_all"):
        lines.append(f"all-to-all over {r['ranks']} ranks, {r['bytes']:.3g} B: {r['bytes'] / r['seconds'] / 1e9:.3g} "
                     "GB/s per rank")
    lines += [f"skipped {r['what']}: {r['reason']}" for r in _of(records, "skipped")]
    return lines
