"""Load on loopback: C concurrent clients sending distinct /v1/train requests for D seconds (not part of the
test run).

    python bench/bench_web.py [--clients 50] [--seconds 30] [--new-space] [--no-advise] [--client raw|httpx]
                              [--http auto|h11|httptools] [--loop auto|asyncio|uvloop] [--workers N]

Starts `flopwatt web`'s app under uvicorn in a child process on 127.0.0.1 (a free port; its workers start
before it takes requests), so the clients (in this process) do not share the server's interpreter. Each client
is closed-loop: it sends its next request when the last one is answered, on one kept-alive HTTP/1.1
connection. The default client writes HTTP/1.1 on asyncio streams (~0.3 ms CPU a request, where httpx takes
~4-6 ms on the same cores); a latency runs from the first byte written to the last byte of the answer read, and
an answer counts as an error unless it is a 200 whose JSON is a training result for that request's own tokens
(a refused connection, a timeout or a short answer count too). Every request is a new question (the server's
answer cache never hits): by default they differ in tokens (one plan space, searched by each worker on its first
request, then cached); ``--new-space`` also cycles through 64 global batches (each worker searches each space,
and every other stack's for the advice, once).

Prints the cores and the load average before and after (other processes share the machine); requests, errors,
throughput, p50/p90/p99/max latency and the requests over 500 ms; the p99 of the requests sent in each 5 s (a
slow window is the machine, not the queue); CPU time per request of the server, its workers and this client
(less noisy than wall time on a shared machine); the resident memory (VmRSS) of the server and of its child
processes before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import itertools
import json
import multiprocessing
import os
import socket
import time
from pathlib import Path
from typing import Any

REQUEST_TIMEOUT_S = 60.0
"""A request not answered by then counts as an error."""
SLOW_S = 0.5
"""The issue's p99 bound (issue #20): the requests slower than this are counted."""
WINDOW_S = 5.0


def _serve(port: int, http: str, loop: str, workers: int | None) -> None:
    """The app as ``flopwatt web`` serves it (its workers start before the first request is taken)."""
    import uvicorn

    from flopwatt.server.app import create_app

    uvicorn.run(create_app(workers=workers), host="127.0.0.1", port=port, log_level="warning", http=http, loop=loop)


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


class Tally:
    """Latency of every answered or failed request (s) and the errors, by kind."""

    def __init__(self) -> None:
        self.starts: list[float] = []
        self.latencies: list[float] = []
        self.errors: collections.Counter[str] = collections.Counter()

    def add(self, start: float, error: str | None) -> None:
        self.starts.append(start)
        self.latencies.append(time.perf_counter() - start)
        if error:
            self.errors[error] += 1

    def windows(self, seconds: float) -> list[list[float]]:
        """Latencies (sorted) of the requests sent in each ``seconds`` window: a slow window is the machine
        (other processes), a slow request in fast windows is the server's queueing."""
        first = min(self.starts, default=0.0)
        out: dict[int, list[float]] = collections.defaultdict(list)
        for start, latency in zip(self.starts, self.latencies, strict=True):
            out[int((start - first) // seconds)].append(latency)
        return [sorted(out[k]) for k in sorted(out)]


def _check(status: int, payload: bytes, body: dict) -> str | None:
    """None for a right answer: status 200 and a training result for this request's own tokens."""
    if status != 200:
        return f"HTTP {status}"
    try:
        answer = json.loads(payload)
        ok = answer["kind"] == "train" and answer["inputs"]["tokens"] == body["tokens"]
    except (ValueError, KeyError, TypeError):
        ok = False
    return None if ok else "wrong answer"


async def _exchange(streams: tuple, request: bytes) -> tuple[int, bytes, bool]:
    """One HTTP/1.1 request on a kept-alive connection: (status, body, whether the server closes it)."""
    reader, writer = streams
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
    if "content-length" not in headers:
        raise ValueError("no content-length (chunked answers are not read by this client)")
    payload = await reader.readexactly(int(headers["content-length"]))
    return int(lines[0].split()[1]), payload, headers.get("connection") == "close"


async def _raw_client(host: str, port: int, bodies: Any, stop: float, tally: Tally) -> None:
    """A closed-loop client on one kept-alive HTTP/1.1 connection (reopened after an error or a close); the
    latency runs from the first byte written to the last byte of the answer read."""
    streams = None
    while time.perf_counter() < stop:
        body = next(bodies)
        data = json.dumps(body).encode()
        request = (f"POST /v1/train HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
                   f"Content-Length: {len(data)}\r\n\r\n").encode() + data
        start = time.perf_counter()
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_S):
                if streams is None:
                    streams = await asyncio.open_connection(host, port)
                status, payload, close = await _exchange(streams, request)
            error = _check(status, payload, body)
        except (OSError, ValueError, asyncio.IncompleteReadError, TimeoutError) as exc:
            error, close = type(exc).__name__, True
        tally.add(start, error)
        if close and streams is not None:
            streams[1].close()
            streams = None
    if streams is not None:
        streams[1].close()


async def _httpx_client(http: Any, url: str, bodies: Any, stop: float, tally: Tally) -> None:
    import httpx

    while time.perf_counter() < stop:
        body = next(bodies)
        start = time.perf_counter()
        try:
            response = await http.post(f"{url}/v1/train", json=body)
            error = _check(response.status_code, response.content, body)
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        tally.add(start, error)


async def _load(port: int, args: argparse.Namespace) -> Tally:
    counter = itertools.count()
    bodies = (_body(i, args.new_space, not args.no_advise) for i in counter)
    tally = Tally()
    stop = time.perf_counter() + args.seconds
    if args.client == "raw":
        await asyncio.gather(*(_raw_client("127.0.0.1", port, bodies, stop, tally) for _ in range(args.clients)))
        return tally
    import httpx

    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S, limits=limits) as http:
        url = f"http://127.0.0.1:{port}"
        await asyncio.gather(*(_httpx_client(http, url, bodies, stop, tally) for _ in range(args.clients)))
    return tally


def _quantile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _wait_up(port: int) -> None:
    import urllib.request

    for _ in range(600):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/catalog/stacks", timeout=1).read()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the server did not start")


def _rss_line(server_pid: int) -> str:
    children = _descendants(server_pid)
    return (f"server {_rss_bytes(server_pid) / 2**20:.0f} MiB; {len(children)} child processes (forkserver and "
            f"workers) max {max((_rss_bytes(p) for p in children), default=0) / 2**20:.0f} MiB, "
            f"sum {sum(_rss_bytes(p) for p in children) / 2**20:.0f} MiB")


def _report(args: argparse.Namespace, tally: Tally, wall: float) -> None:
    ordered = sorted(tally.latencies)
    n = max(len(ordered), 1)
    kind = "new plan space each" if args.new_space else "new tokens each, one plan space"
    errors = sum(tally.errors.values())
    print(f"{args.clients} clients x {args.seconds:g} s, distinct /v1/train ({kind}, advise={not args.no_advise}), "
          f"{args.client} client: {len(ordered)} requests, {errors} errors"
          f"{' ' + str(dict(tally.errors)) if errors else ''}, {len(ordered) / wall:.1f}/s")
    print("latency " + ", ".join(f"{name} {_quantile(ordered, q) * 1e3:.0f} ms" for name, q in
                                 (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0))) +
          f", mean {sum(ordered) / n * 1e3:.0f} ms; over {SLOW_S * 1e3:.0f} ms: "
          f"{sum(x > SLOW_S for x in ordered)} ({sum(x > SLOW_S for x in ordered) / n:.1%})")
    print(f"p99 of the requests sent in each {WINDOW_S:g} s: " +
          " ".join(f"{_quantile(w, 0.99) * 1e3:.0f}" for w in tally.windows(WINDOW_S)) + " ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--new-space", action="store_true", help="a new plan space per request (search runs)")
    parser.add_argument("--no-advise", action="store_true", help="advise = false in every request")
    parser.add_argument("--client", choices=("raw", "httpx"), default="raw",
                        help="raw: asyncio streams, one kept-alive HTTP/1.1 connection per client (cheap); httpx")
    parser.add_argument("--http", choices=("auto", "h11", "httptools"), default="auto",
                        help="uvicorn's HTTP parser (auto, as flopwatt web: httptools where installed)")
    parser.add_argument("--loop", choices=("auto", "asyncio", "uvloop"), default="auto",
                        help="uvicorn's event loop (auto, as flopwatt web: uvloop where installed)")
    parser.add_argument("--workers", type=int, help="worker processes (default: as flopwatt web, min(4, cores))")
    args = parser.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    spawn = multiprocessing.get_context("spawn")
    server = spawn.Process(target=_serve, args=(port, args.http, args.loop, args.workers))
    server.start()
    try:
        _wait_up(port)
        print(f"cores usable: {len(os.sched_getaffinity(0))}; load average before: {_load_average()}; uvicorn "
              f"http={args.http} loop={args.loop}; workers {args.workers or 'default'}")
        print(f"RSS before: {_rss_line(server.pid)}")
        workers = _descendants(server.pid)
        cpu_before = {p: _cpu_s(p) for p in [server.pid, *workers]}
        client_before = time.process_time()
        started = time.perf_counter()
        tally = asyncio.run(_load(port, args))
        wall = time.perf_counter() - started
        client_cpu = time.process_time() - client_before
        _report(args, tally, wall)
        spent = {p: _cpu_s(p) - cpu_before.get(p, 0.0) for p in [server.pid, *_descendants(server.pid)]}
        n = max(len(tally.latencies), 1)
        print(f"CPU per request: server {spent[server.pid] / n * 1e3:.2f} ms, workers "
              f"{sum(v for p, v in spent.items() if p != server.pid) / n * 1e3:.2f} ms, this client "
              f"{client_cpu / n * 1e3:.2f} ms")
        print(f"RSS after: {_rss_line(server.pid)}")
        print(f"load average after: {_load_average()}")
    finally:
        server.terminate()
        server.join(timeout=10)


if __name__ == "__main__":
    main()
