"""The web server's answer cache: answers by (endpoint, canonical request body), bounded in bytes of memory."""

from __future__ import annotations

import sys
from collections import OrderedDict

CACHE_BYTES = 64 * 2**20
"""Bound of the answer cache (the memory its keys, answers and table hold, in bytes)."""


class AnswerCache:
    """Answers by (endpoint, body), least recently used first out, bounded in bytes of memory: the key tuple,
    body and answer strings as allocated (``sys.getsizeof``) and the table holding them; errors are not
    cached. Repeated questions (a page re-rendered, a sweep re-run) are served from memory."""

    def __init__(self, max_bytes: int = CACHE_BYTES) -> None:
        self.max_bytes, self.bytes = max_bytes, 0
        """``bytes``: the entries' strings and key tuples (the table's own size is added when bounding)."""
        self.entries: OrderedDict[tuple[str, str], str] = OrderedDict()

    def get(self, key: tuple[str, str]) -> str | None:
        if key in self.entries:
            self.entries.move_to_end(key)
        return self.entries.get(key)

    def memory_bytes(self) -> int:
        """What the cache holds: its entries and its table (``sys.getsizeof`` of the ordered dict)."""
        return self.bytes + sys.getsizeof(self.entries)

    def put(self, key: tuple[str, str], text: str) -> None:
        size = _entry_bytes(key, text)
        if size > self.max_bytes or key in self.entries:
            return
        self.entries[key] = text
        self.bytes += size
        while self.entries and self.memory_bytes() > self.max_bytes:
            old_key, old = self.entries.popitem(last=False)
            self.bytes -= _entry_bytes(old_key, old)


def _entry_bytes(key: tuple[str, str], text: str) -> int:
    """Memory of one entry: the key tuple, the body and the answer (the endpoint name is a shared constant)."""
    return sys.getsizeof(key) + sys.getsizeof(key[1]) + sys.getsizeof(text)
