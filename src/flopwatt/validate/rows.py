"""The typed schema of published runs (DATASET.md): reading a CSV, typed cells, and the report of a run.

The header must be the schema exactly; a cell is read as the type its column holds (``_int``,
``_float``), and a malformed cell is one InputError naming the row and column.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from flopwatt.errors import InputError

SCHEMA = ("id,kind,source,model,params_b,layers,hidden,ffn_hidden,heads,kv_heads,vocab,seq_len,moe_experts,"
          "moe_topk,moe_ffn_hidden,moe_shared_experts,accelerator,n_devices,tp,pp,dp,cp,ep,vpp,micro_batch,"
          "global_batch_seqs,zero_stage,recompute,precision,framework,network,input_len,output_len,scenario,"
          "ttft_p99_s,tpot_p99_s,tokens_total_b,metric,value,unit,notes").split(",")
NUMERIC = ("params_b", "layers", "hidden", "ffn_hidden", "heads", "kv_heads", "vocab", "seq_len", "moe_experts",
           "moe_topk", "moe_ffn_hidden", "moe_shared_experts", "n_devices", "tp", "pp", "dp", "cp", "ep", "vpp",
           "micro_batch", "global_batch_seqs", "zero_stage", "input_len", "output_len", "ttft_p99_s", "tpot_p99_s",
           "tokens_total_b", "value")
"""Columns holding numbers: a value given there must be a finite number (checked when the file is read)."""
KINDS = ("train", "infer", "energy")
TRAIN_METRICS = ("tflops_per_device", "mfu", "hfu", "tokens_per_s", "step_time_s", "time_to_train_s")
RUN_INPUTS = {"train": ("n_devices", "global_batch_seqs", "seq_len"),
              "energy": ("n_devices", "global_batch_seqs", "seq_len"),
              "infer": ("n_devices", "output_len")}
"""Per kind, the run inputs no model or convention can supply: the scale, and the batch and sequence length of
a training step (issue 16: "coverage 100 % where the row gives devices, batch and sequence length"); a serving
row's mean output length (its input length may come from the benchmark's request set)."""


def publishes_run_inputs(row: dict[str, str]) -> bool:
    """Whether the row gives every input of :data:`RUN_INPUTS` for its kind (a row of an unknown kind: no)."""
    needed = RUN_INPUTS.get(row["kind"])
    return needed is not None and all(row[key].strip() for key in needed)


class Skip(Exception):  # noqa: N818 - a control-flow signal, not an error
    """The row lacks what the model needs; the message says what."""


@dataclass(slots=True)
class RowResult:
    id: str
    metric: str
    measured: float
    predicted: float
    plan: dict[str, object]
    assumptions: list[str] = field(default_factory=list)

    @property
    def ape(self) -> float:
        return abs(self.predicted - self.measured) / abs(self.measured)


def read_rows(path: Path) -> list[dict[str, str]]:
    """Rows of a published-runs CSV; the header must be the DATASET.md schema exactly."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            if list(header) != SCHEMA:
                missing = [c for c in SCHEMA if c not in header]
                detail = f"missing column {missing[0]}" if missing else "columns in the DATASET.md order"
                raise InputError(f"{path} header", f"the DATASET.md schema ({detail})")
            rows = list(reader)
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError("validation file", f"a readable CSV file ({exc.__class__.__name__})", str(path)) from exc
    except csv.Error as exc:
        raise InputError(f"{path}", f"well-formed CSV ({exc})") from exc
    for line, row in enumerate(rows, start=2):
        if None in row or any(v is None for v in row.values()):
            raise InputError(f"{path} line {line}", f"{len(SCHEMA)} fields")
        for key in NUMERIC:
            _float(row, key)
    return rows


def _int(row: dict[str, str], key: str, minimum: int = 0) -> int | None:
    text = row[key].strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError as exc:
        raise InputError(f"row {row['id']} {key}", "a number", text) from exc
    if not np.isfinite(value) or value != int(value) or value < minimum:
        raise InputError(f"row {row['id']} {key}", f"an integer >= {minimum}", text)
    return int(value)


def _float(row: dict[str, str], key: str) -> float | None:
    text = row[key].strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError as exc:
        raise InputError(f"row {row['id']} {key}", "a number", text) from exc
    if not np.isfinite(value):
        raise InputError(f"row {row['id']} {key}", "a finite number", text)
    return value


def _report(results: list[RowResult], skipped: list[dict[str, str]],
            with_inputs: set[str] | None = None) -> dict[str, object]:
    """Rows, and a summary: n, skips, coverage = predicted / all rows and, where ``with_inputs`` (ids of the
    rows that publish their run inputs, :func:`publishes_run_inputs`) is given, beside it
    coverage_published_inputs = predicted among those rows / those rows; then median, p90 and max APE."""
    apes = np.array([r.ape for r in results])
    rows = [{"id": r.id, "metric": r.metric, "measured": r.measured, "predicted": r.predicted,
             "ape": r.ape, "status": "ok", "plan": r.plan, "assumptions": r.assumptions} for r in results]
    total = len(results) + len(skipped)
    summary: dict[str, object] = {"n": len(results), "skipped": skipped,
                                  "coverage": len(results) / total if total else None}
    if with_inputs is not None:
        predicted = sum(r.id in with_inputs for r in results)
        summary.update(rows_with_inputs=len(with_inputs),
                       coverage_published_inputs=predicted / len(with_inputs) if with_inputs else None)
    if len(results):
        summary.update(median_ape=float(np.median(apes)), p90_ape=float(np.percentile(apes, 90)),
                       max_ape=float(apes.max()))
    else:
        summary.update(median_ape=None, p90_ape=None, max_ape=None)
    return {"rows": rows, "summary": summary}


