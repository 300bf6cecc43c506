"""Small inline-SVG charts for the HTML report: no script, no external file, every text
escaped. Each mark carries a <title>, which browsers show as a tooltip on hover."""

from __future__ import annotations

import datetime as dt
import math
from html import escape

import numpy as np

WIDTH = 960  # viewBox width; the chart scales to the width of its container
CHAR_W = 7.2  # rough width of one character of the 12 px label font, for the label gutter


def _n(x: float) -> str:
    """A compact coordinate."""
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _svg(height: float, body: list[str], label: str) -> str:
    return (f'<svg class="chart" viewBox="0 0 {WIDTH} {_n(height)}" role="img" '
            f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">' + "".join(body) + "</svg>")


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round axis values covering [lo, hi]: steps of 1, 2, 2.5 or 5 times a power of ten."""
    span = hi - lo if hi > lo else max(abs(hi), 1.0)
    raw = span / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw * (1 - 1e-9))
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    return [i * step for i in range(first, max(last, first + 1) + 1)]


MAX_LABEL = 46  # characters of a row label; a longer one is cut, whole in its tooltip


def _gutter(labels) -> float:
    return 24 + CHAR_W * min(MAX_LABEL, max((len(s) for s in labels), default=0))


def _row_label(x: float, y: float, label: str) -> str:
    short = label if len(label) <= MAX_LABEL else label[:MAX_LABEL - 1] + "…"
    return (f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="end">{escape(short)}'
            f'{f"<title>{escape(label)}</title>" if short != label else ""}</text>')


def hbars(rows: list[tuple[str, list[tuple[str, str, float]]]], fmt, label: str,
          markers: list[float | None] | None = None, marker_label: str = "") -> str:
    """Horizontal bars, one row per (label, [(segment, colour, value), ...]): positive segments
    stacked rightwards from zero, negative ones leftwards, the total printed at the bar's end.
    ``markers`` draws one tick per row (a limit, say), named by ``marker_label``."""
    markers = markers or [None] * len(rows)
    gutter, row_h, top = _gutter(r[0] for r in rows), 26.0, 8.0
    pos = [sum(v for _, _, v in segs if v > 0) for _, segs in rows]
    neg = [sum(v for _, _, v in segs if v < 0) for _, segs in rows]
    ticks = nice_ticks(min([0.0, *neg]), max([0.0, *pos, *(m for m in markers if m is not None)]))
    lo, hi = ticks[0], ticks[-1]
    plot_w = WIDTH - gutter - 90  # room for the total on the right

    def x(v: float) -> float:
        return gutter + (v - lo) / (hi - lo) * plot_w

    height = top + row_h * len(rows) + 22
    body = [f'<line class="grid" x1="{_n(x(t))}" x2="{_n(x(t))}" y1="{_n(top)}" y2="{_n(height - 20)}"/>'
            f'<text class="tick" x="{_n(x(t))}" y="{_n(height - 6)}" text-anchor="middle">'
            f'{escape(fmt(t))}</text>' for t in ticks]
    for i, ((name, segs), marker) in enumerate(zip(rows, markers)):
        y = top + i * row_h
        body.append(_row_label(gutter - 8, y + row_h / 2 + 4, name))
        right, left = 0.0, 0.0
        for seg, colour, v in segs:
            a, b = (right, right + v) if v >= 0 else (left + v, left)
            right, left = (b, left) if v >= 0 else (right, a)
            body.append(f'<rect x="{_n(x(a))}" y="{_n(y + 4)}" width="{_n(max(x(b) - x(a), 0))}" '
                        f'height="{_n(row_h - 8)}" fill="{colour}"><title>{escape(name)}: {escape(seg)} '
                        f'{escape(fmt(v))}</title></rect>')
        total = sum(v for _, _, v in segs)
        body.append(f'<text class="value" x="{_n(x(max(right, 0)) + 6)}" y="{_n(y + row_h / 2 + 4)}">'
                    f'{escape(fmt(total))}</text>')
        if marker is not None:
            body.append(f'<line class="marker" x1="{_n(x(marker))}" x2="{_n(x(marker))}" y1="{_n(y + 1)}" '
                        f'y2="{_n(y + row_h - 1)}"><title>{escape(marker_label)} {escape(fmt(marker))}'
                        f'</title></line>')
    body.append(f'<line class="axis" x1="{_n(x(0))}" x2="{_n(x(0))}" y1="{_n(top)}" y2="{_n(height - 20)}"/>')
    return _svg(height, body, label)


def stacked_area(layers: list[tuple[str, str, np.ndarray]], below: list[tuple[str, str, np.ndarray]],
                 line: tuple[str, np.ndarray], days: list[str], unit: str, label: str) -> str:
    """An hourly stacked chart: ``layers`` stacked upwards, ``below`` (battery charging)
    downwards, ``line`` drawn over them, a separator and a label per 24 steps, and a tooltip
    per hour listing every value."""
    n = len(line[1])
    up = np.cumsum([np.zeros(n)] + [v for _, _, v in layers], axis=0)
    down = np.cumsum([np.zeros(n)] + [-v for _, _, v in below], axis=0)
    lo = min(0.0, float(down.min()))  # below zero only as far as charging goes
    ticks = nice_ticks(lo, max(float(up.max()), float(line[1].max()), 1e-9))
    hi, ticks = ticks[-1], [t for t in ticks if t >= lo]
    gutter, top, plot_h = 64.0, 24.0, 300.0
    plot_w = WIDTH - gutter - 10
    step = plot_w / max(n, 1)

    def x(i: float) -> float:
        return gutter + (i + 0.5) * step

    def y(v: float) -> float:
        return top + (hi - v) / (hi - lo) * plot_h

    body = _value_axis(ticks, y, gutter, unit, "{:,.0f}")
    for stack, items in ((up, layers), (down, below)):
        for k, (name, colour, _) in enumerate(items):
            edge = [f"{_n(x(i))},{_n(y(stack[k + 1][i]))}" for i in range(n)]
            back = [f"{_n(x(i))},{_n(y(stack[k][i]))}" for i in reversed(range(n))]
            body.append(f'<polygon points="{" ".join(edge + back)}" fill="{colour}">'
                        f'<title>{escape(name)}</title></polygon>')
    body.append(f'<polyline class="load" points="{" ".join(f"{_n(x(i))},{_n(y(v))}" for i, v in enumerate(line[1]))}">'
                f'<title>{escape(line[0])}</title></polyline>')
    body.append(f'<line class="axis" x1="{_n(gutter)}" x2="{WIDTH - 10}" y1="{_n(y(0))}" y2="{_n(y(0))}"/>')
    for d, day in enumerate(days):
        left = gutter + d * 24 * step
        body.append(f'<line class="sep" x1="{_n(left)}" x2="{_n(left)}" y1="{_n(top)}" y2="{_n(top + plot_h)}"/>'
                    f'<text class="tick" x="{_n(left + 12 * step)}" y="{_n(top + plot_h + 16)}" '
                    f'text-anchor="middle">{escape(day)}</text>')
    for i in range(n):
        values = "; ".join(f"{name} {v[i]:,.1f}" for name, _, v in layers + below if abs(v[i]) >= 0.05)
        hour = f"{days[i // 24]} {i % 24:02d}:00" if i // 24 < len(days) else f"step {i}"
        body.append(f'<rect class="hover" x="{_n(gutter + i * step)}" y="{_n(top)}" width="{_n(step)}" '
                    f'height="{_n(plot_h)}"><title>{escape(hour)}: {escape(line[0])} {line[1][i]:,.1f} {escape(unit)}'
                    f'{"; " if values else ""}{escape(values)}</title></rect>')
    return _svg(top + plot_h + 24, body, label)


def line_chart(t: np.ndarray, series: list[tuple[str, str, np.ndarray]], hlines: list[tuple[str, float]],
               x_unit: str, unit: str, label: str) -> str:
    """Lines against ``t``, with dotted horizontal lines at ``hlines`` (limits)."""
    values = [float(v) for _, _, s in series for v in (s.min(), s.max())] + [v for _, v in hlines]
    ticks = nice_ticks(min(values), max(values))
    lo, hi = ticks[0], ticks[-1]
    gutter, top, plot_h = 64.0, 24.0, 260.0
    plot_w = WIDTH - gutter - 10
    t0, t1 = float(t[0]), float(t[-1]) if t[-1] > t[0] else float(t[0]) + 1

    def x(v: float) -> float:
        return gutter + (v - t0) / (t1 - t0) * plot_w

    def y(v: float) -> float:
        return top + (hi - v) / (hi - lo) * plot_h

    body = _value_axis(ticks, y, gutter, unit, "{:,.4g}")
    for v in nice_ticks(t0, t1, 8):
        if t0 <= v <= t1:
            body.append(f'<text class="tick" x="{_n(x(v))}" y="{_n(top + plot_h + 16)}" '
                        f'text-anchor="middle">{v:,.4g} {escape(x_unit)}</text>')
    for name, value in hlines:
        body.append(f'<line class="limit" x1="{_n(gutter)}" x2="{WIDTH - 10}" y1="{_n(y(value))}" '
                    f'y2="{_n(y(value))}"><title>{escape(name)} {value:,.4g} {escape(unit)}</title></line>')
    for name, colour, s in series:
        points = " ".join(f"{_n(x(a))},{_n(y(b))}" for a, b in zip(t, s))
        body.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.6">'
                    f'<title>{escape(name)}</title></polyline>')
    return _svg(top + plot_h + 24, body, label)


def gantt(rows: list[tuple[str, list[tuple[dt.date, dt.date, str, str, str]]]], start: dt.date,
          end: dt.date, label: str) -> str:
    """A Gantt chart: one row per (label, [(from, to, colour, css class, tooltip), ...]) over
    [start, end), with a tick at each new year (or at each quarter for spans under two years)."""
    gutter, row_h, top = _gutter(r[0] for r in rows), 22.0, 8.0
    plot_w = WIDTH - gutter - 10
    days = max((end - start).days, 1)

    def x(d: dt.date) -> float:
        return gutter + min(max((d - start).days, 0), days) / days * plot_w

    height = top + row_h * len(rows) + 22
    months = 3 if days < 730 else 12
    tick = dt.date(start.year, 1, 1)
    body = []
    while tick <= end:
        if tick >= start:
            text = str(tick.year) if tick.month == 1 else f"Q{(tick.month - 1) // 3 + 1}"
            anchor = "end" if x(tick) > WIDTH - 30 else "middle"
            body.append(f'<line class="grid" x1="{_n(x(tick))}" x2="{_n(x(tick))}" y1="{_n(top)}" '
                        f'y2="{_n(height - 20)}"/><text class="tick" x="{_n(x(tick))}" y="{_n(height - 6)}" '
                        f'text-anchor="{anchor}">{text}</text>')
        month = tick.month - 1 + months
        tick = dt.date(tick.year + month // 12, month % 12 + 1, 1)
    for i, (name, spans) in enumerate(rows):
        y = top + i * row_h
        body.append(_row_label(gutter - 8, y + row_h / 2 + 4, name))
        for a, b, colour, css, title in spans:
            body.append(f'<rect class="{css}" x="{_n(x(a))}" y="{_n(y + 3)}" width="{_n(max(x(b) - x(a), 1.5))}" '
                        f'height="{_n(row_h - 6)}" fill="{colour}"><title>{escape(title)}</title></rect>')
    return _svg(height, body, label)


def _value_axis(ticks, y, gutter: float, unit: str, label: str) -> list[str]:
    """Horizontal grid lines with their values at the left, and the unit above them."""
    return [f'<line class="grid" x1="{_n(gutter)}" x2="{WIDTH - 10}" y1="{_n(y(t))}" y2="{_n(y(t))}"/>'
            f'<text class="tick" x="{_n(gutter - 6)}" y="{_n(y(t) + 4)}" text-anchor="end">{label.format(t)}</text>'
            for t in ticks] + [f'<text class="tick" x="{_n(gutter - 6)}" y="10" text-anchor="end">{escape(unit)}</text>']
