"""Charts as inline SVG drawn on the server: no JavaScript chart library, readable without scripts."""

from __future__ import annotations

from html import escape

from markupsafe import Markup

from shared.reports import Chart

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 16, 48
COLOURS = ("#7a1030", "#d08a2a", "#2f6f8f", "#4d8a3c")


def _number(value: float) -> str:
    if abs(value) >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if abs(value) >= 10_000:
        return f"{value / 1000:.0f}k"
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def render_chart(chart: Chart, title: str) -> Markup:
    """An accessible SVG: a title, y grid with values, x labels, bars or lines, and a legend."""
    values = [v for _, series in chart.series for v in series]
    top = max([*values, 0.0]) or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    count = max(len(chart.labels), 1)
    step = plot_w / count

    def y(value: float) -> float:
        return TOP + plot_h - (value / top) * plot_h

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    for i in range(5):
        level = top * i / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(level):.1f}" y2="{y(level):.1f}" '
            f'class="grid"/><text x="{LEFT - 6}" y="{y(level) + 4:.1f}" text-anchor="end" '
            f'class="axis">{_number(level)}{escape(chart.unit if chart.unit == "%" else "")}</text>'
        )
    every = max(1, count // 8)
    for index, label in enumerate(chart.labels):
        if index % every == 0:
            x = LEFT + step * index + step / 2
            parts.append(
                f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
                f'class="axis">{escape(label[5:] if len(label) == 10 else label)}</text>'
            )
    lanes = len(chart.series)
    for lane, (name, series) in enumerate(chart.series):
        colour = COLOURS[lane % len(COLOURS)]
        if chart.kind == "bar":
            width = step * 0.8 / lanes
            for index, value in enumerate(series):
                x = LEFT + step * index + step * 0.1 + width * lane
                parts.append(
                    f'<rect x="{x:.1f}" y="{y(value):.1f}" width="{width:.1f}" '
                    f'height="{TOP + plot_h - y(value):.1f}" fill="{colour}">'
                    f"<title>{escape(name)} {escape(chart.labels[index])}: {_number(value)}</title></rect>"
                )
        else:
            points = " ".join(f"{LEFT + step * i + step / 2:.1f},{y(v):.1f}" for i, v in enumerate(series))
            parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts.append(
            f'<rect x="{LEFT + lane * 160}" y="{HEIGHT - 18}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{LEFT + lane * 160 + 14}" y="{HEIGHT - 9}" class="legend">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above is escaped
