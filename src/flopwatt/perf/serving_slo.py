"""How serving requests meet their latency targets (:class:`flopwatt.perf.serving.Slo`), for
:func:`flopwatt.perf.serving.evaluate_serving`:

- :func:`_prompt_queue`: under a TTFT target, the share of full load a server may take while prompts wait for a
  sequence slot (:mod:`flopwatt.perf.serving_slots`) and queue for their prefill, and the quantile wait there
  (the queue of :mod:`flopwatt.perf.serving_queue`);
- :func:`_request_tpot_quantile`: the percentile over requests of their TPOT, spread by the batch they share and
  the prompts that ride their cycles (:mod:`flopwatt.perf.serving_tail`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from flopwatt.perf import serving_queue as queue
from flopwatt.perf import serving_slots as admission
from flopwatt.perf import serving_tail as request_tail
from flopwatt.perf.lengths import Lengths

if TYPE_CHECKING:
    from flopwatt.perf.serving import Slo


def _prompt_queue(lengths: Lengths, tpot, per_token, prefill_tokens, own_ttft,
                  slo: Slo, servers=1.0, slots=None) -> tuple[np.ndarray, np.ndarray]:
    """(share of full load the server may take, TTFT-quantile wait there): the prompt queue
    of :mod:`flopwatt.perf.serving_queue` with ``servers`` prompt servers (a pipeline's micro-batches), service =
    a prompt's prefill at ``per_token`` of server time per prompt token
    (:func:`flopwatt.perf.serving_queue.prompt_service_s_per_token`), after the wait for a free sequence slot
    where the engine caps its batch (``slots`` = (full-load sequences per scheduler, the cap), each sequence
    holding its slot for ``o x TPOT``: :mod:`flopwatt.perf.serving_slots`). Without a TTFT target, full load
    and no wait."""
    if slo.ttft_s is None:
        return np.ones_like(tpot), np.zeros_like(tpot)
    share = per_token * prefill_tokens / tpot  # prefill share of a full-load cycle
    quantile = slo.percentile / 100.0
    slot_wait = None
    if slots is not None:
        full, cap = slots
        hold = lengths.output_tokens * tpot

        def slot_wait(u):
            return admission.slot_wait_quantile_s(u * full, cap, hold, quantile)
    return queue.admitted_load(share, lengths.input_tokens * per_token, lengths.input_second_moment() * per_token ** 2,
                               own_ttft, slo.ttft_s, quantile, servers, slot_wait)


def _request_tpot_quantile(lengths: Lengths, cycles: tuple, chunk: float, prefill_tokens, z: float,
                           percentile: float, piece=np.inf) -> np.ndarray:
    """Percentile over requests of their TPOT (:mod:`flopwatt.perf.serving_tail`). ``cycles`` = (mean cycle,
    cycle at the tail batch ``b + z sqrt(b)``, cycle with one more prompt chunk). The prompts of a cycle arrive
    ``prefill_tokens / E[in]`` at a time (Poisson), each adding the marginal time per prompt token for its
    tokens in that cycle; a prompt longer than ``piece`` (the most prompt tokens of one request a cycle carries:
    the engine's chunk, or the budget the decodes leave) is spread over cycles, so a cycle's prompt-time variance
    is ``rate x c^2 x E[in min(in, piece)]`` (taken as min(E[in^2], piece E[in])). ``chunk`` is only the test
    chunk that measured ``c``."""
    tpot, tpot_batch, chunk_cycle = cycles
    per_token = np.maximum(chunk_cycle - tpot, 0.0) / chunk
    prompts = np.asarray(prefill_tokens, dtype=float) / lengths.input_tokens
    spread = np.minimum(lengths.input_second_moment(), np.asarray(piece, dtype=float) * lengths.input_tokens)
    points = request_tail.output_length_points(lengths.output_tokens, lengths.output_cv())
    return request_tail.tpot_quantile_s(tpot, (tpot_batch - tpot) / z, prompts * per_token ** 2 * spread, points,
                                percentile / 100.0)
