"""Messages: who in an organisation receives which, and turning a topic off by its link."""
