"""Commands an aggregate has recorded, remembered by command id.

A command retried with the same id (the same Idempotency-Key or page form) after its first
run was recorded but its answer was lost — a dropped connection, a crashed process — is
recognised instead of acting twice, and answered with the version it brought the aggregate to.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

# Retries come within minutes; an engagement records a few thousand events in its life. The
# most recent this many commands are remembered, which bounds what a snapshot carries.
REMEMBERED_COMMANDS = 1000


class RemembersCommands(Aggregate):
    """Base of aggregates that recognise a command they have recorded already.

    The memory is `recorded_commands`, command id (as text) -> version, kept out of the class's
    annotations (the library would make an annotated field an argument of every creation)."""

    class Event(Aggregate.Event):
        def apply(self, aggregate: Any) -> None:
            provenance = getattr(self, "provenance", None)
            command_id = getattr(provenance, "command_id", None)
            if isinstance(command_id, UUID):
                remember(aggregate, command_id, self.originator_version)

    def version_after(self, command_id: UUID) -> int | None:
        """The version this aggregate reached by the command, if it has recorded it."""
        recorded: dict[str, int] = vars(self).get("recorded_commands", {})
        return recorded.get(str(command_id))


def remember(aggregate: Any, command_id: UUID, version: int) -> None:
    # Snapshots taken before aggregates remembered commands lack the field.
    commands: dict[str, int] = vars(aggregate).setdefault("recorded_commands", {})
    # Re-inserted so that the order is by last use and the oldest is dropped first.
    key = str(command_id)
    commands.pop(key, None)
    commands[key] = version
    while len(commands) > REMEMBERED_COMMANDS:
        del commands[next(iter(commands))]
