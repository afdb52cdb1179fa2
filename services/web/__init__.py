"""The pages people touch: server-rendered HTML (Litestar templates, HTMX for the live parts).

Each part of the product is a module of its own (`*_pages.py`) exporting its handlers as
`PAGES` and who may open them as `POLICY`, which joins the declared access policy of the app
(`services/http/policy.py`). Templates live in `templates/`, assets in `static/` (served by the
app itself: nothing comes from a CDN), catalogues in `locale/`.
"""
