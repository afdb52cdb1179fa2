"""The follow-up report: its agenda, and its pages as HTML and PDF."""
