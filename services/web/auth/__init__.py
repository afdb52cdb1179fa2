"""Signing in and out, joining a table with a join code, the language, and the organisations."""
