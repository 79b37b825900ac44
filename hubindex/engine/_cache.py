"""A bounded, per-process LRU cache of pipeline step outputs (see :class:`hubindex.engine.pipeline.Pipeline`).

Entries are keyed by digests of everything a step's output depends on and sized by the bytes of the arrays they
hold; the least recently used entries are dropped when the total passes ``max_bytes``. Every array stored is made
read-only, so no caller can change a cached value in place.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")

__all__ = ["StepCache", "CacheStats", "IdentityMemo", "digest", "freeze", "nbytes_of"]

DEFAULT_MAX_BYTES = 256 * 2**20


def digest(*parts: str | bytes) -> str:
    """A 128-bit BLAKE2b hex digest of the parts (length-prefixed, so ("ab", "c") ≠ ("a", "bc"))."""
    h = hashlib.blake2b(digest_size=16)
    for p in parts:
        b = p.encode() if isinstance(p, str) else p
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()


def _arrays(x: Any) -> Iterable[np.ndarray]:
    if isinstance(x, np.ndarray):
        yield x
    elif isinstance(x, dict):
        for v in x.values():
            yield from _arrays(v)
    elif isinstance(x, list | tuple):
        for v in x:
            yield from _arrays(v)
    elif hasattr(x, "__cache_arrays__"):
        yield from _arrays(x.__cache_arrays__())


def freeze(x: Any) -> Any:
    """Make every NumPy array inside ``x`` (arrays, dicts, lists, tuples, objects with ``__cache_arrays__``)
    read-only; returns ``x``."""
    for a in _arrays(x):
        a.flags.writeable = False
    return x


def nbytes_of(x: Any) -> int:
    """Bytes held by the distinct arrays inside ``x`` (object arrays: 64 bytes per element, a rough string)."""
    seen: set[int] = set()
    total = 0
    for a in _arrays(x):
        if id(a) in seen:
            continue
        seen.add(id(a))
        total += a.nbytes + (64 * a.size if a.dtype == object else 0)
    return total


@dataclass(frozen=True)
class CacheStats:
    hits: int
    misses: int
    entries: int
    bytes: int
    max_bytes: int


class StepCache:
    """LRU by memory: ``get``/``put`` by string key; entries larger than ``max_bytes`` are not kept.

    Thread-safe (one lock around the bookkeeping; values are immutable once stored).
    """

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        self.max_bytes = int(max_bytes)
        self._d: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._hits = 0
        self._misses = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> Any | None:
        with self._lock:
            hit = self._d.get(key)
            if hit is None:
                self._misses += 1
                return None
            self._d.move_to_end(key)
            self._hits += 1
            return hit[0]

    def put(self, key: str, value: Any, nbytes: int | None = None) -> Any:
        """Store ``value`` (its arrays made read-only) and return it."""
        freeze(value)
        size = nbytes_of(value) if nbytes is None else int(nbytes)
        if size > self.max_bytes:
            return value
        with self._lock:
            old = self._d.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._d[key] = (value, size)
            self._bytes += size
            while self._bytes > self.max_bytes and self._d:
                _, (_, sz) = self._d.popitem(last=False)
                self._bytes -= sz
        return value

    def clear(self) -> None:
        with self._lock:
            self._d.clear()
            self._bytes = 0
            self._hits = self._misses = 0

    def __len__(self) -> int:
        return len(self._d)

    def __contains__(self, key: object) -> bool:
        return key in self._d

    @property
    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(self._hits, self._misses, len(self._d), self._bytes, self.max_bytes)


class IdentityMemo:
    """Values derived from immutable objects (a spec's frozen nodes, steps, data section), remembered by the
    objects' identity: what depends only on a spec is computed once per spec, not once per build.

    Keyed by the ``id`` of every object in the tuple; an entry holds its objects, so no id is reused while the
    entry lives. Bounded (LRU, ``size`` entries); thread-safe. Only for objects that never change (frozen
    pydantic models, tuples of them) and values that are not changed in place by their users.
    """

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._d: OrderedDict[tuple[int, ...], tuple[tuple[Any, ...], Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, objs: tuple[Any, ...], make: Callable[[], T]) -> T:
        key = tuple(map(id, objs))
        with self._lock:
            hit = self._d.get(key)
            if hit is not None:
                self._d.move_to_end(key)
                return hit[1]  # type: ignore[no-any-return]
        value = make()
        with self._lock:
            self._d[key] = (objs, value)
            while len(self._d) > self.size:
                self._d.popitem(last=False)
        return value
