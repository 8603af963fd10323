"""Nodes inside pools: a job of up to one node's devices runs inside one node (NVLink, the scale-up
domain its plan assumes); a larger job takes whole free nodes, its remainder best-fit in one more.
Service replicas are whole nodes. So a pool can have free devices that no job fits: fragmentation,
the locality constraint Philly's schedulers waited for (Jeon et al. ATC'19, Sec. 4).

Per pool the arrays the policies read are kept current: ``free`` (devices), ``max_node_free``
(most free devices in one node) and ``free_nodes`` (nodes with all their devices free).

A pool has a handful of nodes, so each pool's nodes are a Python list (numpy's per-call overhead
would cost more than the arithmetic). :meth:`PoolNodes.track` keeps the [buckets, pools] answer of
:meth:`PoolNodes.fits` for one demand array current (and that answer masked by where each bucket can
run at all): a change in pool ``p`` recomputes column ``p`` only, from a table keyed by the pool's two
summaries (the answer depends on nothing else).
"""

from __future__ import annotations

import numpy as np


class PoolNodes:
    """Free devices per node of every pool; ``take``/``give`` keep the per-pool summaries current."""

    def __init__(self, pool_devices: np.ndarray, node_devices: np.ndarray) -> None:
        self.node_devices = np.asarray(node_devices, dtype=np.int64)
        self._size = self.node_devices.tolist()
        self.capacity = [self._layout(int(d), int(s)) for d, s in zip(pool_devices, self._size, strict=True)]
        self.nodes = [list(c) for c in self.capacity]
        self._full = [[i for i, c in enumerate(cap) if c == size] for cap, size in zip(self.capacity, self._size,
                                                                                        strict=True)]
        n = len(self.nodes)
        self.free = np.zeros(n, dtype=np.int64)
        self.max_node_free = np.zeros(n, dtype=np.int64)
        self.free_nodes = np.zeros(n, dtype=np.int64)
        self._most, self._whole_count = [0] * n, [0] * n
        self._tracked: np.ndarray | None = None
        self._runnable = np.zeros((0, n), dtype=bool)
        self._fit, self._fit_runnable = np.zeros((0, n), dtype=bool), np.zeros((0, n), dtype=bool)
        self._fit_view, self._fit_runnable_view = self._fit.view(), self._fit_runnable.view()
        self._rows_word, self._rows_words = None, np.zeros((0, 1), dtype=np.uint64)
        self._columns: dict[tuple[int, int, int], tuple[np.ndarray, np.ndarray]] = {}
        for p in range(n):
            self._refresh(p)

    @staticmethod
    def _layout(devices: int, size: int) -> list[int]:
        """Node capacities: full nodes, and one smaller node for a remainder."""
        full, rest = divmod(devices, size)
        return [size] * full + ([rest] if rest else [])

    def _whole(self, p: int) -> list[int]:
        """Indices of the pool's full-size nodes that are entirely free."""
        size, nodes = self._size[p], self.nodes[p]
        return [i for i in self._full[p] if nodes[i] == size]

    def _refresh(self, p: int) -> None:
        nodes, size = self.nodes[p], self._size[p]
        most = max(nodes) if nodes else 0
        whole = nodes.count(size)  # only full-size nodes can have ``size`` devices free
        self.free[p] = sum(nodes)
        if most == self._most[p] and whole == self._whole_count[p]:
            return  # the same summaries: every fit answer of the pool stays
        self.max_node_free[p] = most
        self.free_nodes[p] = whole
        self._most[p], self._whole_count[p] = most, whole
        if self._tracked is not None:
            key = (p, most, whole)
            columns = self._columns.get(key)
            if columns is None:
                column = self._column(self._tracked, p, most, whole)
                columns = self._columns[key] = (column, column & self._runnable[:, p])
            self._fit[:, p], self._fit_runnable[:, p] = columns

    def _column(self, demand: np.ndarray, p: int, most: int, whole: int) -> np.ndarray:
        """``fits`` of ``demand`` in pool ``p`` when its summaries are (``most``, ``whole``)."""
        size = self._size[p]
        return np.where(demand <= size, demand <= most, -(-demand // size) <= whole)

    def fits(self, demand: np.ndarray) -> np.ndarray:
        """[len(demand), pools]: whether ``demand`` devices can be placed in each pool now.

        For the tracked demand array (:meth:`track`) this is a read-only view kept current, not a copy."""
        if demand is self._tracked:
            return self._fit_view
        d, size = demand[:, None], self.node_devices[None, :]
        whole = -(-d // size)  # nodes a multi-node job needs (conservative: its remainder gets a whole node)
        return np.where(d <= size, d <= self.max_node_free[None, :], whole <= self.free_nodes[None, :])

    def fits_one(self, p: int, devices: int) -> bool:
        """``fits(np.array([devices]))[0, p]`` on Python ints."""
        size = self._size[p]
        return devices <= self._most[p] if devices <= size else -(-devices // size) <= self._whole_count[p]

    def track(self, demand: np.ndarray, runnable: np.ndarray) -> None:
        """Keep ``fits(demand)`` and ``fits(demand) & runnable`` ([len(demand), pools]) current from now on
        (the simulator's bucket demands, and where each bucket can run at all)."""
        self._tracked = None
        self._runnable = np.array(runnable, dtype=bool)
        self._fit = np.ascontiguousarray(self.fits(demand))
        pools = self._fit.shape[1]
        padded = np.zeros((len(demand), max(-(-pools // 8) * 8, 8)), dtype=bool)  # whole 8-byte words per row
        self._fit_runnable = padded[:, :pools]  # a view: column updates write into ``padded``
        self._fit_runnable[:] = self._fit & self._runnable
        words = padded.view(np.uint64)  # a word is nonzero iff one of its 8 booleans is True
        self._rows_word = words[:, 0] if words.shape[1] == 1 else None
        self._rows_words = words
        self._fit_view, self._fit_runnable_view = self._fit.view(), self._fit_runnable.view()
        self._fit_view.flags.writeable = self._fit_runnable_view.flags.writeable = False
        self._columns = {}
        self._tracked = demand

    def fits_runnable(self, demand: np.ndarray) -> np.ndarray | None:
        """The tracked ``fits(demand) & runnable`` (a read-only view kept current); None if ``demand`` is
        not the tracked array."""
        return self._fit_runnable_view if demand is self._tracked else None

    def runnable_rows(self) -> np.ndarray:
        """``fits_runnable(tracked).any(axis=1)``: the tracked rows that fit some pool now (a new array)."""
        if self._rows_word is not None:  # up to 8 pools: one word per row
            return self._rows_word != 0
        return np.logical_or.reduce(self._rows_words != 0, axis=1)

    def take(self, p: int, devices: int) -> list[tuple[int, int]]:
        """Place ``devices`` in pool ``p``: [(node, devices taken)]. The caller checked :meth:`fits`."""
        nodes, size = self.nodes[p], self._size[p]
        taken = []
        if devices > size:
            for i in self._whole(p)[: devices // size]:
                taken.append((i, nodes[i]))
                devices -= nodes[i]
                nodes[i] = 0
        if devices > 0:
            best = -1  # best fit: the fullest node that still has room (the first such node on ties)
            for i, free in enumerate(nodes):
                if free >= devices and (best < 0 or free < nodes[best]):
                    best = i
            if best < 0:
                raise RuntimeError(f"pool {p} has no node with {devices} free devices")
            nodes[best] -= devices
            taken.append((best, devices))
        self._refresh(p)
        return taken

    def take_nodes(self, p: int, count: int) -> list[int]:
        """``count`` whole free nodes of pool ``p`` (service replicas)."""
        full = self._whole(p)[:count]
        if len(full) < count:
            raise RuntimeError(f"pool {p} has {len(full)} free nodes, {count} asked for")
        nodes = self.nodes[p]
        for i in full:
            nodes[i] = 0
        self._refresh(p)
        return full

    def give(self, p: int, taken: list[tuple[int, int]]) -> None:
        nodes = self.nodes[p]
        for node, devices in taken:
            nodes[node] += devices
        self._refresh(p)

    def give_nodes(self, p: int, nodes: list[int]) -> None:
        free, capacity = self.nodes[p], self.capacity[p]
        for i in nodes:
            free[i] = capacity[i]
        self._refresh(p)
