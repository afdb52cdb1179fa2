"""A client organisation's life on the platform: onboarded (its own event store, then its
record), exported whole, erased for good (crypto-shredding). The admin API and the CLI call
these; all are blocking (run them off the event loop)."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path
from uuid import UUID

from domain.errors import AlreadyExists
from domain.provenance import Provenance
from services.bootstrap import Container
from services.export import Manifest, export_to


def onboard_tenant(container: Container, name: str, slug: str, provenance: Provenance) -> UUID:
    """Onboard a client organisation: its own event store first (creating it can be
    repeated safely), then its record on the platform. Raises AlreadyExists."""
    control = container.control
    tenant_id = control.tenant_id_for(slug)
    if control.slug_taken(slug):
        raise AlreadyExists("slug_taken", state=f"tenant {tenant_id}", slug=slug)
    if control.erased(tenant_id):
        raise AlreadyExists("slug_belonged_to_erased_tenant", state=f"tenant {tenant_id}", slug=slug)
    container.tenants.onboard(tenant_id)
    return control.onboard_tenant(name, slug, provenance)


def erase_tenant(container: Container, slug: str, provenance: Provenance) -> UUID:
    """Crypto-shreds a client organisation: its key deleted, its event store and read
    models dropped, an erasure record left in the control plane. Raises NotFound for a slug
    that names no tenant (or one erased already)."""
    tenant_id = container.control.tenant_id_for(slug)
    if container.control.erased(tenant_id):
        # A run that stopped half-way: finish it.
        finish_erasure(container, tenant_id)
        return tenant_id
    # The record first: from here on the tenant is gone for the platform (404), and a
    # failure below leaves a tenant that a second run finishes erasing.
    container.control.erase_tenant(tenant_id, provenance)
    finish_erasure(container, tenant_id)
    return tenant_id


def finish_erasure(container: Container, tenant_id: UUID) -> None:
    """The destructive part of an erasure (idempotent): its messages not yet sent, key,
    store and views."""
    container.outbox.forget(tenant_id)
    container.keys.delete(tenant_id)
    container.mappers.forget(tenant_id)
    container.views.forget(tenant_id)
    container.tenants.erase(tenant_id)


def export_tenant(container: Container, slug: str, out: Path) -> Manifest:
    """Export the client organisation `slug` whole into `out` (services/export.py says what is
    written). Raises NotFound for a slug that names no tenant."""
    tenant_id = container.control.tenant_id_for(slug)
    container.control.tenant(tenant_id)
    return export_to(container, tenant_id, out)


def export_archive(container: Container, slug: str) -> tuple[Manifest, bytes]:
    """The export of `export_tenant`, exactly those files, as one zip archive to download (the
    files at its top level, as the command writes them into its directory). Raises NotFound."""
    with tempfile.TemporaryDirectory(prefix="balkort-export-") as scratch:
        out = Path(scratch) / slug
        manifest = export_tenant(container, slug, out)
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
            for path in sorted(out.iterdir()):
                zipped.write(path, arcname=path.name)
    return manifest, archive.getvalue()
