"""Admission to a capped batch under Poisson arrivals: the wait for a free sequence slot.

An engine runs at most ``c`` sequences per scheduler (vLLM ``max_num_seqs``, TensorRT-LLM ``max_batch_size``).
Under Poisson arrivals (a server scenario) an admitted sequence keeps its slot until its last token, on average
``E[T] = o x TPOT`` (Little's law with the throughput ``b / TPOT`` of ``b`` sequences per scheduler): the slots
are the ``c`` servers of an M/M/c queue with offered load ``a = u b``, ``u`` the share of full load offered
(service taken as exponential: the catalog keeps two moments of the lengths; a stated approximation). An arrival
finds every slot busy with Erlang C's probability ``C(c, a)``; waiting, it waits an exponential time of rate
``(c - a) / E[T]`` (M/M/c), so the ``p`` quantile of the wait is ``ln(C / (1 - p)) E[T] / (c - a)`` where
``C > 1 - p``, else 0. The occupancy is Poisson (``a`` on average), so a full-load batch at the cap cannot be
offered at a TTFT target: the share ``u`` that meets it is below 1 by about ``sqrt(c)`` sequences.

Erlang C is computed exactly up to :data:`EXACT_SLOTS` slots
(:func:`flopwatt.perf.serving_queue.probability_of_waiting`), and above by Halfin and Whitt's limit
``C = 1 / (1 + beta Phi(beta) / phi(beta))``, ``beta = (c - a) / sqrt(a)`` (Halfin and Whitt, "Heavy-traffic
limits for queues with many exponential servers", Operations Research 29(3), 1981, Sec. 2), whose error falls
as ``1 / sqrt(c)``.
"""

from __future__ import annotations

import numpy as np

from flopwatt.perf.serving_queue import probability_of_waiting as erlang_c
from flopwatt.perf.serving_tail import _normal_sf

EXACT_SLOTS = 256
"""Most slots Erlang C is computed for exactly (a loop over the slots, its terms within float range);
Halfin and Whitt's limit above."""


def _erlang_c_many(offered: np.ndarray, slots: np.ndarray) -> np.ndarray:
    """Halfin and Whitt's limit of Erlang C for many slots (module docstring)."""
    beta = (slots - offered) / np.sqrt(np.maximum(offered, 1e-12))
    density = np.exp(-0.5 * beta * beta) / np.sqrt(2.0 * np.pi)
    return 1.0 / (1.0 + beta * (1.0 - _normal_sf(beta)) / np.maximum(density, 1e-300))


def probability_of_waiting(offered: np.ndarray, slots: np.ndarray) -> np.ndarray:
    """Erlang C: the probability that an arrival finds all ``slots`` busy at ``offered`` load (< slots)."""
    offered, slots = np.broadcast_arrays(np.asarray(offered, dtype=float), np.rint(np.asarray(slots, dtype=float)))
    small = slots <= EXACT_SLOTS
    out = np.zeros_like(offered)
    if small.any():
        out[small] = erlang_c(offered[small] / slots[small], slots[small])
    if (~small).any():
        out[~small] = _erlang_c_many(offered[~small], slots[~small])
    return np.clip(out, 0.0, 1.0)


def slot_wait_quantile_s(offered: np.ndarray, slots: np.ndarray, mean_hold_s: np.ndarray,
                         quantile: float) -> np.ndarray:
    """``quantile`` of the wait for a free slot at ``offered`` load (sequences in service on average) of ``slots``
    slots each held ``mean_hold_s`` on average (module docstring); inf at or above the cap."""
    offered, slots, hold = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (offered, slots, mean_hold_s)))
    below = offered < slots
    safe = np.where(below, offered, 0.5 * slots)
    waits = probability_of_waiting(safe, slots)
    rate = (slots - safe) / np.maximum(hold, 1e-30)
    tail = np.where(waits > 1.0 - quantile, np.log(np.maximum(waits, 1e-300) / (1.0 - quantile)) / rate, 0.0)
    return np.where(offered <= 0.0, 0.0, np.where(below, tail, np.inf))
