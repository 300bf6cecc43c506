"""A site's training job, smoothed before the plan is made (dcplan.api.smooth_training_jobs), as
the plan carries it: the share of its design the smoothing adds to the IT's hourly draw, its
peak, and the cost the plan does not price itself.
In a build-out the job is smoothed at its own GPUs and, where the site may run more, at the most
it may (``larger``); the battery's need follows the line through the two (model.storage), and so
do these: a need that grows faster than the GPUs is not read off the smaller run alone."""

from __future__ import annotations

import pyomo.core as pyo

from dcplan.model.context import SiteModel

ENERGY_COSTS = ("energy_",)  # smoothing cost lines the plan's own dispatch prices instead
BATTERY_COSTS = ("battery_capex", "battery_fixed_om")  # the site's battery, which the plan buys


def smoothing_cost_usd(result) -> float:
    """The annual cost of smoothing a site's training job that the plan does not price itself:
    capacitors, the battery's wear, and training slowdown (its extra energy is added to the
    site's load, its battery is the site's, both priced by the plan)."""
    return sum(v for k, v in result.costs_usd_per_year.items()
               if not k.startswith(ENERGY_COSTS) and k not in BATTERY_COSTS)


def _larger(sm: SiteModel):
    """The job smoothed at the most GPUs the site may run, in a build-out period; else None."""
    s = sm.smoothing
    return s.larger if sm.period is not None and s.workload.gpus and s.larger is not None else None


def _larger_of(sm: SiteModel, share) -> float:
    """``share`` of the job's smoothing, or with a larger run the larger of the two: the load is
    linear in the IT, so one share for all the GPUs running, and the one that does not understate
    it as the GPUs grow (colossus at 200k GPUs: 1.33 % more energy, where the 100k job's 1.12 %
    had been taken)."""
    larger = _larger(sm)
    return max(share(sm.smoothing), share(larger)) if larger is not None else share(sm.smoothing)


def overhead_fraction(sm: SiteModel) -> float:
    """The share of the job's energy its smoothing adds (reported beside the plan's battery)."""
    return 0.0 if sm.smoothing is None else _larger_of(sm, lambda s: s.energy_overhead_fraction or 0.0)


def draw_added_fraction(sm: SiteModel) -> float:
    """The share of its design the smoothing adds to the IT's hourly draw (its extra energy over
    the job's design); 0 without a job. It adds to ``average_draw_fraction`` up to the peak
    (:func:`dcplan.formulas.smoothed_draw_fraction`)."""
    return 0.0 if sm.smoothing is None else _larger_of(sm, lambda s: s.draw_added_fraction)


def peak_fraction(sm: SiteModel) -> float:
    """The design peak as a share of the design IT: 1, or more where the smoothed job's highest
    draw goes beyond its design."""
    return 1.0 if sm.smoothing is None else _larger_of(sm, lambda s: s.peak_fraction)


def add_cost(sm: SiteModel) -> None:
    """The smoothing's cost line: the job's; in a build-out, for the GPUs running, in proportion
    to them up to the job's and along the line to the larger run's beyond (the most of the two
    lines, a variable the cost keeps at it). Where the larger run costs less a GPU than the job,
    the job's cost a GPU for them all: the most of the two lines would charge GPUs not running,
    and a cost a GPU that falls with the GPUs stays below it."""
    s = sm.smoothing
    if s is None:
        return
    cost = smoothing_cost_usd(s)
    if sm.period is not None and s.workload.gpus:
        b, job = sm.block, s.workload.gpus
        gpus = sum(b.gpus[g] for g in b.G)
        larger = _larger(sm)
        slope = (smoothing_cost_usd(larger) - cost) / (larger.workload.gpus - job) if larger is not None else 0.0
        if larger is None or slope <= cost / job:
            cost = cost / job * gpus
        else:
            lines = (cost / job * gpus, cost + slope * (gpus - job))
            b.smoothing_cost_usd = pyo.Var(bounds=(0, None))
            b.smoothing_cost_lines = pyo.Constraint(range(len(lines)), rule=lambda m, i: m.smoothing_cost_usd >= lines[i])
            sm.explain(b.smoothing_cost_lines, lambda i: (
                "the training job's smoothing cost (USD/yr) below what it costs for the GPUs running",
                ("site", "smoothing")))
            cost = b.smoothing_cost_usd
    sm.add_cost("smoothing", cost)
