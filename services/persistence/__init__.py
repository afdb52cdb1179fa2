"""Event stores: one per tenant plus the control plane, on SQLite (embedded) or PostgreSQL."""
