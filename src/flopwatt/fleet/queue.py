"""Waiting jobs, bucketed by what a placement depends on: (class, min devices, max devices).

Two waiting jobs of one bucket fit the same pools at the same speed, so a policy only ever needs
to look at each bucket's head (the earliest ready job): a scheduling decision costs
O(buckets x pools), not O(waiting jobs), however long the queue grows. Within a bucket jobs
leave in the order they became ready (FIFO).
"""

from __future__ import annotations

from collections import deque

import numpy as np


class BucketQueue:
    """Per-bucket FIFO queues with arrays the policies read: ``head_ready_s``, ``demand``, ``job_class``."""

    def __init__(self) -> None:
        self._index: dict[tuple[int, int, int], int] = {}
        self._jobs: list[deque[int]] = []
        self._ready: list[deque[float]] = []
        self.head_ready_s = np.zeros(0)
        """Ready time of each bucket's head job (inf = empty bucket)."""
        self.demand = np.zeros(0, dtype=np.int64)
        """Fewest devices a job of the bucket runs on."""
        self.job_class = np.zeros(0, dtype=np.int64)
        self.nonempty = np.zeros((0, 1), dtype=bool)
        """[B, 1] True where the bucket has a waiting job (a column: it broadcasts over pools)."""
        self.waiting = 0
        self.grown = False
        """Set when a bucket was added (the caller extends its per-bucket matrices, then clears it)."""

    def bucket(self, job_class: int, lo: int, hi: int) -> int:
        key = (job_class, lo, hi)
        b = self._index.get(key)
        if b is None:
            b = self._index[key] = len(self._jobs)
            self._jobs.append(deque())
            self._ready.append(deque())
            self.head_ready_s = np.append(self.head_ready_s, np.inf)
            self.nonempty = np.append(self.nonempty, False)[:, None]
            self.demand = np.append(self.demand, lo)
            self.job_class = np.append(self.job_class, job_class)
            self.grown = True
        return b

    def push(self, b: int, job: int, ready_s: float) -> None:
        if not self._jobs[b]:
            self.head_ready_s[b] = ready_s
            self.nonempty[b, 0] = True
        self._jobs[b].append(job)
        self._ready[b].append(ready_s)
        self.waiting += 1

    def pop(self, b: int) -> int:
        job = self._jobs[b].popleft()
        self._ready[b].popleft()
        if self._ready[b]:
            self.head_ready_s[b] = self._ready[b][0]
        else:
            self.head_ready_s[b] = np.inf
            self.nonempty[b, 0] = False
        self.waiting -= 1
        return job

    def head(self, b: int) -> int:
        return self._jobs[b][0]

    def __len__(self) -> int:
        return len(self._jobs)
