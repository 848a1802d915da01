from tests.support import EngineTestCase
from tests.xlsx_builder import build_xlsx


class HeaderDetectionTests(EngineTestCase):
    def table(self, summary):
        return summary["workbooks"][0]["sheets"][0]["tables"][0]

    def test_header_below_title_and_blank_rows(self):
        path = self.write("titled.csv",
                          "Quarterly roster,,\n,,\nPrepared by the office,,\n"
                          "ID,Forename,Surname\n1,A,B\n2,C,D\n")
        result = self.process(path)
        summary = self.completed(result.events)
        self.assertEqual(self.table(summary)["header_row"], 4)
        self.assertEqual([r[0] for r in self.read_output()[1:]], ["1", "2"])

    def test_row_with_most_matching_fields_wins(self):
        # Row 1 has one matching cell ("Email" as a heading), row 2 the real header.
        path = self.write("two.csv", "Email,,\nID,Forename,Surname\n1,A,B\n")
        summary = self.completed(self.process(path).events)
        self.assertEqual(self.table(summary)["header_row"], 2)

    def test_fuzzy_headers(self):
        path = self.write("typos.csv", "Member IDs,Frist name,Lastname\n1,A,B\n")
        result = self.process(path)
        self.assertEqual(result.code, 0, result.stdout)
        summary = self.completed(result.events)
        mappings = [c["mapping"] for c in self.table(summary)["structure"]["columns"]]
        self.assertEqual([m["field"] for m in mappings], ["member_id", "first_name", "last_name"])
        self.assertEqual({m["method"] for m in mappings}, {"fuzzy"})
        for mapping in mappings:
            self.assertLess(mapping["score"], 0.95)
            self.assertGreaterEqual(mapping["score"], 0.8 * 0.9)
        fields = {f["field"]: f for f in summary["fields"]}
        self.assertEqual(fields["first_name"]["best_mapping_score"], mappings[1]["score"])

    def test_fuzzy_threshold_option(self):
        path = self.write("typos.csv", "Member IDs,Frist name,Lastname\n1,A,B\n")
        result = self.process(path, "--fuzzy-threshold", "0.99")
        self.assertEqual(result.code, 1)
        self.assertIn("no header row", self.completed(result.events)["execution"]["error"])

    def test_header_row_option(self):
        path = self.write("forced.csv", "ID,Forename,Surname\nID,Forename,Surname\n1,A,B\n")
        summary = self.completed(self.process(path, "--header-row", "2").events)
        self.assertEqual(self.table(summary)["header_row"], 2)
        self.assertEqual(self.read_output()[1][:3], ["1", "A", "B"])

    def test_header_search_rows_limit(self):
        rows = [[f"title line {n}"] for n in range(5)] + [["ID", "Forename", "Surname"], [1, "A", "B"]]
        path = build_xlsx(self.path("deep.xlsx"), [("S", rows)])
        self.assertEqual(self.process(path, "--header-search-rows", "6").code, 0)
        self.assertEqual(self.process(path, "--header-search-rows", "5").code, 1)

    def test_duplicate_columns_keep_the_best(self):
        path = self.write("dupes.csv", "Surname,ID,Last name,Forename\nB,1,B2,A\n")
        result = self.process(path)
        summary = self.completed(result.events)
        mappings = [c["mapping"] for c in self.table(summary)["structure"]["columns"]]
        self.assertEqual(mappings[2]["field"], "last_name")
        self.assertEqual(mappings[2]["method"], "exact")
        self.assertEqual(mappings[0], {"status": "unmapped", "field": None, "score": None, "method": None,
                                       "unmapped_reason": "field_already_mapped"})
        self.assertIn("column.duplicate_field", [f["code"] for f in summary["evaluation"]["findings"]])
        self.assertEqual(self.read_output()[1][:3], ["1", "A", "B2"])

    def test_empty_header_cells(self):
        path = self.write("blank.csv", "ID,,Forename,Surname\n1,x,A,B\n")
        summary = self.completed(self.process(path).events)
        column = self.table(summary)["structure"]["columns"][1]
        self.assertEqual(column["header"], {"raw": None, "normalized": None})
        self.assertEqual(column["mapping"]["unmapped_reason"], "empty_header")
        self.assertEqual(column["non_empty_cells"], 1)

    def test_missing_required_column(self):
        path = self.write("partial.csv", "ID,Forename\n1,A\n")
        result = self.process(path)
        self.assertEqual(result.code, 0)
        summary = self.completed(result.events)
        codes = {(f["code"], f["field"]) for f in summary["evaluation"]["findings"]}
        self.assertIn(("field.missing_column", "last_name"), codes)
        self.assertIn(("field.not_detected", "email"), codes)
        self.assertEqual(summary["counts"]["fields"], {"expected": 5, "detected": 2, "not_detected": 3})
