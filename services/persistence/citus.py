"""What Balkort needs to know about a Citus cluster (docs/adr/0002, docs/adr/0025).

On Citus every tenant's schema is a *distributed schema*: its tables (events, snapshots, keys,
views) live together on one worker, and a statement that names only that schema is routed to
that worker. The control plane stays on the coordinator. Every process connects to the
coordinator.

The extension and the list of nodes are kept per database: `create_database` makes a database
on every node of the cluster that `admin_url` belongs to and registers the nodes in it, which
is what tests and benchmarks do for each database they make (and what an operator does once,
deploy/runbooks/citus.md). On plain PostgreSQL it is a plain `CREATE DATABASE`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

Conn = psycopg.Connection[Any]
CONNECT_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class Node:
    host: str
    port: int


def is_citus(conn: Conn) -> bool:
    """Whether the database `conn` is connected to has the Citus extension."""
    return conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'citus'").fetchone() is not None


def workers(conn: Conn) -> list[Node]:
    """The active primary workers registered in this (Citus) database."""
    rows = conn.execute(
        "SELECT nodename, nodeport FROM pg_dist_node "
        "WHERE groupid <> 0 AND noderole = 'primary' AND isactive ORDER BY nodeid"
    ).fetchall()
    return [Node(str(host), int(port)) for host, port in rows]


def coordinator(conn: Conn) -> Node | None:
    row = conn.execute("SELECT nodename, nodeport FROM pg_dist_node WHERE groupid = 0").fetchone()
    return None if row is None else Node(str(row[0]), int(row[1]))


def distributed_schemas(conn: Conn) -> dict[str, Node]:
    """Every distributed schema of this database and the worker its tables live on."""
    rows = conn.execute(
        "SELECT s.schema_name::text, sh.nodename, sh.nodeport FROM citus_schemas s "
        "JOIN citus_shards sh ON sh.citus_table_type = 'schema' "
        "AND sh.table_name::text LIKE quote_ident(s.schema_name::text) || '.%' "
        "GROUP BY 1, 2, 3"
    ).fetchall()
    return {str(schema): Node(str(host), int(port)) for schema, host, port in rows}


def with_database(url: str, dbname: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{dbname}"))


def node_url(url: str, node: Node, dbname: str = "postgres") -> str:
    """`url` pointed at `node` (and database `dbname`), with the same user and options."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{node.host}:{node.port}" if userinfo else f"{node.host}:{node.port}"
    return urlunsplit(parts._replace(netloc=netloc, path=f"/{dbname}"))


def _connect(url: str) -> Conn:
    return psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS)


def create_database(admin_url: str, dbname: str) -> str:
    """Creates `dbname` where `admin_url` points and returns its URL. When `admin_url`'s
    database is a Citus coordinator's, the new database is one too: created on every worker,
    the extension in it on every node, the coordinator and workers registered."""
    with _connect(admin_url) as admin:
        citus = is_citus(admin)
        nodes = workers(admin) if citus else []
        me = coordinator(admin) if citus else None
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    url = with_database(admin_url, dbname)
    if not citus:
        return url
    for node in nodes:
        with _connect(node_url(admin_url, node, "postgres")) as worker:
            worker.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        with _connect(node_url(admin_url, node, dbname)) as worker:
            worker.execute("CREATE EXTENSION citus")
    with _connect(url) as conn:
        conn.execute("CREATE EXTENSION citus")
        if me is not None:
            conn.execute("SELECT citus_set_coordinator_host(%s, %s)", (me.host, me.port))
        for node in nodes:
            conn.execute("SELECT citus_add_node(%s, %s)", (node.host, node.port))
    return url


def drop_database(admin_url: str, dbname: str) -> None:
    """Drops `dbname` where `admin_url` points, and on every worker of a Citus cluster."""
    with _connect(admin_url) as admin:
        nodes = workers(admin) if is_citus(admin) else []
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))
    for node in nodes:
        with _connect(node_url(admin_url, node, "postgres")) as worker:
            worker.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))
