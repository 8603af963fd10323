"""In-process latency of the typed API, and the whole CLI process (not part of the test run).

    python bench/bench_api.py [--n 20] [--rounds 3] [--cli-repeat 5] [--accelerator h100-sxm5-80gb] [--exhaustive]

Prints the cores this process may use and ``uptime`` before and after (other processes share the machine),
then, over ``--rounds`` rounds of N new requests each (all calls pooled), the median and p90 wall time (and the
median CPU time of this process, which others' load inflates less) of ``api.train`` over 1,000-device requests
with every plan knob open, advise on and off, in two kinds of distinct:

- "new tokens/site": each request differs in tokens and site; the plan space is one seen before, so its
  search comes from the per-process cache (:func:`flopwatt.estimate.choose`) - the warm case;
- "new plan space": each request has a new global batch, so every stack's search runs (the cache is cleared
  before each call, so the pruned and the exhaustive search run the same N spaces); also with the batch-free
  shape bounds kept (``estimate.clear_choices(shapes=False)``), as a process keeps them for a model, system and
  device count it has seen (the advice's other stacks are then settled in a few array operations each).

The new-plan-space lines are also printed with the exhaustive search (every plan of every stack evaluated,
``estimate.SEARCH_PRUNED = False``), interleaved request by request with the pruned one so both see the same load;
``--exhaustive`` runs everything that way. Then ``api.serve`` over N distinct requests, and
``flopwatt train --json`` as a whole process (wall and CPU).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from functools import partial

from flopwatt import api, estimate
from flopwatt.api.requests import ServeRequest, TrainRequest

SITES = ("us-virginia", "us-texas", "us-oregon", "us-iowa", "us-ohio", "ie-dublin", "de-frankfurt", "fr-paris")
CLI = [sys.executable, "-m", "flopwatt", "train", "--model", "llama3-70b", "--devices", "1000", "--global-batch",
       "1000", "--tokens", "1e12", "--json"]


def _train(i: int, advise: bool, new_space: bool, accelerator: str | None = None) -> TrainRequest:
    batch = 1000 * (i + 2) if new_space else 1000  # a multiple of the 1,000 devices: a new, non-empty space
    extra = {"accelerator": accelerator} if accelerator else {}
    return TrainRequest(model="llama3-70b", devices=1000, global_batch=batch, tokens=1e12 + 1e9 * i,
                        site=SITES[i % len(SITES)], advise=advise, **extra)


def _searched(pruned: bool, keep_shapes: bool = False):
    """A call of api.train with the pruned or the exhaustive search (estimate.SEARCH_PRUNED), no search cached
    (``keep_shapes``: the batch-free shape bounds of spaces seen before kept, as a process keeps them)."""
    def call(req: TrainRequest) -> None:
        estimate.SEARCH_PRUNED = pruned
        if keep_shapes:
            estimate.clear_choices(shapes=False)
        else:
            getattr(estimate, "clear_choices", estimate._CHOICES.clear)()  # each mode searches the same spaces afresh
        try:
            api.train(req)
        finally:
            estimate.SEARCH_PRUNED = True
    return call


def _timed(calls) -> tuple[list[float], list[float]]:
    wall, cpu = [], []
    for call in calls:
        w, c = time.perf_counter(), time.process_time()
        call()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return wall, cpu


def _line(label: str, wall: list[float], cpu: list[float]) -> str:
    p90 = sorted(wall)[min(len(wall) - 1, round(0.9 * (len(wall) - 1)))]
    return (f"{label}: median {statistics.median(wall) * 1e3:.1f} ms, p90 {p90 * 1e3:.1f} ms "
            f"(CPU median {statistics.median(cpu) * 1e3:.1f} ms) over {len(wall)} requests")


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def _round(args, offset: int, lines: dict[str, tuple[list[float], list[float]]]) -> int:
    """One round of every measurement on new requests (from ``offset``); appends to ``lines``."""
    acc = args.accelerator
    search = "exhaustive search" if args.exhaustive else "pruned search"

    def add(label: str, wall: list[float], cpu: list[float]) -> None:
        old = lines.setdefault(label, ([], []))
        old[0].extend(wall)
        old[1].extend(cpu)

    for advise in (True, False):
        reqs = [_train(offset + i, advise, False, acc) for i in range(args.n)]
        offset += args.n
        add(f"api.train llama3-70b 1,000 x {acc or 'default'}, new tokens/site (search cached), advise={advise}",
            *_timed([lambda r=r: api.train(r) for r in reqs]))
    for advise in (True, False):
        # pruned (nothing cached; shape bounds kept) and exhaustive alternate on the same load
        modes = ((False, False),) if args.exhaustive else ((True, False), (True, True), (False, False))
        reqs = [_train(offset + i, advise, True, acc) for i in range(args.n)]  # each a new space, for each mode
        offset += len(reqs)
        wall, cpu = _timed([partial(_searched(pruned, keep), r) for r in reqs for pruned, keep in modes])
        for k, (pruned, keep) in enumerate(modes):
            label = search if pruned or args.exhaustive else "exhaustive search"
            label += ", shape bounds of the model/system/devices kept" if keep else ""
            add(f"api.train llama3-70b 1,000 x {acc or 'default'}, new plan space ({label}), advise={advise}",
                wall[k::len(modes)], cpu[k::len(modes)])
    serve = [ServeRequest(model="llama3.1-70b", accelerator="h200-sxm-141gb", devices=8,
                          input_len=1024 + 16 * (offset + i), output_len=256, tpot_slo_s=0.05) for i in range(args.n)]
    offset += args.n
    add("api.serve llama3.1-70b 8 x H200, new input length each", *_timed([lambda r=r: api.serve(r) for r in serve]))
    return offset


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20, help="distinct requests per measurement and round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every measurement (new requests each)")
    parser.add_argument("--cli-repeat", type=int, default=5)
    parser.add_argument("--accelerator", default=None, help="accelerator of the train requests (default: the API's)")
    parser.add_argument("--exhaustive", action="store_true", help="evaluate every plan (no pruning) throughout")
    args = parser.parse_args()
    estimate.SEARCH_PRUNED = not args.exhaustive
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"cores usable: {cores} (os.cpu_count {os.cpu_count()}); uptime before: {_uptime()}")
    api.train(_train(0, True, False, args.accelerator))  # warm: imports, catalog, the first batch's space
    api.serve(ServeRequest(model="llama3.1-70b", accelerator="h200-sxm-141gb", devices=8, input_len=1000,
                           output_len=256, tpot_slo_s=0.05))
    lines: dict[str, tuple[list[float], list[float]]] = {}
    offset = 1
    for _ in range(args.rounds):
        offset = _round(args, offset, lines)
    print(f"medians over {args.rounds} rounds x {args.n} distinct requests (all calls pooled):")
    for label, (wall, cpu) in lines.items():
        print("  " + _line(label, wall, cpu))
    times, cpu_times = [], []
    for _ in range(args.cli_repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(CLI, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_times.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    print(f"`flopwatt train --json` (llama3-70b, 1,000 devices, knobs open) whole process: wall median "
          f"{statistics.median(times):.3f} s, min {min(times):.3f} s; CPU median {statistics.median(cpu_times):.3f} s "
          f"over {args.cli_repeat} runs")
    print(f"uptime after: {_uptime()}")


if __name__ == "__main__":
    main()
