"""People: invitations, members and roles, accounts, forgotten passwords (docs/adr/0029)."""
