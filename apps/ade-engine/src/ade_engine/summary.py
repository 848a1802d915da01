"""Findings and the run summary carried by ``engine.run.completed``."""

import time

from ade_engine import __version__
from ade_engine.events import iso_utc, utc_now

SEVERITIES = ("info", "warning", "error")
_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}


class Findings:
    """Every issue found in a run; the summary lists at most N per sheet."""

    def __init__(self, max_per_sheet=None):
        self.max_per_sheet = max_per_sheet
        self.items = []

    def add(self, severity, code, message, sheet=None, row=None, field=None, **extra):
        finding = {"severity": severity, "code": code, "message": message,
                   "sheet": sheet, "row": row, "field": field}
        finding.update(extra)
        self.items.append(finding)
        return finding

    def by_severity(self, items=None):
        counts = {name: 0 for name in SEVERITIES}
        for item in self.items if items is None else items:
            counts[item["severity"]] += 1
        return counts

    def listed(self):
        """The findings to report, honouring the per-sheet limit, and how many were left out."""
        if self.max_per_sheet is None:
            return list(self.items), 0
        per_sheet = {}
        listed, omitted = [], 0
        for item in self.items:
            sheet = item["sheet"]
            if sheet is not None:
                seen = per_sheet.get(sheet, 0)
                if seen >= self.max_per_sheet:
                    omitted += 1
                    continue
                per_sheet[sheet] = seen + 1
            listed.append(item)
        return listed, omitted

    def max_severity(self):
        worst = None
        for item in self.items:
            if worst is None or _RANK[item["severity"]] > _RANK[worst]:
                worst = item["severity"]
        return worst


def outcome(max_severity):
    return {"error": "fail", "warning": "warn"}.get(max_severity, "pass")


class Clock:
    """Start and end of a command, wall-clock and monotonic."""

    def __init__(self):
        self.started = utc_now()
        self._start = time.monotonic()

    def execution(self, error=None):
        return {
            "status": "failed" if error else "succeeded",
            "started_at": iso_utc(self.started),
            "completed_at": iso_utc(utc_now()),
            "duration_ms": int(round((time.monotonic() - self._start) * 1000)),
            "error": error,
        }


def evaluation_and_validation(findings):
    listed, omitted = findings.listed()
    worst = findings.max_severity()
    evaluation = {"outcome": outcome(worst), "findings": listed, "findings_omitted": omitted}
    by_severity = findings.by_severity()
    validation = {"issues_total": len(findings.items), "issues_by_severity": by_severity, "max_severity": worst}
    return evaluation, validation


def engine_info():
    return {"name": "ade-engine", "version": __version__}
