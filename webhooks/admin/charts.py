"""A bar chart drawn on the server as SVG: no scripts, no build step, readable without colour."""

from __future__ import annotations

from datetime import date

from markupsafe import Markup, escape

# A narrow drawing with large type: on a phone the SVG shrinks to ~340 px and stays readable.
WIDTH, HEIGHT, PAD_BOTTOM, PAD_TOP = 480, 200, 28, 16
FONT = 16
# An average digit is about 0.6 em wide in the sans-serif fonts browsers pick.
DIGIT_EM = 0.6
BAR_COLOUR = "#0b5c8a"
AXIS_COLOUR = "#4a5560"


def _label(x: float, y: float, anchor: str, text: str) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{FONT}" '
        f'fill="{AXIS_COLOUR}">{escape(text)}</text>'
    )


def replies_chart(series: list[tuple[date, int]], label: str) -> Markup:
    """An SVG bar chart of counts per day, with a text alternative."""
    peak = max((count for _, count in series), default=0)
    top = max(peak, 1)
    peak_text = f"{peak:,}"
    # The left margin fits the largest count, so "20,000" is never cut to "0,000".
    pad_left = round(len(peak_text) * FONT * DIGIT_EM) + 10
    plot_w, plot_h = WIDTH - pad_left, HEIGHT - PAD_BOTTOM - PAD_TOP
    step = plot_w / max(len(series), 1)
    baseline = PAD_TOP + plot_h
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(label)}</title>",
        f'<line x1="{pad_left}" y1="{baseline}" x2="{WIDTH}" y2="{baseline}" '
        f'stroke="{AXIS_COLOUR}" stroke-width="1"/>',
        _label(pad_left - 6, PAD_TOP + FONT * 0.75, "end", peak_text),
        _label(pad_left - 6, baseline, "end", "0"),
    ]
    for index, (day, count) in enumerate(series):
        height = plot_h * count / top
        x = pad_left + index * step + step * 0.15
        parts.append(
            f'<rect x="{x:.1f}" y="{baseline - height:.1f}" width="{step * 0.7:.1f}" '
            f'height="{height:.1f}" fill="{BAR_COLOUR}"><title>{day:%d %b}: {count}</title></rect>'
        )
    if series:
        parts.append(_label(pad_left, HEIGHT - 6, "start", f"{series[0][0]:%d %b}"))
        parts.append(_label(WIDTH, HEIGHT - 6, "end", f"{series[-1][0]:%d %b}"))
    parts.append("</svg>")
    return Markup("".join(parts))
