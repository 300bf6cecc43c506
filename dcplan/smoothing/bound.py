"""A proven lower bound on a long trace's smoothing cost, from its pieces at full resolution
(Lagrangian relaxation in time, with a cutting-plane model over the battery's sizes).

Cut the whole trace's LP where the rolling horizon cut it, and give each piece a copy of what
joins it to the rest: the grid power its rows reach back to (ramps, per-minute ramps, swing
windows) and its starting charge. Requiring the copies to equal the originals is all that
couples the pieces once the battery's sizes are given. Priced instead (Lagrange), each piece is
a small LP of its own, and the sum of their optima, ``Phi(sizes)``, is at most the whole
trace's operating cost at those sizes, for *any* prices; the closer the prices are to the
marginal values at the optimum, the closer the sum. Each piece's optimum is convex in the sizes
and its reduced costs give a slope, so the cuts from a few sizes under-estimate ``Phi``
everywhere, and the least of the sizes' price plus the cuts is a bound on the whole problem
(Kelley's cutting planes; the sizes to try next are found within a box around the best so far).

The prices come from the rolling horizon's pieces (:class:`Marginals`): a held grid power's
reduced cost is what the piece would pay for it to be one MW higher, so a later piece's copy is
priced at that (subtracted from its cost) and the owner pays the same for the original (added);
stored energy has one price at every seam, the pieces' median: each piece's own differs a
little from the next one's, and a piece would carry energy from one price to the other.

Validity needs only that each copy's box hold every optimal schedule: grid power lies between
the band (or 0) and the most the load, the GPU settings, burn and the stores can add; a size is
at most its limit, or what would cost more than a schedule already found. What the pieces leave
out is a relaxation too: the spectral mask's total variation (a budget over the whole trace) is
dropped; a choice among GPU settings and the burn switch are relaxed, piece by piece (their fixed
costs shared by length).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp

from dcplan.smoothing.model import Boundary, ModelData, SeamPrices, build
from dcplan.solver.highs import INF, Compiled, Deadline, SolveOptions, Status, highs_lp, new_highs

MAX_ROUNDS = 20
"""Sizes tried at most (each a warm re-solve of every piece)."""
CLOSE = 1e-4
"""Stop when the bound is within this share of the best sizes' value."""
MERGE_GAP = 1e-3
"""Join pieces while the pieces' bound is further than this share below the schedule's cost."""
MERGE_MOST = 8
"""A joined piece spans at most this many of the rolling horizon's (a bounded LP)."""
JOIN_SHARE = 8
"""At most one join per this many pieces, plus one: joined pieces are re-solved cold, and where
the seams lose everywhere (the prices far off) joining them all would be the whole LP again."""


@dataclass
class Marginals:
    """What a rolling-horizon piece's LP says its seams are worth (USD a year per unit)."""

    start: int  # first step the piece committed
    stop: int  # one past its last committed step
    history: np.ndarray  # per held grid power before ``start`` (the steps ``start - len`` on)
    start_soc: dict[str, float]  # per store, per MJ of starting charge
    joined: int = 1  # how many of the rolling horizon's pieces it spans


@dataclass
class Bound:
    usd_per_year: float
    replanned: int  # windows of the schedule planned again
    sizes: tuple[float, float] | None = None  # the battery (MW, MJ) where the cuts' model is least
    model: _Cuts | None = None  # the cuts over the battery's sizes, for the next prices to add to


def lagrangian_bound(data: ModelData, pieces: list[Marginals], schedule: dict[str, np.ndarray], fixed_usd: float,
                     sizes: tuple[float, float], upper_usd: float, options: SolveOptions, deadline: Deadline,
                     replan: Callable[[int, int], bool] | None = None, model: _Cuts | None = None,
                     then_roll: bool = False) -> Bound | None:
    """The bound (USD a year, without the capacitors' fixed capital cost), or None when a box
    cannot be made finite, a piece has no optimum or the time runs out before every piece is
    solved once. ``data``: the whole trace at full resolution (every GPU setting); ``pieces``:
    the rolling horizon's, in order, covering it; ``schedule``: its arrays (``grid_mw``,
    ``battery_discharge_mw``, ``battery_soc_mj``, ``capacitor_soc_mj``), ``fixed_usd`` its
    costs that are not per step, ``sizes`` its battery (MW, MJ), where the cuts start, and
    ``upper_usd`` its cost (or a cheaper schedule's); ``model``: an earlier call's cuts (under
    another rolling horizon's prices), which this call's add to (the bound is then the better);
    ``then_roll``: the caller rolls the schedule again at the returned sizes, so the seams are
    joined (which tightens the bound at the schedule's sizes only) just where they lose more
    than other sizes promise.

    What each piece loses (its optimum below the schedule's cost on it, the seams priced alike:
    these add up to the gap) says where the gap is. Where a piece loses more than
    :data:`CLOSE` of the cost, ``replan(start, stop)`` plans the schedule again over it and its
    neighbours, in place (the rolling horizon may have looked too little ahead there: a
    checkpoint); what is still lost is lost at the seams, where the limits bind across them
    (a start, a checkpoint): the worst piece is joined with its neighbours and solved again,
    up to :data:`MERGE_MOST` rolling pieces each."""
    boxes = _boxes(data, upper_usd)
    if boxes is None:
        return None
    grid_box, soc_box, (power_max, energy_max) = boxes
    soc_usd = {s: float(np.median([p.start_soc.get(s, 0.0) for p in pieces])) for s in soc_box}
    pieces = list(pieces)
    if [p.start for p in pieces[1:]] != [p.stop for p in pieces[:-1]] or pieces[0].start or pieces[-1].stop != data.steps:
        return None  # the pieces must cover the trace once
    point = np.clip(np.asarray(sizes, dtype=float), 0.0, [power_max, energy_max])

    def made(k: int) -> _PieceLP:
        """Piece ``k``'s LP."""
        p = pieces[k]
        steps_usd = _steps_usd(pieces, data.steps)[p.start:p.stop]
        prices = SeamPrices(p.history, steps_usd, soc_usd, soc_usd, grid_box, soc_box)
        return _PieceLP(_piece(data, p, prices, point), options)

    def solved(k: int) -> _PieceLP | None:
        """Piece ``k``'s LP, solved at the schedule's sizes."""
        lp = made(k)
        return None if lp.solve(point, deadline) is None else lp

    lps = []
    with ThreadPoolExecutor(max_workers=1) as pool:  # each piece is built while the one before is solved
        solving = []
        for k in range(len(pieces)):
            if deadline.passed:
                break
            lps.append(made(k))
            solving.append(pool.submit(lps[-1].solve, point, deadline))
        if len(solving) < len(pieces) or any(f.result() is None for f in solving):
            return None

    def lost() -> np.ndarray:
        """Per piece, the schedule's cost on it less the piece's optimum: they add up to the
        schedule's cost less the pieces' bound (at the schedule's sizes)."""
        steps_usd = _steps_usd(pieces, data.steps)
        return np.array([_cost_on(data, p, SeamPrices(p.history, steps_usd[p.start:p.stop], soc_usd, soc_usd,
                                                      grid_box, soc_box), schedule, fixed_usd) - lp.value
                         for p, lp in zip(pieces, lps)])

    replanned = 0
    if replan is not None:  # where the schedule loses most, plan it again around that piece first
        done = np.zeros(len(pieces), dtype=bool)
        losses = lost()  # the schedule changes only where planned again, and ``done`` keeps off there
        for k in np.argsort(-losses):
            if losses[k] <= CLOSE * abs(upper_usd) or deadline.passed:
                break
            lo, hi = max(k - 1, 0), min(k + 1, len(pieces) - 1)
            if done[lo:hi + 1].any():
                continue
            done[lo:hi + 1] = True
            replanned += replan(pieces[lo].start, pieces[hi].stop)

    def join() -> bool:
        """What is still lost is lost at the seams: join the worst pieces with their neighbours.
        Whether any was."""
        joins, joined = len(pieces) // JOIN_SHARE + 1, False
        while joins and not deadline.passed:
            losses = lost()
            if losses.sum() <= MERGE_GAP * abs(upper_usd):
                break
            joins -= 1
            k = next((int(k) for k in np.argsort(-losses) if _span(pieces, int(k)) is not None), None)
            if k is None or losses[k] <= 0:
                break
            lo, hi = _span(pieces, k)
            group = pieces[lo:hi + 1]
            pieces[lo:hi + 1] = [_joined(group)]
            one = solved(lo)
            if one is None:  # out of time (or no optimum): the pieces as they were still bound
                pieces[lo:lo + 1] = group
                break
            lps[lo:hi + 1] = [one]
            joined = True
        return joined

    if data.battery is None:
        join()
        return Bound(sum(lp.value for lp in lps), replanned)
    model = model or _Cuts(data.battery)
    at_point = float(model.price @ point) + sum(lp.value for lp in lps)
    seams_lose = float(lost().sum())
    found = _kelley(model, lps, point, (power_max, energy_max), deadline)
    if found is not None and not (then_roll and seams_lose < at_point - found[0]):
        # more is lost at the schedule's seams than other sizes promise: close it there
        with ThreadPoolExecutor(max_workers=2) as pool:
            back = None not in pool.map(lambda lp: lp.solve(point, deadline), lps)
        if back and join():
            found = _kelley(model, lps, point, (power_max, energy_max), deadline) or found
    if found is None:
        return None
    return Bound(found[0], replanned, tuple(float(x) for x in found[1]), model)


def same_sizes(a, b) -> bool:
    """Whether two battery sizes (MW, MJ) are the same for rolling the schedule again."""
    return bool(np.allclose(a, b, rtol=1e-3, atol=1e-6))


def _kelley(model: _Cuts, lps: list[_PieceLP], point: np.ndarray, most: tuple[float, float],
            deadline: Deadline) -> tuple[float, np.ndarray] | None:
    """The pieces' cuts (``lps`` solved at ``point``) as a new family of ``model``, and more at
    the sizes the model chooses next, until its least value (the bound) is within
    :data:`CLOSE` of the best sizes tried: (the bound, where it is), or None."""
    model.new_family(len(lps), point, most)
    bound, least_at = -math.inf, point
    with ThreadPoolExecutor(max_workers=2) as pool:  # the pieces' re-solves side by side
        for rounds in range(1, MAX_ROUNDS + 1):
            model.add(point, [(lp.value, lp.slope) for lp in lps])
            least, at = model.least()
            if least > bound:  # (a master that fails gives -inf: the rounds before still bound)
                bound, least_at = least, at
            if model.best - bound <= CLOSE * abs(model.best) or rounds == MAX_ROUNDS:
                break
            point = model.next_point()
            if None in pool.map(lambda lp: lp.solve(point, deadline), lps):
                break  # no optimum at these sizes, or out of time: the cuts so far still hold
    return (bound, least_at) if math.isfinite(bound) else None


def _joined(group: list[Marginals]) -> Marginals:
    """Consecutive pieces as one: its copies of the grid power before it priced at what every
    member's were (a member's history may reach back past the first's start), so that the
    prices the pieces before it pay stay as they were built with."""
    first = group[0]
    H = len(first.history)
    history = first.history.copy()
    for p in group[1:]:
        before = np.arange(p.start - len(p.history), min(p.start, first.start))  # steps before the group
        history[before - (first.start - H)] += p.history[:len(before)]
    return Marginals(first.start, group[-1].stop, history, first.start_soc, sum(p.joined for p in group))


def _span(pieces: list[Marginals], k: int) -> tuple[int, int] | None:
    """Piece ``k`` and its neighbours (the first and last have one), when joined they span at
    most :data:`MERGE_MOST` of the rolling horizon's pieces."""
    lo, hi = max(k - 1, 0), min(k + 1, len(pieces) - 1)
    if lo == hi or sum(p.joined for p in pieces[lo:hi + 1]) > MERGE_MOST:
        return None
    return lo, hi


def _steps_usd(pieces: list[Marginals], steps: int) -> np.ndarray:
    """Per step, what later pieces' copies of its grid power are priced at."""
    out = np.zeros(steps)
    for p in pieces:
        out[p.start - len(p.history):p.start] += p.history
    return out


def _cost_on(data: ModelData, p: Marginals, prices: SeamPrices, schedule: dict[str, np.ndarray],
             fixed_usd: float) -> float:
    """The schedule's cost on piece ``p`` with its seams priced as the piece's LP prices them
    (these add up to the schedule's cost over the pieces: the prices cancel where they meet)."""
    a, b, H = p.start, p.stop, len(p.history)
    g = schedule["grid_mw"]
    cost = data.energy_usd_per_mw_step * float((g[a:b] - data.load_mw[a:b]).sum()) \
        + data.wear_usd_per_mw_step * float(schedule["battery_discharge_mw"][a:b].sum()) \
        + fixed_usd * (b - a) / data.steps \
        + float(prices.steps_usd @ g[a:b]) - float(prices.history_usd @ g[a - H:a])
    for store, key in (("bat", "battery_soc_mj"), ("cap", "capacitor_soc_mj")):
        if store in prices.soc_box_mj:
            soc = schedule[key]
            cost += prices.end_soc_usd[store] * float(soc[b - 1]) - prices.start_soc_usd[store] * float(soc[a - 1])
    return cost


def _piece(data: ModelData, p: Marginals, prices: SeamPrices, sizes: np.ndarray) -> ModelData:
    """Piece ``p`` with its seams priced, its share of the fixed costs and the battery's sizes
    held (at ``sizes``; set per round on the LP) and priced in the master instead."""
    share = (p.stop - p.start) / data.steps
    piece = data.piece(p.start, p.stop, Boundary(np.zeros(len(p.history)), {}, prices=prices))
    piece = dataclasses.replace(
        piece, variation_budget_mw=None, burn_slowdown_usd_per_year=data.burn_slowdown_usd_per_year * share,
        profiles=[dataclasses.replace(q, deferred_energy_usd_per_year=q.deferred_energy_usd_per_year * share,
                                      slowdown_usd_per_year=q.slowdown_usd_per_year * share)
                  for q in piece.profiles])
    if data.battery is not None:
        power, energy = (float(x) for x in sizes)
        piece.battery = dataclasses.replace(data.battery, power_usd_per_mw_year=0.0, energy_usd_per_mj_year=0.0,
                                            min_power_mw=power, max_power_mw=power,
                                            min_energy_mj=energy, max_energy_mj=energy, c_rate_per_h=None)
    return piece


class _PieceLP:
    """A piece's LP (integers relaxed), kept as arrays and its last basis rather than as a
    HiGHS object (a few MB each), and re-solved warm as the battery's sizes change. ``value``
    and ``slope`` (in the sizes): at the last sizes solved."""

    def __init__(self, data: ModelData, options: SolveOptions):
        sm = build(data)
        c = Compiled(sm.model)
        self.lp = highs_lp(c.cost, c.col_lower, c.col_upper, c.row_lower, c.row_upper, c.A, c.offset)
        self.options = options
        self.basis = None
        column = {id(v): j for j, v in enumerate(c.columns)}
        m = sm.model
        self.sizes = np.array([column.get(id(m.bat_power), -1), column.get(id(m.bat_energy), -1)]) \
            if hasattr(m, "bat_power") else np.zeros(0, dtype=int)
        self.value, self.slope = math.nan, np.zeros(2)

    def solve(self, point: np.ndarray, deadline: Deadline) -> float | None:
        """The optimum with the battery's sizes at ``point``, or None."""
        if deadline.passed:
            return None
        h = new_highs(self.options)
        h.passModel(self.lp)
        if self.basis is not None:
            h.setBasis(self.basis)
        used = self.sizes >= 0
        if used.any():
            h.changeColsBounds(int(used.sum()), self.sizes[used], point[used], point[used])
        deadline.arm(h)
        h.run()
        if h.getModelStatus() != Status.kOptimal:
            return None
        self.basis = h.getBasis()
        self.slope = np.zeros(2)
        if used.any():
            self.slope[used] = np.array(h.getSolution().col_dual)[self.sizes[used]]
        self.value = h.getInfo().objective_function_value
        return self.value


class _Cuts:
    """The sizes' price plus cutting planes: a model that under-estimates the whole problem's
    cost as a function of the battery's power (MW) and energy (MJ).

    One family of cuts per set of seam prices (a rolling horizon's): within a family, one cut
    per piece and size tried, and the family's pieces add up to a bound; across families only
    the largest sum is (a piece's cuts under one set of prices do not add to another set's), so
    the model is the price plus the largest family's sum."""

    def __init__(self, battery):
        self.price = np.array([battery.power_usd_per_mw_year, battery.energy_usd_per_mj_year])
        self.c_rate = None if battery.c_rate_per_h is None else battery.c_rate_per_h / 3600.0
        self.least_sizes = np.array([battery.min_power_mw, battery.min_energy_mj])
        self.most = np.full(2, math.inf)
        self.families: list[tuple[int, list[tuple[int, float, np.ndarray]]]] = []  # pieces, (piece, value at 0, slope)
        self.best, self.best_point = math.inf, None
        self.radius = np.zeros(2)
        self.edge = False  # the last sizes were on the box's edge

    def new_family(self, pieces: int, start: np.ndarray, most: tuple[float, float]) -> None:
        """Cuts under new seam prices follow, from ``start`` (the sizes their rolling horizon
        used); the box the next sizes are looked for in is a tenth around them at first."""
        self.most = np.minimum(self.most, most)
        self.families.append((pieces, []))
        self.best, self.best_point = math.inf, None
        self.radius = np.maximum(np.abs(start) / 10, self.most * 1e-3)
        self.edge = False

    def add(self, point: np.ndarray, values: list[tuple[float, np.ndarray]]) -> None:
        rows = self.families[-1][1]
        for k, (value, slope) in enumerate(values):
            rows.append((k, value - float(slope @ point), slope))
        total = float(self.price @ point) + max(sum(v for v, _ in values), self._others_at(point))
        if total < self.best:
            if self.edge:  # a better one at the box's edge: look further
                self.radius = self.radius * 2
            self.best, self.best_point = total, point.copy()
        else:
            self.radius = self.radius / 2  # the model over-promised away from the best: look closer

    def _others_at(self, point: np.ndarray) -> float:
        """The earlier families' largest sum of cuts at ``point``."""
        most = -math.inf
        for n, rows in self.families[:-1]:
            per_piece = np.full(n, -math.inf)
            for k, value, slope in rows:
                per_piece[k] = max(per_piece[k], value + float(slope @ point))
            most = max(most, float(per_piece.sum()))
        return most

    def least(self) -> tuple[float, np.ndarray]:
        """The model's least value over every allowed size (the bound) and where it is."""
        return self._master(self.least_sizes, self.most)

    def next_point(self) -> np.ndarray:
        """The model's least within a box around the best sizes so far."""
        lo = np.maximum(self.least_sizes, self.best_point - self.radius)
        hi = np.minimum(self.most, self.best_point + self.radius)
        point = self._master(lo, hi)[1]
        self.edge = bool(np.any((np.abs(point - lo) < 1e-9 * (1 + np.abs(lo))) & (lo > self.least_sizes))
                         | np.any((np.abs(point - hi) < 1e-9 * (1 + np.abs(hi))) & (hi < self.most)))
        return point

    def _master(self, lo: np.ndarray, hi: np.ndarray) -> tuple[float, np.ndarray]:
        """min price . x + z  s.t.  z >= sum_k theta_jk (each family j), theta_jk >= value +
        slope . x (each cut of piece k in family j), lo <= x <= hi, power <= c-rate x energy."""
        offsets = np.cumsum([0] + [n for n, _ in self.families])
        width = 3 + int(offsets[-1])  # x (2), z, the thetas
        cost = np.zeros(width)
        cost[:2], cost[2] = self.price, 1.0
        r, c, v, lower, upper = [], [], [], [], []  # the rows, sparse

        def row(entries: list[tuple[int, float]], low: float, high: float) -> None:
            for j, a in entries:
                r.append(len(lower))
                c.append(j)
                v.append(a)
            lower.append(low)
            upper.append(high)

        for (n, cuts), at in zip(self.families, offsets):
            for k, value, slope in cuts:
                row([(0, -slope[0]), (1, -slope[1]), (3 + at + k, 1.0)], value, INF)
            row([(2, 1.0)] + [(3 + at + k, -1.0) for k in range(n)], 0.0, INF)
        if self.c_rate is not None:
            row([(0, 1.0), (1, -self.c_rate)], -INF, 0.0)
        A = sp.csc_matrix((v, (r, c)), shape=(len(lower), width))
        h = new_highs()
        col_lower = np.concatenate([lo, np.full(width - 2, -INF)])
        col_upper = np.concatenate([hi, np.full(width - 2, INF)])
        h.passModel(highs_lp(cost, col_lower, col_upper, np.array(lower), np.array(upper), A))
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return -math.inf, self.best_point
        x = np.array(h.getSolution().col_value)
        return h.getInfo().objective_function_value, x[:2]


def _boxes(data: ModelData, upper_usd: float):
    """(grid power (low, high) MW, per store the starting charge's high MJ, battery (power MW,
    energy MJ) highs): every optimal schedule lies within them. None where one is unbounded."""
    lim = data.limits
    load = data.load_mw
    uplift = np.vstack([p.uplift_mw for p in data.profiles]) if data.profiles else np.zeros((1, data.steps))
    # the costs other than the sizes are at least the energy of the least GPU uplift (the
    # stores end where they start, so their losses are not negative)
    least_other = data.energy_usd_per_mw_step * min(0.0, float(uplift.sum(axis=1).min()))
    spare = upper_usd - least_other
    power_max = energy_max = 0.0
    soc_box: dict[str, float] = {}
    if data.battery is not None:
        b = data.battery
        energy_max = _at_most(b.max_energy_mj, spare, b.energy_usd_per_mj_year)
        power_max = _at_most(b.max_power_mw, spare, b.power_usd_per_mw_year)
        if b.c_rate_per_h is not None:
            power_max = min(power_max, b.c_rate_per_h / 3600.0 * energy_max)
        soc_box["bat"] = energy_max
    cap_power = 0.0
    if data.capacitors is not None:
        soc_box["cap"] = data.capacitors.fixed_energy_mj
        cap_power = math.inf if data.capacitors.max_power_mw is None else data.capacitors.max_power_mw
    rooms = [p.burn_room_mw for p in data.profiles if p.burn_room_mw is not None]
    burn = np.vstack(rooms).max(axis=0) if data.burn and rooms else 0.0
    high = lim.band_max_mw if lim.band_max_mw is not None else \
        float((load + uplift.max(axis=0) + burn).max()) + power_max + cap_power
    low = lim.band_min_mw if lim.band_min_mw is not None else 0.0
    if not all(math.isfinite(x) for x in (high, power_max, energy_max, *soc_box.values())):
        return None
    return (low, high), soc_box, (power_max, energy_max)


def _at_most(limit: float | None, spare_usd: float, price: float) -> float:
    """A size's most: its limit, or no more than a schedule found would pay for it."""
    most = math.inf if limit is None else limit
    return min(most, spare_usd / price) if price > 0 else most
