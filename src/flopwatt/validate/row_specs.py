"""What a validation row's typed columns say about the model, system and measured value (blanks filled from
the catalog model the name resolves to; names resolve by documented normalisation, never parsed for numbers)."""

from __future__ import annotations

from flopwatt import catalog
from flopwatt.errors import InputError
from flopwatt.specs import ModelSpec, System
from flopwatt.specs.model import MoESpec
from flopwatt.validate import conventions as conv
from flopwatt.validate.rows import Skip, _float, _int

SHAPE = ("layers", "hidden", "ffn_hidden", "heads", "kv_heads", "vocab")


def _moe(row: dict[str, str], known: ModelSpec | None) -> MoESpec | None:
    experts = _int(row, "moe_experts")
    if not experts:  # blank, or 0 routed experts: a dense model
        return None
    topk, width = _int(row, "moe_topk", minimum=1), _int(row, "moe_ffn_hidden", minimum=1)
    if topk is None or width is None:
        if known is None or known.moe is None:
            raise Skip("MoE top-k or expert width not published and no catalog model matches")
        topk, width = topk or known.moe.topk, width or known.moe.ffn_hidden
    same = known is not None and known.moe is not None and known.moe.experts == experts
    return MoESpec(experts=experts, topk=topk, ffn_hidden=width, shared_experts=_int(row, "moe_shared_experts") or 0,
                   first_dense_layers=known.moe.first_dense_layers if same else 0,
                   max_nodes_per_token=known.moe.max_nodes_per_token if same else None)

def _model(row: dict[str, str], notes: list[str]) -> ModelSpec:
    """The row's shape (:func:`_shaped_model`); columns that do not make a consistent model (kv_heads not dividing
    heads, top-k above the experts) skip the row with the reason instead of ending the run."""
    try:
        return _shaped_model(row, notes)
    except InputError as exc:
        if exc.field.startswith("row "):  # a malformed cell (not a whole number >= 1) stays an input error
            raise
        raise Skip(f"the row's model columns are not a consistent model: {exc}") from exc


def _shaped_model(row: dict[str, str], notes: list[str]) -> ModelSpec:
    """The row's shape; blanks filled from the catalog model its name resolves to. A name that resolves to
    no catalog model needs the whole shape and params_b: the MLP (2 or 3 matrices) and tied or untied
    embeddings are then those whose total is nearest the published params_b (a stated rule)."""
    known = catalog.model_by_name(row["model"])
    shape = {k: _int(row, k, minimum=1) for k in SHAPE}
    if known is None:
        return _unknown_model(row, shape, notes)
    for key, value in shape.items():
        if value is None:
            shape[key] = getattr(known, key)
    if known.head_dim is None and known.mla is None:
        _whole_head_size(shape, f"neither the row nor catalog model {known.id} gives another")
    moe = _moe(row, known)
    # the released checkpoint's expert width belongs to the catalog model's own experts only
    released = known.released_expert_weight_bytes if moe is not None and moe == known.moe else None
    return ModelSpec(id=row["id"], name=row["model"], mlp=known.mlp, source=row["source"], retrieved="n/a",
                     position=known.position, tied_embeddings=known.tied_embeddings, head_dim=known.head_dim,
                     moe=moe, mla=known.mla, dropout=known.dropout, released_expert_weight_bytes=released, **shape)


def _whole_head_size(shape: dict, why: str) -> None:
    """Skip a row whose head size, hidden / heads, is not whole (``why``: why nothing gives another)."""
    if shape["hidden"] % shape["heads"]:
        raise Skip(f"head size hidden {shape['hidden']} / heads {shape['heads']} is not whole: {why}")


def _unknown_model(row: dict[str, str], shape: dict, notes: list[str]) -> ModelSpec:
    missing = [k for k, v in shape.items() if v is None]
    params_b = _float(row, "params_b")
    if missing or params_b is None:
        what = missing[0] if missing else "params_b"
        raise Skip(f"model {row['model']!r} is not in the catalog and the row lacks {what}")
    # DATASET.md: head size is hidden / heads; no column gives another
    _whole_head_size(shape, f"model {row['model']!r} is not in the catalog and no column gives another")
    candidates = [ModelSpec(id=row["id"], name=row["model"], mlp=mlp, source=row["source"], retrieved="n/a",
                            position="learned", tied_embeddings=tied, moe=_moe(row, None), **shape)
                  for mlp in ("gelu", "swiglu") for tied in (True, False)]
    best = min(candidates, key=lambda m: abs(m.total_params() - params_b * 1e9))
    notes.append(f"model not in the catalog: {best.mlp_matrices}-matrix MLP, "
                 f"{'tied' if best.tied_embeddings else 'untied'} embeddings (nearest published params_b)")
    return best


def _system(row: dict[str, str]) -> System:
    """The convention's system for the row's source, else the accelerator's first catalog system."""
    acc = row["accelerator"].strip()
    if acc not in catalog.accelerators():
        raise Skip(f"accelerator {acc!r} is not in the catalog")
    chosen = conv.for_row(row["id"]).system
    return catalog.get("systems", chosen) if chosen else catalog.system_for(acc)

def _measured(row: dict[str, str]) -> float:
    value = _float(row, "value")
    if value is None or value <= 0:
        raise InputError(f"row {row['id']} value", "a positive measured value", row["value"])
    return value
