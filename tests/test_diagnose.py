"""Explanations of infeasible plans find the limit that conflicts and say how far it must move."""

from __future__ import annotations

import pytest
from conftest import REPO, base_site, run_cli, write_yaml

from dcplan.catalog import builtin_catalog

CAT = builtin_catalog()


def gas_only_site(**caps) -> dict:
    site = base_site(fuel={"gas_price_usd_per_mmbtu": 3.0},
                     technologies={"gas": [{"type": "wartsila_18v50sg", "max_units": 4}]},
                     reliability={"n_plus_one": False})
    del site["grid"]
    site["caps"] = [{"name": "air-permit", "quantity": "nox_t", "max": caps.get("nox", 1.0),
                     "source": "test permit"}]
    return site


def test_a_cap_that_cannot_hold_is_named_with_the_value_it_would_need(tmp_path, runner):
    path = write_yaml(tmp_path / "site.yaml", gas_only_site(nox=1.0))
    result = run_cli(runner, "plan", path)
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "cap air-permit (nox_t" in text and "site.yaml:" in text
    # 1,000 GPUs at PUE 1.2 burn gas all year: the NOx the permit would need, by hand
    load = 1000 * CAT.gpus["h100_sxm"].design_w_per_gpu / 1e6 * 1.2
    nox = load * 8760 * CAT.generators["wartsila_18v50sg"].nox_kg_per_mwh / 1000
    needed = float(text.split("would need ")[1].split(" ")[0].replace(",", ""))
    assert needed == pytest.approx(nox, rel=1e-3)


def test_a_grid_limit_that_is_too_small_shows_the_shortfall(tmp_path, runner):
    site = base_site(reliability={"n_plus_one": False})
    site["grid"]["max_import_mw"] = 1.0  # the load is 1,000 x 1,416.7 W x 1.2 = 1.7 MW, nothing else
    result = run_cli(runner, "plan", write_yaml(tmp_path / "site.yaml", site))
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "could not be met" in text and "grid import ≤ 1 MW (" in text and "grid.max_import_mw)" in text
    assert "shortfall is 0.7 MW" in text


def test_a_cap_on_grid_import_below_the_connection_is_named_beside_it(tmp_path, runner):
    """The shortfall is measured against the cap (1.7 MW of load, 1.0 MW allowed by the cap
    under a 100 MW connection): the sentence of what is available says so, not 100 MW alone."""
    site = base_site(reliability={"n_plus_one": False})
    site["caps"] = [{"name": "import-cap", "quantity": "grid_import_mw", "max": 1.0, "source": "test"}]
    result = run_cli(runner, "plan", write_yaml(tmp_path / "site.yaml", site))
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "shortfall is 0.7 MW" in text
    assert "grid import ≤ 100 MW (" in text and "capped at 1 MW by cap import-cap (" in text, text


def test_a_target_beyond_the_it_limit_names_the_target_and_max_it_mw_at_their_lines(tmp_path, runner):
    """10 million GPUs against a 250 MW building: answered by arithmetic, before any solve."""
    site = base_site(compute={"gpus": [{"model": "h100_sxm"}, {"model": "b200", "max_gpus": 5000}],
                              "target": {"gpus": 10_000_000}, "max_it_mw": 250})
    result = run_cli(runner, "plan", write_yaml(tmp_path / "site.yaml", site))
    text = " ".join(result.output.split())
    assert result.exit_code == 1, text
    h100, b200 = (CAT.gpus[m].design_w_per_gpu for m in ("h100_sxm", "b200"))
    assert b200 > h100  # so the least IT is H100s alone
    least = 10_000_000 * h100 / 1e6
    assert f"needs at least {least:,.1f} MW of design IT" in text
    assert "site.yaml:" in text and "compute.target)" in text and "compute.max_it_mw)" in text

    site["compute"] = {"gpus": [{"model": "h100_sxm", "max_gpus": 1000}, {"model": "b200", "max_gpus": 5000}],
                       "target": {"gpus": 10_000}}
    text = " ".join(run_cli(runner, "plan", write_yaml(tmp_path / "site.yaml", site)).output.split())
    assert "at most 6,000 (max_gpus: h100_sxm 1,000 at " in text and "compute.gpus[1].max_gpus" in text


def test_highs_isolates_the_conflicting_limits(tmp_path):
    from dcplan.diagnose import conflict_summary
    from dcplan.loader import load_program

    pi = load_program(write_yaml(tmp_path / "site.yaml", gas_only_site(nox=1.0)))
    [line] = conflict_summary(pi)
    assert "cap air-permit (testsite, " in line and "site.yaml:" in line and "compute target" in line
    loose = load_program(write_yaml(tmp_path / "site.yaml", gas_only_site(nox=1e6)))
    assert conflict_summary(loose) == []  # feasible: nothing to isolate


def test_an_elastic_solve_cut_at_its_time_limit_leaves_the_conflicting_limits_named(tmp_path, monkeypatch):
    """Each elastic solve has a limit (it had 300 s, two of them: on a perturbed example HiGHS held
    a plan 0.14 % above the optimum after 0.4 s and took 54 s to prove one within 1e-3); one
    ending without a plan drops its own sentences only."""
    from dcplan import diagnose
    from dcplan.loader import load_program

    pi = load_program(write_yaml(tmp_path / "site.yaml", gas_only_site(nox=1.0)))
    assert any(line.startswith("cap air-permit") for line in diagnose.explain_infeasible(pi))
    monkeypatch.setattr(diagnose, "ELASTIC_TIME_LIMIT_S", 0.0)
    [line] = diagnose.explain_infeasible(pi)
    assert line.startswith("these limits cannot hold together") and "cap air-permit (testsite, " in line


def test_a_shortfall_names_the_units_the_site_has_and_the_pipeline_that_fuels_them(tmp_path, runner):
    """Two engines the site has (none new allowed) could carry the load, but the pipeline cannot
    fuel them: the available supply says so, at the pipeline's line (it had read '≤ 2 × 18.8 MW
    at max_units', which is 0, and left the pipeline out; a held-out perturbation's case)."""
    site = gas_only_site(nox=1e6)
    site["technologies"]["gas"] = [{"type": "wartsila_18v50sg", "max_units": 0, "existing_units": 2}]
    site["fuel"]["pipeline_limit_mmbtu_per_h"] = 5.0  # about 0.6 MW against the 1.7 MW load
    path = write_yaml(tmp_path / "site.yaml", site)
    line_of = {key: n for n, text in enumerate(path.read_text().splitlines(), 1)
               for key in ("existing_units", "pipeline_limit_mmbtu_per_h") if text.strip().startswith(key + ":")}
    result = run_cli(runner, "plan", path)
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    rate = CAT.generators["wartsila_18v50sg"].heat_rate_mmbtu_per_mwh
    assert f"wartsila_18v50sg ≤ (2 existing) × 18.8 MW ({path}:{line_of['existing_units']}" in text, text
    assert (f"gas burn ≤ 5 MMBtu/h, {5.0 / rate:,.1f} MW at the best heat rate "
            f"({path}:{line_of['pipeline_limit_mmbtu_per_h']}") in text, text


def test_the_conflicting_site_limits_are_named_at_their_lines(tmp_path):
    """The limits HiGHS isolates are the ones the model registers, each at the line that sets it
    (the diagnosis had its own table of the model's variable names, and named no line)."""
    from dcplan.diagnose import conflict_summary
    from dcplan.loader import load_program

    site = gas_only_site(nox=1e6)
    site["reliability"]["n_plus_one"] = True
    site["technologies"]["gas"][0]["max_units"] = 2  # 36 MW, 18 MW without the larger unit
    site["compute"]["target"] = {"gpus": 12_000}  # 20.4 MW
    path = write_yaml(tmp_path / "site.yaml", site)
    line_of = {key: n for n, text in enumerate(path.read_text().splitlines(), 1)
               for key in ("n_plus_one", "max_units", "target") if text.strip().startswith(key + ":")}
    [line] = conflict_summary(load_program(path))
    for named, key in (("testsite: N+1", "n_plus_one"), ("testsite: gas wartsila_18v50sg max_units", "max_units"),
                       ("compute target", "target")):
        assert f"{named} at {path}:{line_of[key]}" in line, line


def test_a_build_out_names_the_lead_time_and_the_dated_target_at_their_lines():
    """One quarter sooner than the engines can arrive: the conflict names each late asset's lead
    time where it is set (the catalog's here) and the target with its date and line (it had read
    'lead times (×2)' and 'compute target', a held-out perturbation's complaint)."""
    from dcplan.diagnose import conflict_summary
    from dcplan.loader import load_program

    program = REPO / "examples" / "greener-and-fast" / "program.yaml"
    target_line = next(n for n, text in enumerate(program.read_text().splitlines(), 1)
                       if "{date: 2027-07-01, gpus: 50000}" in text)
    engines = (REPO / "dcplan" / "catalog" / "data" / "generators.yaml").read_text().splitlines()
    lead_line = next(n for n in range(next(n for n, t in enumerate(engines) if t.startswith("wartsila_18v50sg:")),
                                      len(engines)) if engines[n].strip().startswith("lead_time_months:")) + 1
    [line] = conflict_summary(load_program(program, scenario="by_2027_q3"))
    assert ("desert: lead time of gas wartsila_18v50sg (in use only once ordered and delivered) at "
            f"dcplan/catalog/data/generators.yaml:{lead_line}") in line, line
    assert f"target of 50,000 gpus by 2027-Q3 at examples/greener-and-fast/program.yaml:{target_line}" in line, line


def test_a_build_out_blames_power_only_when_nothing_in_service_could_carry_the_peak(tmp_path, runner):
    """Time to power: a battery in service by the period counts toward what could carry its peak
    (the old check counted grid and gas alone, and blamed power where the GPUs' allocation was
    what bound: 300 a quarter cannot make 1,000 by the second)."""
    site = base_site(reliability={"n_plus_one": False}, technologies={
        "battery": {"type": "li_ion_lfp", "max_power_mw": 50, "lead_time_months": 0}})
    site["grid"]["max_import_mw"] = 1.0  # below the 1.7 MW peak; the battery is not
    site["cooling"] = [{"type": "air_economizer", "pue": 1.2, "lead_time_months": 0}]
    site["compute"] = {"gpus": [{"model": "h100_sxm", "lead_time_months": 0, "max_new_gpus_per_period": 300}]}
    write_yaml(tmp_path / "site.yaml", site)
    doc = {"kind": "program", "name": "staged", "sites": ["site.yaml"], "horizon": {"start": "2026-01-01", "years": 2},
           "time": {"typical_days": 1}, "buildout": {"period": "quarter", "targets": [{"date": "2026-04-01", "gpus": 1000}]}}
    result = run_cli(runner, "plan", write_yaml(tmp_path / "program.yaml", doc))
    text = " ".join(result.output.split())
    assert result.exit_code == 1 and "at its peak" not in text and "firm supply" not in text, text
