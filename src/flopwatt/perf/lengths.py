"""Prompt and output lengths of a request set: means and, for real request sets, second moments.

Under continuous batching a batch slot is held by a sequence for as many iterations as it generates
tokens, so the sequences *in service* are length-biased: one that generates ``o`` tokens is found in
a slot with probability proportional to ``o`` (renewal theory's inspection paradox; Little's law per
slot). At a uniformly random iteration of its life it has generated ``U(0, o)`` tokens, so

    mean KV context of a busy slot       = (E[in o] + E[o^2] / 2) / E[o]
    mean KV a slot reserves (prompt+out) = (E[in o] + E[o^2])     / E[o]

which are ``in + out/2`` and ``in + out`` when every request has the mean lengths (the fixed-length
benchmarks, e.g. TensorRT-LLM's perf tables). An engine that reserves at admission cannot know a request's
length, so where requests carry a cap on their generated tokens (``max_new_tokens``) it holds KV for the cap:
a slot then reserves ``E[in o] / E[o] + cap`` (TensorRT-LLM's GUARANTEED_NO_EVICT scheduler admits a request
only with the blocks to its completion, ``min(prompt + max_new_tokens, window)``: NVIDIA/TensorRT-LLM@b35ac1b6
cpp/tensorrt_llm/batch_manager/kvCacheManager.cpp, KVCacheManager::getRemainingBlocksToCompletion).

Prompt tokens attend causally over their own prompt, so the prompt length a prefill token sees is
token-weighted: E[in^2] / E[in]. Admissions per iteration
stay ``slots / E[o]`` (Little's law), so the prefill tokens per iteration are ``slots E[in] / E[o]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flopwatt.errors import InputError


@dataclass(frozen=True, slots=True)
class Lengths:
    """Token lengths of requests. Iterating gives ``(mean input, mean output)``, so it unpacks like a pair."""

    input_tokens: float
    output_tokens: float
    output_sq_tokens2: float | None = None
    """E[out^2]; None: every request generates the mean (no spread)."""
    input_output_tokens2: float | None = None
    """E[in x out]; None: E[in] x E[out] (lengths uncorrelated)."""
    input_sq_tokens2: float | None = None
    """E[in^2]; None: every prompt has the mean length."""
    prefilled: bool = False
    """The requests arrive with their prompt's KV already computed: the decode pool of a prefill/decode-
    disaggregated deployment (DistServe, Zhong et al. OSDI'24; SGLang and DeepSeek PD disaggregation), where
    no prompt tokens ride the iterations."""
    max_output_tokens: float | None = None
    """Each request's cap on generated tokens (max_new_tokens), which a reserving engine holds KV for; None:
    the requests are capped at what they generate (fixed-length benchmarks, max_tokens = output length)."""

    def __post_init__(self) -> None:
        i, o = self.input_tokens, self.output_tokens
        if not (i >= 1 and o >= 1):
            raise InputError("lengths", "mean input and output of at least 1 token", (i, o))
        for name, floor in (("output_sq_tokens2", o * o), ("input_sq_tokens2", i * i)):
            value = getattr(self, name)
            if value is not None and not value >= floor * (1 - 1e-9):  # E[x^2] >= E[x]^2
                raise InputError(f"lengths.{name}", f"a second moment >= the mean squared ({floor:.6g})", value)
        cap = self.max_output_tokens
        if cap is not None and not cap >= o * (1 - 1e-9):
            raise InputError("lengths.max_output_tokens", f"a cap >= the mean output ({o:.6g} tokens)", cap)

    def __iter__(self):
        yield self.input_tokens
        yield self.output_tokens

    @classmethod
    def of(cls, value: Lengths | tuple[float, float]) -> Lengths:
        return value if isinstance(value, Lengths) else cls(float(value[0]), float(value[1]))

    @classmethod
    def from_samples(cls, input_tokens: np.ndarray, output_tokens: np.ndarray) -> Lengths:
        """Moments of a request set (e.g. a trace's per-request counts)."""
        i, o = np.asarray(input_tokens, dtype=float), np.asarray(output_tokens, dtype=float)
        if not len(i) or len(i) != len(o):
            raise InputError("lengths", "as many output counts as input counts, at least one", (len(i), len(o)))
        return cls(float(i.mean()), float(o.mean()), float((o * o).mean()), float((i * o).mean()),
                   float((i * i).mean()))

    @classmethod
    def from_dataset(cls, dataset, output_tokens: float | None = None) -> Lengths:
        """A catalog request set's moments (:class:`flopwatt.specs.workload.ServingDataset`; a moment it does not
        give stays None) with its generation cap, the outputs rescaled to ``output_tokens`` where given (the set
        records reference answers; generation keeps their coefficient of variation: an assumption)."""
        sampled = cls(dataset.mean_input_tokens, dataset.mean_output_tokens, dataset.mean_output_sq_tokens2,
                      dataset.mean_input_output_tokens2, dataset.mean_input_sq_tokens2,
                      max_output_tokens=dataset.max_output_tokens)
        return sampled if output_tokens is None else sampled.with_output_mean(output_tokens)

    def prompt_tokens_per_output_token(self) -> float:
        """Prompt tokens prefilled per generated token in the steady state (Little's law: E[in] / E[o]); none
        for ``prefilled`` requests."""
        return 0.0 if self.prefilled else self.input_tokens / self.output_tokens

    def with_output_mean(self, output_tokens: float) -> Lengths:
        """The same request set with every output scaled by ``output_tokens / E[out]`` (same spread, CV)."""
        k = output_tokens / self.output_tokens
        return Lengths(self.input_tokens, output_tokens,
                       None if self.output_sq_tokens2 is None else self.output_sq_tokens2 * k * k,
                       None if self.input_output_tokens2 is None else self.input_output_tokens2 * k,
                       self.input_sq_tokens2, self.prefilled, self.max_output_tokens)

    def _io(self) -> float:
        return self.input_output_tokens2 if self.input_output_tokens2 is not None else (
            self.input_tokens * self.output_tokens)

    def _oo(self) -> float:
        return self.output_sq_tokens2 if self.output_sq_tokens2 is not None else self.output_tokens ** 2

    def slot_context_tokens(self) -> float:
        """Mean KV context (prompt + generated so far) of a busy batch slot."""
        return (self._io() + self._oo() / 2.0) / self.output_tokens

    def slot_reserved_tokens(self) -> float:
        """Mean KV a slot reserves when prompt + whole output is reserved at admission: the output's cap where
        the requests carry one (module docstring), else its own length."""
        if self.max_output_tokens is not None:
            return self._io() / self.output_tokens + self.max_output_tokens
        return (self._io() + self._oo()) / self.output_tokens

    def input_second_moment(self) -> float:
        """E[in^2] in tokens^2 (in^2 when every prompt has the mean length)."""
        return self.input_sq_tokens2 if self.input_sq_tokens2 is not None else self.input_tokens ** 2

    def prompt_attention_tokens(self) -> float:
        """Token-weighted mean prompt length (the causal span a prefill token attends over is half of it)."""
        return self.input_second_moment() / self.input_tokens

    def output_cv(self) -> float:
        return float(np.sqrt(max(self._oo() / self.output_tokens ** 2 - 1.0, 0.0)))

    def slot_context_cv(self) -> float:
        """Coefficient of variation of a busy slot's KV context ``c = in + U o`` (slot drawn length-biased by
        ``o``, ``U`` uniform): ``E[c^2] = (E[in^2 o] + E[in o^2] + E[o^3] / 3) / E[o]``. The third moments are
        not measured: ASSUMED prompt and output independent in them and the output gamma distributed with its
        mean and CV, ``E[o^3] = E[o]^3 (1 + cv^2)(1 + 2 cv^2)``. Fixed lengths give ``(o / sqrt 12) / (in + o/2)``."""
        i, o, cv2 = self.input_tokens, self.output_tokens, self.output_cv() ** 2
        second = self.input_second_moment() + i * self._oo() / o + o ** 2 * (1.0 + cv2) * (1.0 + 2.0 * cv2) / 3.0
        mean = self.slot_context_tokens()
        return float(np.sqrt(max(second - mean ** 2, 0.0)) / mean)
