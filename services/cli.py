"""The `balkort` command: serve the product, onboard tenants, create users, seed the demo.

Settings come from the environment (see services/settings.py), like the server's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

import click
from rich.console import Console
from rich.table import Table

from domain.errors import DomainError
from domain.provenance import Provenance
from domain.roles import Role
from projections.commands import audit, projections, projector
from services.bootstrap import Container, build_container
from services.controlplane import system_provenance
from services.settings import Settings, SettingsError

console = Console()

# Actions taken from the command line are recorded as taken by the platform operator.
OPERATOR_ID = uuid5(NAMESPACE_URL, "balkort:operator")


def operator_provenance(tenant_id: UUID, command: str) -> Provenance:
    return system_provenance(
        command, actor_id=OPERATOR_ID, tenant_id=tenant_id, correlation_id=f"cli-{uuid4().hex[:12]}"
    )


@contextmanager
def container_for(settings: Settings) -> Iterator[Container]:
    container = build_container(settings)
    try:
        yield container
    finally:
        close_views = getattr(container.views, "close_blocking", None)
        if close_views is not None:
            close_views()
        container.tenants.close()
        container.control.close()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def main(ctx: click.Context) -> None:
    """Balkort: balkortmetoden as an event-sourced, multi-tenant service."""
    try:
        ctx.obj = Settings.from_environ()
    except SettingsError as error:
        raise click.ClickException(str(error)) from None


# How long `serve` lets open requests finish when asked to stop (SIGTERM, Ctrl+C).
SHUTDOWN_GRACE_SECONDS = 5


@main.command()
@click.option("--host", default=None, help="Interface to listen on (default from BALKORT_HOST, 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default from BALKORT_PORT, 8000).")
@click.pass_obj
def serve(settings: Settings, host: str | None, port: int | None) -> None:
    """Serve the pages and the HTTP API on the configured stores."""
    import uvicorn

    from services.demo import DEMO_PASSWORD, DEMO_USERS, demo_exists
    from services.http.app import create_app

    settings = settings.with_changes(host=host or settings.host, port=port or settings.port)
    container = build_container(settings)
    address = f"http://{settings.host}:{settings.port}"
    console.print(
        f"[bold]Balkort[/bold] on {address}  (stores: {'PostgreSQL' if settings.uses_postgres else f'SQLite in {settings.data_dir}/'})"
    )
    console.print(f"  Open {address}/ in a browser (theme-day tables join at {address}/join)")
    console.print(f"  API reference: {address}/schema   OpenAPI: {address}/schema/openapi.json")
    if demo_exists(container):
        console.print(f"  Sign in as one of the demo users, password [bold]{DEMO_PASSWORD}[/bold]:")
        for user in DEMO_USERS:
            console.print(f"    {user.email:<28} {user.name}")
    uvicorn.run(
        create_app(settings, container),
        host=settings.host,
        port=settings.port,
        log_level="info",
        # Live streams (the board, the console) never end by themselves: on shutdown they get
        # this long, then are cut; browsers reconnect to another process.
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
    )


@main.group()
def tenants() -> None:
    """Client organisations (tenants): onboard, list, export and erase."""


@tenants.command("create")
@click.argument("name")
@click.option("--slug", required=True, help="Short, permanent, URL-safe name, e.g. soeby-kommune.")
@click.pass_obj
def tenants_create(settings: Settings, name: str, slug: str) -> None:
    """Onboard a client organisation: record it and create its own event store."""
    with container_for(settings) as container:
        try:
            tenant_id = container.onboard_tenant(
                name, slug, operator_provenance(container.control.tenant_id_for(slug), "OnboardTenant")
            )
        except DomainError as error:
            raise click.ClickException(error.message) from None
    console.print(f"onboarded {name} as {slug} ({tenant_id})")


@tenants.command("list")
@click.pass_obj
def tenants_list(settings: Settings) -> None:
    """List the client organisations."""
    with container_for(settings) as container:
        rows = container.control.tenants()
    table = Table("slug", "name", "id")
    for tenant in rows:
        table.add_row(tenant.slug, tenant.name, str(tenant.id))
    console.print(table)


@tenants.command("erase")
@click.argument("slug")
@click.option("--yes", is_flag=True, help="Confirm without being asked (scripts).")
@click.pass_obj
def tenants_erase(settings: Settings, slug: str, yes: bool) -> None:
    """Erase a client organisation for good: delete its encryption key (crypto-shredding), drop
    its event store and read models, and leave only an erasure record (who, when, slug, id).

    Cannot be undone. Asks for the slug again unless --yes is given.
    """
    if not yes:
        typed = click.prompt(
            f"This erases {slug} and all its data for good. Type the slug to confirm", default=""
        )
        if typed.strip() != slug:
            raise click.ClickException("not confirmed; nothing was erased")
    with container_for(settings) as container:
        tenant_id = container.control.tenant_id_for(slug)
        try:
            container.erase_tenant(slug, operator_provenance(tenant_id, "EraseTenant"))
        except DomainError as error:
            raise click.ClickException(f"no tenant with slug {slug!r} ({error.message})") from None
    console.print(f"erased {slug} ({tenant_id}): key deleted, event store and read models dropped")


@tenants.command("export")
@click.argument("slug")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to write the export into (created).",
)
@click.pass_obj
def tenants_export(settings: Settings, slug: str, out: Path) -> None:
    """Export a client organisation whole: its events decrypted (JSON lines), the hash-chain
    export, its organisation and engagement read models, and a manifest with each file's SHA-256."""
    from services.export import export_to

    with container_for(settings) as container:
        tenant_id = container.control.tenant_id_for(slug)
        try:
            container.control.tenant(tenant_id)
        except DomainError:
            raise click.ClickException(f"no tenant with slug {slug!r}") from None
        manifest = export_to(container, tenant_id, out)
    verdict = "chain intact" if manifest.chain_intact else "CHAIN BROKEN"
    console.print(
        f"exported {slug}: {manifest.events} events, {manifest.engagements} engagements, {verdict} "
        f"up to position {manifest.chain_verified_to} -> {out}"
    )
    if not manifest.chain_intact:
        raise SystemExit(1)


@main.group()
def users() -> None:
    """People who sign in."""


@users.command("create")
@click.argument("email")
@click.option("--name", "display_name", required=True, help="Display name.")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Password (prompted if absent).",
)
@click.option(
    "--platform-role",
    type=click.Choice([Role.CONSULTANCY_ADMIN.value, Role.CONSULTANT.value]),
    default=None,
    help="Role on the whole platform.",
)
@click.option("--tenant", "tenant_slug", default=None, help="Grant a role in this tenant (slug).")
@click.option(
    "--role",
    "tenant_role",
    type=click.Choice([r.value for r in Role if r is not Role.CONSULTANCY_ADMIN]),
    default=None,
    help="The role in --tenant.",
)
@click.pass_obj
def users_create(
    settings: Settings,
    email: str,
    display_name: str,
    password: str,
    platform_role: str | None,
    tenant_slug: str | None,
    tenant_role: str | None,
) -> None:
    """Create a user, optionally with a role on the platform and a role in one tenant."""
    if (tenant_slug is None) != (tenant_role is None):
        raise click.UsageError("--tenant and --role go together")
    with container_for(settings) as container:
        control = container.control
        try:
            user_id = control.register_user(
                email,
                display_name,
                password,
                Role(platform_role) if platform_role else None,
                operator_provenance(OPERATOR_ID, "RegisterUser"),
            )
            if tenant_slug and tenant_role:
                tenant_id = control.tenant_id_for(tenant_slug)
                control.tenant(tenant_id)
                control.grant_membership(
                    user_id, tenant_id, Role(tenant_role), operator_provenance(tenant_id, "GrantMembership")
                )
        except DomainError as error:
            raise click.ClickException(error.message) from None
    console.print(f"created {email} ({user_id})")


@main.group()
def demo() -> None:
    """The demo consultancy and client organisation."""


@demo.command("seed")
@click.option("--if-empty", is_flag=True, help="Do nothing when the demo has been seeded already.")
@click.pass_obj
def demo_seed(settings: Settings, if_empty: bool) -> None:
    """Seed a municipality's health and care area with three years of engagements."""
    from services.demo import demo_exists, seed_demo

    with container_for(settings) as container:
        if demo_exists(container):
            if if_empty:
                console.print("demo already seeded")
                return
            raise click.ClickException("the demo has been seeded already in these stores")
        with console.status("seeding three years of engagements ..."):
            tenant_id = seed_demo(container)
    console.print(f"seeded the demo client organisation ({tenant_id})")


main.add_command(projector)
main.add_command(projections)
main.add_command(audit)
