"""Per-request TPOT percentile: the batch a request shares its decode with, and the prompts that ride its steps.

MLPerf (and most serving benchmarks) takes TPOT per request, ``(latency - TTFT) / (n - 1)`` for a request that
generates ``n`` tokens, and reports a percentile over requests (LoadGen: mlcommons/inference@b66003e10e2d
loadgen/logging.cc sets ``time_per_output_token_[i] = (latency - token_latencies_[i]) / (n_tokens - 1)`` per
sample; loadgen/results.cc ProcessTokenLatencies sorts those per-sample values and reads the one at
``sample_count x percentile``: a percentile over requests, not over iterations or tokens).
A request's iterations differ in two ways:

- the batch it decodes with: the sequences in service under Poisson arrivals are Poisson distributed (M/G/inf),
  slow against one request's life, so its whole decode runs near one draw of the batch. The caller gives the
  spread ``sd_batch_s`` of the cycle this adds (from its ``b + z sqrt(b)`` evaluation, per standard normal unit);
- the prompts prefilled in its iterations: prompts arrive at random, ``L`` per cycle on average (Little's law,
  ``batch / E[o]`` per cycle), each adding ``c x in`` to the cycle it rides (``c`` the marginal cycle time per
  prompt token). The prompt time of one cycle is a compound Poisson sum, variance ``L c^2 E[in^2]``; averaged
  over the request's ``n - 1`` cycles, whose prompts are independent, it has variance ``L c^2 E[in^2] / (n - 1)``.

Short generations average few cycles, so their TPOT spreads most: the percentile is taken over requests, with
``n`` gamma distributed with the request set's mean and coefficient of variation (an assumption: the catalog
keeps two moments; Wilson and Hilferty's cube-root normal approximation gives its quantiles), and the request's
TPOT normal given ``n`` (central limit over its cycles). The ``p`` quantile ``t`` solves
``mean over n of P(TPOT > t | n) = 1 - p`` (bisection). Requests generating one token have no TPOT.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np

LENGTH_POINTS = 128
"""Equal-probability points of the output-length distribution the percentile is averaged over (a grid choice)."""
BISECTION_STEPS = 40


def _normal_sf(x: np.ndarray) -> np.ndarray:
    """Standard normal survival function via erfc (Abramowitz and Stegun 7.1.26, |error| < 1.5e-7)."""
    z = np.abs(x) / np.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erfc = poly * np.exp(-z * z)
    return np.where(x >= 0, 0.5 * erfc, 1.0 - 0.5 * erfc)


def output_length_points(mean_tokens: float, cv: float) -> np.ndarray:
    """Generated tokens at ``LENGTH_POINTS`` equal-probability points of a gamma distribution with this mean and
    coefficient of variation (Wilson-Hilferty), at least 2 (a request with a TPOT generates two tokens or more)."""
    if cv < 1e-6:  # no spread to speak of: every request generates the mean
        return np.array([max(mean_tokens, 2.0)])
    shape = 1.0 / (cv * cv)
    probs = (np.arange(LENGTH_POINTS) + 0.5) / LENGTH_POINTS
    z = np.array([NormalDist().inv_cdf(p) for p in probs])
    a = 1.0 / (9.0 * shape)
    cube = np.maximum(1.0 - a + z * np.sqrt(a), 0.0) ** 3
    return np.maximum(mean_tokens * cube, 2.0)


def tpot_quantile_s(tpot_s: np.ndarray, sd_batch_s: np.ndarray, prompt_var_s2: np.ndarray, lengths: np.ndarray,
                    quantile: float) -> np.ndarray:
    """``quantile`` over requests of the per-request TPOT (module docstring). ``tpot_s``: mean cycle;
    ``sd_batch_s``: its spread from the batch in service; ``prompt_var_s2``: variance of one cycle's prompt time;
    ``lengths``: equal-probability points of the generated tokens (:func:`output_length_points`)."""
    mean = np.asarray(tpot_s, dtype=float)[:, None]
    var = (np.asarray(sd_batch_s, dtype=float) ** 2)[:, None] + \
        np.asarray(prompt_var_s2, dtype=float)[:, None] / (np.asarray(lengths, dtype=float)[None, :] - 1.0)
    sd = np.sqrt(np.maximum(var, 1e-30))
    target = 1.0 - quantile
    lo = mean[:, 0].copy()
    hi = lo + 12.0 * np.sqrt(np.asarray(sd_batch_s, dtype=float) ** 2 + np.asarray(prompt_var_s2, dtype=float)) + 1e-12
    for _ in range(BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        tail = _normal_sf((mid[:, None] - mean) / sd).mean(axis=1)
        above = tail > target
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    return 0.5 * (lo + hi)
