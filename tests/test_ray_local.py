"""The Ray backend on a local Ray cluster of 2 worker CPUs: the same report as the local backend.

The cluster is started here (``ray.init(num_cpus=2)``); the search then uses it as it would a running
cluster named by ``--address`` (it neither starts nor stops Ray when one is initialised). Speed-up and
per-task overhead are measured by ``bench/bench_ray.py``, never asserted here.
"""

from __future__ import annotations

import os

import pytest

from flopwatt.search import config as plan_config
from flopwatt.search import engine

ray = pytest.importorskip("ray")

MENU = """
[workload]
model = "gpt3-175b"
tokens = 300e9
global_batch = 512

[menu]
accelerators = ["a100-sxm4-80gb", "h100-sxm5-80gb"]
devices = [256, 512]
stacks = ["megatron-2022", "megatron-core", "deepspeed-megatron"]
fabrics = ["ideal", "rail-only"]
media = ["auto", "optics"]
cooling = ["air", "direct-liquid"]
sites = ["us-virginia", "no-oslo"]

[plan]
tp = 8

[output]
top_k = 5
"""


@pytest.fixture(scope="module")
def cluster():
    if ray.is_initialized():
        ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


def _key(report):
    return (report.configurations, report.feasible, report.infeasible, report.eliminated, report.front,
            report.top, report.best_per_system)


def test_a_two_worker_ray_cluster_gives_the_local_report(tmp_path, cluster):
    path = tmp_path / "plan.toml"
    path.write_text(MENU)
    cfg = plan_config.load(path)
    assert cluster.cluster_resources().get("CPU") == 2
    local = engine.search(cfg, workers=1)
    remote = engine.search(cfg, backend="ray")
    assert _key(remote) == _key(local)
    assert remote.front and remote.configurations > 0
    assert cluster.is_initialized()  # a cluster the search did not start is left running
    tasks = remote.tasks
    assert tasks.tasks == local.tasks.tasks > 1
    assert tasks.worker_pids and os.getpid() not in tasks.worker_pids  # the tasks ran in Ray's workers
    assert local.tasks.worker_pids == {os.getpid()}
