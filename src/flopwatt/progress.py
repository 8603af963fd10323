"""One-line progress for long commands whose stderr is not a terminal (logs, CI, nohup).

A daemon thread prints ``flopwatt COMMAND: STATUS (N s)`` every ``interval_s`` seconds; the command
updates the status text as it goes. A terminal gets a progress bar instead (or nothing), so the lines
do not fight with it.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

INTERVAL_S = 10.0


class Heartbeat:
    """``with Heartbeat("plan") as beat: ... beat.status = "3/80 chunks"``: a line every ``interval_s``."""

    def __init__(self, command: str, *, interval_s: float | None = None, stream: TextIO | None = None) -> None:
        self.command = command
        self.status = "starting"
        self.interval_s = INTERVAL_S if interval_s is None else interval_s
        self.stream = sys.stderr if stream is None else stream
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True, name=f"flopwatt-{command}-progress")
        self._start = time.monotonic()

    def _beat(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                print(f"flopwatt {self.command}: {self.status} ({time.monotonic() - self._start:.0f} s)",
                      file=self.stream, flush=True)
            except (OSError, ValueError):  # stderr closed: progress is not worth failing the run for
                return

    def __enter__(self) -> Heartbeat:
        self._start = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def wanted(no_progress: bool = False) -> bool:
    """Heartbeat lines are for a stderr that is not a terminal (a terminal gets a bar)."""
    return not no_progress and not sys.stderr.isatty()
