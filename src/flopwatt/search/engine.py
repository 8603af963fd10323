"""Run a plan search on a backend and merge the chunks: totals, reason counts, Pareto front, top-k.

Backends: ``local`` (a process pool over this machine's cores, workers that die with this process:
:mod:`flopwatt.search.workers`) and ``ray`` (tasks on a Ray cluster: :mod:`flopwatt.search.ray_backend`;
``address``, else ``RAY_ADDRESS``, else a local instance). Chunks are merged in work-item order, so both
backends give the same rows and numbers. With ``out_dir`` the parts are written atomically and a manifest
last (:mod:`flopwatt.search.sink`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from flopwatt import __version__
from flopwatt.errors import InputError
from flopwatt.search import run, sink
from flopwatt.search.config import PlanConfig
from flopwatt.search.pareto import front_indices
from flopwatt.search.sink import PartWriter
from flopwatt.search.workers import process_pool

MAX_CONFIGS_PER_ITEM = 500_000
"""Bounds a worker's memory: ~30 columns x 8 B x 500k configurations ~ 120 MB per chunk."""


@dataclass
class TaskStats:
    """Where a search's tasks ran and how long they computed (``PlanReport.tasks``). A backend's per-task
    overhead (scheduling, shipping the config and the results) is (wall x workers - task_s) / tasks."""

    tasks: int = 0
    task_s: float = 0.0
    """Seconds the tasks computed, each measured inside its worker."""
    worker_pids: set[int] = field(default_factory=set)
    wall_s: float = 0.0
    """From the first submission to the last result (backend start-up excluded)."""


@dataclass
class PlanReport:
    configurations: int = 0
    feasible: int = 0
    infeasible: dict[str, int] = field(default_factory=dict)
    eliminated: dict[str, int] = field(default_factory=dict)
    front: list[dict[str, Any]] = field(default_factory=list)
    top: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    items: int = 0
    best_per_system: list[dict[str, Any]] = field(default_factory=list)
    """The fastest configuration of each system (each chunk's top rows hold its fastest, so this is exact)."""
    tasks: TaskStats = field(default_factory=TaskStats)

    @property
    def configurations_per_s(self) -> float:
        return self.configurations / self.seconds if self.seconds else 0.0


def work_items(cfg: PlanConfig) -> tuple[list[run.Group], list[tuple[int, int, int]]]:
    """Groups and (group index, start, stop) slices of at most MAX_CONFIGS_PER_ITEM configurations."""
    groups = run.groups(cfg)
    settings = len(cfg.sites) * len(cfg.cooling)
    per_item = max(MAX_CONFIGS_PER_ITEM // settings, 1)
    items = []
    for gi, g in enumerate(groups):
        n = len(run.plan_space(cfg, g)[3])
        items.extend((gi, start, min(start + per_item, n)) for start in range(0, n, per_item))
    return groups, items


def _task(args: tuple) -> list[tuple[int, run.ChunkResult]]:
    cfg, numbers, bundle = args
    return list(zip(numbers, run.evaluate_items(cfg, bundle), strict=True))


def _timed_task(args: tuple) -> tuple[int, float, list[tuple[int, run.ChunkResult]]]:
    start = time.perf_counter()
    out = _task(args)
    return os.getpid(), time.perf_counter() - start, out


def _record(stats: TaskStats | None, timed: tuple[int, float, list]) -> list:
    pid, seconds, out = timed
    if stats is not None:
        stats.tasks += 1
        stats.task_s += seconds
        stats.worker_pids.add(pid)
    return out


def _tasks(cfg: PlanConfig, groups, items, out_dir: Path | None, fmt: str) -> list[tuple]:
    """One task per bundle of work items that differ only in media and oversubscription: they may share
    a training evaluation (see run.evaluate_items). Each item keeps its number, part file and place."""
    bundles: dict[tuple, tuple[list[int], list[tuple]]] = {}
    for n, (gi, start, stop) in enumerate(items):
        shared = dataclasses.replace(groups[gi], media="", oversubscription=0.0)
        numbers, bundle = bundles.setdefault((shared, start, stop), ([], []))
        numbers.append(n)
        bundle.append((groups[gi], start, stop,
                       PartWriter(out_dir, fmt, n, cfg.sites, cfg.cooling) if out_dir else None))
    return [(cfg, numbers, bundle) for numbers, bundle in bundles.values()]


def run_local(tasks: list[tuple], workers: int, progress, stats: TaskStats | None = None) -> list[run.ChunkResult]:
    start = time.perf_counter()
    if workers <= 1 or len(tasks) <= 1:
        out = [progress(_record(stats, _timed_task(t))) for t in tasks]
    else:
        with process_pool(workers) as pool:
            out = [progress(_record(stats, r)) for r in pool.map(_timed_task, tasks)]
    if stats is not None:
        stats.wall_s += time.perf_counter() - start
    return out


def run_ray(tasks: list[tuple], address: str | None, progress, stats: TaskStats | None = None,
            top_k: int = 10) -> list[list[tuple[int, run.ChunkResult]]]:
    """The tasks on a Ray cluster (:mod:`flopwatt.search.ray_backend`); rows ``merge`` cannot use are dropped
    as results arrive, so pass the search's ``top_k``."""
    from flopwatt.search import ray_backend

    return ray_backend.run(tasks, address, progress, stats, _timed_task, _record, top_k)


def merge(results: list[run.ChunkResult], top_k: int) -> PlanReport:
    report = PlanReport(items=len(results))
    fronts, tops = [], []
    for r in results:
        report.configurations += r.configurations
        report.feasible += r.feasible
        for src, dst in ((r.infeasible, report.infeasible), (r.eliminated, report.eliminated)):
            for k, v in src.items():
                dst[k] = dst.get(k, 0) + v
        fronts.extend(r.front)
        tops.extend(r.top)
    if fronts:
        points = np.array([[row[k] for k in run.OBJECTIVES] for row in fronts])
        keep = sorted(front_indices(points).tolist(), key=lambda i: tuple(points[i]))
        report.front = [fronts[i] for i in keep]
    ranked = sorted(tops, key=lambda row: (row["wall_s"], row["usd"]))
    report.top = ranked[:top_k]
    best: dict[str, dict[str, Any]] = {}
    for row in ranked:
        best.setdefault(row["system"], row)
    report.best_per_system = list(best.values())
    return report


def config_sha256(cfg: PlanConfig) -> str:
    """SHA-256 of the normalised config: its parsed fields as JSON with sorted keys (so key order, comments
    and spelling such as ``300e9`` vs ``3e11`` in the TOML do not change it)."""
    text = json.dumps(dataclasses.asdict(cfg), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def manifest(cfg: PlanConfig, writers: list[PartWriter], results: list[run.ChunkResult], fmt: str) -> dict[str, Any]:
    """What a finished ``out_dir`` holds: one entry per part written (items without a feasible row write none);
    ``writers`` and ``results`` are in work-item order."""
    parts = []
    for writer, r in zip(writers, results, strict=True):
        if writer.path.is_file():
            parts.append({"name": writer.path.name, "configurations": r.configurations, "rows": r.feasible})
        elif r.feasible:
            raise InputError("--out", "a directory this process sees the workers' parts in",
                             message=f"part {writer.path.name} ({r.feasible} rows) is missing")
    return {"flopwatt_version": __version__, "config_sha256": config_sha256(cfg), "format": fmt,
            "work_items": len(writers), "configurations": sum(r.configurations for r in results),
            "rows": sum(r.feasible for r in results), "parts": parts, "completed": True}


def search(cfg: PlanConfig, *, backend: str = "local", workers: int | None = None, address: str | None = None,
           out_dir: Path | None = None, fmt: str = "parquet", progress=None, overwrite: bool = False) -> PlanReport:
    """Enumerate, evaluate, constrain and merge the whole space of ``cfg``; with ``out_dir`` (new or empty,
    or ``overwrite``) also write every feasible configuration, then the manifest. ``report.tasks`` says where
    the tasks ran and how long they computed."""
    start = time.perf_counter()
    if backend not in ("local", "ray"):
        raise InputError("--backend", "local or ray", backend)
    if out_dir is not None:
        sink.require_format(fmt)
        sink.check_out_dir(out_dir, overwrite)
    groups, items = work_items(cfg)
    if not items:
        raise InputError("[menu]", "choices that admit at least one valid plan (no plan fits the menu)")
    if out_dir is not None:
        sink.open_out_dir(out_dir, overwrite)
    tasks = _tasks(cfg, groups, items, out_dir, fmt)
    stats = TaskStats()
    tick = progress or (lambda r: r)

    def ticks(numbered: list[tuple[int, run.ChunkResult]]) -> list[tuple[int, run.ChunkResult]]:
        return [(n, tick(r)) for n, r in numbered]

    try:
        if backend == "local":
            bundles = run_local(tasks, workers or os.cpu_count() or 1, ticks, stats)
        elif backend == "ray":
            bundles = run_ray(tasks, address, ticks, stats, cfg.top_k)
        else:
            raise InputError("--backend", "local or ray", backend)
    except BaseException:
        if out_dir is not None:
            sink.remove_temporary(out_dir)
        raise
    results = [r for _, r in sorted((pair for b in bundles for pair in b), key=lambda p: p[0])]
    if out_dir is not None:
        writers = sorted((n, item[3]) for _, numbers, bundle in tasks for n, item in zip(numbers, bundle, strict=True))
        sink.write_manifest(out_dir, manifest(cfg, [w for _, w in writers], results, fmt))
    report = merge(results, cfg.top_k)
    report.tasks = stats
    report.seconds = time.perf_counter() - start
    return report
