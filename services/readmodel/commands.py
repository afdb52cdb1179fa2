"""Command-line entry points for the read side: `balkort projector` and `balkort projections`.

Registered on the `balkort` group with `main.add_command(projector)` and
`main.add_command(projections)`; they read Settings from the group's context object (or the
environment when run on their own).
"""

from __future__ import annotations

import time
from uuid import UUID

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from services.settings import Settings

console = Console()

PROJECTIONS = ("all", "documents", "audit", "lineage")


def _settings(ctx: click.Context) -> Settings:
    return ctx.obj if isinstance(ctx.obj, Settings) else Settings.from_environ()


@click.command("projector")
@click.option(
    "--partition",
    default=None,
    metavar="K/N",
    help="Project only the tenants whose id modulo N is K (run N processes, K = 0..N-1, to scale out).",
)
@click.pass_context
def projector(ctx: click.Context, partition: str | None) -> None:
    """Keep every tenant's read models on PostgreSQL up to date (runs until SIGTERM/SIGINT).

    Woken by the event store's notifications, polls every BALKORT_PROJECTOR_POLL_SECONDS in
    case one is lost, and reconnects when its listening connection dies.
    """
    from services.readmodel.worker import Partition, run_projector

    settings = _settings(ctx)
    try:
        share = Partition.parse(partition) if partition else None
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--partition") from None
    if not settings.uses_postgres:
        raise click.ClickException(
            "the projector process needs DATABASE_URL (PostgreSQL); the embedded SQLite default "
            "projects inside `balkort serve`"
        )
    from services.observability.logs import configure_logging

    configure_logging(settings)
    run_projector(settings, share)


@click.group("projections")
def projections() -> None:
    """Read models: rebuild them from the event log."""


@projections.command("rebuild")
@click.option("--tenant", "slug", default=None, help="Slug of one tenant (default: every tenant).")
@click.option(
    "--projection",
    type=click.Choice(PROJECTIONS),
    default="all",
    show_default=True,
    help="Which read model to rebuild. One projector writes documents, audit trail and lineage "
    "together, so every choice rebuilds all three.",
)
@click.pass_context
def rebuild_command(ctx: click.Context, slug: str | None, projection: str) -> None:
    """Rebuild read models from the whole event log into fresh tables, then swap them in.

    The old views keep answering queries until the swap, which is one short transaction. All
    views (documents, audit trail, lineage) are rebuilt together whatever --projection says.
    """
    from services.controlplane import ControlPlane
    from services.readmodel.rebuild import rebuild

    settings = _settings(ctx)
    tenant_id = ControlPlane.tenant_id_for(slug) if slug else None
    if projection != "all":
        console.print(f"[yellow]{projection}[/yellow] is rebuilt together with the other views")
    tasks: dict[UUID, TaskID] = {}
    started: dict[UUID, float] = {}
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[rate]}"),
    )
    with Progress(*columns, console=console) as bar:

        def progress(tenant: UUID, position: int, head: int) -> None:
            if tenant not in tasks:
                started[tenant] = time.perf_counter()
                tasks[tenant] = bar.add_task(f"tenant {tenant.hex[:8]}", total=head or 1, rate="")
            elapsed = time.perf_counter() - started[tenant]
            rate = f"{position / elapsed:,.0f} events/s" if elapsed > 0 and position else ""
            bar.update(tasks[tenant], completed=position, total=max(head, 1), rate=rate)

        try:
            events, seconds = rebuild(settings, tenant_id, progress)
        except LookupError:
            raise click.ClickException(f"no tenant with slug {slug!r}") from None
    rate = events / seconds if seconds > 0 else 0.0
    console.print(
        f"rebuilt {len(tasks)} tenant(s): {events:,} events in {seconds:.2f}s ({rate:,.0f} events/s)"
    )


@click.group("audit")
def audit() -> None:
    """Auditing: verify a tenant's hash chain over its stored events."""


@audit.command("verify")
@click.option("--tenant", "slug", required=True, help="Slug of the tenant whose chain to verify.")
@click.pass_context
def verify_command(ctx: click.Context, slug: str) -> None:
    """Recompute the tenant's hash chain from its event store and compare it with the recorded
    links and the heads anchored in the control plane. Exit code 0 when intact (the verified
    head is then anchored), 1 naming the first event that does not match."""
    from services.bootstrap import container_for
    from services.controlplane import ControlPlane
    from services.readmodel.verify import verify_then_catch_up

    tenant_id = ControlPlane.tenant_id_for(slug)
    with container_for(_settings(ctx)) as container:
        if tenant_id not in {t.id for t in container.control.tenants()}:
            raise click.ClickException(f"no tenant with slug {slug!r}")
        # Checked before the views catch up, so nothing unverified is projected or chained.
        verdict = verify_then_catch_up(container, tenant_id)
    if verdict.intact:
        console.print(f"[green]{verdict.summary()}[/green]")
        return
    console.print(f"[red]{verdict.summary()}[/red]")
    ctx.exit(1)
