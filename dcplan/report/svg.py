"""Small inline-SVG charts for the HTML report: no script, no external file, every text
escaped. Each mark carries a <title>, which browsers show as a tooltip on hover."""

from __future__ import annotations

import datetime as dt
import math
import textwrap
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


MAX_LABEL = 46  # characters of a line of a row label; a longer label is cut, whole in its tooltip
LINE_H = 13.0  # px between the lines of a wrapped label


def shorten(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters, cut after a whole word and marked '…', so that
    no word is shown half (a single word longer than ``limit`` is the only one cut)."""
    if len(text) <= limit:
        return text
    head = text[:limit - 1]  # room for the '…'
    if text[limit - 1] != " " and " " in head:  # the cut falls inside a word: leave that word out
        head = head[:head.rfind(" ")]
    return head.rstrip(" ,;:·(") + "…"


def wrap(text: str, width: int = MAX_LABEL, lines: int = 2) -> list[str]:
    """``text`` on at most ``lines`` lines of ``width`` characters, broken between words (never
    inside one, not even at a hyphen); what does not fit is cut after a word."""
    out = textwrap.wrap(text, width, break_on_hyphens=False) or [""]
    if len(out) > lines:
        out = out[:lines - 1] + [shorten(" ".join(out[lines - 1:]), width)]
    return out


def fit(text: str, suffix: str) -> str:
    """``text`` then ``suffix`` (a quantity, say) on two lines of MAX_LABEL: ``text`` cut
    after a word as far as it takes to keep the whole ``suffix`` in view."""
    for limit in range(len(text), 0, -1):
        label = f"{shorten(text, limit)} {suffix}"
        if " ".join(wrap(label)) == label:
            return label
    return suffix


def _gutter(labels) -> float:
    return 24 + CHAR_W * min(MAX_LABEL, max((len(s) for s in labels), default=0))


def _row_label(x: float, y: float, label: str, title: str = "", lines: int = 1) -> str:
    """A row's label, right-aligned at ``x`` and centred on ``y``: on up to ``lines`` lines,
    cut after a word if it is longer; the whole text (or ``title``) in its tooltip when any is hidden."""
    shown = wrap(label, MAX_LABEL, lines)
    title = title or label
    first = y - (len(shown) - 1) * LINE_H / 2
    body = "".join(f'<tspan x="{_n(x)}" y="{_n(first + i * LINE_H)}">{escape(line)}</tspan>'
                   for i, line in enumerate(shown)) if len(shown) > 1 else escape(shown[0])
    tip = f"<title>{escape(title)}</title>" if " ".join(shown) != title else ""
    return f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="end">{body}{tip}</text>'


def hbars(rows: list[tuple[str, list[tuple[str, str, float]]]], fmt, label: str,
          markers: list[float | None] | None = None, marker_label: str = "", group: int = 0) -> str:
    """Horizontal bars, one row per (label, [(segment, colour, value), ...]): positive segments
    stacked rightwards from zero, negative ones leftwards, the total printed at the bar's end.
    ``markers`` draws one tick per row (a limit, say), named by ``marker_label``. ``group``: the
    rows come in groups of that many (two plans' bars of one source, say), a gap between groups."""
    markers = markers or [None] * len(rows)
    gutter, row_h, top = _gutter(r[0] for r in rows), 26.0, 8.0
    gap = row_h / 2 if group > 0 else 0.0
    groups = -(-len(rows) // group) if group > 0 else 1
    pos = [sum(v for _, _, v in segs if v > 0) for _, segs in rows]
    neg = [sum(v for _, _, v in segs if v < 0) for _, segs in rows]
    ticks = nice_ticks(min([0.0, *neg]), max([0.0, *pos, *(m for m in markers if m is not None)]))
    lo, hi = ticks[0], ticks[-1]
    plot_w = WIDTH - gutter - 90  # room for the total on the right

    def x(v: float) -> float:
        return gutter + (v - lo) / (hi - lo) * plot_w

    height = top + row_h * len(rows) + gap * max(groups - 1, 0) + 22
    body = [f'<line class="grid" x1="{_n(x(t))}" x2="{_n(x(t))}" y1="{_n(top)}" y2="{_n(height - 20)}"/>'
            f'<text class="tick" x="{_n(x(t))}" y="{_n(height - 6)}" text-anchor="middle">'
            f'{escape(fmt(t))}</text>' for t in ticks]
    for i, ((name, segs), marker) in enumerate(zip(rows, markers)):
        y = top + i * row_h + (gap * (i // group) if group > 0 else 0.0)
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


def line_chart(t: np.ndarray, series: list[tuple[str, str, np.ndarray] | tuple[str, str, np.ndarray, float]],
               hlines: list[tuple[str, float]], x_unit: str, unit: str, label: str,
               x_labels: list[str] | None = None, dots: list[str] | None = None) -> str:
    """Lines against ``t``, with dotted horizontal lines at ``hlines`` (limits). A series may
    carry a fourth item, its line's width (1.6 by default): a wide pale line under a thin one
    keeps both in view where they coincide. ``x_labels``: a label per value of ``t`` (build-out
    periods, say) in place of numeric ticks, as many as fit, the first and last points half a
    step in from the edges. ``dots``: a tooltip per point of the first series, each drawn as a dot."""
    values = [float(v) for _, _, s, *_ in series for v in (s.min(), s.max())] + [v for _, v in hlines]
    ticks = nice_ticks(min(values), max(values))
    lo, hi = ticks[0], ticks[-1]
    gutter, top, plot_h = 64.0, 24.0, 260.0
    plot_w = WIDTH - gutter - 10
    t0, t1 = float(t[0]), float(t[-1]) if t[-1] > t[0] else float(t[0]) + 1
    if x_labels is not None:  # a point per label, half a step from each edge
        half = (t1 - t0) / max(len(t) - 1, 1) / 2
        t0, t1 = t0 - half, t1 + half

    def x(v: float) -> float:
        return gutter + (v - t0) / (t1 - t0) * plot_w

    def y(v: float) -> float:
        return top + (hi - v) / (hi - lo) * plot_h

    body = _value_axis(ticks, y, gutter, unit, "{:,.4g}")
    if x_labels is not None:
        room = CHAR_W * max((len(s) for s in x_labels), default=1) + 12  # px a label needs
        every = max(1, math.ceil(room / (plot_w / max(len(t), 1))))
        for i in range(0, len(t), every):
            body.append(f'<line class="grid" x1="{_n(x(t[i]))}" x2="{_n(x(t[i]))}" y1="{_n(top)}" '
                        f'y2="{_n(top + plot_h)}"/><text class="tick" x="{_n(x(t[i]))}" '
                        f'y="{_n(top + plot_h + 16)}" text-anchor="middle">{escape(x_labels[i])}</text>')
    for v in nice_ticks(t0, t1, 8) if x_labels is None else []:
        if t0 <= v <= t1:
            body.append(f'<text class="tick" x="{_n(x(v))}" y="{_n(top + plot_h + 16)}" '
                        f'text-anchor="middle">{v:,.4g} {escape(x_unit)}</text>')
    for name, value in hlines:
        body.append(f'<line class="limit" x1="{_n(gutter)}" x2="{WIDTH - 10}" y1="{_n(y(value))}" '
                    f'y2="{_n(y(value))}"><title>{escape(name)} {value:,.4g} {escape(unit)}</title></line>')
    for name, colour, s, *width in series:
        points = " ".join(f"{_n(x(a))},{_n(y(b))}" for a, b in zip(t, s))
        body.append(f'<polyline points="{points}" fill="none" stroke="{colour}" '
                    f'stroke-width="{_n(width[0] if width else 1.6)}">'
                    f'<title>{escape(name)}</title></polyline>')
    if dots is not None and series:
        _, colour, s, *_ = series[0]
        body += [f'<circle cx="{_n(x(a))}" cy="{_n(y(b))}" r="4.5" fill="{colour}" stroke="#fff" stroke-width="1.5">'
                 f'<title>{escape(tip)}</title></circle>' for a, b, tip in zip(t, s, dots)]
    return _svg(top + plot_h + 24, body, label)


def gantt(rows: list[tuple[str, list[tuple[dt.date, dt.date, str, str, str]]]], start: dt.date,
          end: dt.date, label: str, titles: list[str] | None = None) -> str:
    """A Gantt chart: one row per (label, [(from, to, colour, css class, tooltip), ...]) over
    [start, end), with a tick at each new year (or at each quarter for spans under two years).
    A long label wraps onto a second line (all rows then grow to fit two), ``titles`` the
    tooltip of each label where it does not show whole."""
    titles = titles or [""] * len(rows)
    lines = [wrap(name) for name, _ in rows]
    two = any(len(w) > 1 for w in lines)
    gutter, row_h, top = _gutter(line for w in lines for line in w), 34.0 if two else 22.0, 8.0
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
    for i, ((name, spans), tip) in enumerate(zip(rows, titles)):
        y = top + i * row_h
        body.append(_row_label(gutter - 8, y + row_h / 2 + 4, name, tip, 2))
        for a, b, colour, css, title in spans:
            body.append(f'<rect class="{css}" x="{_n(x(a))}" y="{_n(y + row_h / 2 - 8)}" '
                        f'width="{_n(max(x(b) - x(a), 1.5))}" height="16" fill="{colour}">'
                        f'<title>{escape(title)}</title></rect>')
    return _svg(height, body, label)


def _value_axis(ticks, y, gutter: float, unit: str, label: str) -> list[str]:
    """Horizontal grid lines with their values at the left, and the unit above them."""
    return [f'<line class="grid" x1="{_n(gutter)}" x2="{WIDTH - 10}" y1="{_n(y(t))}" y2="{_n(y(t))}"/>'
            f'<text class="tick" x="{_n(gutter - 6)}" y="{_n(y(t) + 4)}" text-anchor="end">{label.format(t)}</text>'
            for t in ticks] + [f'<text class="tick" x="{_n(gutter - 6)}" y="10" text-anchor="end">{escape(unit)}</text>']


def blend(colour: str, towards: str, amount: float) -> str:
    """``colour`` moved ``amount`` (0 to 1) of the way to ``towards``: shades and tints of one hue."""
    a, b = (np.array([int(c[i:i + 2], 16) for i in (1, 3, 5)], dtype=float) for c in (colour, towards))
    return "#" + "".join(f"{round(v):02x}" for v in a + (b - a) * amount)


def heatmap(cells: np.ndarray, colour: str, columns: list[tuple[int, str]], titles: list[str], unit: str,
            label: str, calendar: bool = True) -> str:
    """A heat map with a column per day and a row per hour of the day (midnight at the top):
    ``cells`` (days × 24, NaN where there is no value) shaded from white to ``colour`` in bins
    of round values from the least non-zero value to the most (so that a source that never
    stops still shows how it varies), keyed at the right. ``columns`` labels columns (index,
    text; a newline for two lines): on a ``calendar`` each label starts a month, marked by a
    line, otherwise it is centred under its column. ``titles`` is a tooltip per column. The
    cells of a bin are one path, drawn with crisp edges: a year of hours stays small, not one
    element per hour."""
    days = len(cells)
    positive = cells[np.isfinite(cells) & (cells > 1e-3)]
    lo, hi = (float(positive.min()), float(positive.max())) if positive.size else (0.0, 1.0)
    ticks = [t for t in nice_ticks(lo, hi, 6) if t >= 0]
    bins = len(ticks) - 1
    shades = [blend("#ffffff", colour, 0.2 + 0.8 * k / bins) for k in range(1, bins + 1)]
    gutter, top, cell_h, key_w = 48.0, 8.0, 9.0, 150.0
    plot_w, plot_h = WIDTH - gutter - key_w, 24 * cell_h
    cell_w = plot_w / max(days, 1)
    level = np.where(np.isfinite(cells), np.clip(np.searchsorted(ticks, cells, side="left"), 1, bins), -1)
    level[np.isfinite(cells) & (cells <= 1e-3)] = 0  # nothing: left white
    paths: dict[int, list[str]] = {}
    for d in range(days):
        h = 0
        while h < 24:
            run = h
            while run + 1 < 24 and level[d, run + 1] == level[d, h]:
                run += 1
            if level[d, h] != 0:  # absolute edges, shared with the neighbours: no seam between cells
                x0, x1 = _n(gutter + d * cell_w), _n(gutter + (d + 1) * cell_w)
                paths.setdefault(int(level[d, h]), []).append(
                    f"M{x0} {_n(top + h * cell_h)}H{x1}V{_n(top + (run + 1) * cell_h)}H{x0}z")
            h = run + 1
    body = [f'<rect x="{_n(gutter)}" y="{_n(top)}" width="{_n(plot_w)}" height="{_n(plot_h)}" fill="#fff" '
            f'stroke="#d9dee3"/>']
    for k, parts in sorted(paths.items()):
        fill = "#d9dee3" if k < 0 else shades[k - 1]
        body.append(f'<path d="{"".join(parts)}" fill="{fill}" shape-rendering="crispEdges"/>')
    for hour in (0, 6, 12, 18):
        body.append(f'<text class="tick" x="{_n(gutter - 6)}" y="{_n(top + (hour + 0.5) * cell_h + 4)}" '
                    f'text-anchor="end">{hour:02d}:00</text>')
    for index, text in columns:
        x = gutter + index * cell_w + (3 if calendar else cell_w / 2)
        if calendar:
            body.append(f'<line class="sep" x1="{_n(x - 3)}" x2="{_n(x - 3)}" y1="{_n(top)}" '
                        f'y2="{_n(top + plot_h + 4)}"/>')
        anchor = "start" if calendar else "middle"
        body.append(f'<text class="tick" y="{_n(top + plot_h + 15)}" text-anchor="{anchor}">'
                    + "".join(f'<tspan x="{_n(x)}" dy="{0 if i == 0 else 12}">{escape(line)}</tspan>'
                              for i, line in enumerate(text.split("\n"))) + "</text>")
    for d, title in enumerate(titles):
        body.append(f'<rect class="hover" x="{_n(gutter + d * cell_w)}" y="{_n(top)}" width="{_n(cell_w)}" '
                    f'height="{_n(plot_h)}"><title>{escape(title)}</title></rect>')
    kx = WIDTH - key_w + 16
    body.append(f'<text class="tick" x="{_n(kx)}" y="{_n(top + 9)}">{escape(unit)}</text>')
    key = [("#ffffff", "0")] * bool(np.any(level == 0)) + [
        (shades[k], f"{ticks[k]:,.4g} to {ticks[k + 1]:,.4g}") for k in range(bins)]
    if np.any(level < 0):
        key.append(("#d9dee3", "no data"))
    for i, (fill, text) in enumerate(key):
        y = top + 16 + i * 16
        body.append(f'<rect x="{_n(kx)}" y="{_n(y)}" width="12" height="12" fill="{fill}" stroke="#d9dee3"/>'
                    f'<text class="tick" x="{_n(kx + 18)}" y="{_n(y + 10)}">{escape(text)}</text>')
    return _svg(top + plot_h + 36, body, label)
