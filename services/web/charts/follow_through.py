"""How agreements were followed through at 6, 12 and 24 months (the dashboards' longitudinal
page): one stacked bar per horizon, each part patterned and labelled with its share."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from markupsafe import Markup

from domain.agreements import CheckInStatus
from projections.queries import NO_CHECK_IN, FollowThrough
from services.web.charts.svg import (
    LINE,
    MUTED,
    PAPER,
    element,
    halo,
    image,
    patterns,
    text_at,
    tooltip,
)
from services.web.i18n import as_percent
from services.web.i18n import gettext as _
from services.web.labels import check_in_label

FOLLOW_THROUGH_FILLS: dict[str, tuple[str, str | None]] = {
    CheckInStatus.IMPLEMENTED.value: ("#44BB99", None),
    CheckInStatus.IN_PROGRESS.value: ("#77AADD", "lines"),
    CheckInStatus.LAPSED.value: ("#EE8866", "dots"),
    CheckInStatus.ABANDONED.value: ("#FFAABB", "cross"),
    NO_CHECK_IN: ("#DDDDDD", "hatch"),
}


def follow_through_chart(items: Sequence[FollowThrough], *, chart_id: str = "follow-through") -> Markup:
    """How agreements were followed through at 6, 12 and 24 months: one stacked bar per horizon
    of the agreements old enough for it, split by their latest check-in by then, each part
    patterned and labelled with its share."""
    left, bar, row = 150.0, 600.0, 64
    keys = list(FOLLOW_THROUGH_FILLS)
    body = [element("defs", patterns(chart_id))]
    for position, item in enumerate(items):
        y = 20 + position * row
        body.append(
            text_at(
                left - 12,
                y + 20,
                _("%(months)s months", months=item.months),
                text_anchor="end",
                font_weight=700,
            )
        )
        body.append(
            text_at(
                left - 12,
                y + 38,
                _("Agreements: %(count)s", count=item.agreements),
                text_anchor="end",
                fill=MUTED,
                font_size=12,
            )
        )
        if not item.agreements:
            body.append(
                element(
                    "rect", x=left, y=y, width=bar, height=36, fill=PAPER, stroke=LINE, stroke_dasharray="4 3"
                )
            )
            body.append(
                text_at(left + 12, y + 24, _("No agreements old enough yet"), fill=MUTED, font_size=13)
            )
            continue
        x = left
        for key in keys:
            share = Decimal(item.shares.get(key, "0"))
            if share <= 0:
                continue
            width = round(bar * float(share), 1)
            colour, pattern = FOLLOW_THROUGH_FILLS[key]
            words = f"{check_in_label(key)}: {as_percent(float(share))} ({item.counts.get(key, 0)})"
            parts = tooltip(words) + element(
                "rect", x=x, y=y, width=width, height=36, fill=colour, stroke=PAPER, stroke_width=1.5
            )
            if pattern:
                parts += element("rect", x=x, y=y, width=width, height=36, fill=f"url(#{chart_id}-{pattern})")
            if width >= 44:
                parts += text_at(
                    round(x + width / 2, 1),
                    y + 24,
                    as_percent(float(share)),
                    text_anchor="middle",
                    font_size=13,
                    font_weight=700,
                    **halo(),
                )
            body.append(element("g", parts))
            x += width
    legend_y = 30 + len(items) * row
    x = 10.0
    for key in keys:
        colour, pattern = FOLLOW_THROUGH_FILLS[key]
        body.append(element("rect", x=x, y=legend_y - 14, width=18, height=18, fill=colour, stroke=MUTED))
        if pattern:
            body.append(
                element("rect", x=x, y=legend_y - 14, width=18, height=18, fill=f"url(#{chart_id}-{pattern})")
            )
        label = check_in_label(key)
        body.append(text_at(x + 24, legend_y, label, font_size=13))
        x += 44 + 8 * len(label)
    description = " ".join(
        _("%(months)s months: agreements %(count)s", months=i.months, count=i.agreements)
        + (
            " ("
            + ", ".join(
                f"{check_in_label(k)} {as_percent(float(Decimal(i.shares[k])))}"
                for k in keys
                if k in i.shares
            )
            + ")."
            if i.agreements
            else "."
        )
        for i in items
    )
    return image(chart_id, 800, legend_y + 24, _("Follow-through of agreements"), description, "".join(body))
