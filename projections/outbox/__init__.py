"""The outbox: what events decide must be sent (rules → message intents), kept as a projection
with its own tracking positions, one per event log (docs/adr/0030)."""
