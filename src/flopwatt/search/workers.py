"""Local worker processes that never outlive the planner.

A plan search can run for minutes; if its process is killed (SIGKILL, OOM killer, a closed terminal) its
pool workers must not go on writing parts. Each worker (1) asks Linux to send it SIGKILL when its parent
dies (``prctl(PR_SET_PDEATHSIG)``, prctl(2)), and (2) runs a watchdog thread that exits when its parent
changes or the planner's process is gone (other systems, and the forkserver start method, where the
parent is the fork server). Workers ignore SIGINT: on Ctrl-C the planner stops them itself
(:func:`process_pool`), so one process reports the interrupt.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
WATCH_INTERVAL_S = 0.5


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _watch(planner_pid: int, parent_pid: int) -> None:
    while True:
        time.sleep(WATCH_INTERVAL_S)
        if os.getppid() != parent_pid or not _alive(planner_pid):
            os._exit(1)


def start_worker(planner_pid: int, direct_child: bool) -> None:
    """Pool initializer: die with the parent (see the module doc); ignore SIGINT."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            pass  # no prctl: the watchdog alone
    parent = os.getppid()
    if (direct_child and parent != planner_pid) or not _alive(planner_pid):
        os._exit(1)  # the planner died before the death signal was armed
    threading.Thread(target=_watch, args=(planner_pid, parent), daemon=True, name="flopwatt-parent-watch").start()


@contextmanager
def process_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """A process pool whose workers die with this process; on any exception (Ctrl-C included) the
    pending work is cancelled and the workers are terminated instead of being waited for."""
    direct = multiprocessing.get_start_method() in ("fork", "spawn")
    pool = ProcessPoolExecutor(max_workers=workers, initializer=start_worker, initargs=(os.getpid(), direct))
    try:
        yield pool
        pool.shutdown(wait=True)  # inside the try: a Ctrl-C while the last chunks finish stops the pool too
    except BaseException:
        _stop(pool)
        raise


def _stop(pool: ProcessPoolExecutor) -> None:
    # the executor keeps no public handle on its processes; without one, shutdown would wait for the
    # running chunks to finish
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        proc.terminate()
    for proc in processes:
        proc.join(timeout=5)
