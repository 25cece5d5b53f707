"""The process-wide result store the app's sessions share (models, scores, curves, figures).

One store per server (``st.cache_resource`` in ``pages/_ui.py``): what does not depend on the
user is computed once and kept, least recently used dropped first, per kind.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable


#: How many results of each kind the store keeps (least recently used dropped first).
STORE_LIMITS = {"bundle": 4, "data": 4, "scores": 6, "eval": 4, "sweep": 4, "challenger": 2,
                "explainer": 4, "explanation": 8, "reasons": 8, "values": 8,
                "quality": 6, "figure": 128, "explain_rate": 8}


class ResultStore:
    """Process-wide results keyed by the hashes they depend on (thread-safe).

    Streamlit runs each session's script in its own thread; a result being computed for one
    session is waited for, not computed again, by another session asking for the same key.
    """

    def __init__(self, limits: dict | None = None):
        self._limits = dict(STORE_LIMITS, **(limits or {}))
        self._lock = threading.Lock()
        self._kinds: dict[str, OrderedDict] = {}
        self._key_locks: dict[tuple, threading.Lock] = {}

    def peek(self, kind: str, key: tuple):
        """The stored result, or None (never computes)."""
        with self._lock:
            cache = self._kinds.get(kind)
            if cache is None or key not in cache:
                return None
            cache.move_to_end(key)
            return cache[key]

    def items(self, kind: str) -> list:
        """``(key, result)`` pairs of one kind (a snapshot)."""
        with self._lock:
            return list(self._kinds.get(kind, {}).items())

    def get(self, kind: str, key: tuple, compute: Callable[[], object]):
        """Return the result stored under ``(kind, key)``, computing it once if absent."""
        found = self.peek(kind, key)
        if found is not None:
            return found
        with self._lock:
            key_lock = self._key_locks.setdefault((kind, key), threading.Lock())
        with key_lock:
            found = self.peek(kind, key)
            if found is not None:
                return found
            value = compute()
            self.put(kind, key, value)
        with self._lock:
            self._key_locks.pop((kind, key), None)
        return value

    def put(self, kind: str, key: tuple, value) -> None:
        """Store ``value`` (dropping the least recently used result of that kind)."""
        with self._lock:
            cache = self._kinds.setdefault(kind, OrderedDict())
            cache[key] = value
            cache.move_to_end(key)
            while len(cache) > self._limits.get(kind, 4):
                cache.popitem(last=False)

    def clear(self) -> None:
        """Forget every result (e.g. after a model folder was deleted)."""
        with self._lock:
            self._kinds.clear()
