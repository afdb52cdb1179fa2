"""Aggregates kept in memory between the commands of one process.

Loading a long-lived engagement means decoding its latest snapshot and the events after it;
on a theme day every unit writes to the same engagement several times a minute. A working
copy is loaded once, brought up to date with the few events other processes may have saved
since (one indexed query), and changed by one command at a time. A command that fails in any
way discards the copy, so a half-applied change never outlives its command.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar
from uuid import UUID

A = TypeVar("A")

STRIPES = 64


class WorkingCopies(Generic[A]):
    def __init__(self, maxsize: int = 32) -> None:
        self.maxsize = maxsize
        self._copies: OrderedDict[UUID, A] = OrderedDict()
        self._guard = threading.Lock()
        # One writer per aggregate: commands on the same aggregate queue here instead of
        # racing each other to an optimistic-concurrency conflict.
        self._stripes = [threading.Lock() for _ in range(STRIPES)]

    @contextmanager
    def checkout(self, aggregate_id: UUID, load: Callable[[], A], refresh: Callable[[A], A]) -> Iterator[A]:
        with self._stripes[aggregate_id.int % STRIPES]:
            with self._guard:
                cached = self._copies.pop(aggregate_id, None)
            aggregate = load() if cached is None else refresh(cached)
            yield aggregate
            with self._guard:
                self._copies[aggregate_id] = aggregate
                while len(self._copies) > self.maxsize:
                    self._copies.popitem(last=False)
