"""Nodes inside pools: jobs stay inside a node when they can, multi-node jobs take whole nodes."""

from __future__ import annotations

import numpy as np
import pytest

from flopwatt.fleet.nodes import PoolNodes


def test_free_devices_that_fit_no_job_fragmentation():
    nodes = PoolNodes(np.array([16]), np.array([8]))
    a, b = nodes.take(0, 5), nodes.take(0, 5)
    assert {a[0][0], b[0][0]} == {0, 1}  # the second 5 does not fit beside the first
    assert nodes.free[0] == 6 and nodes.max_node_free[0] == 3
    assert not nodes.fits(np.array([6]))[0, 0] and nodes.fits(np.array([3]))[0, 0]
    nodes.give(0, a)
    assert nodes.fits(np.array([6]))[0, 0] and nodes.free_nodes[0] == 1


def test_best_fit_fills_the_fullest_node_first():
    nodes = PoolNodes(np.array([16]), np.array([8]))
    nodes.take(0, 4)
    assert nodes.take(0, 4) == [(0, 4)]  # into node 0 (4 left), not the empty node 1
    assert nodes.free_nodes[0] == 1


def test_multi_node_job_takes_whole_nodes_and_a_remainder():
    nodes = PoolNodes(np.array([24]), np.array([8]))
    taken = nodes.take(0, 12)
    assert sorted(c for _, c in taken) == [4, 8] and nodes.free[0] == 12
    assert nodes.free_nodes[0] == 1
    assert not nodes.fits(np.array([16]))[0, 0]  # one whole node left, two needed


def test_a_remainder_node_serves_small_jobs_but_never_a_whole_node_request():
    nodes = PoolNodes(np.array([12]), np.array([8]))  # one node of 8, one of 4
    assert nodes.free_nodes[0] == 1
    assert nodes.take_nodes(0, 1) == [0]
    with pytest.raises(RuntimeError):
        nodes.take_nodes(0, 1)
    assert nodes.take(0, 4) == [(1, 4)] and nodes.free[0] == 0
