"""Reading the serving hold-out CSVs for their data tests (no flopwatt prediction is made on them)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from flopwatt import catalog
from flopwatt import validate as val
from flopwatt.validate.rows import publishes_run_inputs

ROOT = Path(__file__).resolve().parent.parent
FIRST = ROOT / "validation" / "infer_heldout.csv"

SHARED_FRAMEWORKS = {"", "tensorrt-llm", "mlperf-nvidia"}
"""DATASET.md's serving framework values; blank = an engine not in its list (the sixth hold-out onward)."""

SHARED_ACCELERATORS = {
    "v100-sxm2-32gb", "a100-sxm4-40gb", "a100-sxm4-80gb", "h100-sxm5-80gb", "h800-sxm5-80gb", "h200-sxm-141gb",
    "b200-sxm-180gb", "gb200", "mi300x", "gaudi2", "gaudi3", "tpu-v3", "tpu-v4", "tpu-v5e", "tpu-v5p", "tpu-v6e",
}
"""DATASET.md's accelerator enum, copied here so the check needs no catalog."""


def read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """A CSV's header and rows."""
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def rows(path: Path) -> list[dict[str, str]]:
    """The rows of a hold-out file whose header is the validation schema, as the first hold-out's."""
    header, found = read(path)
    assert header == read(FIRST)[0] == list(val.SCHEMA)
    return found


def others(path: Path) -> dict[str, list[dict[str, str]]]:
    """Rows of every other validation or benchmark data file that has an ``id`` column, by file name."""
    out = {}
    for other in sorted([*ROOT.glob("validation/*.csv"), *ROOT.glob("bench/data/*.csv")]):
        if other == path:
            continue
        header, found = read(other)
        if "id" in header:
            out[other.name] = found
    return out


def check_run_inputs(row: dict[str, str], plan_published: bool = True) -> None:
    """The run inputs validate needs (devices, mean output length) are published and in physical ranges, the
    published plan uses exactly the row's devices (``plan_published=False``: where tp, pp and dp are all given),
    and only server rows carry latency limits."""
    assert publishes_run_inputs(row), row["id"]
    if plan_published or all(row[k] for k in ("tp", "pp", "dp")):
        n, tp, pp, dp = (int(row[k]) for k in ("n_devices", "tp", "pp", "dp"))
        assert n >= 1 and n == tp * pp * dp, row["id"]
    assert 1.0 <= float(row["output_len"]) <= 32768, row["id"]
    if row["input_len"]:
        assert 1.0 <= float(row["input_len"]) <= 131072, row["id"]
    assert row["precision"] in {"fp4", "fp8", "bf16", "fp16"}, row["id"]
    if row["scenario"] != "server":
        assert not row["ttft_p99_s"] and not row["tpot_p99_s"], row["id"]


MLPERF_SERVER_LIMITS = {("2", "0.2"), ("0.45", "0.04")}
"""MLPerf Server and Interactive p99 limits of llama2-70b and mixtral-8x7b (TTFT s, TPOT s)."""


def check_open_engine_row(row: dict[str, str], ordinal: str, scenarios: tuple[str, ...] = ("max_load",)) -> None:
    """A shared-schema serving row of an engine outside DATASET.md's list, at a stated or unbounded load: blank
    framework, generated tokens/s, one of ``scenarios``, an enum accelerator, a source and network, and the held-out
    marker of the ``ordinal`` ("tenth") hold-out in its notes."""
    assert row["kind"] == "infer" and row["unit"] == "tokens/s", row["id"]
    assert row["framework"] == "" and row["framework"] in SHARED_FRAMEWORKS, row["id"]
    assert row["metric"] == "output_tokens_per_s" and row["metric"] in val.INFER_METRICS, row["id"]
    assert row["scenario"] in scenarios and row["accelerator"] in SHARED_ACCELERATORS, row["id"]
    assert row["source"] and row["network"], row["id"]
    assert "HELD OUT" in row["notes"] and f"{ordinal} hold-out" in row["notes"], row["id"]


def run_kind(row: dict[str, str], markers: tuple[str, ...]) -> str:
    """The one run-kind marker of ``markers`` the row's notes carry (never parsed by flopwatt; the data tests check
    that exactly one is there)."""
    found = [m for m in markers if m in row["notes"]]
    assert len(found) == 1, (row["id"], found)
    return found[0]


def check_amd_mlperf_row(row: dict[str, str]):
    """An AMD MLPerf llama2-70b / mixtral row: run inputs (:func:`check_run_inputs`), generated tokens/s per device
    and server limits in range, a non-NVIDIA catalog accelerator with the row's precision, and a catalog model of
    the row's shape. Returns the model."""
    check_run_inputs(row)
    assert 0 < float(row["value"]) / int(row["n_devices"]) <= 20000, row["id"]
    if row["scenario"] == "server":
        assert (row["ttft_p99_s"], row["tpot_p99_s"]) in MLPERF_SERVER_LIMITS, row["id"]
    known = catalog.accelerators()
    assert row["accelerator"] in known and known[row["accelerator"]].vendor != "NVIDIA", row["id"]
    assert row["precision"] in known[row["accelerator"]].peak_flops_per_s, row["id"]
    model = catalog.model_by_name(row["model"])
    assert model is not None and model.layers == int(row["layers"]) and model.hidden == int(row["hidden"]), row["id"]
    return model


def mlperf_suite_models() -> set[str]:
    """Models with an MLPerf Inference request set in the catalog (a row without an input length uses it)."""
    return {d.model for d in catalog.serving_datasets().values() if d.suite == "mlperf-inference"}

ARCHITECTURE = ("params_b", "layers", "hidden", "ffn_hidden", "heads", "vocab")
"""Shape columns a shared-schema row carries, so that it runs whether or not its model name resolves."""
MOE_COLUMNS = ("moe_experts", "moe_topk", "moe_ffn_hidden", "moe_shared_experts")


def check_catalog_row(row: dict[str, str], max_tokens_per_s_per_device: float = 20000.0) -> None:
    """A shared-schema row's value is a physical generated-token rate, its accelerator is in the catalog with a
    peak at the row's precision, it carries the architecture, and a model name that resolves names a catalog model
    of the row's shape."""
    known = catalog.accelerators()
    assert 0 < float(row["value"]) / int(row["n_devices"]) <= max_tokens_per_s_per_device, row["id"]
    assert row["accelerator"] in known and row["precision"] in known[row["accelerator"]].peak_flops_per_s, row["id"]
    assert all(row[k] for k in ARCHITECTURE), row["id"]
    model = catalog.model_by_name(row["model"])
    if model is not None:
        assert model.layers == int(row["layers"]) and model.hidden == int(row["hidden"]), row["id"]
        if row["moe_experts"]:
            assert model.moe is not None and model.moe.experts == int(row["moe_experts"]), row["id"]


def check_published_row(row: dict[str, str], max_tokens_per_s_per_device: float,
                        plan_published: bool = False) -> None:
    """Run inputs published (:func:`check_run_inputs`: the plan required with ``plan_published``, else checked only
    where all of tp, pp and dp are given), MoE rows carry every MoE column, and :func:`check_catalog_row`."""
    check_run_inputs(row, plan_published=plan_published)
    if row["moe_experts"]:
        assert all(row[k] for k in MOE_COLUMNS), row["id"]
    check_catalog_row(row, max_tokens_per_s_per_device)


def check_new_ids(path: Path, prefixes: set[str], earlier: set[str]) -> None:
    """A hold-out's ids are unique, carry exactly its own ``prefixes``, and neither its ids nor its prefixes
    appear in any other data file (``earlier``: files that must be among those)."""
    ids = [r["id"] for r in rows(path)]
    assert len(ids) >= 15 and len(set(ids)) == len(ids)
    assert {i.rsplit("-", 1)[0] for i in ids} == prefixes
    found = others(path)
    assert earlier <= set(found)
    for name, other in found.items():
        other_ids = {r["id"] for r in other}
        assert not set(ids) & other_ids, name
        assert not prefixes & {i.rsplit("-", 1)[0] for i in other_ids}, name


def _measurement(row: dict[str, str]) -> tuple[str | None, str | None, float | str | None]:
    """(accelerator, scenario, value), the value as a number where it is one ('59040.80' is '59040.8')."""
    value = row.get("value")
    try:
        number: float | str | None = float(value) if value else value
    except ValueError:
        number = value
    return row.get("accelerator"), row.get("scenario"), number


def check_no_repeated_measurement(path: Path) -> None:
    """No row repeats a measurement of another data file (the same accelerator, scenario and measured value, compared
    as numbers), and no two rows of the file are one measurement."""
    seen = {_measurement(r) for found in others(path).values() for r in found}
    mine = rows(path)
    keys = [_measurement(r) for r in mine]
    assert len(set(keys)) == len(keys)
    for r, key in zip(mine, keys, strict=True):
        assert key not in seen, r["id"]


FIXED_RUN = re.compile(r"FIXED LOAD \(max concurrency (\d+), (\d+) prompts\)")
"""The fixed-load run-kind marker of the shared-schema open-engine hold-outs (concurrency, prompts)."""
FULL_RUN = re.compile(r"FULL LOAD \((\d+) prompts sent at once")
"""The full-load run-kind marker (prompts)."""
PRINTED = re.compile(r"Printed: (\d+) successful requests, total input tokens (\d+), total generated tokens (\d+), "
                     r"output token throughput ([\d.]+) tok/s")
"""A benchmark client's printed totals as the hold-out notes quote them."""


FIXED, FULL_LOAD, BATCH = "FIXED LOAD", "FULL LOAD", "BATCH"
"""Run-kind markers of the shared-schema open-engine hold-outs (thirteenth onward), at the start of a row's notes."""
BATCH_RUN = re.compile(r"BATCH \((\d+) prompts in one batch")
"""The one-batch run-kind marker (prompts)."""
BATCH_LATENCY = re.compile(r"batch latency ([\d.]+) s")
"""A one-batch row's recorded batch latency, as its notes quote it."""
TOTAL_RATE = re.compile(r"total-token throughput ([\d.]+) tokens/s")
"""A one-batch row's recorded total-token rate, as its notes quote it."""


def open_engine_kind(row: dict[str, str]) -> str:
    """The row's run kind: :data:`FIXED`, :data:`FULL_LOAD` or :data:`BATCH`."""
    return run_kind(row, (FIXED, FULL_LOAD, BATCH))


MIN_PROMPTS_PER_SLOT = 2
"""The open-engine focus: a fixed-load run sends at least this many prompts per slot of its concurrency."""
MIN_FULL_LOAD_PROMPTS = 300
"""The open-engine focus: a full-load run sends at least this many prompts at once."""


def check_fixed_load(row: dict[str, str]) -> None:
    """A fixed-load row: ``max_load``, micro_batch = the stated concurrency over the engine replicas, and at least
    :data:`MIN_PROMPTS_PER_SLOT` prompts per slot."""
    conc, prompts = stated_load(row)
    assert row["scenario"] == "max_load", row["id"]
    assert f"micro_batch = stated max concurrency {conc} per replica" in row["notes"], row["id"]
    assert int(row["micro_batch"]) * int(row["dp"]) == conc, row["id"]
    assert prompts >= MIN_PROMPTS_PER_SLOT * conc, row["id"]


def check_run_kind(row: dict[str, str]) -> tuple[str, int | None]:
    """(run kind, prompts; None for a fixed load) of an open-engine row, each kind checked: :func:`check_fixed_load`,
    :func:`check_full_load`, or one batch of B prompts: ``offline`` and micro_batch = B."""
    kind = open_engine_kind(row)
    if kind == FIXED:
        check_fixed_load(row)
        return kind, None
    if kind == FULL_LOAD:
        return kind, check_full_load(row)
    prompts = int(BATCH_RUN.search(row["notes"]).group(1))
    assert row["scenario"] == "offline" and int(row["micro_batch"]) == prompts, row["id"]
    return kind, prompts


def check_full_load(row: dict[str, str]) -> int:
    """A full-load row: ``max_load``, micro_batch blank, at least :data:`MIN_FULL_LOAD_PROMPTS` prompts sent at once;
    returns the prompt count."""
    _, prompts = stated_load(row)
    assert row["scenario"] == "max_load", row["id"]
    assert not row["micro_batch"] and prompts >= MIN_FULL_LOAD_PROMPTS, row["id"]
    return prompts


def check_recorded_batch(row: dict[str, str], total_recorded: bool = True) -> tuple[int, float]:
    """A one-batch row against its recorded latency and (``total_recorded``: always; else where quoted) total-token
    rate (:func:`check_batch_rate`); returns (B, latency in s)."""
    latency = float(BATCH_LATENCY.search(row["notes"]).group(1))
    total = TOTAL_RATE.search(row["notes"])
    assert total or not total_recorded, row["id"]
    check_batch_rate(row, latency, float(total.group(1)) if total else None)
    return int(row["micro_batch"]), latency


def check_printed_rate(row: dict[str, str], length_tolerance: float) -> None:
    """A fixed- or full-load row: value = the printed output-token rate, the lengths = the printed totals over the
    successful requests (within ``length_tolerance`` tokens), and every stated prompt succeeded."""
    n, tin, tout, rate = PRINTED.search(row["notes"]).groups()
    assert float(row["value"]) == float(rate), row["id"]
    assert abs(float(row["input_len"]) - int(tin) / int(n)) <= length_tolerance + 1e-9, row["id"]
    assert abs(float(row["output_len"]) - int(tout) / int(n)) <= length_tolerance + 1e-9, row["id"]
    assert int(n) == stated_load(row)[1], row["id"]


def check_batch_rate(row: dict[str, str], latency_s: float, total_rate: float | None) -> None:
    """A one-batch row: value = B x output length / the recorded batch latency, and a recorded total-token rate (None:
    not recorded) is B x (input + output) / latency."""
    batch, n_in, n_out = int(row["micro_batch"]), float(row["input_len"]), float(row["output_len"])
    assert float(row["value"]) == round(batch * n_out / latency_s, 2), row["id"]
    if total_rate is not None:
        assert abs(total_rate - batch * (n_in + n_out) / latency_s) <= 1e-6 * total_rate, row["id"]


def source_prefix(row: dict[str, str]) -> str:
    """The source prefix of a row id (``OE12C-03`` -> ``OE12C``)."""
    return row["id"].rsplit("-", 1)[0]


def check_rows_in_range_and_catalog(rows: list[dict[str, str]], max_tokens_per_s_per_device: float) -> None:
    """Every row publishes devices, the plan, precision and both lengths, MoE rows all MoE columns; its value is a
    physical rate and its accelerator and model are in the catalog (or the row carries the architecture)."""
    for r in rows:
        assert r["input_len"], r["id"]
        check_published_row(r, max_tokens_per_s_per_device, plan_published=True)


def stated_load(row: dict[str, str]) -> tuple[int | None, int]:
    """(concurrency, prompts) of the run-kind marker in a row's notes; concurrency None for a full-load run."""
    full = FULL_RUN.search(row["notes"])
    if full:
        return None, int(full.group(1))
    conc, prompts = FIXED_RUN.search(row["notes"]).groups()
    return int(conc), int(prompts)


def rows_per_source(rows: list[dict[str, str]]) -> dict[str, int]:
    """Rows per source prefix."""
    prefixes = [source_prefix(r) for r in rows]
    return {p: prefixes.count(p) for p in set(prefixes)}


def check_source_shares(rows: list[dict[str, str]], row_range: tuple[int, int], min_sources: int,
                        max_share: float) -> None:
    """A focus's size and balance: rows within ``row_range``, at least ``min_sources`` source prefixes, none above
    ``max_share`` of the rows."""
    assert row_range[0] <= len(rows) <= row_range[1], len(rows)
    per_source = rows_per_source(rows)
    assert len(per_source) >= min_sources, per_source
    assert max(per_source.values()) <= max_share * len(rows), per_source


FIXED_LENGTHS = "(fixed output length)"
SAMPLED_LENGTHS = "output lengths sampled"


def check_lengths_said_fixed_or_sampled(rows: list[dict[str, str]]) -> None:
    """Every row says whether its output lengths are fixed (``ignore_eos`` with a fixed length: both lengths whole
    numbers) or sampled (the means come from the printed totals)."""
    for r in rows:
        fixed, sampled = FIXED_LENGTHS in r["notes"], SAMPLED_LENGTHS in r["notes"]
        assert fixed != sampled, r["id"]
        if fixed:
            assert float(r["input_len"]).is_integer() and float(r["output_len"]).is_integer(), r["id"]
        else:
            assert PRINTED.search(r["notes"]), r["id"]
