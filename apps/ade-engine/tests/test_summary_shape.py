"""The exact shape of events and of the run summary that the worker reads."""

from datetime import datetime

from tests.support import EngineTestCase
from tests.xlsx_builder import build_xlsx

SUMMARY_KEYS = {"engine", "config", "input", "execution", "evaluation", "validation", "counts", "fields",
                "workbooks", "outputs"}


def parse_time(text):
    assert text.endswith("Z"), text
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")


class SummaryShapeTests(EngineTestCase):
    def run_sample(self, *args, level="INFO"):
        rows = {1: ["Roster"], 3: ["ID", "Forename", "Surname", "Email", "Shoe size"],
                4: [1, "Ada", "Okafor", "ada@example.org", 38], 5: [2, "Bo", "", "bad@", 41], 6: [],
                7: [3, "Cy", "Ng", "", None]}
        path = build_xlsx(self.path("shape.xlsx"), [("Data", rows), ("Empty", [])])
        return self.process(path, *args, level=level)

    def test_event_envelope(self):
        result = self.run_sample()
        self.assertEqual(result.code, 0, result.stdout)
        names = [e["event"] for e in result.events]
        for expected in ("engine.start", "engine.config.loaded", "engine.workbook.opened", "engine.sheet.start",
                         "engine.table.detected", "engine.mapping.complete", "engine.validation.complete",
                         "engine.output.written", "engine.run.completed"):
            self.assertIn(expected, names)
        self.assertLess(names.index("engine.start"), names.index("engine.workbook.opened"))
        self.assertLess(names.index("engine.output.written"), names.index("engine.run.completed"))
        for event in result.events:
            self.assertLessEqual({"timestamp", "level", "event", "message", "data"}, set(event))
            self.assertLessEqual(set(event), {"timestamp", "level", "event", "message", "data", "scope"})
            self.assertIn(event["level"], ("debug", "info", "warning", "error"))
            self.assertTrue(event["event"].startswith("engine."))
            self.assertIsInstance(event["message"], str)
            self.assertIsInstance(event["data"], dict)
            self.assertIn(event.get("scope"), ("run", "sheet"))
            parse_time(event["timestamp"])
        self.assertNotIn("debug", {e["level"] for e in result.events})

    def test_log_level_filters_but_keeps_completed(self):
        quiet = self.run_sample(level="ERROR")
        self.assertEqual([e["event"] for e in quiet.events], ["engine.run.completed"])
        warnings = self.run_sample(level="WARNING")
        self.assertEqual({e["level"] for e in warnings.events[:-1]}, {"warning"})
        debug = self.run_sample(level="DEBUG")
        self.assertIn("engine.validation.issue", [e["event"] for e in debug.events])

    def test_completed_summary_shape(self):
        result = self.run_sample()
        completed = result.events[-1]
        self.assertEqual(completed["event"], "engine.run.completed")
        self.assertEqual(completed["scope"], "run")
        self.assertEqual(completed["level"], "info")
        summary = self.completed(result.events)
        self.assertEqual(set(summary), SUMMARY_KEYS)

        execution = summary["execution"]
        self.assertEqual(set(execution), {"status", "started_at", "completed_at", "duration_ms", "error"})
        self.assertEqual(execution["status"], "succeeded")
        self.assertIsNone(execution["error"])
        self.assertLessEqual(parse_time(execution["started_at"]), parse_time(execution["completed_at"]))
        self.assertIsInstance(execution["duration_ms"], int)

        evaluation = summary["evaluation"]
        self.assertEqual(evaluation["outcome"], "fail")
        for finding in evaluation["findings"]:
            self.assertLessEqual({"severity", "code", "message", "sheet", "row", "field"}, set(finding))
            self.assertIn(finding["severity"], ("info", "warning", "error"))
        found = {(f["code"], f["sheet"], f["row"], f["field"]) for f in evaluation["findings"]}
        self.assertEqual(found, {
            ("value.missing", "Data", 5, "last_name"),
            ("value.invalid_email", "Data", 5, "email"),
            ("field.not_detected", "Data", 3, "joined_on"),
            ("sheet.empty", "Empty", None, None),
        })

        self.assertEqual(summary["validation"], {
            "issues_total": 4, "issues_by_severity": {"info": 2, "warning": 1, "error": 1}, "max_severity": "error",
        })
        self.assertEqual(summary["counts"], {
            "workbooks": 1, "sheets": 2, "tables": 1,
            "rows": {"total": 4, "empty": 1},
            "columns": {"total": 5, "empty": 0, "mapped": 4, "unmapped": 1},
            "fields": {"expected": 5, "detected": 4, "not_detected": 1},
            "cells": {"total": 20, "non_empty": 12},
        })

        self.assertEqual([f["field"] for f in summary["fields"]],
                         ["member_id", "first_name", "last_name", "email", "joined_on"])
        for field in summary["fields"]:
            self.assertLessEqual({"field", "label", "detected", "best_mapping_score", "occurrences"}, set(field))
            self.assertIsInstance(field["detected"], bool)
        joined = summary["fields"][4]
        self.assertEqual((joined["detected"], joined["best_mapping_score"], joined["occurrences"]),
                         (False, None, {"tables": 0, "columns": 0}))
        member = summary["fields"][0]
        self.assertEqual((member["label"], member["detected"], member["best_mapping_score"], member["occurrences"]),
                         ("Member ID", True, 0.95, {"tables": 1, "columns": 1}))

        workbook = summary["workbooks"][0]
        self.assertEqual(workbook["locator"], {"workbook": {"index": 0, "name": "shape.xlsx"}})
        data_sheet, empty_sheet = workbook["sheets"]
        self.assertEqual(data_sheet["locator"], {"workbook": {"index": 0, "name": "shape.xlsx"},
                                                 "sheet": {"index": 0, "name": "Data"}})
        self.assertEqual(empty_sheet["tables"], [])
        table = data_sheet["tables"][0]
        self.assertEqual(table["locator"]["table"], {"index": 0})
        self.assertEqual(table["locator"]["sheet"], {"index": 0, "name": "Data"})
        self.assertEqual(table["locator"]["workbook"], {"index": 0, "name": "shape.xlsx"})
        columns = table["structure"]["columns"]
        self.assertEqual([c["index"] for c in columns], [0, 1, 2, 3, 4])
        self.assertEqual(columns[0], {
            "index": 0, "header": {"raw": "ID", "normalized": "id"}, "non_empty_cells": 3,
            "mapping": {"status": "mapped", "field": "member_id", "score": 0.95, "method": "synonym",
                        "unmapped_reason": None},
        })
        self.assertEqual(columns[4]["mapping"]["status"], "unmapped")
        self.assertEqual(columns[4]["mapping"]["unmapped_reason"], "no_match")

        normalized = summary["outputs"]["normalized"]
        self.assertEqual(normalized["format"], "csv")
        self.assertEqual(normalized["path"], self.path("out", "normalized.csv"))

    def test_max_findings_per_sheet(self):
        rows = "".join(f"{n},A,B,bad-{n}\n" for n in range(1, 8))
        path = self.write("many.csv", "ID,Forename,Surname,Email\n" + rows)
        summary = self.completed(self.process(path, "--max-findings-per-sheet", "3").events)
        listed = [f["code"] for f in summary["evaluation"]["findings"]]
        self.assertEqual(listed, ["field.not_detected", "value.invalid_email", "value.invalid_email"])
        # 7 bad emails and 1 optional field not detected; all counted.
        self.assertEqual(summary["evaluation"]["findings_omitted"], 5)
        self.assertEqual(summary["validation"]["issues_total"], 8)
        self.assertEqual(summary["evaluation"]["outcome"], "warn")
        zero = self.completed(self.process(path, "--max-findings-per-sheet", "0").events)
        self.assertEqual(zero["evaluation"]["findings"], [])
        self.assertEqual(zero["validation"]["issues_total"], 8)

    def test_text_log_format(self):
        path = self.write("ok.csv", "ID,Forename,Surname\n1,A,B\n")
        result = self.process(path, fmt="text")
        self.assertEqual(result.code, 0)
        lines = result.stdout.splitlines()
        self.assertTrue(lines[0].split()[2].startswith("engine.start"))
        self.assertIn("engine.run.completed: Run succeeded", lines[-1])
        self.assertIn('"status":"succeeded"', lines[-1])
