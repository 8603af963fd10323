"""A multi-node Ray cluster on this machine, started with the ``ray`` CLI as on real machines, for the Ray
benchmarks and tests (bench/bench_ray_cluster.py, tests/test_ray_cluster.py).

Node 0 is ``ray start --head``; every other node is ``ray start --address HEAD``: each has its own raylet
(its own Ray node id, scheduler, object store and worker processes), so tasks cross nodes as they would
between machines, over the loopback instead of a network. Every port is a free one picked here (several
people's Ray clusters may share the machine), and the cluster lives in its own ``--temp-dir``: its
processes are the ones whose command line names that directory, and their children (the workers).
:meth:`LocalCluster.stop` ends exactly those, by pid (``ray stop`` would end every Ray process of the user).

Token authentication: Ray turns it on for a new head when a token file exists (``~/.ray/auth_token``) but
not for a node that joins, which then cannot join; so the cluster and its drivers are all given
``RAY_AUTH_MODE=token`` (:attr:`LocalCluster.env`).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

RAY = str(Path(sys.executable).with_name("ray"))
OBJECT_STORE_BYTES = 256 * 2**20
"""Per node: results are small and streamed, and the machine's memory is shared."""


def free_ports(n: int) -> list[int]:
    """``n`` distinct TCP ports free now on this machine."""
    sockets = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@dataclass
class LocalCluster:
    address: str
    temp_dir: Path
    env: dict[str, str]
    nodes: int
    started_s: list[float] = field(default_factory=list)
    """Seconds each ``ray start`` took."""

    def pids(self) -> list[int]:
        """This cluster's processes: command line naming its temp dir, and their descendants."""
        table = _process_table()
        own = {pid for pid, (_, cmd) in table.items() if str(self.temp_dir) in cmd}
        grew = True
        while grew:
            more = {pid for pid, (ppid, _) in table.items() if ppid in own} - own
            own |= more
            grew = bool(more)
        return sorted(own - {os.getpid()})

    def raylets(self) -> dict[int, str]:
        """pid -> Ray node id of each raylet of this cluster."""
        table = _process_table()
        out = {}
        for pid in self.pids():
            cmd = table.get(pid, (0, ""))[1]
            if "raylet/raylet" in cmd:
                out[pid] = next(a.split("=", 1)[1] for a in cmd.split("\0") if a.startswith("--node_id="))
        return out

    def task_processes(self, name: str) -> list[int]:
        """Worker processes running a task of function ``name`` now (Ray titles them ``ray::name``)."""
        table = _process_table()
        return [pid for pid in self.pids() if table.get(pid, (0, ""))[1].startswith(f"ray::{name}")]

    def stop(self, grace_s: float = 10.0) -> None:
        """SIGTERM to each of this cluster's processes, SIGKILL to those left after ``grace_s``."""
        pids = self.pids()
        for pid in pids:
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and any(_alive(p) for p in pids):
            time.sleep(0.2)
        for pid in pids:
            _signal(pid, signal.SIGKILL)
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def start(nodes: int = 2, cpus_per_node: int = 1, worker_niceness: int | None = None) -> LocalCluster:
    """Start a head and ``nodes - 1`` joining nodes of ``cpus_per_node`` CPUs each; stop it on any failure.

    ``worker_niceness``: added by Ray to the raylet's niceness for its workers (``RAY_worker_niceness``; Ray's
    default puts workers of a raylet started under ``nice -n 10`` at 19, below everything else on the machine).
    """
    temp_dir = Path(tempfile.mkdtemp(prefix="fwray-", dir="/tmp"))  # short: Ray's socket paths live under it
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_USAGE_STATS_ENABLED": "0"}
    if worker_niceness is not None:
        env["RAY_worker_niceness"] = str(worker_niceness)
    gcs, dashboard = free_ports(2)
    cluster = LocalCluster(address=f"127.0.0.1:{gcs}", temp_dir=temp_dir, env=env, nodes=nodes)
    try:
        for node in range(nodes):
            begin = time.perf_counter()
            subprocess.run(_command(node, cluster.address, cpus_per_node, temp_dir, dashboard), env=env,
                           check=True, capture_output=True, text=True, timeout=180)
            cluster.started_s.append(time.perf_counter() - begin)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _command(node: int, address: str, cpus: int, temp_dir: Path, dashboard: int) -> list[str]:
    manager, objects, agent = free_ports(3)
    common = ["--num-cpus", str(cpus), "--num-gpus", "0", "--node-manager-port", str(manager),
              "--object-manager-port", str(objects), "--dashboard-agent-listen-port", str(agent),
              "--min-worker-port", "0", "--max-worker-port", "0",  # 0: ports the system picks
              "--object-store-memory", str(OBJECT_STORE_BYTES), "--temp-dir", str(temp_dir),
              "--disable-usage-stats"]
    if node == 0:
        port = address.rsplit(":", 1)[1]
        return [RAY, "start", "--head", "--port", port, "--include-dashboard", "false",
                "--dashboard-port", str(dashboard), *common]
    return [RAY, "start", "--address", address, *common]


def _process_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line with NUL separators) of every process readable now."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().decode(errors="replace").rstrip("\0")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        out[int(entry)] = (ppid, cmd)
    return out


def peak_rss_bytes(pid: int) -> int | None:
    """Peak resident set size (VmHWM) of a live process, None if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a live process (/proc/PID/stat fields 14-15), None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def parent(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
