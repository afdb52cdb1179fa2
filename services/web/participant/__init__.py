"""A unit's table on the theme day, one module for each of its steps."""
