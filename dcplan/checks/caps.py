"""Checks of every cap in force, as the model measures it on the committed plan, in each period
(or over the horizon), and of the links between sites."""

from __future__ import annotations

from dcplan.checks.evaluate import Evaluation
from dcplan.checks.report import PASS, SKIPPED, VIOLATION
from dcplan.checks.verification import Verification
from dcplan.formatting import quantity
from dcplan.model.buildout import over_horizon, periods_of


def check_caps(v: Verification) -> None:
    """Every cap in force in a period the plan runs, as the model measures it (a horizon cap:
    summed)."""
    contexts = []
    for (states, costs), evaluation in zip(v.slices, v.evaluations):
        first = next(iter(states.values()), None)
        start, end = (first.start, first.end) if first else v.dates()
        contexts.append((start, end, first.when if first else "", (evaluation, costs)))
    for rc in v.pi.caps:
        cap, check = rc.cap, f"cap {rc.cap.name}"
        if v.timeline is not None and over_horizon(rc):
            _horizon_cap(v, rc, [ctx for *_, ctx in contexts])
            continue
        measured = [(when, ctx) for start, end, when, ctx in contexts if cap.in_force_during(start, end)]
        if not measured or not rc.groups:
            v.add(check, SKIPPED, "binds no site of this program" if not rc.groups else
                  f"not in force on {', '.join(str(start) for start, *_ in contexts)}")
            continue
        if not _measurable(v, check, [ctx for _, ctx in measured]):
            continue
        failed, shown = False, ""
        for when, ctx in measured:
            values = _cap_values(v, rc, *ctx)
            failed |= _cap_limits(v, rc, values, when)
            shown = ", ".join(f"{label} {quantity(x)}" for label, x in values if x is not None) or "nothing to measure"
        if not failed:
            v.add(check, PASS, f"{cap.quantity} within its limit{' in every period' if len(measured) > 1 else ''}"
                  f": {shown}")


def _measurable(v: Verification, check: str, contexts: list[tuple]) -> bool:
    if not all(s.cooling_known for states, _ in v.slices for s in states.values()):
        v.add(check, SKIPPED, "not measured: the plan's cooling is no longer offered (see build)")
        return False
    if any(evaluation is None for evaluation, _ in contexts):
        v.add(check, SKIPPED, "not measured: the committed dispatch could not be evaluated (see model rows)")
        return False
    return True


def _cap_values(v: Verification, rc, evaluation: Evaluation, costs: dict[str, float]) -> list[tuple[str, float | None]]:
    """(group label, yearly value) as the model measures the cap on the committed plan; a
    build-out's annual cost is the plan's own (its escalated costs are not recomputed)."""
    if rc.cap.quantity == "cost_usd" and v.timeline is not None:
        return [(label, sum(costs[n] for n in names) if all(n in costs for n in names) else None)
                for label, names in rc.groups]
    return evaluation.caps.get(rc.cap.name, [])


def _horizon_cap(v: Verification, rc, contexts: list[tuple]) -> None:
    """A build-out's cap on a total over the horizon: each period's yearly amount times its
    length, summed (as the model limits it)."""
    check = f"cap {rc.cap.name}"
    if not rc.in_force or not rc.groups:
        v.add(check, SKIPPED, "binds no site of this program" if not rc.groups else "not in force")
        return
    if not _measurable(v, check, contexts):
        return
    years = periods_of(v.pi.program)[0].years
    totals: dict[str, float] = {}
    for ctx in contexts:
        for label, value in _cap_values(v, rc, *ctx):
            if value is not None:
                totals[label] = totals.get(label, 0.0) + value * years
    if not _cap_limits(v, rc, list(totals.items()), "", scale=1.0):
        shown = ", ".join(f"{label} {quantity(x)}" for label, x in totals.items()) or "nothing to measure"
        v.add(check, PASS, f"{rc.cap.quantity} over the horizon within its limit: {shown}")


def _cap_limits(v: Verification, rc, values: list[tuple[str, float | None]], when: str, scale: float | None = None) -> bool:
    """Report each group whose value breaks the cap's limits; True if one does. ``scale``
    turns a value into the cap's period (default: a yearly value, times the horizon's years
    for a horizon cap)."""
    cap, check = rc.cap, f"cap {rc.cap.name}"
    noted = {c.name: c.note for c in v.plan.caps}
    if scale is None:
        scale = v.pi.program.horizon.years if cap.period == "horizon" else 1
    failed = False
    for label, value in values:
        if value is None:
            continue
        total = value * scale
        for sense, bound in (("max", cap.max), ("min", cap.min)):
            if bound is None:
                continue
            over = total - bound if sense == "max" else bound - total
            tol = 1e-6 * max(1.0, abs(bound))
            if over <= tol:
                continue
            if sense == "max" and cap.major_source is not None and "major source" in noted.get(cap.name, ""):
                continue  # the plan pays to become a major source, which lifts the cap
            failed = True
            word = "above the maximum" if sense == "max" else "below the minimum"
            period = " over the horizon" if cap.period == "horizon" else ""
            v.add(check, VIOLATION, f"{cap.quantity} at {label}{when} is {quantity(total)}{period}, {word} "
                  f"of {quantity(bound)} by {quantity(over)} ({rc.origin}: {cap.source})", v.loc.cap(rc, sense))
    return failed


def check_links(v: Verification) -> None:
    """The program's links between sites: one site with a large enough cluster, a share per
    site."""
    links, states = v.pi.program.links, list(v.states.values())
    if links.min_gpus_in_one_site is not None:
        most = max((sum(s.gpus.values()) for s in states), default=0)
        if most < links.min_gpus_in_one_site:
            v.add("links", VIOLATION, f"no site holds a cluster of {links.min_gpus_in_one_site:,} GPUs "
                  f"(the largest has {most:,})", v.loc.program("links", "min_gpus_in_one_site"))
    if links.max_compute_share_per_site is not None and any(s.figures is None for s in states):
        v.add("links", SKIPPED, "compute share not measured: the committed plan could not be evaluated (see model rows)")
    elif links.max_compute_share_per_site is not None:
        total = sum(s.compute_in("h100_equivalents") for s in states)  # TPP, in H100s
        for s in states:
            share = s.compute_in("h100_equivalents") / total if total else 0.0
            if share > links.max_compute_share_per_site + 1e-9:
                v.add("links", VIOLATION, f"site {s.name} holds {share:.1%} of the compute, above the "
                      f"{links.max_compute_share_per_site:.1%} allowed per site",
                      v.loc.program("links", "max_compute_share_per_site"))
