"""The busiest rank sets the step: sampling imbalance of expert-parallel and attention-data-parallel serving.

An expert-parallel MoE layer ends when its busiest rank has run its experts, and an iteration's attention
when its busiest attention group (data parallel, each with its own sequences) has read its KV. Even with
routing and request placement balanced in expectation, the loads of ``n`` ranks are random, and the step
waits for their maximum. With a load of mean ``mu`` and standard deviation ``sigma`` per rank, the expected
maximum of ``n`` is ``mu + z_n sigma``, ``z_n`` the expected largest of ``n`` standard normals (Blom's
approximation ``Phi^-1((n - 0.375) / (n + 0.25))``, Blom 1958, "Statistical Estimates and Transformed
Beta-Variables"; 1.434 at n = 8 against the exact 1.424). The step is then ``1 + z_n sigma / mu`` times the
balanced one:

- experts: ``m`` routed tokens each pick ``k`` experts, spread evenly over ``n`` = min(ranks, experts) bins
  (uniform routing: the floor that expert load balancing aims at; DeepSeek-V3's auxiliary-loss-free
  balancing and EPLB's redundant experts aim at balance in expectation, and hot experts of a skewed router
  would add more): a bin's rows are Binomial(m k, 1/n), so sigma / mu = sqrt((1 - 1/n) / (m k / n));
- attention groups: ``s`` sequences per group placed irrespective of their lengths (round robin, ASSUMED), each
  busy slot's KV context of coefficient of variation ``cv`` (:meth:`flopwatt.perf.lengths.Lengths.slot_context_cv`):
  sigma / mu = cv / sqrt(s).
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np

BLOM_ALPHA = 0.375
"""Blom's plotting position (n - alpha) / (n - 2 alpha + 1) for the expected largest of n normals."""


def expected_max_standard_normal(n: np.ndarray) -> np.ndarray:
    """Expected largest of ``n`` independent standard normals (Blom's approximation); 0 for n <= 1."""
    n = np.asarray(n, dtype=float)
    safe = np.maximum(n, 2.0)
    q = (safe - BLOM_ALPHA) / (safe - 2.0 * BLOM_ALPHA + 1.0)
    z = np.vectorize(NormalDist().inv_cdf, otypes=[float])(q)
    return np.where(n > 1, z, 0.0)


def busiest_expert_rank_factor(routed_tokens: np.ndarray, topk: int, experts: int, ranks: np.ndarray) -> np.ndarray:
    """Rows of the busiest expert rank over the mean rank's, for ``routed_tokens`` picking ``topk`` of
    ``experts`` spread over ``ranks`` devices (module docstring); 1 with one bin or no tokens."""
    bins = np.minimum(np.asarray(ranks, dtype=float), float(experts))
    mean = np.asarray(routed_tokens, dtype=float) * topk / bins
    rel = np.sqrt(np.divide(1.0 - 1.0 / bins, mean, out=np.zeros_like(mean), where=mean > 0))
    return 1.0 + expected_max_standard_normal(bins) * rel


def busiest_group_factor(sequences_per_group: np.ndarray, groups: np.ndarray, context_cv: float) -> np.ndarray:
    """KV read by the busiest of ``groups`` attention groups over the mean group's (module docstring); 1 at one
    group."""
    s = np.asarray(sequences_per_group, dtype=float)
    rel = np.divide(context_cv, np.sqrt(s), out=np.zeros_like(s), where=s > 0)
    return 1.0 + expected_max_standard_normal(groups) * rel
