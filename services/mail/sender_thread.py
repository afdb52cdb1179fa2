"""The sender in a blocking process (`balkort projector`): its own thread and event loop,
stopped between passes."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import anyio

from services.mail.sender import Sender

logger = logging.getLogger("balkort.outbox")


class SenderThread(threading.Thread):
    def __init__(self, sender: Sender, follow: Callable[[], object]) -> None:
        super().__init__(name="balkort-outbox", daemon=True)
        self.sender = sender
        self.follow = follow
        self._stopping = threading.Event()

    def run(self) -> None:
        anyio.run(self._main)

    async def _main(self) -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(self.sender.run, self.follow)
            await anyio.to_thread.run_sync(self._stopping.wait, abandon_on_cancel=True)
            group.cancel_scope.cancel()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self.join(timeout)
