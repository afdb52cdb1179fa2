"""The consultancy's pages: the portfolio, an organisation's home, preparing an engagement, and
the facilitator console that runs the theme day (join codes and the dialogue schedule beside it)."""
