"""Regression tests for the promises at the edges: hostile input, dropped connections, secrets."""
