"""The HTTP API: Litestar app, routes, error mapping, idempotency."""
