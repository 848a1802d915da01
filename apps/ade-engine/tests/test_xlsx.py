from datetime import date, datetime

from tests.support import EngineTestCase
from tests.xlsx_builder import Inline, Raw, Rich, build_xlsx

HEADER = ["Member #", "Given name", "Surname", "Email", "Member since"]


class XlsxTests(EngineTestCase):
    def test_cell_kinds(self):
        rows = [
            HEADER + ["Active", "Score"],
            [1001, "Ada", Inline("Okafor"), "ada@example.org", date(2019, 3, 14), True, 0.5],
            [1002.0, Rich("Bru", "no", phonetic="ブルーノ"), "Lindqvist", Inline("b@example.org"),
             datetime(2020, 1, 2, 9, 30), False, 12345678901],
            [Raw('<c r="A4" t="str"><f>1000+3</f><v>1003</v></c>'), "Chiara", "Rossi",
             Raw('<c r="D4" t="e"><v>#N/A</v></c>'), Raw('<c r="E4" s="3"><v>0.25</v></c>')],
        ]
        path = build_xlsx(self.path("kinds.xlsx"), [("Members", rows)])
        result = self.process(path)
        self.assertEqual(result.code, 0, result.stdout)
        output = self.read_output()
        self.assertEqual(output[1], ["1001", "Ada", "Okafor", "ada@example.org", "2019-03-14", "Members", "2"])
        self.assertEqual(output[2], ["1002", "Bruno", "Lindqvist", "b@example.org", "2020-01-02", "Members", "3"])
        self.assertEqual(output[3], ["1003", "Chiara", "Rossi", "#N/A", "0.25", "Members", "4"])
        summary = self.completed(result.events)
        columns = summary["workbooks"][0]["sheets"][0]["tables"][0]["structure"]["columns"]
        self.assertEqual(len(columns), 7)

    def test_raw_cell_texts(self):
        from ade_engine.xlsx_reader import XlsxWorkbook

        rows = [["a", True, False, 3.0, 2.5, 1e20, date(2024, 1, 15), datetime(2024, 1, 15, 13, 5),
                 Raw('<c r="I1" s="3"><v>0.125</v></c>')]]
        path = build_xlsx(self.path("cells.xlsx"), [("S", rows)])
        with XlsxWorkbook(path) as workbook:
            self.assertEqual(workbook.read_rows(workbook.sheets[0]), [
                ["a", "TRUE", "FALSE", "3", "2.5", "1e+20", "2024-01-15", "2024-01-15T13:05:00", "0.125"],
            ])

    def test_sparse_references(self):
        from ade_engine.xlsx_reader import XlsxWorkbook

        rows = {2: {1: "b2", 4: "e2"}, 5: {0: "a5"}, 3: {2: 7}}
        path = build_xlsx(self.path("sparse.xlsx"), [("S", rows)])
        with XlsxWorkbook(path) as workbook:
            self.assertEqual([list(r) for r in workbook.read_rows(workbook.sheets[0])], [
                [], ["", "b2", "", "", "e2"], ["", "", "7"], [], ["a5"],
            ])

    def test_cells_without_references(self):
        from ade_engine.xlsx_reader import XlsxWorkbook

        path = build_xlsx(self.path("norefs.xlsx"), [("S", [["x", "y"], ["1", "2"]])], with_refs=False)
        with XlsxWorkbook(path) as workbook:
            self.assertEqual(workbook.read_rows(workbook.sheets[0]), [["x", "y"], ["1", "2"]])

    def test_title_rows_above_header(self):
        rows = {1: ["Member roster"], 2: ["Exported 2024-01-15 by the membership system"],
                4: HEADER, 5: [1, "Ada", "Okafor", "ada@example.org", date(2020, 5, 1)],
                6: [2, "Bo", "Kim", "bo@example.org", date(2021, 6, 2)]}
        path = build_xlsx(self.path("titled.xlsx"), [("Members", rows)])
        result = self.process(path)
        self.assertEqual(result.code, 0, result.stdout)
        detected = next(e for e in result.events if e["event"] == "engine.table.detected")
        self.assertEqual(detected["data"]["header_row"], 4)
        self.assertEqual(detected["data"]["rows"], 2)
        self.assertEqual([r[-1] for r in self.read_output()[1:]], ["5", "6"])

    def test_date_1904_system(self):
        from ade_engine.xlsx_reader import XlsxWorkbook

        path = build_xlsx(self.path("mac.xlsx"), [("S", [[date(2024, 2, 29)]])], date1904=True)
        with XlsxWorkbook(path) as workbook:
            self.assertEqual(workbook.read_rows(workbook.sheets[0]), [["2024-02-29"]])

    def test_strict_namespaces(self):
        rows = [HEADER, [1, "Ada", "Okafor", "ada@example.org", date(2020, 5, 1)]]
        path = build_xlsx(self.path("strict.xlsx"), [("Members", rows)], strict=True)
        result = self.process(path)
        self.assertEqual(result.code, 0, result.stdout)
        self.assertEqual(self.read_output()[1][:5], ["1", "Ada", "Okafor", "ada@example.org", "2020-05-01"])

    def test_serial_conversion(self):
        from ade_engine.xlsx_reader import column_index, format_number, serial_to_iso

        self.assertEqual(serial_to_iso(45306), "2024-01-15")
        self.assertEqual(serial_to_iso(45306.5), "2024-01-15T12:00:00")
        self.assertEqual(serial_to_iso(0.75, time_only=True), "18:00:00")
        self.assertEqual(serial_to_iso(1), "1900-01-01")
        self.assertEqual(serial_to_iso(61), "1900-03-01")
        self.assertEqual(serial_to_iso(0, date1904=True), "1904-01-01")
        self.assertEqual([column_index(c) for c in ("A", "Z", "AA", "XFD")], [0, 25, 26, 16383])
        self.assertEqual(format_number("1.0E3"), "1000")
        self.assertEqual(format_number("0.1"), "0.1")
