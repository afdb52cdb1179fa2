"""The use cases: what the product does, request-free, for both adapters (the API in
`services.http`, the pages in `services.web`) and the demo.

`bus` holds the command base, the one table from command to handler, and `execute`; the
modules beside it hold the commands by area, the reads, join codes, the audit trail and
lineage, and the tenant lifecycle. Nothing here imports Litestar: an adapter turns a request
into arguments (and provenance), calls in here, and turns the answer into a response.

Importing the package imports every command module, so the table is complete.
"""

from services.usecases import engagements, follow_up, notifications, organisation, theme_day
from services.usecases.bus import HANDLERS, Command, execute, handle, query

__all__ = [
    "HANDLERS",
    "Command",
    "engagements",
    "execute",
    "follow_up",
    "handle",
    "notifications",
    "organisation",
    "query",
    "theme_day",
]
