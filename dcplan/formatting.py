"""Numbers for people, as the terminal and the report both print them."""

from __future__ import annotations


def _not_a_number(x) -> str | None:
    """'-' for a missing figure, a word as it is (a plan file writes an infinite value as null);
    None for a number."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return "-" if x is None else str(x)
    return None


def fixed(x, digits: int = 0, unit: str = "", prefix: str = "") -> str:
    """1,234.5 MW: ``digits`` decimals, with separators; '-' for a missing figure."""
    word = _not_a_number(x)
    return word if word is not None else f"{prefix}{x:,.{digits}f}{unit}"


def counted(n: int, noun: str) -> str:
    """'1 round', '2 rounds', '1,234 scenarios': a count and its noun, plural unless one."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def month_span(n: float) -> str:
    """'1 month', '2.5 months', '18 months': a span in months, as short as it is exact."""
    return f"{n:g} month{'' if n == 1 else 's'}"


def money(x, million_digits: int = 1) -> str:
    """$1.43 B, $115.4 M, $21,675; solver round-off shows as $0, not $-0; '-' for a missing
    figure. ``million_digits``: decimals of a figure in millions (the smoothing report, whose
    costs are a few millions, shows 2)."""
    word = _not_a_number(x)
    if word is not None:
        return word
    x = x if abs(x) >= 0.5 else 0.0
    if round(abs(x) / 1e6, million_digits) >= 1000:  # $999.96 M reads $1.00 B, not $1,000.0 M
        return f"${x / 1e9:,.2f} B"
    if abs(x) >= 1e6:
        return f"${x / 1e6:,.{million_digits}f} M"
    return f"${x:,.0f}"


def figure(x) -> str:
    """A quantity in a table: 1.23 B, 45.60 M, 1,234 or 0.125; '-' for none."""
    word = _not_a_number(x)
    if word is not None:
        return word
    for scale, suffix in ((1e9, " B"), (1e6, " M")):
        if abs(x) >= scale:
            return f"{x / scale:,.2f}{suffix}"
    return f"{x:,.3f}" if abs(x) < 10 else f"{x:,.0f}"


def gap_words(gap: float, share: float = 1.0) -> str:
    """0.380% of the power system's cost: a plan's optimality gap, of the share of its cost it
    was measured against (``share`` below 1: the power system's, as ``--mip-gap`` asks it)."""
    return f"{gap:.3%}" + (" of the power system's cost" if share < 1.0 else "")


def quantity(x: float) -> str:
    """A quantity in a sentence: whole numbers with separators (1,234; 150), else four digits (0.1235)."""
    return f"{x:,.0f}" if abs(x) >= 100 or float(x).is_integer() else f"{x:,.4g}"


def per_tonne(x: float | None) -> str:
    """$737 (a cost per tonne); '-' for none."""
    return "-" if not isinstance(x, (int, float)) else f"${x:,.0f}"


SINGULAR = {"units": "unit", "GPUs": "GPU"}


def amount(value: float, unit: str) -> str:
    """An order's or bridge's amount: '3 units', '1 unit', '146.7 MW IT' (one decimal where it
    has one; a counted unit singular for one)."""
    text = f"{value:,.1f}".removesuffix(".0")
    return f"{text} {SINGULAR.get(unit, unit) if text == '1' else unit}"


def time_resolution_words(resolution: dict, period_peak_days: list[int] | tuple = ()) -> str:
    """"13 typical days (1 kept for its peak hour)" or "8,760 hours", from plan.yaml's
    ``time_resolution``; a build-out whose periods kept different numbers of days for a peak
    hour (``period_peak_days``, one per period) says how many did."""
    if resolution.get("method") != "typical_days":  # a build-out's periods have their own hours
        return "hourly" if resolution.get("periods") else f"{resolution.get('steps') or 8760:,} hours"
    days, peak = resolution.get("typical_days") or 0, resolution.get("peak_days") or 0
    if len(set(period_peak_days)) > 1:
        asked = days - peak
        kept = sum(1 for k in period_peak_days if k)
        return (f"{asked} typical day{'' if asked == 1 else 's'} (up to {max(period_peak_days)} more kept for a peak "
                f"hour in {kept} of {len(period_peak_days)} periods)")
    return f"{days} typical day{'' if days == 1 else 's'}" + (f" ({peak} kept for its peak hour)" if peak else "")
