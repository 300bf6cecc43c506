"""The smoothing optimisation as a Pyomo model (an LP; a small MILP when the GPU floor setting
or burn-with-slowdown is a choice).

At every step ``t`` of length ``dt`` (seconds) the grid sees::

    g[t] = load[t] + uplift[t] + burn[t] + charge[t] - discharge[t] + cap_in[t] - cap_out[t]

- ``uplift``: what the chosen GPU smoothing setting adds (floor, ramp-down hold) or defers
  (ramp-up limit). Each candidate setting k is precomputed as a series ``u[k, t]``; binaries
  ``z[k]`` (sum 1) pick one, so ``uplift[t] = sum_k z[k] u[k, t]``. With one candidate it is data.
- ``burn``: 0 <= burn[t] <= ceiling - GPU power after the setting; with a slowdown price, a
  binary switches burn on for the whole job.
- battery: power P and energy E (MJ) are sized; charge + discharge <= P; state of charge
  s[t] = s[t-1] + (eta_c charge - discharge / eta_d) dt in [0, E], cyclic over the trace;
  P <= c-rate x E.
- capacitors: the same with a fixed energy and a fixed power limit.

Limits on g:

- ramps per step: ``g[t] - g[t-1] <= r_up dt`` and ``g[t-1] - g[t] <= r_down dt``;
- ramps per minute: the same between steps ``L = 60 s / dt`` apart, at the tighter of the MW/min
  and %/min limits;
- spectral mask: the total variation of g (circular over the trace) within the budget that
  guarantees every band (:mod:`dcplan.smoothing.spectrum`);
- band: bounds on g;
- with ``cyclic`` (one period of a periodic trace), the ramps and per-minute ramps also reach
  back from the first steps to the last (``WRAP_ROWS``);
- swing: max - min of g over every window of ``W`` consecutive steps is at most ``S`` (no rows
  when the per-step ramps already imply it: (W - 1) steps at the fastest ramp stay within S). Exact,
  with O(T) constraints (the van Herk/Gil-Werman decomposition): cut time into blocks of W
  steps; within each block keep running maxima/minima from the block's start (prefix) and to
  its end (suffix), as variables bounded by chains of inequalities. A window either is a whole
  block (its suffix from the start) or joins a suffix of one block to a prefix of the next, so
  ``max(suffix_max, prefix_max) - min(suffix_min, prefix_min) <= S`` is 4 pairs; two of them
  are implied by the whole-block constraints, leaving 2 rows per step. In all: 4 variables and
  10 rows (20 nonzeros) per step, against W rows per step for one envelope per window.

The objective is the annual cost (USD/year): the extra energy at the energy price, scaled from
the trace to a year of the job, plus the battery's annualised capital, fixed O&M and wear, plus
priced slowdown.

With ``elastic=True`` every limit gets one non-negative slack (MW) shared by all its rows and
the objective is the sum of slacks: the least violation when the limits cannot all be met.

A ``Boundary`` makes the model one piece of a longer trace (the rolling horizon of
:mod:`dcplan.smoothing.two_level`): the grid power committed before the piece enters as fixed values,
so every ramp, per-minute and swing row that reaches into the piece is kept; the stores start
from a given state of charge and aim at a target at the end (a hard bound, or a priced
shortfall); the sizes already committed are lower bounds.

Size: about 9 columns and 18 rows per step with burn, a battery and every kind of limit (the
swing part is 4 columns and 10 rows, 20 nonzeros); 5 columns and 8 rows when the ramps imply the
swing (ERCOT-like limits). Measured on 2 cores with the ERCOT-like limits: 6,000 steps 11 s,
12,000 steps 35 s (simplex; interior point alike), 36,000 steps (~180k columns, ~290k rows) not
within 5 minutes: the time grows faster than the steps, hence the two levels for long traces.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np
import pyomo.core as pyo

from dcplan.collector import paused_collector
from dcplan.schema.smoothing import Limits
from dcplan.smoothing.metrics import minute_lag, window_steps


@dataclass
class Profile:
    """One GPU smoothing setting, precomputed at the model's steps."""

    floor_fraction: float
    uplift_mw: np.ndarray
    burn_room_mw: np.ndarray | None  # ceiling minus GPU power after the setting (>= 0)
    slowdown_fraction: float = 0.0  # training deferred by a ramp-up limit
    deferred_mw_steps: float = 0.0  # GPU energy a ramp-up limit defers (MW x model steps)
    deferred_energy_usd_per_year: float = 0.0  # deferred work is done later, at the same energy
    slowdown_usd_per_year: float = 0.0  # and the job takes longer
    ramp_up_w_per_s: float | None = None
    ramp_down_w_per_s: float | None = None

    @property
    def fixed_cost_usd_per_year(self) -> float:
        return self.deferred_energy_usd_per_year + self.slowdown_usd_per_year


@dataclass
class Store:
    """A battery (sized) or the rack capacitors (fixed energy)."""

    eta_charge: float
    eta_discharge: float
    fixed_energy_mj: float | None = None  # capacitors: given; battery: None (sized)
    max_power_mw: float | None = None
    max_energy_mj: float | None = None
    c_rate_per_h: float | None = None
    power_usd_per_mw_year: float = 0.0  # annualised capex plus fixed O&M
    energy_usd_per_mj_year: float = 0.0
    wear_usd_per_mwh: float = 0.0  # per MWh discharged
    min_power_mw: float = 0.0  # sizes already committed (rolling horizon)
    min_energy_mj: float = 0.0


@dataclass
class Boundary:
    """A piece of a longer trace (rolling horizon): grid power already committed before it,
    the stores' state of charge at its start, and a state of charge to reach at its end. The
    committed values are columns held at their value (not constants), so that their reduced
    costs say what each is worth to the piece (the prices of :class:`SeamPrices`)."""

    history_g: np.ndarray  # committed grid power before the piece (held in the limits)
    start_soc_mj: dict[str, float]  # "bat", "cap" -> MJ
    end_soc_mj: dict[str, float] = field(default_factory=dict)  # targets
    end_penalty_usd_per_mj: float = 0.0  # 0: the target is a hard lower bound
    wrap_to_mw: float | None = None  # the last piece: the trace's first grid power (total variation)
    prices: SeamPrices | None = None  # a piece of a Lagrangian bound: the seams priced, not held
    # a window re-planned inside a schedule: the grid power committed after it, held in the rows
    # that reach back into it, and its end charge held where the schedule goes on from it
    future_g: np.ndarray | None = None
    end_soc_exact: bool = False


@dataclass
class SeamPrices:
    """A piece of the Lagrangian lower bound (:mod:`dcplan.smoothing.bound`): what joins it to the
    rest of the trace is free within a box that holds every optimal schedule, and priced. The
    grid power before the piece (its copy, as many steps as ``Boundary.history_g`` has) costs
    ``-history_usd`` a MW, the piece's own grid power ``+steps_usd`` (what later pieces' copies
    are priced at), the starting charge ``-start_soc_usd`` a MJ and the charge at the end
    ``+end_soc_usd`` (the next piece's start price). USD a year."""

    history_usd: np.ndarray
    steps_usd: np.ndarray
    start_soc_usd: dict[str, float]
    end_soc_usd: dict[str, float]
    grid_box_mw: tuple[float, float]
    soc_box_mj: dict[str, float]


@dataclass
class WithinBlocks:
    """What the steps inside the blocks of a coarse model (block means of ``f`` steps) imply for
    its block means. Grid power at step j of a block lies within [mean - below[j], mean +
    above[j]] (the ramp limits: a step is at most so far from the others, on average), so at
    every step the battery must discharge at least need[k, j] - mean - above[j], and burn and
    charging must take at least mean - below[j] - need[k, j] (need: the load plus the GPU
    setting's uplift), charging at least that less the burn room. Averaged over the block, and at
    the worst step for the battery's power, these are valid rows for the block means: they keep
    the coarse model a relaxation and make it tighter where the load moves within a block."""

    need_mw: np.ndarray  # (blocks, f)
    above_mw: np.ndarray  # (f,) inf without a ramp-down (resp. up) limit
    below_mw: np.ndarray  # (f,)
    room_mw: np.ndarray  # (blocks, f) burn room (0 without burn)
    blocks: list[int]  # where the need moves more within the block than the grid could follow


@dataclass
class ModelData:
    step_s: float
    load_mw: np.ndarray
    limits: Limits
    energy_price_usd_per_mwh: float
    year_scale: float  # a year of the job / the trace's duration
    profiles: list[Profile] = field(default_factory=list)
    burn: bool = False
    burn_slowdown_usd_per_year: float = 0.0
    battery: Store | None = None
    capacitors: Store | None = None
    window_steps: int | None = None  # default: from swing_window_s and step_s
    lag_steps: int | None = None  # steps 60 s apart; default from step_s; 0 = no per-minute rows
    variation_budget_mw: float | None = None  # the spectral mask's total variation (None: no mask)
    cyclic: bool = False  # ramps and per-minute ramps also reach back across the end (one period)
    within: WithinBlocks | None = None  # a coarse model: what the steps inside its blocks imply
    boundary: Boundary | None = None  # None: the whole trace, cyclic

    @property
    def steps(self) -> int:
        return len(self.load_mw)

    @property
    def energy_usd_per_mw_step(self) -> float:
        """Annual cost of 1 MW more at one step."""
        return self.energy_price_usd_per_mwh * self.year_scale * self.step_s / 3600.0

    @property
    def wear_usd_per_mw_step(self) -> float:
        """Annual battery wear of discharging 1 MW for one step."""
        return 0.0 if self.battery is None else \
            self.battery.wear_usd_per_mwh * self.year_scale * self.step_s / 3600.0

    def window(self) -> int:
        if self.window_steps is not None:
            return self.window_steps
        return window_steps(self.limits.swing_window_s, self.step_s)

    def lag(self) -> int:
        return minute_lag(self.step_s) if self.lag_steps is None else self.lag_steps

    def reach(self) -> int:
        """How many steps back the limits' rows reach (swing windows, per-minute ramps)."""
        return max(self.window() - 1, self.lag())

    def piece(self, a: int, e: int, boundary: Boundary) -> ModelData:
        """Steps [a, e) as a piece of the trace, joined to the rest by ``boundary``."""
        profiles = [dataclasses.replace(p, uplift_mw=p.uplift_mw[a:e],
                                        burn_room_mw=None if p.burn_room_mw is None else p.burn_room_mw[a:e])
                    for p in self.profiles]
        return dataclasses.replace(self, load_mw=self.load_mw[a:e], profiles=profiles, boundary=boundary)


@dataclass
class SmoothingModel:
    model: pyo.ConcreteModel
    data: ModelData
    elastic: bool
    build_seconds: float
    choice: bool  # the setting is a binary choice among profiles
    history: int  # g[0:history] are committed values; the piece's steps are g[history:]


@paused_collector()
def build(data: ModelData, elastic: bool = False) -> SmoothingModel:
    start = time.perf_counter()
    lim = data.limits
    T, dt = data.steps, data.step_s
    bnd = data.boundary
    H = len(bnd.history_g) if bnd is not None else 0
    F = len(bnd.future_g) if bnd is not None and bnd.future_g is not None else 0
    load = data.load_mw.astype(float).tolist()
    m = pyo.ConcreteModel(name="smoothing")
    m.T = pyo.RangeSet(0, T - 1)
    m.G = pyo.RangeSet(0, H + T + F - 1)
    slack = {}

    def s(key):
        """The elastic slack of limit ``key`` (0 unless elastic)."""
        if not elastic:
            return 0.0
        if key not in slack:
            slack[key] = pyo.Var(bounds=(0, None))
            m.add_component("slack_" + key, slack[key])
        return slack[key]

    lo = 0.0 if elastic or lim.band_min_mw is None else lim.band_min_mw
    hi = None if elastic else lim.band_max_mw
    m.g = pyo.Var(m.G, bounds=(lo, hi))
    prices = bnd.prices if bnd is not None else None
    for t in range(H):
        m.g[t].setlb(prices.grid_box_mw[0] if prices else float(bnd.history_g[t]))
        m.g[t].setub(prices.grid_box_mw[1] if prices else float(bnd.history_g[t]))
    for t in range(F):
        m.g[H + T + t].setlb(float(bnd.future_g[t]))
        m.g[H + T + t].setub(float(bnd.future_g[t]))
    if elastic and lim.band_max_mw is not None:
        slack_max = s("band_max_mw")
        m.band_max = pyo.Constraint(m.T, rule=lambda m, t: m.g[H + t] <= lim.band_max_mw + slack_max)
    if elastic and lim.band_min_mw is not None:
        slack_min = s("band_min_mw")
        m.band_min = pyo.Constraint(m.T, rule=lambda m, t: m.g[H + t] >= lim.band_min_mw - slack_min)

    # --- GPU smoothing setting ---------------------------------------------------------
    profiles = data.profiles
    fixed = np.zeros(T)
    choice = len(profiles) > 1
    varying: list[int] = []
    if len(profiles) == 1:
        fixed = profiles[0].uplift_mw.astype(float)
    elif choice:
        m.K = pyo.RangeSet(0, len(profiles) - 1)
        m.z = pyo.Var(m.K, domain=pyo.Binary)
        m.one_setting = pyo.Constraint(expr=sum(m.z[k] for k in m.K) == 1)
        U = np.vstack([p.uplift_mw for p in profiles])
        varying = np.flatnonzero(np.any(np.abs(U) > 1e-12, axis=0)).tolist()
        Ul = U.tolist()
        m.uplift = pyo.Var(varying)
        m.uplift_def = pyo.Constraint(varying, rule=lambda m, t: m.uplift[t] == sum(
            Ul[k][t] * m.z[k] for k in range(len(profiles)) if abs(Ul[k][t]) > 1e-12))
    fixed_l = fixed.tolist()
    varying_set = set(varying)

    # --- burn --------------------------------------------------------------------------
    terms = []  # (var, sign) added to g[t]
    if data.burn and profiles:
        rooms = np.vstack([p.burn_room_mw for p in profiles])
        room_max = rooms.max(axis=0)
        m.burn = pyo.Var(m.T, bounds=lambda m, t: (0.0, float(room_max[t])))
        if choice:
            differs = np.flatnonzero(rooms.max(axis=0) - rooms.min(axis=0) > 1e-12).tolist()
            roomsl = rooms.tolist()
            # burn[t] <= room of the chosen setting
            m.burn_room = pyo.Constraint(differs, rule=lambda m, t: m.burn[t] <= sum(
                roomsl[k][t] * m.z[k] for k in range(len(profiles))))
        if data.burn_slowdown_usd_per_year > 0:
            m.burn_on = pyo.Var(domain=pyo.Binary)
            m.burn_switch = pyo.Constraint(m.T, rule=lambda m, t: m.burn[t] <= float(room_max[t]) * m.burn_on
                                           if room_max[t] > 0 else pyo.Constraint.Skip)
        terms.append((m.burn, 1.0))

    # --- stores ------------------------------------------------------------------------
    m.soc_short = pyo.VarList(bounds=(0, None))
    penalties = []
    seam_costs = []  # a piece of the Lagrangian bound: what its seams are priced at

    def add_store(prefix: str, st: Store):
        cin = pyo.Var(m.T, bounds=(0, None))
        cout = pyo.Var(m.T, bounds=(0, None))
        m.add_component(prefix + "_charge", cin)
        m.add_component(prefix + "_discharge", cout)
        # charge + discharge <= power: a store does one or the other, so this is implied by
        # the physics; it keeps the model from wasting energy by doing both at once (to the
        # extent an LP can: both at half power remain possible, and are reported)
        if st.fixed_energy_mj is not None:
            soc = pyo.Var(m.T, bounds=(0, st.fixed_energy_mj))
            m.add_component(prefix + "_soc", soc)
            if st.max_power_mw is not None:
                cap = float(st.max_power_mw)
                m.add_component(prefix + "_power_max", pyo.Constraint(m.T, rule=lambda m, t: cin[t] + cout[t] <= cap))
        else:
            power = pyo.Var(bounds=(st.min_power_mw, st.max_power_mw))
            energy = pyo.Var(bounds=(st.min_energy_mj, st.max_energy_mj))
            soc = pyo.Var(m.T, bounds=(0, None))
            m.add_component(prefix + "_power", power)
            m.add_component(prefix + "_energy", energy)
            m.add_component(prefix + "_soc", soc)
            m.add_component(prefix + "_power_max", pyo.Constraint(m.T, rule=lambda m, t: cin[t] + cout[t] <= power))
            m.add_component(prefix + "_soc_max", pyo.Constraint(m.T, rule=lambda m, t: soc[t] <= energy))
            if st.c_rate_per_h is not None:
                m.add_component(prefix + "_c_rate", pyo.Constraint(
                    expr=power <= st.c_rate_per_h / 3600.0 * energy))
        ec, ed = st.eta_charge * dt, dt / st.eta_discharge
        if bnd is None:
            def before(t):
                return soc[t - 1 if t else T - 1]
        else:
            initial = float(bnd.start_soc_mj.get(prefix, 0.0))
            box = (0.0, prices.soc_box_mj[prefix]) if prices else (initial, initial)
            start_soc = pyo.Var(bounds=box)
            m.add_component(prefix + "_soc_start", start_soc)
            if prices:
                seam_costs.append(prices.end_soc_usd[prefix] * soc[T - 1] - prices.start_soc_usd[prefix] * start_soc)

            def before(t):
                return soc[t - 1] if t else start_soc
        m.add_component(prefix + "_soc_balance", pyo.Constraint(
            m.T, rule=lambda m, t: soc[t] == before(t) + ec * cin[t] - ed * cout[t]))
        if bnd is not None and prefix in bnd.end_soc_mj:
            target = float(bnd.end_soc_mj[prefix])
            if bnd.end_penalty_usd_per_mj > 0:
                short = m.soc_short.add()
                m.add_component(prefix + "_soc_end", pyo.Constraint(expr=soc[T - 1] + short >= target))
                penalties.append(bnd.end_penalty_usd_per_mj * short)
            elif bnd.end_soc_exact:
                m.add_component(prefix + "_soc_end", pyo.Constraint(expr=soc[T - 1] == target))
            else:
                m.add_component(prefix + "_soc_end", pyo.Constraint(expr=soc[T - 1] >= target))
        terms.append((cin, 1.0))
        terms.append((cout, -1.0))

    if data.battery is not None:
        add_store("bat", data.battery)
    if data.capacitors is not None:
        add_store("cap", data.capacitors)

    # --- what the grid sees ------------------------------------------------------------
    def grid_rule(m, t):
        expr = load[t] + fixed_l[t] + sum(sign * var[t] for var, sign in terms)
        if t in varying_set:
            expr = expr + m.uplift[t]
        return m.g[H + t] == expr

    m.grid = pyo.Constraint(m.T, rule=grid_rule)
    if data.within is not None and data.battery is not None and data.capacitors is None and not choice \
            and not elastic:  # they assume the ramps hold, which the elastic model may break
        _add_within(m, data.within, H)

    # --- limits (rows that involve at least one step of this piece) --------------------
    g = m.g
    N = H + T
    lag = data.lag()
    ramps, minutes = range(max(1, H), min(N + F, N + 1)), range(max(lag, H), min(N + F, N + lag))
    if lim.ramp_up_mw_per_s is not None:
        r_up = lim.ramp_up_mw_per_s * dt + s("ramp_up_mw_per_s")
        m.ramp_up = pyo.Constraint(ramps, rule=lambda m, t: g[t] - g[t - 1] <= r_up)
    if lim.ramp_down_mw_per_s is not None:
        r_down = lim.ramp_down_mw_per_s * dt + s("ramp_down_mw_per_s")
        m.ramp_down = pyo.Constraint(ramps, rule=lambda m, t: g[t - 1] - g[t] <= r_down)
    up_min, down_min = lim.minute_ramp("up"), lim.minute_ramp("down")
    if 0 < lag < N + F and up_min is not None:
        r_up_min = up_min[0] * lag * dt / 60.0 + s(up_min[1])
        m.ramp_up_min = pyo.Constraint(minutes, rule=lambda m, t: g[t] - g[t - lag] <= r_up_min)
    if 0 < lag < N + F and down_min is not None:
        r_down_min = down_min[0] * lag * dt / 60.0 + s(down_min[1])
        m.ramp_down_min = pyo.Constraint(minutes, rule=lambda m, t: g[t - lag] - g[t] <= r_down_min)
    if data.cyclic:
        _add_wrap(m, g, N, lim, dt, lag)
    W = data.window()
    if lim.swing_mw is not None and W >= 2 and (elastic or not swing_implied(lim, dt, W)):
        _add_swing(m, g, N + F, H, min(W, N + F), lim.swing_mw, s("swing_mw"))
    if data.variation_budget_mw is not None:
        wrap = g[0] if bnd is None else bnd.wrap_to_mw
        _add_variation(m, g, N, H, wrap, data.variation_budget_mw + s("spectral_mask"))

    # --- objective ---------------------------------------------------------------------
    if elastic:
        m.cost = pyo.Objective(expr=sum(slack.values()), sense=pyo.minimize)
    else:
        if prices:
            seam_costs.append(pyo.quicksum(float(prices.steps_usd[t]) * m.g[H + t] for t in range(T)
                                           if prices.steps_usd[t])
                              - pyo.quicksum(float(prices.history_usd[t]) * m.g[t] for t in range(H)
                                             if prices.history_usd[t]))
        m.cost = pyo.Objective(expr=_cost(m, data, choice, H) + sum(penalties) + sum(seam_costs),
                               sense=pyo.minimize)
    return SmoothingModel(m, data, elastic, time.perf_counter() - start, choice, H)


def _add_within(m, wb: WithinBlocks, H: int) -> None:
    """The rows of ``WithinBlocks``: for each block, f x the mean discharge at least the sum of
    the j largest per-step needs (j < f), the same for what burn and charging must take, and the
    battery's power at least the largest of either."""
    f = wb.need_mw.shape[1]
    absorb = (lambda k: m.bat_charge[k] + m.burn[k]) if hasattr(m, "burn") else (lambda k: m.bat_charge[k])
    rows = []  # (kind, block, j, constant): kind "d": discharge >= (sum - j g) / f; "a": absorb >= (j g - sum) / f
    for k in wb.blocks:
        top = np.sort(wb.need_mw[k] - wb.above_mw)[::-1]
        low = np.sort(wb.need_mw[k] + wb.below_mw)
        # j = f is the block's own balance, weakened: left out
        rows += [("d", k, j, float(v)) for j, v in enumerate(np.cumsum(top)[:-1], start=1) if np.isfinite(v)]
        rows += [("a", k, j, float(v)) for j, v in enumerate(np.cumsum(low)[:-1], start=1) if np.isfinite(v)]
        if np.isfinite(top[0]):
            rows.append(("pd", k, 1, float(top[0])))
        worst = float(np.min(wb.need_mw[k] + wb.below_mw + wb.room_mw[k]))
        if np.isfinite(worst):
            rows.append(("pa", k, 1, worst))

    def rule(m, i):
        kind, k, j, c = rows[i]
        g = m.g[H + k]
        if kind == "d":
            return f * m.bat_discharge[k] >= c - j * g
        if kind == "a":
            return f * absorb(k) >= j * g - c
        if kind == "pd":
            return m.bat_power >= c - g
        return m.bat_power >= g - c

    m.within = pyo.Constraint(range(len(rows)), rule=rule)


WRAP_ROWS = ("ramp_up_wrap", "ramp_down_wrap", "ramp_up_min_wrap", "ramp_down_min_wrap")
"""The rows a cyclic model adds: those that reach from the first steps back to the last."""


def _add_wrap(m, g, N: int, lim: Limits, dt: float, lag: int) -> None:
    """The ramp and per-minute rows that reach back across the end of a cyclic trace (one
    period of a periodic one), each family in its own component (``WRAP_ROWS``)."""
    if lim.ramp_up_mw_per_s is not None:
        m.ramp_up_wrap = pyo.Constraint(expr=g[0] - g[N - 1] <= lim.ramp_up_mw_per_s * dt)
    if lim.ramp_down_mw_per_s is not None:
        m.ramp_down_wrap = pyo.Constraint(expr=g[N - 1] - g[0] <= lim.ramp_down_mw_per_s * dt)
    steps = range(min(lag, N)) if lag > 0 else range(0)
    up_min, down_min = lim.minute_ramp("up"), lim.minute_ramp("down")
    if up_min is not None:
        r = up_min[0] * lag * dt / 60.0
        m.ramp_up_min_wrap = pyo.Constraint(steps, rule=lambda m, t: g[t] - g[(t - lag) % N] <= r)
    if down_min is not None:
        r = down_min[0] * lag * dt / 60.0
        m.ramp_down_min_wrap = pyo.Constraint(steps, rule=lambda m, t: g[(t - lag) % N] - g[t] <= r)


def swing_implied(lim: Limits, dt: float, W: int) -> bool:
    """The per-step ramps already keep every window of W steps within the swing: two samples
    of a window are at most W - 1 steps apart (ERCOT-like: 2 MW/s x 4.9 s = 9.8 <= 10 MW)."""
    rates = (lim.ramp_up_mw_per_s, lim.ramp_down_mw_per_s)
    return None not in rates and max(rates) * dt * (W - 1) <= lim.swing_mw


def _add_variation(m, g, N: int, H: int, wrap, budget) -> None:
    """Total variation of g over the piece (with the step from the committed history, and the
    step from the last back to ``wrap``, the trace's first grid power, when the piece ends the
    trace) at most ``budget``: the spectral mask's guarantee (:mod:`dcplan.smoothing.spectrum`)."""
    steps = list(range(max(H, 1), N)) + (["wrap"] if wrap is not None else [])

    def diff(t):
        return g[N - 1] - wrap if t == "wrap" else g[t] - g[t - 1]

    m.variation = pyo.Var(steps, bounds=(0, None))
    v = m.variation
    m.variation_up = pyo.Constraint(steps, rule=lambda m, t: v[t] >= diff(t))
    m.variation_down = pyo.Constraint(steps, rule=lambda m, t: v[t] >= -diff(t))
    m.variation_budget = pyo.Constraint(expr=pyo.quicksum(v[t] for t in steps) <= budget)


def _add_swing(m, g, N: int, H: int, W: int, S: float, slack) -> None:
    """Swing <= S over every window of W steps of g[0:N] that reaches into g[H:]."""
    if W >= N:
        m.swing_max = pyo.Var()
        m.swing_min = pyo.Var()
        m.swing_upper = pyo.Constraint(m.G, rule=lambda m, t: m.swing_max >= g[t])
        m.swing_lower = pyo.Constraint(m.G, rule=lambda m, t: m.swing_min <= g[t])
        m.swing = pyo.Constraint(expr=m.swing_max - m.swing_min <= S + slack)
        return
    # blocks of W steps from the first window that reaches into the piece (earlier history
    # is left out)
    lo = max(0, H - W + 1)
    first = [lo + ((t - lo) // W) * W for t in range(N)]
    last = [min(f + W, N) - 1 for f in first]
    idx = range(lo, N)
    m.S_idx = pyo.Set(initialize=idx)
    m.suf_max = pyo.Var(m.S_idx)
    m.suf_min = pyo.Var(m.S_idx)
    m.pre_max = pyo.Var(m.S_idx)
    m.pre_min = pyo.Var(m.S_idx)
    SM, Sm, PM, Pm = m.suf_max, m.suf_min, m.pre_max, m.pre_min
    m.suf_max_g = pyo.Constraint(m.S_idx, rule=lambda m, t: SM[t] >= g[t])
    m.suf_min_g = pyo.Constraint(m.S_idx, rule=lambda m, t: Sm[t] <= g[t])
    m.pre_max_g = pyo.Constraint(m.S_idx, rule=lambda m, t: PM[t] >= g[t])
    m.pre_min_g = pyo.Constraint(m.S_idx, rule=lambda m, t: Pm[t] <= g[t])
    inner_suf = [t for t in idx if t < last[t]]
    inner_pre = [t for t in idx if t > first[t]]
    m.suf_max_chain = pyo.Constraint(inner_suf, rule=lambda m, t: SM[t] >= SM[t + 1])
    m.suf_min_chain = pyo.Constraint(inner_suf, rule=lambda m, t: Sm[t] <= Sm[t + 1])
    m.pre_max_chain = pyo.Constraint(inner_pre, rule=lambda m, t: PM[t] >= PM[t - 1])
    m.pre_min_chain = pyo.Constraint(inner_pre, rule=lambda m, t: Pm[t] <= Pm[t - 1])
    blocks = sorted({first[t] for t in idx if last[t] >= H})
    m.swing_block = pyo.Constraint(blocks, rule=lambda m, t: SM[t] - Sm[t] <= S + slack)
    cross = [t for t in idx if t > first[t] and H <= t + W - 1 <= N - 1]
    m.swing_cross_up = pyo.Constraint(cross, rule=lambda m, t: SM[t] - Pm[t + W - 1] <= S + slack)
    m.swing_cross_down = pyo.Constraint(cross, rule=lambda m, t: PM[t + W - 1] - Sm[t] <= S + slack)


def _cost(m, data: ModelData, choice: bool, H: int):
    """Annual cost, USD: energy above the raw load, storage, slowdown."""
    per_step = data.energy_usd_per_mw_step
    load_total = float(np.sum(data.load_mw))
    expr = per_step * (pyo.quicksum(m.g[H + t] for t in m.T) - load_total)
    bat = data.battery
    if bat is not None:
        expr += bat.power_usd_per_mw_year * m.bat_power + bat.energy_usd_per_mj_year * m.bat_energy
        if bat.wear_usd_per_mwh > 0:
            expr += data.wear_usd_per_mw_step * pyo.quicksum(m.bat_discharge[t] for t in m.T)
    if choice:
        expr += sum(p.fixed_cost_usd_per_year * m.z[k] for k, p in enumerate(data.profiles)
                    if p.fixed_cost_usd_per_year)
    elif len(data.profiles) == 1:
        expr += data.profiles[0].fixed_cost_usd_per_year
    if hasattr(m, "burn_on"):
        expr += data.burn_slowdown_usd_per_year * m.burn_on
    return expr


def values(var, T: int, offset: int = 0) -> np.ndarray:
    """An indexed variable's values as an array over steps (0 where unset)."""
    return np.fromiter((var[offset + t].value or 0.0 for t in range(T)), dtype=float, count=T)


def read(sm: SmoothingModel) -> tuple[dict[str, np.ndarray], Profile | None, bool, tuple[float, float]]:
    """Arrays over the piece's steps, the chosen setting, the burn switch, battery sizes (MW, MJ)."""
    m, d = sm.model, sm.data
    T, H = d.steps, sm.history
    zeros = np.zeros(T)
    chosen = None
    if sm.choice:
        chosen = d.profiles[int(np.argmax([m.z[k].value or 0.0 for k in range(len(d.profiles))]))]
    elif d.profiles:
        chosen = d.profiles[0]
    burn = values(m.burn, T) if hasattr(m, "burn") else zeros
    burn_on = bool((m.burn_on.value or 0) > 0.5) if hasattr(m, "burn_on") else bool(burn.max(initial=0) > 1e-9)
    arrays = {
        "grid_mw": values(m.g, T, H),
        "burn_mw": burn,
        "battery_charge_mw": values(m.bat_charge, T) if d.battery else zeros,
        "battery_discharge_mw": values(m.bat_discharge, T) if d.battery else zeros,
        "battery_soc_mj": values(m.bat_soc, T) if d.battery else zeros,
        "capacitor_charge_mw": values(m.cap_charge, T) if d.capacitors else zeros,
        "capacitor_discharge_mw": values(m.cap_discharge, T) if d.capacitors else zeros,
        "capacitor_soc_mj": values(m.cap_soc, T) if d.capacitors else zeros,
    }
    sizes = (float(m.bat_power.value or 0.0), float(m.bat_energy.value or 0.0)) if d.battery else (0.0, 0.0)
    return arrays, chosen, burn_on, sizes
