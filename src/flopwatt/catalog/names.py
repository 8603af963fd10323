"""Resolve a model name as people write it ('meta-llama/Llama-3.1-8B', 'Llama 3.3 70B Instruct') to a
catalog entry, by exact comparison of normal forms; no fuzzy matching.

:func:`normalise` applies these rules, in order:

1. strip surrounding whitespace and case-fold (``str.casefold``);
2. drop an organisation prefix: everything up to and including the last ``/``
   (``meta-llama/Llama-3.1-8B`` -> ``llama-3.1-8b``);
3. spaces, underscores and dots become ``-`` (``Llama 3.1 8B`` -> ``llama-3-1-8b``);
4. runs of ``-`` collapse to one, and leading or trailing ``-`` go;
5. trailing variant words are dropped, repeatedly: ``hf``, ``instruct``, ``chat``, ``base``, ``it``, and a
   Mistral AI release tag ``v0.<n>`` (``Mixtral-8x7B-Instruct-v0.1`` -> ``mixtral-8x7b``). Other version
   words stay: ``DeepSeek-V3`` and ``Qwen2.5`` name different models from their predecessors;
6. trailing words that name a training *run* of the model rather than a model are dropped the same way:
   ``pre-training``, ``pretraining``, ``training`` (``OPT-175B pre-training`` -> ``opt-175b``, as the
   published-runs tables of validation/ write their energy and throughput rows);
7. trailing words that name a *quantised export* of the checkpoint are dropped the same way: ``fp8``, ``fp4``,
   ``nvfp4``, ``mxfp4``, ``int8``, ``int4``, ``w8a8``, ``w8a16``, ``w4a16``, ``awq``, ``gptq``, ``dynamic``,
   ``quantized``
   (``nvidia/Llama-3.3-70B-Instruct-FP8`` -> ``llama-3-3-70b``, ``...-FP8-dynamic``): the precision a run
   serves is its own column, the shape is the checkpoint's;
8. a trailing four-digit checkpoint revision (a release date, ``DeepSeek-R1-0528``, ``Qwen3-235B-A22B-
   Instruct-2507``) and the ``thinking`` tuning word are dropped the same way: re-trained checkpoints of one
   architecture (their config.json shapes are the base model's).

The rules drop only what names a *variant* of one published checkpoint (its Hugging Face export, its chat,
instruction or reasoning tuning, a quantised copy, a dated re-release) or a run that trained it; these share
one shape, which is all the catalog records.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from flopwatt.errors import InputError
from flopwatt.specs.model import ModelSpec

VARIANT_WORDS = ("hf", "instruct", "chat", "base", "it", "thinking")
"""Trailing words that name a variant of a published checkpoint, not another model."""
QUANT_WORDS = ("fp8", "fp4", "nvfp4", "mxfp4", "int8", "int4", "w8a8", "w8a16", "w4a16", "awq", "gptq", "dynamic",
               "quantized")
"""Trailing words that name a quantised export of a checkpoint (rule 7)."""
RUN_WORDS = ("pre-training", "pretraining", "training")
"""Trailing words that name a training run of a model (rule 6), not another model."""
_TRAILING_VARIANT = re.compile(rf"-(?:{'|'.join(VARIANT_WORDS + RUN_WORDS + QUANT_WORDS)}|v0-\d+|\d{{4}})$")
"""One trailing variant word, Mistral AI's release tag 'v0.<n>' as rule 3 leaves it ('v0-1'), or a
four-digit checkpoint revision (rule 8)."""


class AmbiguousNameError(InputError):
    """A name whose normal form matches more than one catalog model; ``ids`` lists them."""

    def __init__(self, name: str, ids: list[str]) -> None:
        self.ids = ids
        super().__init__("model", "a name that matches one catalog model", name,
                         message=f"{name!r} matches several catalog models ({', '.join(ids)}); give an id")


def normalise(name: str) -> str:
    """The normal form of a model name (rules in the module docstring)."""
    text = name.strip().casefold().rpartition("/")[2]
    text = "-" + re.sub(r"[\s_.\-]+", "-", text).strip("-")
    while (shorter := _TRAILING_VARIANT.sub("", text)) != text:
        text = shorter
    return text.lstrip("-")


def _forms(model: ModelSpec) -> set[str]:
    return {normalise(text) for text in (model.id, model.name, *model.aliases)} - {""}


SERVICE_NAMES = {"DeepSeek-V3/R1 (DeepSeek online service)": "deepseek-v3"}
"""Exact names of services that serve several catalog models of one shape, and the catalog id that gives it.
DeepSeek's day-6 overview (deepseek-ai/open-infra-index@3122a25, 'DeepSeek-V3/R1 Inference System
Overview') reports one system and one set of statistics for V3 and R1 together; R1 shares V3's architecture
(deepseek-r1 in models.toml: same config.json keys and values), so either shape is the service's."""


def resolve_name(name: str, models: Mapping[str, ModelSpec]) -> ModelSpec | None:
    """The catalog model whose id, name or an alias has the same normal form as ``name``; an exact id
    wins outright, then an exact service name (:data:`SERVICE_NAMES`). None when nothing matches;
    :class:`AmbiguousNameError` when several models do."""
    if name in models:
        return models[name]
    if SERVICE_NAMES.get(name) in models:
        return models[SERVICE_NAMES[name]]
    wanted = normalise(name)
    if not wanted:
        return None
    hits = [model for model in models.values() if wanted in _forms(model)]
    if len(hits) > 1:
        raise AmbiguousNameError(name, sorted(model.id for model in hits))
    return hits[0] if hits else None
