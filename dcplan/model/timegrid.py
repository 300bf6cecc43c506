"""The time steps a model is dispatched on: the full year, or weighted typical days.

A :class:`TimeGrid` holds, for each modelled hour, the index of the calendar hour it stands for,
its weight (calendar hours it represents), and the cycle it belongs to (storage state of charge
wraps within a cycle: the whole year, or each typical day). Demand charges need each month's peak;
with typical days, a month's peak is taken over the typical days that represent its days.

A build-out period of a quarter is dispatched on a grid of that quarter's months alone; its
weights still sum to 8,760 h, so every quantity a grid yields is a yearly rate (a quarter's
costs are its rate times a quarter of a year).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from dcplan.series import HOURS_PER_YEAR

DAYS = HOURS_PER_YEAR // 24


@dataclass(frozen=True)
class TimeGrid:
    hour_of_year: np.ndarray  # calendar hour (0..8759) each step samples
    weight: np.ndarray  # hours each step stands for in a year (sums to 8,760)
    cycle: np.ndarray  # storage cycle id of each step
    month_steps: tuple[np.ndarray, ...]  # for each month, the steps whose peak counts toward it
    method: str  # "hourly" or "typical_days"
    typical_days: int | None = None
    peak_days: int = 0  # of the typical days, those kept for a peak hour no other reached

    @property
    def n(self) -> int:
        return len(self.hour_of_year)

    def previous(self) -> np.ndarray:
        """Index of the step before each step, wrapping within its cycle."""
        prev = np.arange(self.n) - 1
        starts = np.flatnonzero(np.r_[True, self.cycle[1:] != self.cycle[:-1]])
        ends = np.r_[starts[1:], self.n] - 1
        prev[starts] = ends
        return prev

    def sample(self, series: np.ndarray) -> np.ndarray:
        return series[self.hour_of_year]

    def months(self) -> list[int]:
        """The months (0-11) this grid represents."""
        return [m for m in range(12) if len(self.month_steps[m])]


@functools.lru_cache(maxsize=8)
def month_of_hour(year: int) -> np.ndarray:
    """The month (0-11) of each of the year's 8,760 hours, counted from January 1st (in a leap
    year, December 31st is left out). Read-only: one array per year for every caller (a plan's
    timeline checks ask for it 24 times, 7 ms each when built with dates)."""
    days = np.datetime64(f"{year:04d}-01-01") + np.arange(HOURS_PER_YEAR // 24)
    months = np.repeat(days.astype("datetime64[M]").astype(int) % 12, 24)
    months.flags.writeable = False
    return months


ALL_MONTHS = tuple(range(12))


def hourly_grid(year: int, months: tuple[int, ...] = ALL_MONTHS) -> TimeGrid:
    month = month_of_hour(year)
    hours = np.flatnonzero(np.isin(month, months))
    index = {int(h): i for i, h in enumerate(hours)}
    return TimeGrid(hours, np.full(len(hours), HOURS_PER_YEAR / len(hours)), np.zeros(len(hours), dtype=int),
                    tuple(np.array([index[int(h)] for h in np.flatnonzero(month == m)] if m in months else [],
                                   dtype=int) for m in range(12)), "hourly")


def grid_of_steps(hour_of_year: np.ndarray, weight: np.ndarray, year: int, typical_days: bool) -> TimeGrid:
    """The time grid of a plan's dispatch read back from its steps (a committed plan): typical
    days are its runs of 24 steps, each a storage cycle; otherwise the steps are one cycle. A
    month's peak is taken over the steps of that month."""
    hours = np.asarray(hour_of_year, dtype=int)
    month = month_of_hour(year)[hours]
    n = len(hours)
    cycle = np.arange(n) // 24 if typical_days else np.zeros(n, dtype=int)
    return TimeGrid(hours, np.asarray(weight, dtype=float), cycle,
                    tuple(np.flatnonzero(month == m) for m in range(12)),
                    "typical_days" if typical_days else "hourly", n // 24 if typical_days else None)


def typical_days_grid(features: list[np.ndarray], n_days: int, year: int,
                      months: tuple[int, ...] = ALL_MONTHS, peaks: tuple[np.ndarray, ...] = ()) -> TimeGrid:
    """Cluster the days of ``months`` into ``n_days`` groups by their hourly ``features`` (each
    8,760 values; scaled to unit range) and represent each group by its medoid day, weighted by
    size (scaled so that the weights stand for a year).

    ``peaks`` (8,760 values each, such as a cooling option's PUE): a series whose highest hour in
    ``months`` no chosen day reaches brings that day in as a group of its own (one more day, taken
    from its group's weight), as extreme periods are kept in energy models: a medoid is an average
    day, and a plan dispatched on average days alone was found short in the hottest hours of its
    quarter (139 h in a build-out's summer). k-means with k-means++ seeding from a fixed seed: the
    same inputs give the same days.
    """
    day_month = month_of_hour(year)[::24]
    days = np.flatnonzero(np.isin(day_month, months))
    n_days = min(n_days, len(days))
    cols = []
    for f in features:
        span = float(np.ptp(f))
        if span > 1e-12:
            cols.append(((f - f.min()) / span).reshape(DAYS, 24)[days])
    X = np.hstack(cols) if cols else np.zeros((len(days), 1))
    labels = _kmeans(X, n_days, np.random.default_rng(0))
    medoids, sizes = _medoids(X, labels)
    clustered = len(medoids)
    for series in peaks:
        daily_peak = np.asarray(series, dtype=float).reshape(DAYS, 24)[days].max(axis=1)
        hottest = int(np.argmax(daily_peak))
        if daily_peak[hottest] > daily_peak[medoids].max() + 1e-9 * max(1.0, abs(daily_peak[hottest])):
            labels[hottest] = labels.max() + 1
            medoids, sizes = _medoids(X, labels)
    order = np.argsort(medoids)
    medoids = medoids[order]
    weights = sizes[order] * DAYS / len(days)
    label_to_rep = {int(labels[m]): i for i, m in enumerate(medoids)}
    hours = (days[medoids][:, None] * 24 + np.arange(24)[None, :]).ravel()
    weight = np.repeat(weights, 24)
    cycle = np.repeat(np.arange(len(medoids)), 24)
    month_steps = []
    for m in range(12):
        reps = sorted({label_to_rep[int(labels[i])] for i in np.flatnonzero(day_month[days] == m)})
        month_steps.append(np.concatenate([np.arange(r * 24, r * 24 + 24) for r in reps] or [np.array([], int)]))
    return TimeGrid(hours, weight, cycle, tuple(month_steps), "typical_days", len(medoids), len(medoids) - clustered)


def _medoids(X: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each non-empty group's member nearest its centre, and the group's size (days)."""
    medoids, sizes = [], []
    for k in np.unique(labels):
        members = np.flatnonzero(labels == k)
        centre = X[members].mean(axis=0)
        medoids.append(int(members[np.argmin(((X[members] - centre) ** 2).sum(axis=1))]))
        sizes.append(members.size)
    return np.array(medoids), np.array(sizes, dtype=float)


def _kmeans(X: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    centres = [X[rng.integers(len(X))]]
    for _ in range(1, k):
        d2 = np.min([((X - c) ** 2).sum(axis=1) for c in centres], axis=0)
        total = d2.sum()
        centres.append(X[rng.choice(len(X), p=d2 / total)] if total > 0 else X[rng.integers(len(X))])
    C = np.array(centres)
    labels = np.zeros(len(X), dtype=int)
    for _ in range(100):
        dist = ((X[:, None, :] - C[None, :, :]) ** 2).sum(axis=2)
        new = dist.argmin(axis=1)
        if _ and np.array_equal(new, labels):
            break
        labels = new
        for j in range(k):
            if np.any(labels == j):
                C[j] = X[labels == j].mean(axis=0)
    return labels
