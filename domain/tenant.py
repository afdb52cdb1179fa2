from __future__ import annotations

import re
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import AlreadyExists, InvariantViolated, NotFound
from domain.provenance import Provenance

TENANT_NAMESPACE = UUID("0b7e3c2a-9d4f-5e61-8a3b-4c5d6e7f8091")
TENANT_DIRECTORY_ID = uuid5(TENANT_NAMESPACE, "tenant-directory")
SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def _checked_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise InvariantViolated("tenant_needs_name")
    return name


def _checked_slug(slug: str) -> str:
    if not SLUG.match(slug):
        raise InvariantViolated("slug_invalid", slug=slug)
    return slug


class Tenant(Aggregate):
    """A client organisation, as the control plane knows it."""

    name: str
    slug: str

    @staticmethod
    def create_id(slug: str) -> UUID:
        return uuid5(TENANT_NAMESPACE, slug)

    @classmethod
    def onboard(cls, name: str, slug: str, provenance: Provenance) -> Tenant:
        return cls(name=_checked_name(name), slug=_checked_slug(slug), provenance=provenance)

    @event("Onboarded")
    def __init__(self, name: str, slug: str, provenance: Provenance) -> None:
        self.name = name
        self.slug = slug

    def rename(self, name: str, provenance: Provenance) -> None:
        name = _checked_name(name)
        if name != self.name:
            self._renamed(name=name, provenance=provenance)

    @event("Renamed")
    def _renamed(self, name: str, provenance: Provenance) -> None:
        self.name = name

    @property
    def erased(self) -> bool:
        return getattr(self, "erased_slug", None) is not None

    def erase(self, provenance: Provenance) -> None:
        """The erasure record: who erased the organisation, and when (in the provenance), its
        slug and id. It carries no content: the name goes from the current state too."""
        if self.erased:
            raise NotFound("tenant_erased", tenant=str(self.id))
        self._erased(slug=self.slug, provenance=provenance)

    @event("TenantErased")
    def _erased(self, slug: str, provenance: Provenance) -> None:
        self.erased_slug = slug
        self.name = ""


class TenantDirectory(Aggregate):
    """Every tenant on the platform by id, with slug and name; keeps slugs unique."""

    entries: dict[str, tuple[str, str]]

    @staticmethod
    def create_id() -> UUID:
        return TENANT_DIRECTORY_ID

    @event("Opened")
    def __init__(self, provenance: Provenance) -> None:
        self.entries = {}

    def add(self, tenant_id: UUID, slug: str, name: str, provenance: Provenance) -> None:
        for known_id, (known_slug, _) in self.entries.items():
            if known_slug == slug:
                raise AlreadyExists("slug_taken", state=f"tenant {known_id}", slug=slug)
        if str(tenant_id) in self.entries:
            raise AlreadyExists("tenant_listed", tenant=str(tenant_id))
        self._added(tenant_id=tenant_id, slug=slug, name=name, provenance=provenance)

    @event("TenantAdded")
    def _added(self, tenant_id: UUID, slug: str, name: str, provenance: Provenance) -> None:
        self.entries[str(tenant_id)] = (slug, name)

    def rename(self, tenant_id: UUID, name: str, provenance: Provenance) -> None:
        if str(tenant_id) not in self.entries:
            raise NotFound("no_tenant", tenant=str(tenant_id))
        self._renamed(tenant_id=tenant_id, name=name, provenance=provenance)

    @event("TenantRenamed")
    def _renamed(self, tenant_id: UUID, name: str, provenance: Provenance) -> None:
        slug, _ = self.entries[str(tenant_id)]
        self.entries[str(tenant_id)] = (slug, name)

    def remove(self, tenant_id: UUID, provenance: Provenance) -> None:
        """The tenant was erased: it is no longer listed (its slug stays retired with its id)."""
        if str(tenant_id) not in self.entries:
            raise NotFound("no_tenant", tenant=str(tenant_id))
        self._removed(tenant_id=tenant_id, provenance=provenance)

    @event("TenantRemoved")
    def _removed(self, tenant_id: UUID, provenance: Provenance) -> None:
        del self.entries[str(tenant_id)]

    def tenants(self) -> dict[UUID, tuple[str, str]]:
        return {UUID(key): value for key, value in self.entries.items()}
