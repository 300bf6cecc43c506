"""The built-in catalog: every number has a source, units are plausible, overrides work."""

from __future__ import annotations

import pytest
from conftest import REPO, base_site, run_cli, write_yaml

from dcplan import api
from dcplan.catalog import builtin_catalog, cited, references
from dcplan.schema.catalog import H100_TPP, SECTIONS

CAT = builtin_catalog()
REQUIRED = {
    "gpus": {"h100_sxm", "h200", "b200", "gb200_nvl72", "gb300_nvl72", "mi300x", "mi355x"},
    "generators": {"lm6000", "lm2500xpress", "wartsila_18v50sg", "frame_ct", "bloom_sofc"},
    "renewables": {"utility_pv", "onshore_wind"},
    "storage": {"li_ion_lfp"},
    "cooling": {"air_economizer", "direct_liquid", "immersion"},
}


def entries():
    return [(s, k, e) for s in SECTIONS for k, e in getattr(CAT, s).items()]


def test_required_entries_present():
    for section, keys in REQUIRED.items():
        assert keys <= set(getattr(CAT, section)), section


@pytest.mark.parametrize("section,key,entry", entries(), ids=lambda x: x if isinstance(x, str) else "")
def test_every_number_has_a_source(section, key, entry):
    assert entry.sourced_fields(), "an entry without numbers is suspicious"
    assert entry.unsourced_fields() == []
    for field, text in entry.sources.items():
        assert field in type(entry).model_fields, f"source for unknown field {field}"
        assert len(text.strip()) > 10
        assert set(cited(text)) <= set(references()), f"{field}: a citation the package does not resolve"


def test_gpu_units_are_plausible():
    for key, g in CAT.gpus.items():
        assert 300 <= g.tdp_w <= 2000, key
        assert g.tdp_w < g.it_power_per_gpu_w < 2.5 * g.tdp_w, key  # server share on top of the GPU
        has_fp8 = key != "a100_sxm"  # Ampere has none: FP8 work runs at the BF16 rate
        assert g.fp8_dense_tflops == pytest.approx((2 if has_fp8 else 1) * g.bf16_dense_tflops, rel=0.05), key
        assert 0 < g.cluster_w_per_gpu < 0.15 * g.design_w_per_gpu, key  # network, storage: ~10 % all-in
        assert 5_000 < g.price_usd_per_gpu < 150_000, key
        assert g.gpus_per_unit == (72 if g.purchase_unit == "rack" else 8), key
    h100 = CAT.gpus["h100_sxm"]
    assert h100.tpp == pytest.approx(H100_TPP)
    assert h100.it_power_per_gpu_w == pytest.approx(10_200 / 8)  # DGX H100: 10.2 kW for 8 GPUs


def test_generator_units_are_plausible():
    for key, g in CAT.generators.items():
        assert 5.0 < g.heat_rate_mmbtu_per_mwh < 13.0, key  # 26-68 % efficient (HHV)
        assert 0 < g.unit_mw <= 1000, key  # up to an H-class combined-cycle block
        assert 200 < g.capex_usd_per_kw < 6000, key


def test_storage_and_cooling_are_plausible():
    bat = CAT.storage["li_ion_lfp"]
    assert 0.75 <= bat.round_trip_efficiency <= 0.95
    for key, c in CAT.cooling.items():
        assert 1.0 < c.pue < 2.0, key
        assert 0 <= c.wue_l_per_kwh < 3, key
    assert CAT.cooling["direct_liquid"].liquid and not CAT.cooling["air_economizer"].liquid


def test_site_override_changes_a_number_and_records_its_source(tmp_path):
    site = base_site(catalog={"gpus": {"h100_sxm": {"price_usd_per_gpu": 20_000}},
                              "cooling": {"my_hall": {"name": "custom", "liquid": True, "pue": 1.05,
                                                      "wue_l_per_kwh": 0, "capex_usd_per_kw_it": 7000,
                                                      "lifetime_years": 20, "lead_time_months": 12}}})
    site["cooling"] = [{"type": "my_hall"}]
    outcome = api.plan(write_yaml(tmp_path / "s.yaml", site))
    assert outcome.plan.sites[0].cooling == "my_hall"
    from dcplan.loader import load_site
    si = load_site(tmp_path / "s.yaml")
    assert si.catalog.gpus["h100_sxm"].price_usd_per_gpu == 20_000
    assert si.catalog.gpus["h100_sxm"].sources["price_usd_per_gpu"].startswith("override in")
    assert si.catalog.gpus["h200"].price_usd_per_gpu == CAT.gpus["h200"].price_usd_per_gpu


def test_an_override_with_its_own_sources_keeps_the_catalogs_for_the_other_fields(tmp_path):
    from dcplan.loader import load_site
    site = base_site(catalog={"generators": {"lm6000": {"lead_time_months": 36,
                                                         "sources": {"lead_time_months": "our vendor quote"}}}})
    sources = load_site(write_yaml(tmp_path / "s.yaml", site)).catalog.generators["lm6000"].sources
    assert sources["lead_time_months"] == "our vendor quote"
    assert sources["heat_rate_mmbtu_per_mwh"] == CAT.generators["lm6000"].sources["heat_rate_mmbtu_per_mwh"]


def test_incomplete_new_catalog_entry_is_reported(runner, tmp_path):
    site = base_site(catalog={"generators": {"my_turbine": {"name": "x", "unit_mw": 30}}})
    result = run_cli(runner, "validate", write_yaml(tmp_path / "s.yaml", site))
    assert result.exit_code == 2
    assert "catalog.generators.my_turbine: 'my_turbine' is not in the generators catalog; as a new entry it needs " \
           "also: " in result.output and "heat_rate_mmbtu_per_mwh" in result.output
    assert result.output.count("problem") == 1  # one, not one a missing field
    typo = base_site(catalog={"gpus": {"h100_sxn": {"price_usd_per_gpu": 1}}})
    result = run_cli(runner, "validate", write_yaml(tmp_path / "s.yaml", typo))
    assert "'h100_sxn' is not in the gpus catalog (did you mean 'h100_sxm'?)" in result.output


def test_catalog_command_lists_sections(runner):
    result = run_cli(runner, "catalog", "gpus")
    assert result.exit_code == 0 and "h100_sxm" in result.output
    assert run_cli(runner, "catalog", "nonsense").exit_code == 2
    # each [n] a source cites is resolved under the table (it was only in the package's comments)
    sourced = run_cli(runner, "catalog", "gpus", "--sources").output
    assert "references cited in catalog: gpus" in sourced and "glennklockwood.com H100 notes" in sourced


def test_citations_are_read_as_written():
    assert cited("[RC 76,77]; [1,39] and [48; RC 60-62] [weak]") == ["RC 76", "RC 77", "1", "39", "48", "RC 60",
                                                                     "RC 61", "RC 62"]



def test_100k_h100_design_it_is_what_such_clusters_draw_with_every_part_sourced(tmp_path):
    """The quickstart's 100,000 GPUs as H100s are designed for 140-165 MW of IT (SemiAnalysis's
    100k H100 clusters: about 150 MW; about 1.4 kW per H100 all-in), from sourced catalog fields."""
    import yaml

    import dcplan

    h100 = CAT.gpus["h100_sxm"]
    assert h100.sources["it_power_per_gpu_w"] and "SemiAnalysis" in h100.sources["cluster_w_per_gpu"]
    program = REPO / "examples" / "quickstart" / "program.yaml"
    data = yaml.safe_load(program.read_text())
    assert "provisioning_utilisation" not in data["compute"]  # the default: a training cluster, not oversubscribed
    data["compute"]["gpus"] = [{"model": "h100_sxm"}]
    data["sites"] = [str((program.parent / s).resolve()) for s in data["sites"]]
    plan = dcplan.plan(write_yaml(tmp_path / "program.yaml", data), typical_days=2, mip_gap=1e-3)
    assert plan.total_gpus == 100_000
    assert 140 <= plan.sites[0].it_mw <= 165


def test_grid_equipment_has_sourced_lead_times():
    """Transformers and a substation, with the lead times time-to-power planning turns on
    (large transformers about 2.5 years, a substation about four)."""
    kit = CAT.grid_equipment
    assert {e.kind for e in kit.values()} == {"transformer", "substation"}
    assert 24 <= kit["large_power_transformer"].lead_time_months <= 42
    assert kit["substation_150mw"].lead_time_months == 48
    assert all(not e.unsourced_fields() for e in kit.values())
