"""Results of recent work on a few names, kept for the next reading of the same names.

Checking a name, or screening a request's few names, reads each name more than once (to match it, then to read where
it says it is registered), and each reading of a few names costs a dozen trips to polars whatever their number. The
readings of small frames keep each name's result here and compute only the names not seen recently, together."""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

SMALL_FRAME = 128
"""The most names a reading keeps results for: a request's worth (the service takes up to 100 queries). Larger
frames are batches, read once."""

RECENT_NAMES = 1024
"""How many names' results each reading keeps."""


class Recent(Generic[K, V]):
    """The results of the last `size` keys used, the least recently used dropped first; safe across threads."""

    def __init__(self, size: int = RECENT_NAMES):
        self.size = size
        self._results: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()
        _EVERY.add(self)

    def forget(self) -> None:
        """Drop every kept result."""
        with self._lock:
            self._results.clear()

    def through(self, keys: Sequence[K], compute: Callable[[list[K]], dict[K, V]]) -> dict[K, V]:
        """The result of every key: those kept, and the others computed together in one call (and kept)."""
        found = self._found(keys)
        missing = [key for key in dict.fromkeys(keys) if key not in found]
        if missing:
            fresh = compute(missing)
            self._keep(fresh)
            found.update(fresh)
        return found

    def _found(self, keys: Sequence[K]) -> dict[K, V]:
        with self._lock:
            found = {key: self._results[key] for key in keys if key in self._results}
            for key in found:
                self._results.move_to_end(key)
        return found

    def _keep(self, results: dict[K, V]) -> None:
        with self._lock:
            self._results.update(results)
            for key in results:
                self._results.move_to_end(key)
            while len(self._results) > self.size:
                self._results.popitem(last=False)


_EVERY: weakref.WeakSet[Recent] = weakref.WeakSet()


def forget_all() -> None:
    """Drop the kept results of every reading, so that the next reading of any name is its first: what a benchmark
    timing names read for the first time needs between two readings of the same name."""
    for recent in list(_EVERY):
        recent.forget()
