"""Queueing of prompts under a TTFT target: how much of a replica's capacity a server may offer.

A replica at full load spends a share ``s`` of every iteration prefilling the prompts that replace
finished sequences (:func:`flopwatt.perf.serving._iteration`). Prompts arrive at random (Poisson) and
are prefilled first come, first served, so a new prompt waits for the prefill work queued ahead of it:
an M/G/1 queue whose service time is a prompt's prefill, ``S = in x c`` with ``c`` the marginal replica
time per prefill token. Offered at a share ``u`` of the replica's capacity, that queue runs at
utilisation ``rho = u s``. It waits on average ``rho E[S^2] / (2 E[S] (1 - rho))``
(Pollaczek-Khinchine); the quantiles used here come from the tail, where the waiting time past zero
decays as ``rho exp(-gamma t)`` (Cramer-Lundberg), gamma the positive root of
``lambda (M_S(gamma) - 1) = gamma`` with ``M_S`` the moment generating function of S and
``lambda = rho / E[S]``. Prompt lengths are taken as gamma distributed with the set's mean and second
moment (an assumption: the catalog keeps two moments); for exponential service this is the exact
M/M/1 tail. The ``p`` quantile of the wait is ``ln(rho / (1 - p)) / gamma`` when ``rho > 1 - p``
and 0 otherwise. The largest ``u`` whose ``p`` quantile of wait plus the prompt's own TTFT meets the
target is the load the server may take; its throughput is ``u`` times the full-load one. Arrivals are
split over replicas (each its own queue, as a load balancer without global state does).

Under an iteration token budget ``B`` (TensorRT-LLM's max_num_tokens) the prompt server is also bounded by
tokens, not only by time: the scheduler first takes the generation requests (one token each) and only "if
there is any remaining space" adds context chunks, sized to the capacity ``B`` minus the generation tokens
(NVIDIA/TensorRT-LLM@0a949d3128bfaf4ddedefb0259125622a9ec830f cpp/tensorrt_llm/batch_manager/
microBatchScheduler.cpp, MicroBatchScheduler::operator(), steps 1 and 2: ctxTokensCapacity = maxNumTokensRuntime -
batchNumTokens; a later commit than the v5.0 harness's build, whose source was not read). With ``b`` decoding
sequences a cycle then prefills at most ``B - b`` prompt tokens, so a prompt token costs at least
``cycle / (B - b)`` of server time (:func:`leftover_budget_s_per_token`), and a prompt of ``in`` tokens needs
``ceil(in / (B - b))`` cycles of its own (:func:`budget_prompt_cycles`).

Under pipeline parallelism (``pp`` stages) TensorRT-LLM keeps ``pp`` micro-batches in flight and schedules each on
its own: every ``forwardAsync`` call runs the micro-batch scheduler for one micro-batch with the full
``mMaxNumTokensRuntime`` budget, then adds the scheduled requests, context ones included, to ``mInflightReqIds``
"so they can be skipped in other micro batches", and moves to the next of ``mNumMicroBatches = pp`` micro-batches
(NVIDIA/TensorRT-LLM@b35ac1b64368513d215c57d2ed01d62d910df8da cpp/tensorrt_llm/batch_manager/
trtGptModelInflightBatching.cpp, constructor and TrtGptModelInflightBatching::forwardAsync; a later commit than the
v5.0 harness's build, whose source was not read; the model's pipeline, :func:`flopwatt.perf.serving._iteration`,
runs pp micro-batches for every engine, and the queue follows it). So a prompt rides one micro-batch, one chunk per
pipeline cycle (its own TTFT is that of a lone prompt), while a queued prompt goes to the next micro-batch
scheduled: the ``pp`` micro-batches prefill different prompts at once, ``pp`` prompt servers (M/G/c, c = pp) that
each serve a prompt in ``S`` and each have a budget ``B - b / pp`` of their own. The wait's tail is taken as
M/M/c's, ``P(W > t) = C(c, rho) exp(-gamma t)``, with Erlang C's probability of waiting ``C``
(:func:`probability_of_waiting`; ``rho`` at c = 1, as above) and the decay rate of one server ``c`` times as fast
(:func:`prompt_service_s_per_token`), which for exponential service is M/M/c's ``c mu - lambda``: exact for
exponential service, as in the one-server case.

This matters when prefill dominates the work and prompts are long against the target (MLPerf
llama3.1-405b: 9,429-token prompts, 6 s TTFT, a prompt's prefill near 1 s on 8 GPUs); for short
prompts (llama2-70b: 222 tokens, ~30 ms) the queue never binds.
"""

from __future__ import annotations

import numpy as np

BISECTION_STEPS = 40


def _decay_rate(rho: np.ndarray, mean_s: np.ndarray, sq_s2: np.ndarray) -> np.ndarray:
    """Positive root gamma of lambda (M_S(gamma) - 1) = gamma for gamma-distributed service (shape k,
    scale theta, M_S = (1 - gamma theta)^-k; deterministic service, k = inf: exp(gamma E[S])), by bisection
    on (0, 1/theta) in log space (module docstring)."""
    mean_s = np.maximum(mean_s, 1e-15)  # a prompt of no service time (1 token, all cached): no queue, no 0/0
    var = np.maximum(sq_s2 - mean_s ** 2, 1e-12 * mean_s ** 2)
    k = mean_s ** 2 / var
    theta = mean_s / k
    lam = rho / mean_s
    hi = np.minimum(1.0 / theta, 1e3 / mean_s) * (1.0 - 1e-12)
    lo = np.full_like(hi, 1e-12) / mean_s

    def excess(g: np.ndarray) -> np.ndarray:
        return lam * (np.exp(-k * np.log1p(-g * theta)) - 1.0) - g

    for _ in range(BISECTION_STEPS + 20):
        mid = np.sqrt(lo * hi)
        low_side = excess(mid) < 0  # below the root the queue's drift dominates
        lo, hi = np.where(low_side, mid, lo), np.where(low_side, hi, mid)
    return np.sqrt(lo * hi)


def probability_of_waiting(rho: np.ndarray, servers: np.ndarray | float = 1.0) -> np.ndarray:
    """Erlang C: the probability that an arrival waits in an M/M/c queue of ``servers`` servers each busy a share
    ``rho`` < 1 of the time (offered load ``a = c rho``): ``(a^c / c!) / (1 - rho)`` over
    ``sum_{k<c} a^k / k! + (a^c / c!) / (1 - rho)``; ``rho`` itself at one server (module docstring)."""
    rho = np.asarray(rho, dtype=float)
    c = np.broadcast_to(np.maximum(np.rint(np.asarray(servers, dtype=float)), 1.0), rho.shape)
    a = c * rho
    term, below, last = np.ones_like(rho), np.zeros_like(rho), np.ones_like(rho)  # a^k / k! from k = 0
    for k in range(int(c.max()) if c.size else 1):
        below = below + np.where(k < c, term, 0.0)
        term = term * a / (k + 1)
        last = np.where(k + 1 == c, term, last)
    waiting = last / (1.0 - rho)
    return waiting / (below + waiting)


def wait_quantile_s(rho: np.ndarray, mean_service_s: np.ndarray, service_sq_s2: np.ndarray,
                    quantile: float, servers: np.ndarray | float = 1.0) -> np.ndarray:
    """``quantile`` of the waiting time at utilisation ``rho`` of ``servers`` prompt servers, the service moments
    being those of the one server that many times as fast (module docstring); inf at rho >= 1 and where a prompt
    can never be served (infinite service time: the decodes fill the iteration budget)."""
    rho = np.asarray(rho, dtype=float)
    safe = np.clip(rho, 1e-9, 1.0 - 1e-9)
    mean_s = np.broadcast_to(np.asarray(mean_service_s, dtype=float), safe.shape)
    sq = np.broadcast_to(np.asarray(service_sq_s2, dtype=float), safe.shape)
    served = np.isfinite(mean_s) & np.isfinite(sq)
    waits = probability_of_waiting(safe, servers)
    decay = _decay_rate(safe, np.where(served, mean_s, 1.0), np.where(served, sq, 1.0))
    tail = np.where(waits > 1.0 - quantile, np.log(waits / (1.0 - quantile)) / decay, 0.0)
    return np.where(rho <= 0.0, 0.0, np.where((rho >= 1.0) | ~served, np.inf, tail))


def max_load_share(prefill_share: np.ndarray, mean_service_s: np.ndarray, service_sq_s2: np.ndarray,
                   own_ttft_s: np.ndarray, ttft_target_s: float, quantile: float,
                   servers: np.ndarray | float = 1.0, slot_wait=None) -> np.ndarray:
    """Largest share u in [0, 1] of full-load throughput whose TTFT quantile (queue wait + the prompt's
    own TTFT) meets the target; 0 where even an empty queue misses it. ``prefill_share`` (in [0, 1]) is
    the prefill share of a full-load cycle. ``slot_wait`` (u -> s, or None): a further wait before the prompt
    queue, for a free sequence slot (:mod:`flopwatt.perf.serving_slots`), its quantile added to the prompt
    queue's (a bound on the quantile of the sum). Vectorised bisection."""
    share = np.asarray(prefill_share, dtype=float)
    budget = ttft_target_s - np.asarray(own_ttft_s, dtype=float)

    def meets(u: np.ndarray) -> np.ndarray:
        return _waits(u, share, mean_service_s, service_sq_s2, quantile, servers, slot_wait) <= budget

    lo, hi = np.zeros_like(share), np.ones_like(share)
    full = meets(hi)
    for _ in range(BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        ok = meets(mid)
        lo, hi = np.where(ok, mid, lo), np.where(ok, hi, mid)
    return np.where(budget < 0, 0.0, np.where(full, 1.0, lo))


def _waits(u, share, mean_service_s, service_sq_s2, quantile, servers, slot_wait) -> np.ndarray:
    """The prompt queue's wait quantile at load share ``u``, plus the slot wait's where one is given."""
    wait = wait_quantile_s(u * share, mean_service_s, service_sq_s2, quantile, servers)
    return wait if slot_wait is None else wait + slot_wait(u)


def admitted_load(share: np.ndarray, mean_service_s: np.ndarray, service_sq_s2: np.ndarray,
                  own_ttft_s: np.ndarray, ttft_target_s: float, quantile: float,
                  servers: np.ndarray | float = 1.0, slot_wait=None) -> tuple[np.ndarray, np.ndarray]:
    """(share of full load the target admits, the ``quantile`` wait there, slot wait included; 0 where nothing
    is admitted)."""
    share = np.clip(np.asarray(share, dtype=float), 0.0, 1.0)
    load = max_load_share(share, mean_service_s, service_sq_s2, own_ttft_s, ttft_target_s, quantile, servers,
                          slot_wait)
    wait = _waits(load, share, mean_service_s, service_sq_s2, quantile, servers, slot_wait)
    return load, np.where(load > 0, wait, 0.0)


def leftover_budget_s_per_token(cycle_s: np.ndarray, decode_tokens: np.ndarray, budget_tokens: float) -> np.ndarray:
    """Server time per prompt token when prompt chunks only fill the iteration budget the decodes leave:
    ``cycle / (B - b)`` (module docstring); inf where the decodes fill the budget."""
    left = float(budget_tokens) - np.asarray(decode_tokens, dtype=float)
    cycle = np.asarray(cycle_s, dtype=float)
    return np.divide(cycle, left, out=np.full(np.broadcast(cycle, left).shape, np.inf), where=left > 0)


def budget_prompt_cycles(input_tokens: float, decode_tokens: np.ndarray, budget_tokens: float) -> np.ndarray:
    """Cycles a prompt of ``input_tokens`` rides when each carries at most ``B - b`` of its tokens
    (module docstring); inf where the decodes fill the budget."""
    left = float(budget_tokens) - np.asarray(decode_tokens, dtype=float)
    safe = np.maximum(left, 1.0)
    return np.where(left >= 1.0, np.ceil(float(input_tokens) / safe), np.inf)


def prompt_service_s_per_token(chunk_extra_s: np.ndarray, chunk_tokens: float, budget_floor_s: np.ndarray | None = None,
                               micro_batches: np.ndarray | float = 1.0) -> np.ndarray:
    """Queue service time per prompt token: the time ``chunk_extra_s`` one prompt chunk of ``chunk_tokens`` adds to
    the cycle of its micro-batch, per token, at least ``budget_floor_s`` (one micro-batch's leftover budget,
    :func:`leftover_budget_s_per_token`; None: no budget), over the ``micro_batches`` that prefill prompts of their
    own side by side (module docstring: M/G/c taken as one server c times as fast); one micro-batch without
    pipeline parallelism."""
    per_server = np.maximum(np.asarray(chunk_extra_s, dtype=float), 0.0) / float(chunk_tokens)
    if budget_floor_s is not None:
        per_server = np.maximum(per_server, budget_floor_s)
    return per_server / np.maximum(np.asarray(micro_batches, dtype=float), 1.0)
