import codecs

from tests.support import EngineTestCase


class CsvTests(EngineTestCase):
    def test_maps_synonyms_and_normalizes_values(self):
        path = self.write("roster.csv",
                          "Member #,Given Name,Surname,E-mail Address,Date Joined,Notes\n"
                          "1001,Ada,Okafor,ada@Example.ORG,2019-03-14,\n"
                          '"1,002", Bruno ,Lindqvist,bruno@example.org,2019/07/02,"Committee, chair"\n')
        result = self.process(path)
        self.assertEqual(result.code, 0, result.stdout)
        summary = self.completed(result.events)
        self.assertEqual(summary["execution"]["status"], "succeeded")
        self.assertEqual(summary["evaluation"]["outcome"], "pass")
        self.assertEqual(self.read_output(), [
            ["member_id", "first_name", "last_name", "email", "joined_on", "source_sheet", "source_row"],
            ["1001", "Ada", "Okafor", "ada@example.org", "2019-03-14", "roster", "2"],
            ["1002", "Bruno", "Lindqvist", "bruno@example.org", "2019-07-02", "roster", "3"],
        ])
        columns = summary["workbooks"][0]["sheets"][0]["tables"][0]["structure"]["columns"]
        self.assertEqual([c["mapping"]["method"] for c in columns],
                         ["synonym", "synonym", "synonym", "synonym", "synonym", None])
        self.assertEqual(columns[5]["mapping"], {"status": "unmapped", "field": None, "score": None,
                                                 "method": None, "unmapped_reason": "no_match"})
        self.assertEqual(columns[3]["header"], {"raw": "E-mail Address", "normalized": "e_mail_address"})

    def test_semicolon_delimiter_and_bom(self):
        content = ("member_id;first_name;last_name;email\n"
                   "1;Ada;Okafor;ada@example.org\n"
                   "2;Bruno;Lindqvist;bruno@example.org\n")
        path = self.write("semi.csv", codecs.BOM_UTF8 + content.encode("utf-8"))
        result = self.process(path)
        self.assertEqual(result.code, 0, result.stdout)
        opened = next(e for e in result.events if e["event"] == "engine.workbook.opened")
        self.assertEqual(opened["data"]["delimiter"], ";")
        rows = self.read_output()
        self.assertEqual(rows[0][0], "member_id")  # no BOM left on the first header
        self.assertEqual(rows[1][:4], ["1", "Ada", "Okafor", "ada@example.org"])

    def test_tab_delimiter_and_multiline_quoted_cell(self):
        path = self.write("tabs.tsv",
                          'ID\tForename\tSurname\n7\t"Ann\nMarie"\tLee\n8\tBo\tKim\n')
        result = self.process(path)
        self.assertEqual(result.code, 0, result.stdout)
        rows = self.read_output()
        self.assertEqual(rows[1][:3], ["7", "Ann\nMarie", "Lee"])
        self.assertEqual(rows[2][:3], ["8", "Bo", "Kim"])
        self.assertEqual(rows[2][-1], "3")  # source row counts records, not lines

    def test_windows_1252_fallback(self):
        raw = "ID,Forename,Surname\n1,Zo\xeb,M\xfcller\n".encode("cp1252")
        path = self.write("legacy.csv", raw)
        result = self.process(path)
        self.assertEqual(result.code, 0, result.stdout)
        self.assertEqual(self.read_output()[1][:3], ["1", "Zo\xeb", "M\xfcller"])

    def test_empty_rows_are_counted_and_skipped(self):
        path = self.write("gaps.csv", "ID,Forename,Surname\n1,A,B\n,,\n\n2,C,D\n")
        result = self.process(path)
        summary = self.completed(result.events)
        self.assertEqual(summary["counts"]["rows"], {"total": 4, "empty": 2})
        self.assertEqual([r[0] for r in self.read_output()[1:]], ["1", "2"])

    def test_bad_values_become_findings_and_keep_original_text(self):
        path = self.write("bad.csv",
                          "ID,Forename,Surname,Email,Date Joined\n"
                          "x1,Ada,Okafor,not-an-email,2019-02-30\n"
                          "2,,Lindqvist,b@example.org,2019-02-28\n")
        result = self.process(path)
        self.assertEqual(result.code, 0)
        summary = self.completed(result.events)
        codes = sorted((f["code"], f["row"], f["field"], f["severity"]) for f in summary["evaluation"]["findings"])
        self.assertEqual(codes, [
            ("value.invalid_date", 2, "joined_on", "warning"),
            ("value.invalid_email", 2, "email", "warning"),
            ("value.invalid_integer", 2, "member_id", "warning"),
            ("value.missing", 3, "first_name", "error"),
        ])
        self.assertEqual(summary["evaluation"]["outcome"], "fail")
        self.assertEqual(summary["validation"], {"issues_total": 4,
                                                 "issues_by_severity": {"info": 0, "warning": 3, "error": 1},
                                                 "max_severity": "error"})
        self.assertEqual(self.read_output()[1][:5], ["x1", "Ada", "Okafor", "not-an-email", "2019-02-30"])
