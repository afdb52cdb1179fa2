"""The pages people touch: server-rendered HTML (Litestar templates, HTMX for the live parts).

Each area of the product is a package of its own, laid out as its templates are (`audit/`,
`board/`, `consultant/`, `dashboards/`, `follow_up/`, `participant/`, `report/`, `auth/`); each
module of pages exports its handlers as `PAGES` and which access each needs as `POLICY` (in the
vocabulary of `services/access.py`), gathered in `routes.py` into the pages' rows of the app's
declared access table. What all areas share sits here at the root (rendering, i18n, labels,
forms, refusals, errors, commands; `charts/` draws for the dashboards, the board and the
report). Templates live in `templates/`, assets in `static/` (served by the app itself: nothing
comes from a CDN), catalogues in `locale/`.
"""
