"""Nodes inside pools: a job of up to one node's devices runs inside one node (NVLink, the scale-up
domain its plan assumes); a larger job takes whole free nodes, its remainder best-fit in one more.
Service replicas are whole nodes. So a pool can have free devices that no job fits: fragmentation,
the locality constraint Philly's schedulers waited for (Jeon et al. ATC'19, Sec. 4).

Per pool the arrays the policies read are kept current: ``free`` (devices), ``max_node_free``
(most free devices in one node) and ``free_nodes`` (nodes with all their devices free).
"""

from __future__ import annotations

import numpy as np


class PoolNodes:
    """Free devices per node of every pool; ``take``/``give`` keep the per-pool summaries current."""

    def __init__(self, pool_devices: np.ndarray, node_devices: np.ndarray) -> None:
        self.node_devices = np.asarray(node_devices, dtype=np.int64)
        self.capacity = [self._layout(int(d), int(s)) for d, s in zip(pool_devices, self.node_devices, strict=True)]
        self.nodes = [c.copy() for c in self.capacity]
        n = len(self.nodes)
        self.free = np.zeros(n, dtype=np.int64)
        self.max_node_free = np.zeros(n, dtype=np.int64)
        self.free_nodes = np.zeros(n, dtype=np.int64)
        for p in range(n):
            self._refresh(p)

    @staticmethod
    def _layout(devices: int, size: int) -> np.ndarray:
        """Node capacities: full nodes, and one smaller node for a remainder."""
        full, rest = divmod(devices, size)
        return np.array([size] * full + ([rest] if rest else []), dtype=np.int64)

    def _whole(self, p: int) -> np.ndarray:
        """Indices of the pool's full-size nodes that are entirely free."""
        cap = self.capacity[p]
        return np.flatnonzero((self.nodes[p] == cap) & (cap == self.node_devices[p]))

    def _refresh(self, p: int) -> None:
        nodes = self.nodes[p]
        self.free[p] = nodes.sum()
        self.max_node_free[p] = nodes.max() if len(nodes) else 0
        self.free_nodes[p] = len(self._whole(p))

    def fits(self, demand: np.ndarray) -> np.ndarray:
        """[len(demand), pools]: whether ``demand`` devices can be placed in each pool now."""
        d, size = demand[:, None], self.node_devices[None, :]
        whole = -(-d // size)  # nodes a multi-node job needs (conservative: its remainder gets a whole node)
        return np.where(d <= size, d <= self.max_node_free[None, :], whole <= self.free_nodes[None, :])

    def take(self, p: int, devices: int) -> list[tuple[int, int]]:
        """Place ``devices`` in pool ``p``: [(node, devices taken)]. The caller checked :meth:`fits`."""
        nodes, size = self.nodes[p], int(self.node_devices[p])
        taken = []
        if devices > size:
            full = self._whole(p)[: devices // size]
            taken = [(int(i), int(nodes[i])) for i in full]
            nodes[full] = 0
            devices -= sum(c for _, c in taken)
        if devices > 0:
            room = np.where(nodes >= devices, nodes, np.iinfo(np.int64).max)
            best = int(np.argmin(room))  # best fit: the fullest node that still has room
            if nodes[best] < devices:
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
        self.nodes[p][full] = 0
        self._refresh(p)
        return full.tolist()

    def give(self, p: int, taken: list[tuple[int, int]]) -> None:
        for node, devices in taken:
            self.nodes[p][node] += devices
        self._refresh(p)

    def give_nodes(self, p: int, nodes: list[int]) -> None:
        self.nodes[p][nodes] = self.capacity[p][nodes]
        self._refresh(p)
