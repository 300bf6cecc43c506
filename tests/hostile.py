"""A corpus of hostile and broken inputs, and a driver that runs each through `validate`, `plan`,
`check` and `smooth` in one process and records exit code, output, time and peak memory.

Run by tests/test_hostile_inputs.py as ``python tests/hostile.py FOLDER RESULTS.json`` with
small size limits in the environment (DCPLAN_MAX_YAML_MB=1, DCPLAN_MAX_CSV_MB=1), so that the
oversized cases are a few MB rather than hundreds.
"""

from __future__ import annotations

import json
import os
import random
import resource
import sys
import time
from pathlib import Path

import yaml

HOURS = 8760
SECRET = "/etc/passwd"  # outside every trusted folder; its content must never be printed


def site(**overrides) -> dict:
    data = {"kind": "site", "name": "hostile",
            "location": {"lat": 35.0, "lon": -90.0, "country": "US", "timezone": "America/Chicago"},
            "grid": {"max_import_mw": 100, "energy_price_usd_per_mwh": 50},
            "cooling": [{"type": "air_economizer", "pue": 1.2}],
            "compute": {"gpus": [{"model": "h100_sxm"}], "target": {"gpus": 1000}}}
    data.update(overrides)
    return data


def price_csv(rows: list[str], header: str = "hour,price_usd_per_mwh") -> str:
    return header + "\n" + "".join(r + "\n" for r in rows)


def hourly(value="40") -> list[str]:
    return [f"{h},{value}" for h in range(HOURS)]


def with_price_csv(folder: Path, text: str | bytes, name: str = "price.csv") -> Path:
    """A site whose grid price is read from ``name`` holding ``text``."""
    path = folder / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return with_price_ref(folder, name)


def with_price_ref(folder: Path, reference: str) -> Path:
    data = site()
    data["grid"]["energy_price_usd_per_mwh"] = {"csv": reference}
    return write(folder / "site.yaml", yaml.safe_dump(data, sort_keys=False))


def write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def trace(folder: Path, text: str) -> Path:
    return write(folder / "trace.csv", text)


def _site_text(**overrides) -> str:
    return yaml.safe_dump(site(**overrides), sort_keys=False)


def _bomb(folder):
    lines = ["kind: site", "a: &a [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]" for i in range(8)]
    return write(folder / "site.yaml", "\n".join(lines) + "\n")


def _program(folder, sites):
    return write(folder / "program.yaml", yaml.safe_dump({"kind": "program", "name": "p", "sites": sites}))


def _symlink(folder, target, name):
    os.symlink(target, folder / name)
    return with_price_ref(folder, name)


def _loop(folder):
    os.symlink("price.csv", folder / "price.csv")  # a link to itself
    return with_price_ref(folder, "price.csv")


def _fifo(folder):
    os.mkfifo(folder / "price.csv")
    return with_price_ref(folder, "price.csv")


def _workload_with_trace(folder, reference):
    return write(folder / "job.yaml", yaml.safe_dump({"kind": "workload", "name": "job", "gpu": "h100_sxm",
                                                      "gpus": 1000, "trace": {"csv": reference}}))


def _smoothing_workload(folder, reference):
    return write(folder / "site.yaml", _site_text(smoothing={"workload": reference, "limits": {"ramp_up_mw_per_s": 1}}))


CASES = {
    # YAML as a parser sees it
    "alias bomb": _bomb,
    "nesting 20,000 deep": lambda f: write(f / "site.yaml", "kind: site\nx: " + "[" * 20_000 + "]" * 20_000 + "\n"),
    "YAML over the size limit": lambda f: write(f / "site.yaml", "kind: site\n" + "".join(
        f"k{i}: {'x' * 60}\n" for i in range(40_000))),
    "impossible date": lambda f: write(f / "site.yaml", _site_text() + "commissioned: 2027-13-45\n"),
    "random bytes": lambda f: write(f / "site.yaml", random.Random(1).randbytes(4096)),
    "invalid UTF-8": lambda f: write(f / "site.yaml", b"kind: site\nname: \xff\xfe\xfa\n"),
    "empty file": lambda f: write(f / "site.yaml", ""),
    "a bare number": lambda f: write(f / "site.yaml", "42\n"),
    "a list at the top": lambda f: write(f / "site.yaml", "- kind: site\n- 2\n"),
    "tab indentation": lambda f: write(f / "site.yaml", "kind: site\ngrid:\n\tmax_import_mw: 5\n"),
    "duplicate key": lambda f: write(f / "site.yaml", _site_text() + "name: again\n"),
    "unknown kind": lambda f: write(f / "site.yaml", "kind: rocket\n"),
    "a list as a mapping key": lambda f: write(f / "site.yaml", "kind: site\n? [a, b]\n: 1\n"),
    "python object tag": lambda f: write(f / "site.yaml", "kind: site\nname: !!python/object/apply:os.system "
                                         "['echo pwned']\n"),
    "NUL byte": lambda f: write(f / "site.yaml", "kind: site\nname: a\x00b\n"),
    # values
    "infinite capacity": lambda f: write(f / "site.yaml", _site_text(grid={"max_import_mw": ".inf"}).replace(
        "'.inf'", ".inf")),
    "NaN price": lambda f: write(f / "site.yaml", _site_text(grid={"max_import_mw": 100}).replace(
        "max_import_mw: 100", "max_import_mw: 100\n  energy_price_usd_per_mwh: .nan")),
    "negative GPU target": lambda f: write(f / "site.yaml", _site_text(
        compute={"gpus": [{"model": "h100_sxm"}], "target": {"gpus": -5}})),
    "a word for a number": lambda f: write(f / "site.yaml", _site_text(grid={"max_import_mw": "many"})),
    "a demand charge of 1e308": lambda f: write(f / "site.yaml", _site_text(
        grid={"max_import_mw": 100, "demand_charge_usd_per_kw_month": 1.0e308})),
    "a demand charge of 1e308 as YAML 1.1 text": lambda f: write(f / "site.yaml", _site_text(
        grid={"max_import_mw": 100}).replace("max_import_mw: 100", "max_import_mw: 100\n  demand_charge_usd_per_kw_month: 1e308")),
    "a grid limit of 1e300 quoted": lambda f: write(f / "site.yaml", _site_text(grid={"max_import_mw": "1.0e+300"})),
    "an integer of 400 digits": lambda f: write(f / "site.yaml", _site_text().replace(
        "max_import_mw: 100", "max_import_mw: 1" + "0" * 400)),
    "a lead time of 1e8 months": lambda f: write(f / "site.yaml", _site_text(
        cooling=[{"type": "air_economizer", "pue": 1.2, "lead_time_months": 1.0e8}])),
    "markup and emoji codes in user text": lambda f: write(f / "site.yaml", _site_text(
        cooling=[{"type": "[bold red]:x: boom[/]", "pue": 1.2}])),
    "a key of 200,000 characters": lambda f: write(f / "site.yaml", _site_text() + "k" * 200_000 + ": 1\n"),
    # references outside the trusted folders, or to things that are not files
    "csv: an absolute path outside": lambda f: with_price_ref(f, SECRET),
    "csv: ../ out of the folder": lambda f: with_price_ref(f, "../" * 12 + SECRET.lstrip("/")),
    "csv: a symbolic link out of the folder": lambda f: _symlink(f, SECRET, "price.csv"),
    "csv: a device": lambda f: with_price_ref(f, "/dev/zero"),
    "csv: a pipe": _fifo,
    "csv: a link to itself": _loop,
    "the site file a link to itself": lambda f: os.symlink("site.yaml", f / "site.yaml") or f / "site.yaml",
    "program sites: a NUL in the path": lambda f: _program(f, ["a\x00b.yaml"]),
    "csv: a folder": lambda f: (f / "data").mkdir() or with_price_ref(f, "data"),
    "program sites: a file outside": lambda f: _program(f, [SECRET]),
    "program sites: ../ out of the folder": lambda f: _program(f, ["../" * 12 + "etc/hostname"]),
    "smoothing.workload outside": lambda f: _smoothing_workload(f, SECRET),
    "workload trace outside": lambda f: _workload_with_trace(f, SECRET),
    "workload trace: a folder": lambda f: (f / "data").mkdir() or _workload_with_trace(f, "data"),
    # hourly CSVs
    "CSV of 9,000 rows": lambda f: with_price_csv(f, price_csv([f"{h},40" for h in range(9000)])),
    "CSV over the size limit": lambda f: with_price_csv(f, price_csv([f"{h},{'4' * 200}" for h in range(HOURS)])),
    "CSV with a byte-order mark and a bad hour": lambda f: with_price_csv(
        f, "\ufeff" + price_csv(hourly()[:100] + ["7,40"] + hourly()[101:])),
    "CSV with a NUL byte": lambda f: with_price_csv(f, price_csv(hourly()[:5] + ["5,4\x000"] + hourly()[6:])),
    "CSV of random bytes": lambda f: with_price_csv(f, random.Random(2).randbytes(50_000)),
    "CSV with a 200,000-character field": lambda f: with_price_csv(f, price_csv(["0," + "9" * 200_000] + hourly()[1:])),
    "CSV with inf and nan": lambda f: with_price_csv(f, price_csv(hourly()[:3] + ["3,inf", "4,nan"] + hourly()[5:])),
    "CSV with 1e308": lambda f: with_price_csv(f, price_csv(hourly("1e308"))),
    "CSV empty": lambda f: with_price_csv(f, ""),
    "CSV header only": lambda f: with_price_csv(f, "hour,price_usd_per_mwh\n"),
    "CSV in the wrong unit": lambda f: with_price_csv(f, price_csv(hourly(), "hour,price_usd_per_kwh")),
    "CSV timestamps not hourly": lambda f: with_price_csv(f, "timestamp,price_usd_per_mwh\n" + "".join(
        f"2027-01-01T00:{m % 60:02d}:00,40\n" for m in range(HOURS))),
    "CSV of a leap year": lambda f: with_price_csv(f, price_csv([f"{h},40" for h in range(8784)])),
    # power traces (the workload of `smooth`)
    "trace going back in time": lambda f: trace(f, "time_s,mw\n" + "".join(f"{(5 - i) * 0.1:.1f},10\n" for i in range(6))),
    "trace with NaN power": lambda f: trace(f, "time_s,mw\n0,10\n0.1,nan\n0.2,10\n"),
    "trace empty": lambda f: trace(f, ""),
    "trace with a power of 1e300": lambda f: trace(f, "time_s,mw\n0,10\n0.1,1e300\n0.2,10\n"),
    "trace of one 2 MB line": lambda f: trace(f, "time_s,mw\n" + "1," * 1_000_000 + "\n"),
}


def commands(top: Path, folder: Path, good_trace: Path) -> dict[str, list[str]]:
    """Each command a user (or CI) would run on ``top``."""
    is_trace = top.suffix == ".csv"
    return {
        "validate": ["validate", str(top)],
        "plan": ["plan", str(top), "-q", "--typical-days", "2", "-o", str(folder / "out")],
        "check": ["check", str(top), "--format", "github"],  # as CI annotations show it
        "smooth": ["smooth", str(top), "-q"] if is_trace else ["smooth", str(good_trace), "--site", str(top), "-q"],
    }


def main(root: Path, results_path: Path) -> None:
    from typer.testing import CliRunner

    from dcplan.cli import app

    good_trace = write(root / "good_trace.csv", "time_s,mw\n" + "".join(f"{i * 0.1:.1f},{10 + i % 3}\n"
                                                                         for i in range(600)))
    runner, results = CliRunner(), []
    for i, (name, make) in enumerate(CASES.items()):
        folder = root / f"case{i:02d}"
        folder.mkdir()
        top = make(folder)
        for command, args in commands(top, folder, good_trace).items():
            started = time.perf_counter()
            result = runner.invoke(app, args, catch_exceptions=True)
            results.append({"case": name, "command": command, "file": top.name, "exit_code": result.exit_code,
                            "output": result.output[-4000:], "seconds": time.perf_counter() - started,
                            "exception": None if isinstance(result.exception, (SystemExit, type(None)))
                            else repr(result.exception),
                            "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})
    results_path.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
