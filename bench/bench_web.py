"""Load on loopback: C concurrent clients sending distinct /v1/train requests for D seconds (not part of the
test run).

    python bench/bench_web.py [--clients 50] [--seconds 30] [--new-space] [--no-advise]

Starts `flopwatt web`'s app in a child process on 127.0.0.1 (a free port), so the clients (httpx, in this
process) do not share the server's interpreter; each client sends its next request when the last one is
answered. Every request is a new question (the server's answer cache never hits): by default they differ in
tokens (their plan space was searched before, so the workers' search cache answers that part);
``--new-space`` also gives each a new global batch (every stack's search runs). Prints requests, errors,
p50/p99/max latency, throughput, and the resident memory (VmRSS) of the server and of its worker processes
at the end, with the cores and the load average (other processes share the machine).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import multiprocessing
import os
import socket
import statistics
import time
from pathlib import Path

import httpx


def _serve(port: int) -> None:
    import uvicorn

    from flopwatt.server.app import create_app

    uvicorn.run(create_app(), host="127.0.0.1", port=port, log_level="warning")


def _rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (/proc/PID/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _descendants(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        for child in map(int, children):
            out += [child, *_descendants(child)]
    return out


def _body(i: int, new_space: bool, advise: bool) -> dict:
    batch = 512 + 256 * (i % 64) if new_space else 512  # multiples of the 256 devices x a power of two
    return {"model": "llama3-8b", "devices": 256, "global_batch": batch, "tokens": 1e12 + 1e6 * i, "advise": advise}


async def _load(url: str, clients: int, seconds: float, new_space: bool, advise: bool) -> tuple[list[float], int]:
    counter = itertools.count()
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal errors
        while time.perf_counter() < stop:
            body = _body(next(counter), new_space, advise)
            start = time.perf_counter()
            try:
                response = await http.post(f"{url}/v1/train", json=body)
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies.append(time.perf_counter() - start)
            errors += not ok

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        await asyncio.gather(*(client(http) for _ in range(clients)))
    return latencies, errors


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--new-space", action="store_true", help="a new plan space per request (search runs)")
    parser.add_argument("--no-advise", action="store_true", help="advise = false in every request")
    args = parser.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = multiprocessing.get_context("spawn").Process(target=_serve, args=(port,))  # it starts workers
    server.start()
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                httpx.get(f"{url}/v1/catalog/stacks", timeout=1)  # the server is up (and its workers warm)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        print(f"cores usable: {len(os.sched_getaffinity(0))}, load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        workers = _descendants(server.pid)
        cpu_before = {p: _cpu_s(p) for p in [server.pid, *workers]}
        client_before = time.process_time()
        started = time.perf_counter()
        latencies, errors = asyncio.run(_load(url, args.clients, args.seconds, args.new_space, not args.no_advise))
        wall = time.perf_counter() - started
        latencies.sort()
        p99 = latencies[min(len(latencies) - 1, round(0.99 * (len(latencies) - 1)))]
        kind = "new plan space each" if args.new_space else "new tokens each (plan space searched before)"
        print(f"{args.clients} clients x {args.seconds:g} s, distinct /v1/train ({kind}, advise="
              f"{not args.no_advise}): {len(latencies)} requests, {errors} errors, {len(latencies) / wall:.1f}/s; "
              f"p50 {statistics.median(latencies) * 1e3:.0f} ms, p99 {p99 * 1e3:.0f} ms, "
              f"max {latencies[-1] * 1e3:.0f} ms")
        client_cpu = time.process_time() - client_before
        now = _descendants(server.pid)
        spent = {p: _cpu_s(p) - cpu_before.get(p, 0.0) for p in [server.pid, *now]}
        n = max(len(latencies), 1)
        print(f"CPU per request: server {spent[server.pid] / n * 1e3:.1f} ms, workers "
              f"{sum(v for p, v in spent.items() if p != server.pid) / n * 1e3:.1f} ms, these clients "
              f"{client_cpu / n * 1e3:.1f} ms")
        workers = now
        print(f"RSS: server {_rss_bytes(server.pid) / 2**20:.0f} MiB; {len(workers)} child processes (forkserver + "
              f"workers) max {max((_rss_bytes(p) for p in workers), default=0) / 2**20:.0f} MiB, sum "
              f"{sum(_rss_bytes(p) for p in workers) / 2**20:.0f} MiB")
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        server.terminate()
        server.join(timeout=10)


if __name__ == "__main__":
    main()
