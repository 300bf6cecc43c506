"""`dcplan validate`: clean files pass; every kind of bad input exits 2 naming file, line, key."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import numpy as np
import pytest
import yaml
from conftest import REPO, base_site, run_cli, write_csv, write_yaml

from dcplan.loader import validate_paths


def test_sample_portfolio_validates(runner):
    result = run_cli(runner, "validate", REPO / "sites")
    assert result.exit_code == 0, result.output
    assert "valid" in result.output


def test_yaml_syntax_error_names_file_and_line(runner, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: site\nname: x\ngrid:\n  max_import_mw: [1, 2\n  energy_price_usd_per_mwh: 3\n")
    result = run_cli(runner, "validate", bad)
    assert result.exit_code == 2
    assert "bad.yaml:" in result.output and "YAML syntax error" in result.output
    assert "Traceback" not in result.output


def test_a_lone_surrogate_is_refused_at_its_line_not_an_internal_error(runner, tmp_path):
    """YAML reads "\\ud800" in double quotes as a lone surrogate, which no text holds: pydantic's
    message about it could not be encoded (exit 70, nothing on stdout with --json)."""
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(base_site(), sort_keys=False).replace("country: US", 'country: "\\ud800"'))
    result = run_cli(runner, "validate", str(path))
    assert result.exit_code == 2, result.output
    line = path.read_text().splitlines().index('  country: "\\ud800"') + 1
    assert f"site.yaml:{line}: location.country: a lone surrogate" in result.output


def test_a_problem_inside_a_series_mapping_is_named_at_its_own_key_and_line(runner, tmp_path):
    """pydantic puts a series' union tag (csv, curve) before the mapping's keys, and the tag is a
    key of the mapping too: the scale's problem had been named at `csv`, a missing `against` at `curve`."""
    write_csv(tmp_path / "price.csv", {"price": np.full(8760, 50.0)})
    site = base_site()
    site["grid"]["energy_price_usd_per_mwh"] = {"csv": "price.csv", "column": "price", "scale": "ten"}
    site["cooling"] = [{"type": "air_economizer", "pue": {"curve": [[10, 1.2], [40, 1.6]],
                                                          "against": {"csv": "price.csv", "column": 7}}},
                       {"type": "air_chiller", "pue": {"curve": [[10, 1.2], [40, 1.6]]}}]
    path = write_yaml(tmp_path / "site.yaml", site)
    lines = path.read_text().splitlines()
    out = " ".join(run_cli(runner, "validate", str(path)).output.split())

    def at(fragment: str, after: int = 0) -> int:
        return next(i for i, line in enumerate(lines, 1) if fragment in line and i > after)

    assert f"site.yaml:{at('scale: ten')}: grid.energy_price_usd_per_mwh.scale: input should be a valid number" in out
    assert f"site.yaml:{at('column: 7')}: cooling[0].pue.against.column: input should be a valid string" in out
    assert f":{at('pue:', at('air_chiller'))}: cooling[1].pue.against: required key is missing" in out


def test_a_scenarios_own_problems_are_named_in_the_scenario(runner, tmp_path):
    """A list a scenario gives replaces the program's whole: a key missing from it had been named
    at the program's own list (its line, no scenario in the key); a site override that is no
    mapping had been blamed on the site file; a `buildout: null` as the program's missing target."""
    write_yaml(tmp_path / "site.yaml", base_site(compute=None))
    program = {"kind": "program", "name": "p", "sites": ["site.yaml"], "compute": {"gpus": [{"model": "h100_sxm"}]},
               "horizon": {"start": "2027-01-01", "years": 3},
               "buildout": {"period": "year", "targets": [{"date": "2028-01-01", "gpus": 1000}]},
               "scenarios": {"faster": {"buildout": {"targets": [{"gpus": 1000}]}},
                             "odd": {"site_overrides": {"testsite": "oops"}},
                             "no_ramp": {"buildout": None}}}
    path = write_yaml(tmp_path / "program.yaml", program)
    lines = path.read_text().splitlines()
    out = " ".join(run_cli(runner, "validate", str(path)).output.split())
    target = next(i for i, line in enumerate(lines, 1) if "- gpus: 1000" in line)
    assert f"program.yaml:{target}: scenarios.faster.buildout.targets[0].date: required key is missing" in out, out
    odd = next(i for i, line in enumerate(lines, 1) if "testsite: oops" in line)
    assert (f"program.yaml:{odd}: scenarios.odd.site_overrides.testsite: expected a mapping of the site's keys to "
            "change, found 'oops'") in out, out
    # a scenario that drops the build-out leaves no target: named at its `buildout: null`, not at compute
    no_ramp = next(i for i, line in enumerate(lines, 1) if "buildout: null" in line)
    assert f"program.yaml:{no_ramp}: scenarios.no_ramp.buildout: this removes the build-out and its targets" in out, out


def test_a_number_where_a_date_is_due_is_refused_not_read_as_seconds_since_1970(runner, tmp_path):
    """pydantic reads a number for a date as a Unix time: `start: 0` planned 1970 (a fuzz review)."""
    write_yaml(tmp_path / "site.yaml", base_site())
    path = write_yaml(tmp_path / "p.yaml", {"kind": "program", "name": "p", "sites": ["site.yaml"],
                                            "horizon": {"start": 0}})
    out = " ".join(run_cli(runner, "validate", str(path)).output.split())
    line = path.read_text().splitlines().index("  start: 0") + 1
    assert f"p.yaml:{line}: horizon.start: input should be a valid date" in out and "a date is written 2027-01-01" in out


def test_true_in_a_curves_point_is_no_number(runner, tmp_path):
    """pydantic reads true as 1 inside a tuple, where the record's own check of true/false for a
    number does not reach: a PUE curve's point [true, 1.2] had passed (a fuzz review)."""
    write_csv(tmp_path / "t.csv", {"ambient_temp_c": np.full(8760, 10.0)})
    path = write_yaml(tmp_path / "site.yaml", base_site(cooling=[{"type": "air_economizer", "pue": {
        "curve": [[True, 1.2], [40, 1.6]], "against": {"csv": "t.csv"}}}]))
    result = run_cli(runner, "validate", str(path))
    assert result.exit_code == 2 and "cooling[0].pue.curve[0][0]: input should be a valid number; found True" in \
        " ".join(result.output.split()), result.output


def test_unknown_key_suggests_the_right_one(runner, tmp_path):
    site = base_site()
    site["grid"]["max_import_mv"] = site["grid"].pop("max_import_mw")
    path = write_yaml(tmp_path / "s.yaml", site)
    result = run_cli(runner, "validate", path)
    assert result.exit_code == 2
    line = next(x for x in result.output.splitlines() if "max_import_mv" in x)
    assert "s.yaml:" in line and "did you mean 'max_import_mw'" in line
    lineno = int(line.split("s.yaml:")[1].split(":")[0])
    assert path.read_text().splitlines()[lineno - 1].strip().startswith("max_import_mv")


def test_negative_capacity_is_rejected_at_its_line(runner, tmp_path):
    site = base_site()
    site["grid"]["max_import_mw"] = -5
    path = write_yaml(tmp_path / "s.yaml", site)
    result = run_cli(runner, "validate", path)
    assert result.exit_code == 2
    assert "grid.max_import_mw" in result.output and "greater than or equal to 0" in result.output
    assert "found -5" in result.output


def test_missing_csv(runner, tmp_path):
    site = base_site()
    site["grid"]["energy_price_usd_per_mwh"] = {"csv": "nope.csv"}
    path = write_yaml(tmp_path / "s.yaml", site)
    result = run_cli(runner, "validate", path)
    assert result.exit_code == 2
    assert "CSV file not found" in result.output and "nope.csv" in result.output
    assert "grid.energy_price_usd_per_mwh" in result.output


def test_csv_of_wrong_length(runner, tmp_path):
    write_csv(tmp_path / "p.csv", {"price_usd_per_mwh": np.full(8000, 40.0)})
    site = base_site()
    site["grid"]["energy_price_usd_per_mwh"] = {"csv": "p.csv"}
    path = write_yaml(tmp_path / "s.yaml", site)
    result = run_cli(runner, "validate", path)
    assert result.exit_code == 2
    assert "8000 data rows, expected 8760" in result.output
    assert "s.yaml:" in result.output


def test_csv_gap_unit_and_range_problems(runner, tmp_path):
    values = np.full(8760, 0.3)
    (tmp_path / "gap.csv").write_text("hour,solar_cf\n" + "\n".join(
        f"{i}," + ("" if i == 100 else "0.3") for i in range(8760)) + "\n")
    write_csv(tmp_path / "kwh.csv", {"price_usd_per_kwh": np.full(8760, 0.05)})
    write_csv(tmp_path / "big.csv", {"wind_cf": np.where(np.arange(8760) == 7, 1.5, values)})
    site = base_site()
    site["grid"]["energy_price_usd_per_mwh"] = {"csv": "kwh.csv"}
    site["technologies"] = {"solar": {"max_mw": 10, "capacity_factor": {"csv": "gap.csv"}},
                            "wind": {"max_mw": 10, "capacity_factor": {"csv": "big.csv"}}}
    path = write_yaml(tmp_path / "s.yaml", site)
    result = run_cli(runner, "validate", path)
    assert result.exit_code == 2
    out = result.output
    assert "gap.csv:102: column 'solar_cf' has an empty cell (a gap)" in out
    assert "is in usd_per_kwh, expected usd_per_mwh" in out
    assert "big.csv:9: column 'wind_cf' value 1.5 is outside the plausible range 0..1" in out
    assert "3 problems found" in out  # all of them in one run
    (tmp_path / "gap.csv").write_text("hour,solar_cf,solar_cf\n" + "".join(f"{i},0.3,0.4\n" for i in range(8760)))
    assert "gap.csv has two columns named 'solar_cf': which one?" in run_cli(runner, "validate", path).output


def test_unknown_catalog_key_and_wrong_kind(runner, tmp_path):
    site = base_site()
    site["compute"]["gpus"] = [{"model": "h100_sxn"}]
    write_yaml(tmp_path / "a.yaml", site)
    write_yaml(tmp_path / "b.yaml", {**base_site(), "kind": "sight"})
    result = run_cli(runner, "validate", tmp_path)
    assert result.exit_code == 2
    assert "did you mean 'h100_sxm'" in result.output
    assert "did you mean 'site'" in result.output


def test_missing_required_key(runner, tmp_path):
    site = base_site()
    del site["location"]["timezone"]
    result = run_cli(runner, "validate", write_yaml(tmp_path / "s.yaml", site))
    assert result.exit_code == 2
    assert "location.timezone: required key is missing" in result.output


def test_program_reports_problems_in_its_sites(runner, tmp_path):
    site = base_site()
    site["grid"]["max_import_mw"] = "lots"
    write_yaml(tmp_path / "site.yaml", site)
    write_yaml(tmp_path / "prog.yaml", {"kind": "program", "name": "p", "sites": ["site.yaml", "gone.yaml"]})
    result = run_cli(runner, "validate", tmp_path / "prog.yaml")
    assert result.exit_code == 2
    assert "site file not found" in result.output and "gone.yaml" in result.output
    assert "site.yaml" in result.output and "grid.max_import_mw" in result.output
    (tmp_path / "adir").mkdir()  # a folder, and '' (the program's own folder): at the program's line, not bare
    write_yaml(tmp_path / "prog.yaml", {"kind": "program", "name": "p", "sites": ["adir", ""]})
    result = run_cli(runner, "validate", tmp_path / "prog.yaml")
    assert result.exit_code == 2 and "prog.yaml:4: sites[0]: a folder, not a site file" in result.output
    assert "prog.yaml:5: sites[1]: a folder, not a site file" in result.output


def test_a_program_with_a_typo_of_its_own_still_reports_its_sites_typos(runner, tmp_path):
    site = base_site()
    site["nme"] = site.pop("name")
    write_yaml(tmp_path / "site.yaml", site)
    write_yaml(tmp_path / "prog.yaml", {"kind": "program", "name": "p", "sites": ["site.yaml"],
                                        "finance": {"discount_rat": 0.08}})
    for command in ("validate", "plan"):
        result = run_cli(runner, command, tmp_path / "prog.yaml")
        assert result.exit_code == 2, result.output
        assert "finance.discount_rat: unknown key" in result.output, result.output
        assert "site.yaml:" in result.output and "nme: unknown key" in result.output, result.output


def test_nothing_to_validate(runner, tmp_path):
    result = run_cli(runner, "validate", tmp_path / "missing")
    assert result.exit_code == 2
    assert "no such file or folder" in result.output


def test_an_impossible_date_is_an_input_error_at_its_line(tmp_path, runner):
    site = base_site()
    site["grid"]["available_from"] = "DATE"
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(site, sort_keys=False).replace("DATE", "2027-13-45"))
    result = run_cli(runner, "validate", path)
    assert result.exit_code == 2 and "Traceback" not in result.output
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "2027-13-45" in text)
    assert f"site.yaml:{line}: grid.available_from: not a valid value" in " ".join(result.output.split())


def test_user_text_is_printed_as_text_not_emoji(tmp_path, runner):
    site = base_site()
    site[":x:"] = 1
    result = run_cli(runner, "validate", write_yaml(tmp_path / "site.yaml", site))
    assert result.exit_code == 2 and ":x:" in result.output and "\u274c" not in result.output


def test_an_output_path_that_is_a_file_is_refused_before_any_solve(tmp_path, runner):
    path = write_yaml(tmp_path / "site.yaml", base_site())
    taken = tmp_path / "taken"
    taken.write_text("not a folder")
    result = run_cli(runner, "plan", path, "-o", taken)
    assert result.exit_code == 2 and "-o" in result.output and "not a folder" in result.output
    assert "building model" not in result.output and taken.read_text() == "not a folder"


def test_a_csv_with_a_byte_order_mark_still_has_its_hour_column_checked(tmp_path, runner):
    hours = np.arange(8760)
    hours[100] = 7  # not consecutive
    text = "hour,price_usd_per_mwh\n" + "".join(f"{h},40\n" for h in hours)
    (tmp_path / "p.csv").write_text("\ufeff" + text, encoding="utf-8")
    site = base_site()
    site["grid"]["energy_price_usd_per_mwh"] = {"csv": "p.csv"}
    result = run_cli(runner, "validate", write_yaml(tmp_path / "site.yaml", site))
    assert result.exit_code == 2 and "hour is '7', expected 100" in " ".join(result.output.split())


def test_an_alias_bomb_too_deep_a_nesting_and_too_large_a_file_are_refused(tmp_path, runner, monkeypatch):
    """Billion laughs (10^9 values from 10 lines), a list that holds itself, 20,000 nested lists
    and an oversized file: each an input error naming the file (exit 2), in bounded time and
    memory."""
    import dcplan.trust as trust

    lines = ["kind: site", "a: &a [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]" for i in range(8)]
    (tmp_path / "bomb.yaml").write_text("\n".join(lines) + "\n")
    (tmp_path / "itself.yaml").write_text("kind: site\na: &a [1, *a]\n")
    (tmp_path / "deep.yaml").write_text("kind: site\nx: " + "[" * 20_000 + "]" * 20_000 + "\n")
    (tmp_path / "big.yaml").write_text("kind: site\n" + "".join(f"k{i}: {i}\n" for i in range(200)))
    expected = {"bomb": "values once its aliases are expanded", "itself": "values once its aliases are expanded",
                "deep": "nested too deep",
                "big": "a YAML input may be (DCPLAN_MAX_YAML_MB raises it)"}
    for name, message in expected.items():
        if name == "big":
            monkeypatch.setattr(trust, "MAX_YAML_BYTES", 1_000)  # a small limit stands for the 10 MB
        result = run_cli(runner, "validate", tmp_path / f"{name}.yaml")
        assert result.exit_code == 2 and f"{name}.yaml" in result.output, result.output
        assert message in " ".join(result.output.split()) and "Traceback" not in result.output


def test_a_size_limit_that_is_no_size_is_an_input_error_not_a_traceback(monkeypatch):
    """DCPLAN_MAX_YAML_MB=inf raised OverflowError on import, for every command (the process, once);
    abc was ignored, an empty value (a template's way of leaving it out) refused; the CSV limit was
    blamed on every CSV reference of every site file."""
    import dcplan.trust as trust

    result = subprocess.run([sys.executable, "-m", "dcplan", "validate", str(REPO / "sites")], capture_output=True,
                            text=True, env={**os.environ, "DCPLAN_MAX_YAML_MB": "inf", "DCPLAN_MAX_CSV_MB": "inf"},
                            timeout=120)
    said = result.stdout + result.stderr
    assert result.returncode == 2 and "Traceback" not in said, said
    assert "DCPLAN_MAX_YAML_MB='inf' is not a size" in said and said.count("is not a size") <= 2
    for value, limit in (("abc", None), ("-1", None), ("nan", None), ("", 10_000_000), ("  ", 10_000_000), ("2", 2_000_000)):
        monkeypatch.setenv("DCPLAN_X_MB", value)
        assert trust._megabytes("DCPLAN_X_MB", 10) == limit, value
    monkeypatch.setattr(trust, "MAX_CSV_BYTES", None)
    monkeypatch.setenv("DCPLAN_MAX_CSV_MB", "abc")
    problems = validate_paths([REPO / "sites"])[1]
    assert [p.message for p in problems] == ["DCPLAN_MAX_CSV_MB='abc' is not a size: give megabytes, a number above 0 "
                                             "(or unset it)"]


def test_a_gas_type_and_a_cooling_option_listed_twice_are_both_said_at_their_lines(tmp_path, runner):
    """The gas type's was a schema error, which hid the cooling's until it was mended."""
    site = base_site()
    site["fuel"] = {"gas_price_usd_per_mmbtu": 3.0}
    site.setdefault("technologies", {})["gas"] = [{"type": "lm6000", "max_units": 2}, {"type": "lm6000", "max_units": 1}]
    site["cooling"] = [{"type": "air_economizer"}, {"type": "air_economizer", "pue": 1.3}]
    path = write_yaml(tmp_path / "s.yaml", site)
    result = run_cli(runner, "validate", path)
    assert result.exit_code == 2 and "2 problems found" in result.output, result.output
    assert "technologies.gas[1].type: gas type 'lm6000' is listed twice" in result.output
    assert "cooling[1].type: cooling option 'air_economizer' is listed twice" in result.output


def test_a_merge_key_is_named_at_its_line_not_as_a_constructor_error(tmp_path, runner):
    (tmp_path / "m.yaml").write_text("kind: site\nname: x\nbase: &g {max_import_mw: 5}\ngrid:\n  <<: *g\n")
    result = run_cli(runner, "validate", tmp_path / "m.yaml")
    assert result.exit_code == 2 and "m.yaml:5: grid.<<: a merge key (<<) is not read" in result.output, result.output


def test_a_missing_hour_is_named_at_its_line_and_a_row_too_wide_is_refused(tmp_path, runner):
    hours = [h for h in range(8760) if h != 99]
    (tmp_path / "short.csv").write_text("hour,price_usd_per_mwh\n" + "".join(f"{h},40\n" for h in hours))
    rows = [f"{h},40" + (",7" if h == 48 else "") for h in range(8760)]
    (tmp_path / "wide.csv").write_text("hour,price_usd_per_mwh\n" + "\n".join(rows) + "\n")
    for name, expected in (("short.csv", "short.csv:101: hour is '100', expected 99"),
                           ("wide.csv", "wide.csv:50: 3 fields, but the header has 2")):
        site = base_site()
        site["grid"]["energy_price_usd_per_mwh"] = {"csv": name}
        result = run_cli(runner, "validate", write_yaml(tmp_path / f"{name}.yaml", site))
        assert result.exit_code == 2 and expected in " ".join(result.output.split()), result.output


def test_an_empty_file_or_a_file_dcplan_does_not_read_is_a_problem_when_named(tmp_path, runner):
    good = write_yaml(tmp_path / "site.yaml", base_site())
    (tmp_path / "empty.yaml").write_text("# nothing yet\n")
    (tmp_path / "workflow.yml").write_text("on: [push]\n")
    result = run_cli(runner, "validate", good, tmp_path / "empty.yaml", tmp_path / "workflow.yml")
    assert result.exit_code == 2
    out = " ".join(result.output.split())
    assert "empty.yaml:1: empty file" in out and "workflow.yml:1: kind: not a file dcplan reads" in out
    (tmp_path / "workflow.yml").unlink()
    result = run_cli(runner, "validate", tmp_path)  # found in a folder: an empty file still fails
    assert result.exit_code == 2 and "empty.yaml:1: empty file" in " ".join(result.output.split())


def test_every_scenario_is_validated_and_its_problems_named_at_its_own_lines(tmp_path, runner):
    write_yaml(tmp_path / "site.yaml", base_site())
    program = {"kind": "program", "name": "p", "sites": ["site.yaml"], "finance": {"discount_rate": 0.07},
               "scenarios": {"typo": {"site_overrides": {"testsite": {"fuel": {"gas_prce_usd_per_mmbtu": 8}}}},
                             "bad_rate": {"finance": {"discount_rate": "x"}},
                             "nobody": {"site_overrides": {"memphs": {"grid": {"max_import_mw": 1}}}}}}
    path = write_yaml(tmp_path / "p.yaml", program)
    lines = path.read_text().splitlines()

    def line(fragment: str, after: str = "") -> int:
        start = next(i for i, t in enumerate(lines) if after in t)
        return next(i for i, t in enumerate(lines) if i >= start and fragment in t) + 1

    result = run_cli(runner, "validate", path)
    assert result.exit_code == 2
    out = " ".join(result.output.split())
    assert (f"p.yaml:{line('gas_prce')}: scenarios.typo.site_overrides.testsite.fuel.gas_prce_usd_per_mmbtu: "
            "unknown key") in out
    assert f"p.yaml:{line('discount_rate', 'bad_rate')}: scenarios.bad_rate.finance.discount_rate:" in out
    assert f"p.yaml:{line('memphs', 'nobody')}: scenarios.nobody.site_overrides.memphs: no site named 'memphs'; " \
           "sites: testsite" in out
    planned = run_cli(runner, "plan", path, "--scenario", "bad_rate")  # the same line when planned
    assert planned.exit_code == 2 and f"p.yaml:{line('discount_rate', 'bad_rate')}:" in planned.output


def test_a_scenario_whose_site_overrides_is_not_a_mapping_and_a_document_of_nothing_are_problems(tmp_path, runner):
    write_yaml(tmp_path / "site.yaml", base_site())
    write_yaml(tmp_path / "p.yaml", {"kind": "program", "name": "p", "sites": ["site.yaml"],
                                     "scenarios": {"x": {"site_overrides": [1]}}})
    (tmp_path / "dashes.yaml").write_text("---\n")
    result = run_cli(runner, "validate", tmp_path)
    out = " ".join(result.output.split())
    assert result.exit_code == 2 and "internal error" not in out, out
    assert "p.yaml:7: scenarios.x.site_overrides: input should be a valid dictionary" in out
    assert "dashes.yaml:2: empty file" in out


def test_true_or_an_infinite_number_where_a_number_is_due_are_refused_at_their_key(runner, tmp_path):
    """pydantic read `max_import_mw: true` as a 1 MW grid and 1e400 (text to YAML) as infinity."""
    site = base_site()
    site["grid"]["max_import_mw"] = True
    site["land_available_acres"] = "1e400"
    result = run_cli(runner, "validate", write_yaml(tmp_path / "s.yaml", site))
    assert result.exit_code == 2, result.output
    assert "grid.max_import_mw: a number is due, not true (YAML reads an unquoted yes, no, on or off" in result.output
    assert "land_available_acres: input should be a finite number" in result.output
    site["grid"]["max_import_mw"] = dt.date(2027, 1, 1)  # a date said as one, not as Python's repr
    result = run_cli(runner, "validate", write_yaml(tmp_path / "s.yaml", site))
    assert "grid.max_import_mw: input should be a valid number; found the date 2027-01-01" in result.output
    site["grid"]["max_import_mw"] = "x" * 100_000  # a value found is cut, not echoed whole
    result = run_cli(runner, "validate", write_yaml(tmp_path / "s.yaml", site))
    assert "... (100,000 characters)" in result.output and len(result.output) < 1000
    site["grid"]["max_import_mw"], site["land_available_acres"] = "60", "1e4"  # numbers written as text still read
    assert run_cli(runner, "validate", write_yaml(tmp_path / "s.yaml", site)).exit_code == 0


def test_a_tag_no_constructor_reads_is_named_at_its_line_in_words_not_a_parser_dump(runner, tmp_path):
    (tmp_path / "tag.yaml").write_text("kind: site\nname: a\ngrid:\n  max_import_mw: !custom 100\n")
    result = run_cli(runner, "validate", tmp_path / "tag.yaml")
    assert result.exit_code == 2 and "tag.yaml:4: YAML error: could not determine a constructor for the tag " \
        "'!custom' (a tag dcplan does not read: remove it)" in " ".join(result.output.split())
    assert "unicode string" not in result.output


def test_a_duplicate_key_names_the_line_that_set_it_and_bytes_that_are_not_utf8_their_line(runner, tmp_path):
    (tmp_path / "dup.yaml").write_text("kind: site\nname: a\nname: b\n")
    assert "dup.yaml:3: name: duplicate key (line 2 sets it too)" in run_cli(runner, "validate", tmp_path / "dup.yaml").output
    (tmp_path / "latin.yaml").write_bytes("kind: site\nname: café\n".encode("latin-1"))
    result = run_cli(runner, "validate", tmp_path / "latin.yaml")
    assert result.exit_code == 2 and "latin.yaml:2: not UTF-8 text: byte 0xe9" in result.output


def test_numbers_beyond_1e15_are_refused_at_their_line_in_yaml_and_in_csv(runner, tmp_path):
    """1.0e+308 for a demand charge passed validation and made a plan of NaN costs (exit 0) that
    dcplan's own readers then refused; in a GPU's price it ran a build-out past its time limit."""
    write_csv(tmp_path / "price.csv", {"price_usd_per_mwh": np.where(np.arange(8760) == 4, 2e15, 50.0)})
    site = base_site(catalog={"gpus": {"h100_sxm": {"price_usd_per_gpu": 1.0e308}}})
    site["grid"]["demand_charge_usd_per_kw_month"] = -1.0e16
    site["grid"]["energy_price_usd_per_mwh"] = {"csv": "price.csv"}
    result = run_cli(runner, "validate", write_yaml(tmp_path / "s.yaml", site))
    out = " ".join(result.output.split())
    assert result.exit_code == 2, out
    assert "catalog.gpus.h100_sxm.price_usd_per_gpu: 1e+308 is beyond what dcplan reads (at most 1e+15" in out
    assert "grid.demand_charge_usd_per_kw_month: -1e+16 is beyond what dcplan reads" in out
    del site["catalog"], site["grid"]["demand_charge_usd_per_kw_month"]  # the file read, then its CSV
    out = " ".join(run_cli(runner, "validate", write_yaml(tmp_path / "s.yaml", site)).output.split())
    assert "price.csv:6: column 'price_usd_per_mwh': 2e+15 is beyond what dcplan reads" in out
    site = base_site()
    site["grid"]["energy_price_usd_per_mwh"] = {"csv": "price.csv", "scale": 1e14}  # 50 x 1e14: too
    write_csv(tmp_path / "price.csv", {"price_usd_per_mwh": np.full(8760, 50.0)})
    out = " ".join(run_cli(runner, "validate", write_yaml(tmp_path / "s.yaml", site)).output.split())
    assert "price.csv:2: column 'price_usd_per_mwh' (scaled by 1e+14): 5e+15 is beyond" in out


def test_a_lead_time_past_a_century_and_a_horizon_past_2200_are_refused_at_their_lines(runner, tmp_path):
    """Both ran the calendar past year 9999 (exit 70, ValueError: year 10000 is out of range)."""
    site = base_site()
    site["cooling"] = [{"type": "air_economizer", "pue": 1.2, "lead_time_months": 1e8}]
    write_yaml(tmp_path / "site.yaml", site)
    path = write_yaml(tmp_path / "program.yaml", {
        "kind": "program", "name": "p", "sites": ["site.yaml"], "horizon": {"start": "9999-01-01", "years": 1},
        "compute": {"gpus": [{"model": "h100_sxm", "lead_time_months": 1201}]},
        "buildout": {"period": "year", "targets": [{"date": "9999-06-01", "gpus": 1000}]}})
    result = run_cli(runner, "validate", path)
    out = " ".join(result.output.split())
    assert result.exit_code == 2 and "internal error" not in out, out
    assert "cooling[0].lead_time_months: input should be less than or equal to 1200" in out
    assert "compute.gpus[0].lead_time_months: input should be less than or equal to 1200" in out
    assert "horizon.start: input should be less than or equal to 2200-12-31" in out


def test_control_characters_from_an_input_are_printed_as_escapes(runner, tmp_path):
    """A key of ESC sequences and a newline cleared the terminal and faked 'ok: 1 file valid'."""
    site = base_site()
    site["\x1b[2J\x1b[Hok: 1 file valid\n\x1b[8m"] = 1
    result = run_cli(runner, "validate", write_yaml(tmp_path / "s.yaml", site))
    assert result.exit_code == 2 and "\x1b" not in result.output and "\nok: 1 file valid" not in result.output
    assert "\\x1b[2J\\x1b[Hok: 1 file valid\\x0a\\x1b[8m: unknown key" in result.output
    (tmp_path / "esc.yaml").write_text("kind: site\nname: a\x1bb\n")  # raw in the file, where YAML refuses it
    result = run_cli(runner, "validate", tmp_path / "esc.yaml")
    assert "esc.yaml:2: a control character (0x1b) YAML does not allow in a file" in result.output


def test_yaml_11_readings_no_one_means_are_explained_at_their_line(runner, tmp_path):
    """country: NO read as false was 'found False'; 0150 read as 104 and 2:30 as 150 passed."""
    site = base_site()
    site["location"]["country"] = "NO"
    path = write_yaml(tmp_path / "s.yaml", site)
    path.write_text(path.read_text().replace("country: 'NO'", "country: NO"))
    out = " ".join(run_cli(runner, "validate", path).output.split())
    assert "location.country: input should be a valid string; found False (YAML reads an unquoted yes, no, on or off" in out
    path.write_text(path.read_text().replace("country: NO", "country: US").replace("max_import_mw: 100", "max_import_mw: 0150"))
    out = " ".join(run_cli(runner, "validate", path).output.split())
    assert "grid.max_import_mw: 0150 is read by YAML as 104 (an octal" in out


def test_a_scenario_override_of_the_wrong_shape_is_blamed_on_the_program(runner, tmp_path):
    """A mapping where the site wants a list was reported at the site file, which is valid."""
    write_yaml(tmp_path / "site.yaml", base_site())
    path = write_yaml(tmp_path / "p.yaml", {
        "kind": "program", "name": "p", "sites": ["site.yaml"],
        "scenarios": {"bad": {"site_overrides": {"testsite": {"technologies": {"gas": {"type": "lm6000"}}}}}}})
    out = " ".join(run_cli(runner, "validate", path).output.split())
    assert "p.yaml:" in out and "scenarios.bad.site_overrides.testsite.technologies.gas: input should be a valid list" in out
    assert "site.yaml" not in out


def test_a_problem_of_a_section_a_scenario_merges_into_stays_the_sites(runner, tmp_path):
    """The scenario sets one number in grid; the site's grid steps are out of order: the site's
    line, not the scenario's, explains it."""
    site = base_site()
    site["grid"]["steps"] = [{"date": "2029-01-01", "max_import_mw": 20}, {"date": "2028-01-01", "max_import_mw": 30}]
    write_yaml(tmp_path / "site.yaml", site)
    path = write_yaml(tmp_path / "p.yaml", {
        "kind": "program", "name": "p", "sites": ["site.yaml"],
        "scenarios": {"more": {"site_overrides": {"testsite": {"grid": {"max_import_mw": 300}}}}}})
    out = " ".join(run_cli(runner, "plan", path, "--scenario", "more", "-o", tmp_path / "out").output.split())
    assert "site.yaml:" in out and "grid.steps[1].date: grid steps must be in date order" in out and "p.yaml" not in out


def test_two_grid_steps_or_build_out_targets_on_one_date_are_refused(runner, tmp_path):
    """Two entries on one date contradict each other: the last had silently won (a grid of 20 MW
    planned where the file also said 80 on the same day)."""
    site = base_site()
    site["grid"]["steps"] = [{"date": "2026-06-01", "max_import_mw": 80}, {"date": "2026-06-01", "max_import_mw": 20}]
    out = " ".join(run_cli(runner, "validate", write_yaml(tmp_path / "site.yaml", site)).output.split())
    assert "site.yaml:" in out and "grid.steps[1].date: two grid steps on 2026-06-01: give one" in out, out
    path = write_yaml(tmp_path / "p.yaml", {
        "kind": "program", "name": "p", "sites": ["ok.yaml"], "horizon": {"start": "2026-01-01", "years": 3},
        "buildout": {"period": "quarter", "targets": [{"date": "2027-01-01", "gpus": 100_000},
                                                      {"date": "2027-01-01", "gpus": 150_000}]}})
    write_yaml(tmp_path / "ok.yaml", base_site())
    out = " ".join(run_cli(runner, "validate", path).output.split())
    assert "p.yaml:" in out and "buildout.targets[1].date: two build-out targets on 2027-01-01: give one" in out, out


def test_a_csv_that_is_not_utf8_is_named_at_its_line(runner, tmp_path):
    """The reader's error gave a byte offset into its buffer, not a line."""
    text = "hour,price_usd_per_mwh\n" + "".join(f"{h},40\n" for h in range(8760))
    (tmp_path / "p.csv").write_bytes(text.encode().replace(b"\n22,40\n", b"\n22,40\xe9\n"))
    site = base_site()
    site["grid"]["energy_price_usd_per_mwh"] = {"csv": "p.csv"}
    result = run_cli(runner, "validate", write_yaml(tmp_path / "s.yaml", site))
    assert result.exit_code == 2 and "p.csv:24: not UTF-8 text: byte 0xe9" in " ".join(result.output.split())


def test_a_key_yaml_reads_as_null_is_named_at_its_line(runner, tmp_path):
    (tmp_path / "s.yaml").write_text("kind: site\nname: a\n\n\n~: 2\n")
    assert "s.yaml:5: the key ~ is read by YAML as null, not a name" in run_cli(runner, "validate", tmp_path / "s.yaml").output


def test_a_key_yaml_reads_as_a_date_number_or_boolean_is_named_at_its_line_under_its_parent(runner, tmp_path):
    """A date key was reported at its parent's line as grid.datetime.date(2027, 1, 1); a number
    or true as grid[5] or grid[1], read as list positions."""
    (tmp_path / "s.yaml").write_text("kind: site\nname: a\ngrid:\n  max_import_mw: 1\n  2027-01-01: 3\n  5: 3\n"
                                     "  true: 4\ncatalog:\n  gpus:\n    7: {price_usd_per_gpu: 3}\n")
    out = run_cli(runner, "validate", tmp_path / "s.yaml").output
    for line, key, what in ((5, "grid", "2027-01-01 is read by YAML as a date"), (6, "grid", "5 is read by YAML as a number"),
                            (7, "grid", "true is read by YAML as true or false"), (10, "catalog.gpus", "7 is read")):
        assert f"s.yaml:{line}: {key}: the key {what}" in out, out


def test_a_bad_value_under_a_key_that_is_not_text_is_named_at_its_line(runner, tmp_path):
    """Its value's problem had fallen back to the parent's line once the key's own was reported."""
    (tmp_path / "p.yaml").write_text("kind: program\nname: p\nsites: [s.yaml]\nfinance:\n  lifetimes_years:\n"
                                     "    ~: abc\n    2027-01-01: abc\n")
    out = run_cli(runner, "validate", tmp_path / "p.yaml").output
    assert "p.yaml:6: finance.lifetimes_years.None: input should be a valid number" in out, out
    assert "p.yaml:7: finance.lifetimes_years.2027-01-01: input should be a valid number" in out, out


def test_a_word_for_a_key_of_numbers_is_named_as_no_number():
    """A dict keyed by number (months late -> probability) reports a word for a key as a value
    that is no number, not as a key that should be text."""
    from pathlib import Path

    from pydantic import BaseModel

    from dcplan.schema.validate import validation_problems
    from dcplan.yamlio import parse_yaml

    class Odds(BaseModel):
        months: dict[float, float]

    doc = parse_yaml("months:\n  x: 0.5\n  3: 0.5\n", Path("odds.yaml"))
    [problem] = validation_problems(doc, Odds, doc.data)
    assert (problem.line, problem.key) == (2, "months.x") and "valid number" in problem.message


def test_an_unclosed_list_says_the_line_it_opened_on(runner, tmp_path):
    """YAML finds the error on the next key's line; the '[' left open is on the line before."""
    (tmp_path / "s.yaml").write_text("kind: site\nname: a\nlocation:\n  lat: [oops\n  lon: 2\n")
    out = " ".join(run_cli(runner, "validate", tmp_path / "s.yaml").output.split())
    assert "s.yaml:5: YAML syntax error: expected ',' or ']', but got ':' (while parsing a flow sequence begun on line 4)" in out


@pytest.mark.parametrize("program, line_of, key", [
    ({"horizon": {"start": "2027-02-01"}, "buildout": {"period": "quarter", "targets": [{"date": "2028-01-01", "gpus": 1000}]}},
     "start:", "horizon.start"),
    ({"compute": {"gpus": [{"model": "h100_sxm"}], "target": {"gpus": 1000}},
      "buildout": {"period": "year", "targets": [{"date": "2028-01-01", "gpus": 1000}]}}, "target:", "compute.target"),
    ({"pareto": {"co2_points": 3}, "buildout": {"period": "year", "earliest": {"gpus": 1000}}}, "pareto:", "pareto"),
])
def test_a_rule_across_sections_is_named_at_the_key_it_is_about(runner, tmp_path, program, line_of, key):
    """A program's rule across its sections had been reported at line 1 with no key."""
    write_yaml(tmp_path / "site.yaml", base_site())
    path = write_yaml(tmp_path / "p.yaml", {"kind": "program", "name": "p", "sites": ["site.yaml"],
                                            "horizon": {"start": "2027-01-01", "years": 3}, **program})
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if line_of in text)
    result = run_cli(runner, "validate", path)
    assert result.exit_code == 2 and f"p.yaml:{line}: {key}: " in " ".join(result.output.split()), result.output


def test_gas_without_fuel_is_named_at_the_gas_units(runner, tmp_path):
    path = write_yaml(tmp_path / "site.yaml", base_site(technologies={"gas": [{"type": "lm6000", "max_units": 1}]}))
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if text.strip() == "gas:")
    result = run_cli(runner, "validate", path)
    assert f"site.yaml:{line}: technologies.gas: gas units are listed" in " ".join(result.output.split()), result.output


def test_did_you_mean_offers_the_key_with_its_unit_and_the_model_with_its_variant():
    """A key written without its unit (gas_price) had no suggestion, and h100 was offered h200."""
    from dcplan.errors import did_you_mean

    assert did_you_mean("gas_price", ["gas_price_usd_per_mmbtu", "pipeline_mmbtu_per_h"]) == \
        " (did you mean 'gas_price_usd_per_mmbtu'?)"
    assert did_you_mean("h100", ["h100_sxm", "h200", "b200"]) == " (did you mean 'h100_sxm'?)"
    assert did_you_mean("h20", ["h200", "b200"]) == " (did you mean 'h200'?)"  # else the closest spelling


def test_an_empty_file_is_said_to_be_empty_by_plan_as_by_validate(runner, tmp_path):
    (tmp_path / "e.yaml").write_text("")
    for command in (["validate"], ["plan", "-o", str(tmp_path / "out")]):
        result = run_cli(runner, command[0], tmp_path / "e.yaml", *command[1:])
        assert result.exit_code == 2 and "e.yaml:1: empty file" in result.output, result.output


def test_a_name_where_a_record_is_due_is_said_without_the_schemas_class(runner, tmp_path):
    """`gpus: [h100_sxm]` had said 'a valid dictionary or instance of GpuOption'."""
    path = write_yaml(tmp_path / "s.yaml", base_site(compute={"gpus": ["h100_sxm"], "target": {"gpus": 1000}}))
    out = " ".join(run_cli(runner, "validate", path).output.split())
    assert "compute.gpus[0]: expected a mapping of keys (key: value); found 'h100_sxm'" in out and "GpuOption" not in out



def test_reading_a_yaml_file_keeps_none_of_its_nodes():
    """A sweep's worker reads input files for hours: the shared scalar constructor must not
    remember the nodes of each file it read (it did: 179 nodes a plan of the quickstart)."""
    import gc
    from pathlib import Path

    from dcplan.errors import InputError
    from dcplan.yamlio import parse_yaml

    text = "a: 1\nb: [2027-01-01, 2.5, yes, text]\nc: {d: null}\n"
    parse_yaml(text, Path("x.yaml"))
    gc.collect()
    before = sum(isinstance(o, yaml.Node) for o in gc.get_objects())
    for _ in range(20):
        assert parse_yaml(text, Path("x.yaml")).data["b"][2] is True
        with pytest.raises(InputError):  # a value refused: its node had stayed marked as under construction
            parse_yaml("d: 2027-13-45\n", Path("x.yaml"))
    gc.collect()
    assert sum(isinstance(o, yaml.Node) for o in gc.get_objects()) == before


@pytest.mark.parametrize("lifetimes, found", [
    ({"gpus": -4}, "input should be greater than 0"),  # had planned a negative cost
    ({"storage": 0}, "input should be greater than 0"),  # had divided by zero
    ({"spaceships": 3}, "'spaceships' is neither a catalog section nor a catalog key"),  # had been ignored
])
def test_asset_lives_are_positive_and_name_a_catalog_section_or_key(runner, tmp_path, lifetimes, found):
    write_yaml(tmp_path / "site.yaml", base_site())

    def program(lives: dict):
        return write_yaml(tmp_path / "p.yaml", {"kind": "program", "name": "p", "sites": ["site.yaml"],
                                                "compute": {"gpus": [{"model": "h100_sxm"}], "target": {"gpus": 1000}},
                                                "finance": {"lifetimes_years": lives}})
    path = program(lifetimes)
    [key] = lifetimes
    lines = path.read_text().splitlines()
    line = lines.index(f"    {key}: {lifetimes[key]}") + 1  # below finance.lifetimes_years
    result = run_cli(runner, "validate", path)
    assert result.exit_code == 2 and f"p.yaml:{line}: finance.lifetimes_years.{key}: {found}" \
        in " ".join(result.output.split()), result.output
    assert run_cli(runner, "validate", program({"h100_sxm": 4, "generators": 20})).exit_code == 0


def test_a_gpu_model_listed_twice_is_refused_at_its_second_entry(runner, tmp_path):
    """The first entry had won and the second's max_gpus been ignored: infeasible or not by order."""
    site = base_site()
    site["compute"] = {"gpus": [{"model": "h100_sxm", "max_gpus": 400}, {"model": "h100_sxm"}], "target": {"gpus": 1000}}
    path = write_yaml(tmp_path / "site.yaml", site)
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if "- model: h100_sxm" in text
                and "max_gpus" not in path.read_text().splitlines()[n])
    result = run_cli(runner, "validate", path)
    assert result.exit_code == 2 and f"site.yaml:{line}: compute.gpus[1].model: GPU model 'h100_sxm' is listed twice" \
        in " ".join(result.output.split()), result.output


def test_a_name_longer_than_a_folder_name_may_be_is_refused_at_validation(runner, tmp_path):
    """Plan folders are named after the site: a 300-character name had passed validate and failed
    in check --plan with the system's 'File name too long'."""
    path = write_yaml(tmp_path / "site.yaml", base_site(name="a" * 300))
    result = run_cli(runner, "validate", path)
    assert result.exit_code == 2 and "name: string should have at most 100 characters" in result.output
    assert run_cli(runner, "validate", write_yaml(tmp_path / "ok.yaml", base_site(name="a" * 100))).exit_code == 0


def test_a_curve_point_with_one_number_says_a_value_is_missing(runner, tmp_path):
    """[-10] for a point [x, y] had read "required key is missing", of a list that has no keys."""
    site = base_site()
    site["cooling"] = [{"type": "air_economizer", "pue": {"curve": [[-10], [20, 1.2]],
                                                          "against": {"csv": "t.csv", "column": "temp_c"}}}]
    out = " ".join(run_cli(runner, "validate", write_yaml(tmp_path / "site.yaml", site)).output.split())
    assert "cooling[0].pue.curve[0]: too few values (none at position 2); found [-10]" in out, out


def test_a_sweep_file_with_a_kind_or_without_its_base_is_told_what_a_sweep_file_is(runner, tmp_path):
    """validate had listed the kinds of other files only (`dcplan sweep` said it)."""
    axes = [{"path": "finance.discount_rate", "values": [0.05, 0.08]}]
    for name, data in (("kind.yaml", {"kind": "sweep", "axes": axes}), ("nobase.yaml", {"axes": axes})):
        out = " ".join(run_cli(runner, "validate", write_yaml(tmp_path / name, data)).output.split())
        assert f"{name}:1: kind:" in out and "a sweep file has no kind, and gives `base:` (a program file) and `axes:`" in out, out


def test_an_override_that_renames_a_site_is_refused_at_its_key(runner, tmp_path):
    """It had been "no site named 'testsite'; sites: other": the override had renamed the site the
    program looked it up by."""
    write_yaml(tmp_path / "site.yaml", base_site())
    path = write_yaml(tmp_path / "p.yaml", {"kind": "program", "name": "p", "sites": ["site.yaml"],
                                            "site_overrides": {"testsite": {"name": "other"}}})
    out = " ".join(run_cli(runner, "validate", path).output.split())
    assert "p.yaml:" in out and "site_overrides.testsite.name: a site's name is how the program finds it" in out, out
