"""The outbox page for the consultancy admin: what was sent, what waits, what failed."""
