"""Stores the composition root builds for the adapters: idempotency keys and attempt counters,
in Redis or in memory. What the adapters do with them stays in the adapters."""
