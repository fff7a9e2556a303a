"""A bar chart drawn on the server as SVG: no scripts, no build step, readable without colour."""

from __future__ import annotations

from datetime import date

from markupsafe import Markup, escape

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 640, 180, 36, 24, 12
BAR_COLOUR = "#0b5c8a"
AXIS_COLOUR = "#4a5560"


def replies_chart(series: list[tuple[date, int]], label: str) -> Markup:
    """An SVG bar chart of counts per day, with a text alternative."""
    peak = max((count for _, count in series), default=0)
    top = max(peak, 1)
    plot_w, plot_h = WIDTH - PAD_LEFT, HEIGHT - PAD_BOTTOM - PAD_TOP
    step = plot_w / max(len(series), 1)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(label)}</title>",
        f'<line x1="{PAD_LEFT}" y1="{PAD_TOP + plot_h}" x2="{WIDTH}" y2="{PAD_TOP + plot_h}" '
        f'stroke="{AXIS_COLOUR}" stroke-width="1"/>',
        f'<text x="{PAD_LEFT - 6}" y="{PAD_TOP + 10}" text-anchor="end" font-size="12" '
        f'fill="{AXIS_COLOUR}">{peak}</text>',
        f'<text x="{PAD_LEFT - 6}" y="{PAD_TOP + plot_h}" text-anchor="end" font-size="12" '
        f'fill="{AXIS_COLOUR}">0</text>',
    ]
    for index, (day, count) in enumerate(series):
        height = plot_h * count / top
        x = PAD_LEFT + index * step + step * 0.15
        parts.append(
            f'<rect x="{x:.1f}" y="{PAD_TOP + plot_h - height:.1f}" width="{step * 0.7:.1f}" '
            f'height="{height:.1f}" fill="{BAR_COLOUR}"><title>{day:%d %b}: {count}</title></rect>'
        )
    if series:
        for anchor, (day, _), x in (
            ("start", series[0], PAD_LEFT),
            ("end", series[-1], WIDTH),
        ):
            parts.append(
                f'<text x="{x}" y="{HEIGHT - 6}" text-anchor="{anchor}" font-size="12" '
                f'fill="{AXIS_COLOUR}">{day:%d %b}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))
