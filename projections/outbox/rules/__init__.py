"""Rules: which events cause which messages. Each module here defines `rules`, a tuple of
`Rule`; `projections.outbox.registry` gathers every module's, so a new kind of message is a
new module (no shared list to edit)."""
