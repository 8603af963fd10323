"""Load on loopback: N concurrent single-estimate requests to `flopwatt web` (bounded in count and time).

    python bench/bench_web.py [--requests 50] [--concurrency 50]

Starts the server on 127.0.0.1 (a free port) in this process, fires the requests with httpx, prints
p50/p99/max latency, and stops. Not part of the test run.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import threading
import time

import httpx
import uvicorn

from flopwatt.server.app import create_app


async def fire(url: str, n: int, concurrency: int, distinct: bool) -> list[float]:
    limit = asyncio.Semaphore(concurrency)

    async def one(client: httpx.AsyncClient, i: int) -> float:
        tokens = 1e12 + 1e9 * (i if distinct else 0)  # a new question each time defeats the server's cache
        body = {"model": "llama3-8b", "devices": 256, "global_batch": 512, "tokens": tokens}
        async with limit:
            start = time.perf_counter()
            response = await client.post(f"{url}/v1/train", json=body)
            response.raise_for_status()
            return time.perf_counter() - start

    async with httpx.AsyncClient(timeout=60) as client:
        return await asyncio.gather(*(one(client, i) for i in range(n)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        for label, distinct in (("distinct estimates (no cache hits)", True), ("the same estimate", False)):
            latencies = sorted(asyncio.run(fire(f"http://127.0.0.1:{port}", args.requests, args.concurrency,
                                                distinct)))
            p99 = latencies[min(len(latencies) - 1, int(round(0.99 * (len(latencies) - 1))))]
            print(f"{args.requests} requests, {args.concurrency} concurrent, {label}: p50 "
                  f"{statistics.median(latencies) * 1e3:.0f} ms, p99 {p99 * 1e3:.0f} ms, "
                  f"max {latencies[-1] * 1e3:.0f} ms")
    finally:
        server.should_exit = True
        thread.join(timeout=10)


if __name__ == "__main__":
    main()
