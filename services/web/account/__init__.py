"""The signed-in person's own account: the language messages to them are written in."""
