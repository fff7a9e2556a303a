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


# A tally: one answer a row, its words above its bar, so long answers never crowd the bars.
ROW_HEIGHT, BAR_HEIGHT = 46, 16


def tally_chart(rows: list[tuple[str, int, int]], label: str) -> Markup:
    """A horizontal SVG bar chart of (answer, count, percent) rows, with a text alternative."""
    top = max((count for _, count, _ in rows), default=0) or 1
    height = ROW_HEIGHT * len(rows) + 4
    # The right margin fits "100% (20,000)" after the longest bar.
    pad_right = round(len(f"100% ({top:,})") * FONT * DIGIT_EM) + 8
    plot_w = WIDTH - pad_right
    parts = [
        f'<svg class="chart tally" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(label)}</title>",
    ]
    for index, (answer, count, share) in enumerate(rows):
        y = index * ROW_HEIGHT
        bar_y = y + FONT + 8
        width = plot_w * count / top
        parts.append(_label(0, y + FONT, "start", answer))
        parts.append(
            f'<rect x="0" y="{bar_y}" width="{max(width, 1):.1f}" height="{BAR_HEIGHT}" '
            f'fill="{BAR_COLOUR}"><title>{escape(answer)}: {count}</title></rect>'
        )
        parts.append(_label(width + 6, bar_y + BAR_HEIGHT - 2, "start", f"{share}% ({count:,})"))
    parts.append("</svg>")
    return Markup("".join(parts))
