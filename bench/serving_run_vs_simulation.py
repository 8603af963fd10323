"""The finite-run model (perf/serving_run.py) against a step-by-step simulation of continuous batching.

For a grid of output-length spreads (gamma, CV 0 to 1.5), prompts per slot (0.5 to 64) and two cycle shapes (weights
dominate: ``20 ms + 0.02 ms x batch``; batch dominates: ``5 ms + 0.1 ms x batch``), prints the whole run's share of
the steady state by the model and by simulation (mean of ``--draws`` runs), their ratio, and the model's time per
call. The simulation admits a waiting prompt into each freed slot at the step it frees, as vLLM's and SGLang's
schedulers do at request rate inf.
Run: ``python bench/serving_run_vs_simulation.py [--draws 40]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from flopwatt.perf import serving_run as run

MEAN_TOKENS = 200.0
SLOTS = 128
CYCLES = {"weights": (0.020, 2e-5), "batch": (0.005, 1e-4)}


def simulated_rate(cv: float, prompts: int, fixed_s: float, per_seq_s: float, draws: int, seed: int = 0) -> float:
    """Tokens per second of a replica with SLOTS slots over a run of ``prompts`` sent at once, mean of ``draws``."""
    rng = np.random.default_rng(seed)
    rates = []
    for _ in range(draws):
        lengths = (np.full(prompts, MEAN_TOKENS) if cv == 0
                   else rng.gamma(1 / cv ** 2, MEAN_TOKENS * cv ** 2, prompts))
        lengths = np.maximum(np.round(lengths), 1.0)
        left, queue, time_s, tokens = lengths[:SLOTS].copy(), lengths[SLOTS:], 0.0, 0.0
        while left.size:
            time_s += fixed_s + per_seq_s * left.size
            tokens += left.size
            left -= 1
            done = int((left <= 0).sum())
            left = left[left > 0]
            if done and queue.size:
                left, queue = np.concatenate([left, queue[:done]]), queue[done:]
        rates.append(tokens / time_s)
    return float(np.mean(rates))


def model_rate(cv: float, prompts: int, fixed_s: float, per_seq_s: float) -> tuple[float, float]:
    """(tokens per second by the model, seconds the call took)."""
    levels = run.batch_levels(np.array([float(SLOTS)]), np.array([1.0]))
    start = time.perf_counter()
    rate = run.run_tokens_per_s(MEAN_TOKENS, cv, None, np.array([float(prompts)]), np.array([float(SLOTS)]), levels,
                                fixed_s + per_seq_s * levels)[0]
    return rate, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=40)
    args = parser.parse_args()
    print(f"{'cycle':<8} {'CV':>4} {'prompts/slot':>12} {'model share':>11} {'simulated':>9} {'ratio':>6} {'ms':>6}")
    ratios, calls = [], []
    for name, (fixed_s, per_seq_s) in CYCLES.items():
        full = SLOTS / (fixed_s + per_seq_s * SLOTS)
        for cv in (0.0, 0.5, 1.0, 1.5):
            for per_slot in (0.5, 1, 2, 4, 16, 64):
                prompts = int(per_slot * SLOTS)
                steady = full if prompts >= SLOTS else prompts / (fixed_s + per_seq_s * prompts)
                rate, took = model_rate(cv, prompts, fixed_s, per_seq_s)
                draws = 1 if cv == 0 else max(2, args.draws // max(1, int(per_slot)))
                sim = simulated_rate(cv, prompts, fixed_s, per_seq_s, draws)
                ratios.append(rate / sim)
                calls.append(took)
                print(f"{name:<8} {cv:>4.1f} {per_slot:>12g} {rate / steady:>11.3f} {sim / steady:>9.3f} "
                      f"{rate / sim:>6.3f} {1e3 * took:>6.1f}")
    print(f"model / simulated over {len(ratios)} cases: median {statistics.median(ratios):.3f}, "
          f"min {min(ratios):.3f}, max {max(ratios):.3f}; model call median {1e3 * statistics.median(calls):.1f} ms")


if __name__ == "__main__":
    main()
