"""The read model's processes and commands, beside the composition root: the projector worker,
rebuilds, the chain's verification against the control plane, and the CLI commands that run
them. The read model itself (events to documents and rows) is `projections/`, which imports
nothing from here."""
