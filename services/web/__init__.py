"""The pages people touch: server-rendered HTML (Litestar templates, HTMX for the live parts).

Each part of the product is a module of its own (`*_pages.py`) exporting its handlers as
`PAGES` and which access each needs as `POLICY` (in the vocabulary of `services/access.py`),
gathered in `routes.py` into the pages' rows of the app's declared access table. Templates live
in `templates/`, assets in `static/` (served by the app itself: nothing comes from a CDN),
catalogues in `locale/`.
"""
