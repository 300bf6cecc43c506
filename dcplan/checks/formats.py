"""Render a :class:`~dcplan.checks.report.CheckReport` for people and for CI systems.

- ``text``: one line per problem, ``file:line: key: message``, and a line per file;
- ``json``: every finding, for scripts;
- ``github``: GitHub Actions workflow commands (``::error file=F,line=L,title=T::message``), so
  that each problem is annotated on the line of the input it is about; data escapes ``%``, CR
  and LF, properties also ``:`` and ``,``, as the workflow-commands reference specifies;
- ``junit``: JUnit XML (the ``testsuites/testsuite/testcase`` layout GitLab, Jenkins, Azure and
  most CI systems read): one testsuite per site or program file, one testcase per check, a
  ``failure`` for a violated or infeasible plan, an ``error`` for invalid input or a solver that
  gave no answer, ``skipped`` for a check that does not apply.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

from dcplan.checks.report import (
    INFEASIBLE,
    INVALID,
    PASS,
    SKIPPED,
    SOLVER,
    VIOLATION,
    WARNING,
    CheckReport,
    FileReport,
    Finding,
)
from dcplan.formatting import counted

FAILED = (VIOLATION, INFEASIBLE, INVALID, SOLVER)
MARK = {PASS: "ok", WARNING: "warning", VIOLATION: "violated", INFEASIBLE: "infeasible", INVALID: "invalid",
        SOLVER: "solver failure", SKIPPED: "skipped"}


def render(report: CheckReport, fmt: str) -> str:
    return {"text": text, "json": as_json, "github": github, "junit": junit}[fmt](report)


def _where(f: Finding) -> str:
    return f"{f.where}: " if f.where is not None else ""


def _file_status(fr: FileReport) -> str:
    statuses = {f.status for f in fr.findings}
    return next((MARK[s] for s in (INVALID, VIOLATION, INFEASIBLE, SOLVER) if s in statuses), "ok")


def _summary(report: CheckReport) -> str:
    counts = defaultdict(int)
    for fr in report.files:
        counts[_file_status(fr)] += 1
    parts = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    return f"dcplan check: {counted(len(report.files), 'file')}: {parts} " \
           f"({report.seconds:.1f} s)"


def text(report: CheckReport) -> str:
    lines = []
    for fr in report.files:
        status = _file_status(fr)
        held = "verified" if status == "ok" else "checked"  # a violated plan was checked, not verified
        what = {"verified": f"plan {fr.plan} {held}", "solved": "solved for feasibility",
                "verified+solved": f"plan {fr.plan} {held} and solved for feasibility"}.get(fr.mode, "validated")
        lines.append(f"{status}: {fr.file} ({what})")
        for f in fr.findings:
            if f.status in FAILED or f.status == WARNING:
                lines.append(f"  {MARK[f.status]}: {_where(f)}{f.message}")
                lines += [f"    - {d}" for d in f.details]
    lines.append(_summary(report))
    return "\n".join(lines) + "\n"


def as_json(report: CheckReport) -> str:
    def finding(f: Finding) -> dict:
        where = {"file": f.where.file, "line": f.where.line, "key": f.where.key} if f.where else None
        return {"check": f.check, "status": f.status, "message": f.message, "where": where,
                "details": list(f.details)}

    doc = {"exit_code": report.exit_code, "seconds": round(report.seconds, 3),
           "files": [{"file": fr.file, "kind": fr.kind, "name": fr.name, "plan": fr.plan, "mode": fr.mode,
                      "status": _file_status(fr), "exit_code": fr.exit_code, "seconds": round(fr.seconds, 3),
                      "findings": [finding(f) for f in fr.findings]} for fr in report.files]}
    return json.dumps(doc, indent=2) + "\n"


# --- GitHub Actions ----------------------------------------------------------------------

def escape_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(s: str) -> str:
    return escape_data(s).replace(":", "%3A").replace(",", "%2C")


def github(report: CheckReport) -> str:
    """One workflow command per problem or warning; a plain summary line at the end."""
    lines = []
    for fr in report.files:
        for f in fr.findings:
            if f.status not in FAILED and f.status != WARNING:
                continue
            command = "warning" if f.status == WARNING else "error"
            where, message = f.where, f.message + "".join(f"\n- {d}" for d in f.details)
            if where is not None and Path(where.file).is_absolute():  # outside the repository (the
                # built-in catalog): annotate the file checked, and say where the value is set
                message, where = f"{message} (set at {where})", None
            props = {"file": where.file if where else fr.file}
            if where is not None and where.line:
                props["line"] = str(where.line)
            props["title"] = f"dcplan check: {MARK[f.status]} ({f.check})"
            if where is not None and where.key:
                message = f"{where.key}: {message}"
            prop_text = ",".join(f"{k}={escape_property(v)}" for k, v in props.items())
            lines.append(f"::{command} {prop_text}::{escape_data(message)}")
    lines.append(_summary(report))
    return "\n".join(lines) + "\n"


# --- JUnit XML -----------------------------------------------------------------------------

def _testcases(fr: FileReport) -> dict[str, list[Finding]]:
    cases: dict[str, list[Finding]] = {}
    for f in fr.findings:
        cases.setdefault(f.check, []).append(f)
    return cases


_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
"""Characters XML 1.0 cannot hold, written or escaped: shown as U+FFFD, so that the file parses."""


def junit(report: CheckReport) -> str:
    root = ET.Element("testsuites", name="dcplan check")
    totals = defaultdict(int)
    for fr in report.files:
        suite = ET.SubElement(root, "testsuite", name=fr.file)
        counts = defaultdict(int)
        for check, findings in _testcases(fr).items():
            case = ET.SubElement(suite, "testcase", name=check, classname=fr.file.replace("/", ".").rsplit(".", 1)[0])
            counts["tests"] += 1
            bad = [f for f in findings if f.status in FAILED]
            text_lines = [f"{_where(f)}{f.message}" + "".join(f"\n  - {d}" for d in f.details) for f in bad]
            if bad:
                first = next((f for f in bad if f.status in (INVALID, SOLVER)), None)
                tag = "error" if first is not None else "failure"
                first = first or bad[0]
                ET.SubElement(case, tag, message=first.message, type=first.status).text = "\n".join(text_lines)
                counts[tag + "s"] += 1
            elif all(f.status == SKIPPED for f in findings):
                ET.SubElement(case, "skipped", message=findings[0].message)
                counts["skipped"] += 1
            notes = [f"{MARK[f.status]}: {_where(f)}{f.message}" for f in findings if f.status in (PASS, WARNING)]
            if notes:
                ET.SubElement(case, "system-out").text = "\n".join(notes)
        for key in ("tests", "failures", "errors", "skipped"):
            suite.set(key, str(counts[key]))
            totals[key] += counts[key]
        suite.set("time", f"{fr.seconds:.3f}")
    for key in ("tests", "failures", "errors", "skipped"):
        root.set(key, str(totals[key]))
    root.set("time", f"{report.seconds:.3f}")
    for element in root.iter():  # a key or value of the user's may hold what XML forbids
        element.text = element.text and _XML_FORBIDDEN.sub("\ufffd", element.text)
        for name, value in element.attrib.items():
            element.set(name, _XML_FORBIDDEN.sub("\ufffd", value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
