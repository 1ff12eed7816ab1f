"""Recent analysis results kept in memory by what they were computed from: a small LRU."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any


class AnalysisCache:
    """Recent analysis documents by key, a tuple whose first item is the dataset id; the
    least recently used go first beyond ``size``, and an entry put with a ``ttl`` (seconds)
    is gone once it expires."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self.lock = threading.Lock()
        self.items: OrderedDict[tuple[str, ...], tuple[float | None, Any]] = OrderedDict()

    def get(self, key: tuple[str, ...]) -> Any | None:
        with self.lock:
            entry = self.items.get(key)
            if entry is None:
                return None
            expires, value = entry
            if expires is not None and expires < time.monotonic():
                del self.items[key]
                return None
            self.items.move_to_end(key)
            return value

    def put(self, key: tuple[str, ...], value: Any, ttl: float | None) -> None:
        with self.lock:
            self.items[key] = (None if ttl is None else time.monotonic() + ttl, value)
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)

    def forget(self, dataset_id: str) -> None:
        with self.lock:
            for key in [k for k in self.items if k[0] == dataset_id]:
                del self.items[key]


# One per server process: every request and page of that process shares it.
results = AnalysisCache()
