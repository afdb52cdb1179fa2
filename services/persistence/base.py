"""The Application base every Balkort event store uses (transcoding, snapshotting)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import InfrastructureFactory, Mapper, Transcoder
from eventsourcing.postgres import PostgresFactory
from eventsourcing.utils import Environment

from services.persistence.binding import LEGACY_UNTIL, BoundMapper
from services.persistence.shared_pool import lent_pool
from services.persistence.transcoding import MsgspecTranscoder

# psycopg_pool starts this many background workers per pool (plus a scheduler thread).
# The library leaves psycopg's default of 3; a tenant pool holds one or two connections,
# so one worker is plenty and an open tenant costs two threads instead of four.
POOL_WORKERS = 1


class BalkortApplication(Application[UUID]):
    """Stores events with the typed msgspec mapper; cipher/compressor still come from the env."""

    is_snapshotting_enabled = True

    def __init__(self, env: dict[str, Any] | None = None) -> None:
        super().__init__(env)

    def construct_factory(self, env: Environment) -> InfrastructureFactory:
        factory = super().construct_factory(env)
        if isinstance(factory, PostgresFactory):
            shared = lent_pool()
            if shared is not None:
                # A tenant store: borrow from the process's one tenant pool (shared_pool.py).
                factory.datastore = shared.datastore_for(factory.datastore)
            else:
                # The pool is created closed and opens on first use, so this takes effect.
                factory.datastore.pool.num_workers = POOL_WORKERS
        return factory

    def construct_transcoder(self) -> Transcoder:
        return MsgspecTranscoder()

    def construct_mapper(self) -> Mapper[UUID]:
        mapper = self.factory.mapper(transcoder=self.construct_transcoder(), mapper_class=BoundMapper)
        if isinstance(mapper, BoundMapper):
            # Encrypted states are sealed to their events; unbound ones are legacy (binding.py).
            mapper.legacy_until = int(self.env.get(LEGACY_UNTIL) or 0)
        return mapper
