"""The numbered rows of a form that adds several things at once: `agreement-1`, `proposal-2`, …

A row's field name says its kind and its place on the page; the page's script adds rows by the
same naming. This reads the form's own field names, never a refusal's words.
"""

from __future__ import annotations

import re

# An agreement or proposal row: its kind, and its number (its order on the page).
OUTCOME_ROW = re.compile(r"^(agreement|proposal)-(\d{1,3})$")
