"""What the model parts share: per-site data on the time grid, and the bookkeeping each part
adds to (supply into the site's power balance, annual cost terms, emissions)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyomo.core as pyo

from dcplan.formulas import asset_life_years, capital_recovery_factor
from dcplan.loader import SiteInput
from dcplan.model.timegrid import TimeGrid, month_of_hour
from dcplan.schema.program import Finance
from dcplan.solver.standard_form import Unsupported, evaluate


def value_of(x) -> float:
    """A solved (or assigned) variable or expression as a float (0 where it has no value)."""
    return float(values_of([x])[0])


def values_of(exprs: list) -> np.ndarray:
    """:func:`value_of` of each, by the compiler's walk where it can (many times faster on long
    sums and hour by hour: a yearly cap's value, a cost line), else by Pyomo's evaluation."""
    try:
        return evaluate(exprs)
    except (Unsupported, ValueError):  # ValueError: a parameter without a value
        return np.array([_pyomo_value(e) for e in exprs], dtype=float)


def _pyomo_value(x) -> float:
    value = pyo.value(x, exception=False)
    return 0.0 if value is None else float(value)


DISCOUNT_RATE = ("program", "finance", "discount_rate")

Explanation = Callable[..., tuple[str, tuple]]
"""What one row of a family of constraints means, from the row's index: ``(message, input)``, the
message a reader gets when a committed plan breaks the row and the input that sets its limit, a
path for :class:`dcplan.locate.Locator`: ``("site", *keys)``, ``("catalog", section, key,
field)``, ``("compute", key)`` or ``("program", *keys)``."""

Limit = Callable[..., tuple[str, tuple | None]]
"""A limit a user sets, as a row family (or a variable's upper bound) carries it, from the row's
index: ``(words, input)``, the limit in the user's words and the input that sets it (a path as in
:data:`Explanation`; also ``("lead_time", asset key)``, an asset's lead time where it is set, and
``("dated_target", date)``, a build-out's target due then; a program's row about one site's input
puts ``("site_named", name)`` before its path; None where no one key sets it): what the diagnosis
names where HiGHS finds limits that cannot hold together. Rows and bounds no limit is registered
for are physics."""


@dataclass(frozen=True)
class DispatchColumn:
    """A column of a plan's dispatch: a decision per step (``at(t)``: the step's variable, which
    a committed plan's value is assigned to; or, ``decided``, an expression of several decisions,
    such as GPU power capped over the curve's segments, which a committed plan's value is held
    on), a figure per step (``at(t)``: an expression of today's inputs and decisions) or an
    array derived from the inputs and the solved model (``derive()``: the load, say)."""

    at: Callable | None = None
    derive: Callable[[], np.ndarray] | None = None
    decided: bool = False

    def values(self, steps) -> np.ndarray:
        if self.derive is not None:
            return np.asarray(self.derive(), dtype=float)
        return values_of([self.at(t) for t in steps])


@dataclass
class Asset:
    """A build decision of one site: capacity that is bought (or rented), paid for, and in use.

    ``in_use`` is the block's variable of new capacity in service beyond what exists. A single-
    period plan prices it at its annualised capital cost (or its rent); a build-out ties it, period
    by period, to the orders placed at least a lead time earlier and not yet retired.
    """

    key: str  # "<section>:<catalog key>", e.g. "gas:lm6000"
    label: str
    unit: str  # what ``in_use`` counts: units, MW, MWh, MW IT (GPUs: purchase units, see ``size``)
    in_use: object  # Pyomo variable
    capex_usd_per_unit: float
    life_years: float
    crf: float
    lead_time_months: float
    component: str  # cost line, e.g. "gas_capex"
    integer: bool = False
    size: float = 1.0  # reported quantity per unit of ``in_use`` (GPUs per server or rack)
    reported_unit: str | None = None  # unit of the reported quantity when ``size`` != 1
    rental_usd_per_unit_year: float | None = None  # rented: no capital, rent while in use
    max_order_per_period: float | None = None  # in units of ``in_use``
    spare_allowed: bool = False  # what is delivered may exceed what is in use (cooling plant, GPUs in stock)
    price_inputs: tuple = ()  # the inputs its capital (or rent) comes from, Locator paths (see Explanation)
    existing: object = 0.0  # what the site has already, in units of ``in_use`` (a number or an expression)

    @property
    def rented(self) -> bool:
        return self.rental_usd_per_unit_year is not None

    @property
    def sized(self) -> bool:
        """Bought by the MW or MWh in any amount (solar, wind, a battery's power and energy): an
        amount below :data:`NEGLIGIBLE_MW` is no order (see :meth:`PlanModel.negligible`)."""
        return not self.integer and self.unit in ("MW", "MWh")


TYPICAL_DAYS_MISS = 0.03
"""A series whose mean the typical days misstate by more than this share (of the year's hours
they stand for) is said beside the plan: a medoid is an average day, so price spikes (an ERCOT-
like year: $34 for the year's $39/MWh) or a run of windless weeks fall out of it unseen."""

NEGLIGIBLE_MW = 0.05
"""Solar, wind or battery MW (or MWh) below which a plan would rather order none: what its tables
print as 0.0 (a decomposed solve stops near zero rather than at it: the sample Mojave plan had a
0.1 kW battery and 5 kW of solar at a 48 MW site). The solver tries such amounts at zero and keeps
them there only where the plan stays within its gap and costs at most a tenth of the gap more, at
each of its two steps (the decomposition's design, the LP at its vertex): the cost decides, the
threshold only says which amounts are worth the try."""


@dataclass
class SiteModel:
    """One site's block and the terms its parts contribute (for one period of a build-out)."""

    name: str
    si: SiteInput
    tg: TimeGrid
    finance: Finance
    block: pyo.Block
    supply: list = field(default_factory=list)  # variables over steps (IndexedVar, or a list by step): + into balance
    withdraw: list = field(default_factory=list)  # the same: - from balance
    costs: dict[str, object] = field(default_factory=dict)  # component -> annual USD expression
    co2_t: list = field(default_factory=list)  # annual tonnes expressions
    nox_t: list = field(default_factory=list)
    smoothing: object = None  # dcplan.smoothing.result.SmoothingResult for the site's training job
    load: object = None  # facility load per step (dcplan.model.rows.Hourly), set by the compute part
    peak_load: object = None  # design peak facility load (MW) over the full year
    it_energy_mwh: Callable | None = None  # cooling option -> the IT's MWh in a year, an expression (water)
    provisioning: float = 1.0  # the design IT as a share of the GPUs' all-in power
    fixed_it_mw: float = 0.0  # IT besides the GPUs
    assets: list[Asset] = field(default_factory=list)
    capital: dict[str, object] = field(default_factory=dict)  # build-out: annualised capital, reported only
    period: object = None  # dcplan.model.buildout.Period of a build-out; None for a single-period plan
    gas_price_factor: float = 1.0  # escalation of the site's prices in this period
    grid_price_factor: float = 1.0
    dispatch: dict[str, DispatchColumn] = field(default_factory=dict)  # the plan's dispatch columns, in order
    renewable: list = field(default_factory=list)  # IndexedVar over steps: clean output (caps)
    storage: tuple | None = None  # (charge, discharge) IndexedVars over steps (caps: clean matching)
    battery_size: tuple | None = None  # (power MW, energy MWh) of the site's battery the hourly dispatch and N+1 use
    # the battery held for smoothing the training job at the solution: {"power": MW, "energy": MWh},
    # and in a build-out the "gpus" running it is held for
    smoothing_held: Callable[[], dict[str, float]] | None = None
    firm_mw: list = field(default_factory=list)  # dispatchable capacity expressions, MW (caps)
    most_mw: dict[str, Callable[[], float | np.ndarray]] = field(default_factory=dict)
    """Source -> the most it can deliver in each hour of the year at the solved (or committed)
    build, one figure or an array over the year's hours (power capping: the most load it can take
    away): what `dcplan check` holds a typical-days plan's load against over the whole year."""
    land_acres: list = field(default_factory=list)  # land taken by what is built (caps)
    explanations: dict[str, Explanation] = field(default_factory=dict)  # constraint name -> its meaning
    limits: dict[str, Limit] = field(default_factory=dict)  # row or bounded variable name -> the user's limit
    cost_inputs: dict[str, list[tuple]] = field(default_factory=dict)  # cost line -> the inputs it comes from

    @property
    def steps(self):
        return self.block.T

    def series(self, values: np.ndarray) -> list[float]:
        """A full-year series sampled on the time grid, as floats for fast expression building."""
        return self.tg.sample(values).astype(float).tolist()

    def weights(self) -> list[float]:
        return self.tg.weight.astype(float).tolist()

    def typical_days_miss(self, values: np.ndarray, what: str, unit: str) -> str | None:
        """A note where the typical days put the mean of ``values`` (a full-year series) more than
        :data:`TYPICAL_DAYS_MISS` from its mean over the calendar hours they stand for; None on an
        hourly grid or within it."""
        if self.tg.method != "typical_days":
            return None
        hours = np.isin(month_of_hour(self.si.year), self.tg.months())
        year = float(np.mean(values[hours]))
        days = float(np.sum(self.tg.weight * self.tg.sample(values)) / np.sum(self.tg.weight))
        if abs(days - year) <= TYPICAL_DAYS_MISS * abs(year):
            return None
        unit = f" {unit}" if unit else ""
        return (f"typical days put the mean {what} at {days:,.4g}{unit}, the hours they stand for at {year:,.4g}{unit} "
                f"({days / year - 1:+.1%}): plan the full year (no --typical-days), or more typical days, before "
                "relying on its figures")

    def net_supply_mw(self, t):
        """What the site's sources deliver at step ``t`` less what charging (and export) takes:
        the power balance's side that meets the load, and what `dcplan check` holds against it."""
        return sum(s[t] for s in self.supply) - sum(x[t] for x in self.withdraw)

    def life(self, section: str, key: str, spec_life: float) -> float:
        return asset_life_years(self.finance.lifetimes_years, section, key, spec_life)

    def crf(self, section: str, key: str, spec_life: float) -> float:
        return capital_recovery_factor(self.finance.discount_rate, self.life(section, key, spec_life))

    def add_dispatch(self, column: str, at: Callable | None = None,
                     derive: Callable[[], np.ndarray] | None = None, decided: bool = False) -> None:
        """Register a dispatch column: read back into the plan, and assigned from a committed plan
        (see :class:`DispatchColumn`)."""
        self.dispatch[column] = DispatchColumn(at, derive, decided)

    def explain(self, constraint, explanation: Explanation) -> None:
        """Register what the rows of a constraint family of this block mean and which input sets
        them; `dcplan check` then reports a committed plan that breaks one, with no code of its own."""
        self.explanations[constraint.local_name] = explanation

    def limit(self, component, limit: Limit) -> None:
        """Register a row family of this block, or a variable whose upper bound is the limit, as a
        limit the user sets (see :data:`Limit`)."""
        self.limits[component.local_name] = limit

    def add_cost(self, component: str, expr, *inputs: tuple) -> None:
        """Add to an annual cost line; ``inputs``: the inputs it comes from (Locator paths, see
        :data:`Explanation`), which `dcplan check` names when the line has moved."""
        self.costs[component] = self.costs[component] + expr if component in self.costs else expr
        known = self.cost_inputs.setdefault(component, [])
        known += [i for i in inputs if i not in known]

    def add_asset(self, asset: Asset) -> None:
        """Register a build decision. Rent is an operating cost in every plan; capital is an
        annual cost of a single-period plan, but a build-out pays it as cash when ordered (its
        annualised value is kept for reporting only)."""
        self.assets.append(asset)
        if asset.rented:
            self.add_cost(asset.component, asset.in_use * asset.rental_usd_per_unit_year, *asset.price_inputs)
            return
        annual = asset.in_use * asset.capex_usd_per_unit * asset.crf
        if self.period is None:
            self.add_cost(asset.component, annual, *asset.price_inputs, DISCOUNT_RATE)
        else:
            self.capital[asset.component] = self.capital.get(asset.component, 0) + annual


DISPATCH_SETS = ("T", "M")
"""The sets a site block indexes its dispatch by: time steps (T) and months (M, demand peaks)."""


def is_operational(component) -> bool:
    """Whether a model variable is dispatch (indexed by a site's steps or months) rather than
    design (what is built, bought or chosen once per site and period). The solver decomposes
    the model along this line."""
    if not component.is_indexed():
        return False
    return any(getattr(s, "local_name", None) in DISPATCH_SETS for s in component.index_set().subsets())
