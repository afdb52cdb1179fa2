"""Read models built from each tenant's events, with tracking positions (exactly once, resumable)."""
