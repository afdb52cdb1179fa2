"""The front door: a command is a small frozen Struct, one table maps each kind of command to
the handler that carries it out on the tenant's application, and `execute` runs it.

Both adapters (the API and the pages) build a command from what a request carries and hand it
here with the provenance they built; the demo builds commands too. Nothing here knows of a
request: whatever a command needs is a field of it, path ids included.

A command's class name is its name in the record (`command_name`, which becomes
`Provenance.command_name`; a command may name itself by what it decides), so renaming a command
class renames what new events say caused them: don't. No command has a field of that name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Generic, Self, TypeVar, cast
from uuid import UUID

import msgspec

from domain.provenance import Provenance
from services.application import TenantApplication
from services.bootstrap import Container

R = TypeVar("R")
C = TypeVar("C", bound="Command[Any]")


class Command(msgspec.Struct, Generic[R], frozen=True, kw_only=True):
    """One thing a person asks the product to record; `R` is what carrying it out answers
    (the id of what it created, the version it reached, ...)."""

    conditional: ClassVar[bool] = True
    """Whether the command honours an expected version (`If-Match`); one that creates its
    aggregate has no version to compare with."""

    @property
    def command_name(self) -> str:
        """The command's name in the record."""
        return type(self).__name__

    @classmethod
    def given(cls, fields: msgspec.Struct, /, **ids: Any) -> Self:
        """The command from what an adapter decoded (an API body, a page's form: its fields by
        name) and the ids its path names. A field the command lacks is an error, not dropped."""
        return cls(**msgspec.structs.asdict(fields), **ids)


Handler = Callable[[TenantApplication, Any, Provenance, int | None], Any]
"""`handler(app, command, provenance, expected_version) -> answer`, blocking: run off the loop."""

HANDLERS: dict[type[Command[Any]], Handler] = {}
"""The one table: each kind of command to its handler. Filled by `handles` as the use-case
modules are imported (`services.usecases` imports them all)."""


def handles(
    kind: type[C],
) -> Callable[
    [Callable[[TenantApplication, C, Provenance, int | None], R]],
    Callable[[TenantApplication, C, Provenance, int | None], R],
]:
    """Enter the decorated function in `HANDLERS` as the handler of `kind`."""

    def enter(
        handler: Callable[[TenantApplication, C, Provenance, int | None], R],
    ) -> Callable[[TenantApplication, C, Provenance, int | None], R]:
        if kind in HANDLERS:
            raise ValueError(f"{kind.__name__} has a handler already")
        if "command_name" in kind.__struct_fields__:
            raise TypeError(f"{kind.__name__} has a field that hides its command_name")
        HANDLERS[kind] = handler
        return handler

    return enter


def handle(
    app: TenantApplication, command: Command[R], provenance: Provenance, expected_version: int | None = None
) -> R:
    """Carry out `command` on the tenant's application, here and now (blocking)."""
    try:
        handler = HANDLERS[type(command)]
    except KeyError:
        raise LookupError(f"no handler for {type(command).__name__}") from None
    return cast("R", handler(app, command, provenance, expected_version))


async def execute(
    container: Container,
    tenant_id: UUID,
    command: Command[R],
    provenance: Provenance,
    expected_version: int | None = None,
) -> R:
    """Run one command for `tenant_id`: its application leased off the event loop, the
    command carried out with `provenance` (which the adapter built and names the command),
    conditional on `expected_version` when given; then the tenant's projector is woken so
    that what changed is read and announced at once."""
    answer = await container.offloop(
        container.tenants.call, tenant_id, lambda app: handle(app, command, provenance, expected_version)
    )
    container.projections.notify(tenant_id)
    return answer


T = TypeVar("T")


async def query(container: Container, tenant_id: UUID, read: Callable[[TenantApplication], T]) -> T:
    """Read the tenant's aggregates off the event loop (for what no read model answers)."""
    return await container.offloop(container.tenants.call, tenant_id, read)
