from tests.support import EngineTestCase
from tests.xlsx_builder import build_xlsx

HEADER = ["ID", "Forename", "Surname"]


class SheetSelectionTests(EngineTestCase):
    def workbook(self, active=None):
        sheets = [
            ("North", [HEADER, [1, "Ada", "Okafor"]]),
            ("South", [HEADER, [2, "Bo", "Kim"], [3, "Cy", "Ng"]]),
            ("Notes", [["Free text about the export"], ["More text"]]),
        ]
        return build_xlsx(self.path("book.xlsx"), sheets, active=active)

    def sheet_names(self, summary):
        return [s["locator"]["sheet"]["name"] for s in summary["workbooks"][0]["sheets"]]

    def test_all_sheets_by_default(self):
        result = self.process(self.workbook())
        self.assertEqual(result.code, 0, result.stdout)
        summary = self.completed(result.events)
        self.assertEqual(self.sheet_names(summary), ["North", "South", "Notes"])
        self.assertEqual([s["locator"]["sheet"]["index"] for s in summary["workbooks"][0]["sheets"]], [0, 1, 2])
        self.assertEqual([r[-2:] for r in self.read_output()[1:]],
                         [["North", "2"], ["South", "2"], ["South", "3"]])
        notes = [f for f in summary["evaluation"]["findings"] if f["sheet"] == "Notes"]
        self.assertEqual([f["code"] for f in notes], ["sheet.no_matching_header"])
        self.assertEqual(summary["counts"]["sheets"], 3)
        self.assertEqual(summary["counts"]["tables"], 3)

    def test_input_sheet_selects_in_workbook_order(self):
        result = self.process(self.workbook(), "--input-sheet", "South", "--input-sheet", "north")
        self.assertEqual(result.code, 0, result.stdout)
        summary = self.completed(result.events)
        self.assertEqual(self.sheet_names(summary), ["North", "South"])
        self.assertEqual(len(self.read_output()), 4)

    def test_unknown_sheet_fails(self):
        result = self.process(self.workbook(), "--input-sheet", "East")
        self.assertEqual(result.code, 1)
        summary = self.completed(result.events)
        self.assertEqual(summary["execution"]["status"], "failed")
        self.assertIn("'East'", summary["execution"]["error"])
        self.assertIn("input.unknown_sheet", [f["code"] for f in summary["evaluation"]["findings"]])

    def test_active_sheet_only(self):
        result = self.process(self.workbook(active=1), "--active-sheet-only")
        self.assertEqual(result.code, 0, result.stdout)
        summary = self.completed(result.events)
        self.assertEqual(self.sheet_names(summary), ["South"])
        opened = next(e for e in result.events if e["event"] == "engine.workbook.opened")
        self.assertEqual(opened["data"]["active_sheet"], {"index": 1, "name": "South", "state": "visible"})

    def test_active_sheet_defaults_to_first(self):
        result = self.process(self.workbook(), "--active-sheet-only")
        self.assertEqual(self.sheet_names(self.completed(result.events)), ["North"])

    def test_only_a_notes_sheet_fails(self):
        result = self.process(self.workbook(), "--input-sheet", "Notes")
        self.assertEqual(result.code, 1)
        summary = self.completed(result.events)
        self.assertIn("no header row", summary["execution"]["error"])

    def test_sheet_options_are_exclusive(self):
        result = self.process(self.workbook(), "--active-sheet-only", "--input-sheet", "North")
        self.assertEqual(result.code, 2)
        self.assertIn("not allowed with", result.stderr)

    def test_csv_sheet_is_named_after_the_file(self):
        path = self.write("staff.csv", "ID,Forename,Surname\n1,A,B\n")
        self.assertEqual(self.process(path, "--input-sheet", "staff").code, 0)
        self.assertEqual(self.process(path, "--active-sheet-only").code, 0)
        self.assertEqual(self.process(path, "--input-sheet", "Sheet1").code, 1)
