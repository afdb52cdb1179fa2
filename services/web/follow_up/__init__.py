"""After the theme day: the follow-up meeting's decisions, and check-ins on the agreements."""
