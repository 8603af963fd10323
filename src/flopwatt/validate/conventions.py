"""Per-source conventions of published runs (conventions.toml): what a typed row cannot say.

Looked up by the row id (exact) over its source prefix (the id without its trailing number), never
read from free text. A row whose source has no entry gets the stated defaults of :class:`Convention`,
which the report lists among its assumptions.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from typing import Any

from flopwatt.catalog import check_keys
from flopwatt.errors import InputError

FLOPS = ("model", "hardware", "narayanan-eq3")
ENERGY = ("modelled", "tdp")
PHASES = ("prefill", "decode")
LOCAL_BATCH_SPLITS = ("pp",)


@dataclass(frozen=True, kw_only=True, slots=True)
class Convention:
    flops_convention: str | None = None
    """How tflops_per_device is counted; None = not stated (rule: the plan's hardware FLOPs)."""
    system: str | None = None
    energy: str | None = None
    """How energy_kwh is estimated ("tdp": GPU-hours x board power x stated_pue; "modelled": facility energy);
    None = not stated (rule: "tdp" without a PUE, as DATASET.md describes the column)."""
    stated_pue: float | None = None
    suite: str | None = None
    power_limit: str | None = None
    engine: str | None = None
    """The engines.toml profile of the engine release the runs used (None: release without a profile)."""
    run_sets_batch_limits: bool = False
    """The runs set their own max batch and token budget (published with them), so the engine profile's
    defaults for those are not applied."""
    phase: str | None = None
    """Serving rows: the one phase of a prefill/decode-disaggregated deployment the run measured alone
    ("prefill": its requests end at their first token; "decode": its sequences arrive prefilled and hold the
    row's input_len of KV); None = prefill and decode on the same devices."""
    attention_dp: bool = False
    """Serving rows: the source's tensor-parallel degree counts ranks that run attention data-parallel
    (TensorRT-LLM enable_attention_dp, SGLang --enable-dp-attention), so each rank is its own attention
    group (tp 1) and the row's ep spreads the experts over them."""
    redundant_experts: int = 0
    """Serving rows of MoE models: redundant expert copies the run's engine held (EPLB), from its command."""
    max_output_tokens: int | None = None
    """Serving rows: the benchmark's cap on each request's generated tokens (max_new_tokens), which an engine
    that reserves KV at admission holds for every request (:class:`flopwatt.perf.lengths.Lengths`); None = not
    stated (a reservation then covers the request's own output)."""
    local_batch_split: str | None = None
    """Training rows: the ``micro_batch`` cell holds the source's local batch (sequences per data-parallel
    rank per step), which a pipelined run splits into micro-batches by the stated rule: "pp" = as many
    micro-batches as pipeline ranks (torchtitan's default when pipeline_parallel_microbatches is unset).
    None = the cell is the micro-batch. Without pipelining the local batch is the micro-batch."""
    source: str = ""
    retrieved: str = ""

    def __post_init__(self) -> None:
        if self.flops_convention is not None and self.flops_convention not in FLOPS:
            raise InputError("conventions.flops_convention", f"one of {', '.join(FLOPS)}", self.flops_convention)
        if self.energy is not None and self.energy not in ENERGY:
            raise InputError("conventions.energy", f"one of {', '.join(ENERGY)}", self.energy)
        if self.phase is not None and self.phase not in PHASES:
            raise InputError("conventions.phase", f"one of {', '.join(PHASES)}", self.phase)
        if self.max_output_tokens is not None and not (isinstance(self.max_output_tokens, int)
                                                       and self.max_output_tokens >= 1):
            raise InputError("conventions.max_output_tokens", "a whole number of tokens >= 1", self.max_output_tokens)
        if self.local_batch_split is not None and self.local_batch_split not in LOCAL_BATCH_SPLITS:
            raise InputError("conventions.local_batch_split", f"one of {', '.join(LOCAL_BATCH_SPLITS)}",
                             self.local_batch_split)


@functools.cache
def conventions() -> dict[str, dict[str, Any]]:
    text = resources.files("flopwatt.validate").joinpath("conventions.toml").read_text(encoding="utf-8")
    import tomllib

    data = tomllib.loads(text)
    for key, entry in data.items():
        check_keys(f"conventions {key}", entry, Convention)
        if "source" not in entry:
            raise InputError(f"conventions {key}.source", "a source for every convention")
        Convention(**entry)
    return data


def prefix(row_id: str) -> str:
    """'MEG21-04' -> 'MEG21' (DATASET.md: an id is a source prefix and a number)."""
    return row_id.rsplit("-", 1)[0] if "-" in row_id else row_id


def for_row(row_id: str) -> Convention:
    """The prefix's entry with the row's own entry on top; the defaults where neither exists."""
    table = conventions()
    merged: dict[str, Any] = {}
    for key in (prefix(row_id), row_id):
        merged.update(table.get(key, {}))
    return Convention(**merged)


def known(row_id: str) -> bool:
    return prefix(row_id) in conventions() or row_id in conventions()



def micro_batch(row_id: str, cell: int | None, pp: int | None) -> tuple[int | None, str | None]:
    """The row's micro-batch from its ``micro_batch`` cell under the source's ``local_batch_split`` rule,
    and a note saying the rule was applied (None where the cell is the micro-batch). A local batch that the
    rule cannot split into whole micro-batches is an error of the row (the framework would refuse it)."""
    rule = for_row(row_id).local_batch_split
    if rule is None or cell is None or not pp or pp <= 1:
        return cell, None
    if cell % pp:
        raise InputError(f"{row_id}.micro_batch", f"a local batch divisible by pp {pp} (conventions "
                         "local_batch_split 'pp')", cell)
    return cell // pp, (f"local batch {cell} split into pp = {pp} micro-batches of {cell // pp} "
                        "(conventions local_batch_split 'pp')")
