"""The `balkort` command: serve the product, onboard tenants, create users, seed the demo.

Settings come from the environment (see services/settings.py), like the server's.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

import click
from rich.console import Console
from rich.table import Table

from domain.errors import DomainError
from domain.provenance import Provenance
from domain.roles import Role
from services.bootstrap import build_container, container_for
from services.controlplane import system_provenance
from services.memberships import Memberships
from services.migrations import SchemaBehind, migrate
from services.observability.logs import configure_logging
from services.readmodel.commands import audit, projections, projector
from services.settings import Settings, SettingsError

console = Console()

# Actions taken from the command line are recorded as taken by the platform operator.
OPERATOR_ID = uuid5(NAMESPACE_URL, "balkort:operator")


def operator_provenance(tenant_id: UUID, command: str) -> Provenance:
    return system_provenance(
        command, actor_id=OPERATOR_ID, tenant_id=tenant_id, correlation_id=f"cli-{uuid4().hex[:12]}"
    )


class _Commands(click.Group):
    """Says a settings problem (a secret missing or weak) or a database schema older than this
    release as a message, not a traceback, for every command: each opens the stores, and
    opening them checks both first."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (SettingsError, SchemaBehind) as error:
            raise click.ClickException(str(error)) from None


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
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

    from services.asgi import create_app
    from services.demo import DEMO_PASSWORD, DEMO_USERS, demo_exists
    from services.http.edge import SERVER_MAX_HEAD_BYTES

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
    # JSON lines (or console lines) for everything the process logs, uvicorn's included; the
    # app's own access line replaces uvicorn's, since it knows the request id, tenant and principal.
    configure_logging(settings)
    app = create_app(settings, container)
    # What start-up made (modules, the app, its routes and templates) lives as long as the
    # process: kept out of the collector's sight, a full collection walks only what requests
    # allocate (docs/benchmarks.md, P4).
    gc.collect()
    gc.freeze()
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        log_config=None,
        access_log=False,
        # The client address and scheme come from X-Forwarded-* only when the peer is one of
        # these proxies: per-address rate limits then count people, not the ingress.
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        # Live streams (the board, the console) never end by themselves: on shutdown they get
        # this long, then are cut; browsers reconnect to another process.
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
        # h11, not httptools: only h11 bounds how much of a request line and headers the server
        # buffers before it gives up (httptools reads any size). The app answers 431 below this.
        http="h11",
        h11_max_incomplete_event_size=SERVER_MAX_HEAD_BYTES,
    )


@main.command("migrate")
@click.pass_obj
def migrate_command(settings: Settings) -> None:
    """Bring the database's schema up to this release: the control plane, then every tenant, each
    in its own transaction. Run it once before a release's processes start (they refuse an older
    schema). Safe to repeat, and concurrent runs wait for each other. The embedded default
    (SQLite) migrates itself as it starts: nothing to do there."""
    if not settings.uses_postgres:
        console.print("the embedded default (SQLite) migrates itself as it starts; nothing to do")
        return
    with console.status("migrating ..."):
        done = migrate(settings)
    console.print(done.summary())


@main.group()
def tenants() -> None:
    """Client organisations (tenants): onboard, list, export and erase."""


@tenants.command("create")
@click.argument("name")
@click.option("--slug", required=True, help="Short, permanent, URL-safe name, e.g. soeby-kommune.")
@click.pass_obj
def tenants_create(settings: Settings, name: str, slug: str) -> None:
    """Onboard a client organisation: record it and create its own event store."""
    from services.usecases.tenants import onboard_tenant

    with container_for(settings) as container:
        try:
            tenant_id = onboard_tenant(
                container,
                name,
                slug,
                operator_provenance(container.control.tenant_id_for(slug), "OnboardTenant"),
            )
        except DomainError as error:
            raise click.ClickException(error.message) from None
    console.print(f"onboarded {name} as {slug} ({tenant_id})")


@tenants.command("list")
@click.option("--slugs", "slugs_only", is_flag=True, help="Only the slugs, one a line (for scripts).")
@click.pass_obj
def tenants_list(settings: Settings, slugs_only: bool) -> None:
    """List the client organisations."""
    with container_for(settings) as container:
        rows = container.control.tenants()
    if slugs_only:
        # Plain lines, not the table: a loop over every tenant reads them (the runbooks do).
        click.echo("\n".join(tenant.slug for tenant in rows))
        return
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
    from services.usecases.tenants import erase_tenant

    with container_for(settings) as container:
        tenant_id = container.control.tenant_id_for(slug)
        try:
            erase_tenant(container, slug, operator_provenance(tenant_id, "EraseTenant"))
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
    from services.usecases.tenants import export_tenant

    with container_for(settings) as container:
        tenant_id = container.control.tenant_id_for(slug)
        try:
            container.control.tenant(tenant_id)
        except DomainError:
            raise click.ClickException(f"no tenant with slug {slug!r}") from None
        manifest = export_tenant(container, slug, out)
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
                # Through the tenant's member roster, so the grant stands in its audit trail.
                Memberships(control, container.tenants).grant(
                    tenant_id, user_id, Role(tenant_role), operator_provenance(tenant_id, "GrantMembership")
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


@main.group()
def keys() -> None:
    """The master key that wraps every tenant's encryption key."""


@keys.command("rotate-master")
@click.option(
    "--new-key-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="File holding the new master key (base64 of 32 bytes), e.g. a mounted secret. Asked for when absent.",
)
@click.pass_obj
def keys_rotate_master(settings: Settings, new_key_file: Path | None) -> None:
    """Re-wrap every tenant's key under a new master key, in one transaction; no event changes.

    Run it with the current key in BALKORT_MASTER_KEY, then give every process the new key and
    restart them, then run it once more with the same two keys: a tenant onboarded in between
    under the old key is re-wrapped then, and keys already under the new one are left alone.
    """
    from services.persistence.keys import MASTER_KEY_FILE, TenantKeys, master_key

    text = (
        new_key_file.read_text(encoding="ascii")
        if new_key_file is not None
        else click.prompt("New master key (base64 of 32 bytes)", hide_input=True)
    ).strip()
    new_master = master_key(settings.with_changes(master_key=text))
    if new_master == master_key(settings):
        raise click.ClickException("the new master key is the current one; nothing to rotate")
    rewrapped = TenantKeys(settings).rewrap(new_master)
    if settings.master_key is None:
        # The embedded default keeps its key in the data directory: replace it, privately.
        path = Path(settings.data_dir) / MASTER_KEY_FILE
        staged = path.with_name(f"{MASTER_KEY_FILE}.new")
        staged.unlink(missing_ok=True)
        fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(text)
        staged.replace(path)
        console.print(f"re-wrapped {rewrapped} tenant key(s); {path} now holds the new master key")
        return
    console.print(
        f"re-wrapped {rewrapped} tenant key(s) under the new master key. Now set BALKORT_MASTER_KEY "
        "to it in every process and restart them, then run this once more with the same two keys."
    )


main.add_command(projector)
main.add_command(projections)
main.add_command(audit)
