"""The smoothing library API: ``smooth(workload, spec) -> SmoothingResult``.

Steps: pick the model's time step (decimating the trace by block means when it is finer than
``resolution_s`` or longer than ``max_steps``); precompute what each GPU smoothing setting does
to the GPUs' power at the trace's own resolution; build and solve the model
(:mod:`dcplan.smoothing.model`: one period of a trace that repeats, the whole trace, or two
levels for a long one; see :class:`Strategy`); read back the schedule, the sizes, the costs and the worst
ramps and swings before and after. When the limits cannot be met, say which, from a cheap
check and from an elastic re-solve that finds the least violation.

Decimation error: the model sees block means. Within a block the raw load deviates from its
mean by at most ``decimation['ripple_mw']`` (reported); the schedule's decisions are held over
the block, so at the trace's resolution the grid sees the model's series plus that ripple: the
swing in a window can exceed the model's swing over the blocks it touches by at most twice the
ripple, and steps shorter than the model's are not constrained (that is the rack capacitors'
and power supplies' time scale). The result reports the limits re-measured at the trace's
resolution (``trace_after``); ``--resolution-s`` down to the trace's own step removes the error.
"""

from __future__ import annotations

import time
from pathlib import Path

from dcplan.errors import InputError, Problem, refuse
from dcplan.loader import load_smoothing
from dcplan.schema.catalog import Catalog
from dcplan.schema.smoothing import SmoothingSpec
from dcplan.smoothing.diagnose import diagnose
from dcplan.smoothing.exact import direct, periodic, repeat_period
from dcplan.smoothing.limits import with_overrides
from dcplan.smoothing.metrics import measure
from dcplan.smoothing.prepare import prepare
from dcplan.smoothing.result import SmoothingResult, fill
from dcplan.smoothing.run import Context, Strategy
from dcplan.smoothing.two_level import tighten, two_level
from dcplan.smoothing.workload import Workload, load_workload
from dcplan.solver import SolveOptions


def smooth(workload: Workload, spec: SmoothingSpec | None = None, options: SolveOptions | None = None,
           strategy: Strategy | None = None, catalog: Catalog | None = None) -> SmoothingResult:
    """Choose mitigation sizes and a schedule that keep what the grid sees within
    ``spec.limits`` at least annual cost; the battery priced from ``catalog`` (a site's, with its
    program's overrides; default dcplan's own). Raises :class:`InputError` for unusable input; an
    infeasible problem is a result with ``status == 'infeasible'`` and ``reasons``."""
    t0 = time.perf_counter()
    spec = spec or SmoothingSpec()
    options = options or SolveOptions()
    strategy = strategy or Strategy()
    p = prepare(workload, spec, catalog)
    spec, data, lim = p.spec, p.data, p.spec.limits
    result = SmoothingResult("error", workload, spec, data.step_s,
                             before=measure(data.load_mw, data.step_s, lim.swing_window_s, lim.spectral_mask),
                             decimation=p.decimation, notes=p.notes)
    if p.decimation["factor"] > 1:
        result.trace_before = measure(workload.load_mw, workload.time_step_s, lim.swing_window_s, lim.spectral_mask)
    result.timings = {"prepare_s": time.perf_counter() - t0, "build_s": 0.0, "compile_s": 0.0, "solve_s": 0.0}
    ctx = Context(data, p.battery_info, p.cap_capex, p.per_step_usd, options, result.timings, t0)
    period = repeat_period(data) if strategy.periodic else None
    outcome = periodic(ctx, period) if period is not None else None
    if outcome is None:
        outcome = direct(ctx) if data.steps <= strategy.direct_max_steps else two_level(ctx, strategy)
    result.status, result.solve = outcome.status, outcome.solve
    result.method = outcome.method
    if outcome.status == "infeasible":
        t1 = time.perf_counter()
        # a long trace's blocks where the diagnosis re-solves; the trace itself where it only measures
        coarse = outcome.method.get("coarse_factor") if outcome.diagnose_data is not None and \
            spec.mitigations.names() else None
        result.reasons = diagnose(outcome.diagnose_data if coarse else data, spec, options, blocks_of=coarse)
        result.timings["diagnose_s"] = time.perf_counter() - t1
    elif outcome.arrays is not None:
        fill(result, ctx, outcome)
        if outcome.seams and not outcome.method.get("soc_end_shortfall_mj"):
            # (a schedule that ends short of its starting charge is no upper bound, which the
            # pieces' boxes rest on)
            tighten(result, ctx, outcome)
        short = result.method.get("soc_end_shortfall_mj", 0.0)
        if short > 1e-6:
            result.notes.append(f"the stores end {short:,.4g} MJ below their starting charge (the rolling "
                                "horizon could not refill them under the limits); that energy is counted "
                                "as battery losses")
    else:
        result.reasons = outcome.reasons
        result.lower_bound_usd_per_year = outcome.lower_bound
    result.timings["total_s"] = time.perf_counter() - t0
    return result


def smooth_files(workload_path: Path | str, site_path: Path | str | None = None, *,
                 gpus: int | None = None, gpu_model: str | None = None, limits: dict | None = None,
                 economics: dict | None = None, resolution_s: float | None = None,
                 options: SolveOptions | None = None) -> SmoothingResult:
    """Load a workload (CSV or YAML) and the site's ``smoothing:`` section with its battery and
    catalog (or a ``kind: smoothing`` file), apply command-line overrides, and smooth."""
    problems: list[Problem] = []
    workload = spec = catalog = None
    try:
        workload = load_workload(Path(workload_path), gpus, gpu_model)
    except InputError as err:
        problems += err.problems
    try:
        spec, catalog = load_smoothing(site_path) if site_path is not None else (SmoothingSpec(), None)
        spec = with_overrides(spec, limits, economics, resolution_s=resolution_s)
    except InputError as err:
        problems += err.problems
    if not problems and site_path is None and not spec.limits.active():  # a solve that proves $0 helps no one
        problems.append(Problem("command line", None, "--site", "no limits to keep the job within: give --site "
                                "with a `smoothing:` section (or a `kind: smoothing` file) or limits such as "
                                "--swing-mw or --ramp-up-mw-per-s"))
    refuse(problems)
    return smooth(workload, spec, options, catalog=catalog)


__all__ = ["SmoothingResult", "Strategy", "diagnose", "smooth", "smooth_files"]
