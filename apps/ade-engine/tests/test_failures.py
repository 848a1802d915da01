import json
import os
import zipfile

from tests.support import EngineTestCase, run_subprocess


class FailureTests(EngineTestCase):
    def assert_failed(self, result, code, fragment):
        self.assertEqual(result.code, 1, result.stdout + result.stderr)
        summary = self.completed(result.events)
        self.assertEqual(summary["execution"]["status"], "failed")
        self.assertIn(fragment, summary["execution"]["error"])
        self.assertEqual(summary["evaluation"]["outcome"], "fail")
        self.assertIn(code, [f["code"] for f in summary["evaluation"]["findings"]])
        self.assertIsNone(summary["outputs"]["normalized"])
        self.assertFalse(os.path.exists(os.path.join(self.out, "normalized.csv")))
        completed = result.events[-1]
        self.assertEqual(completed["level"], "error")
        self.assertEqual(completed["scope"], "run")
        return summary

    def test_missing_input(self):
        self.assert_failed(self.process(self.path("nope.csv")), "input.not_found", "not found")

    def test_unsupported_extension(self):
        path = self.write("report.pdf", b"%PDF-1.4")
        self.assert_failed(self.process(path), "input.unsupported_format", ".pdf")

    def test_legacy_xls_is_unsupported(self):
        path = self.write("old.xls", b"\xd0\xcf\x11\xe0")
        self.assert_failed(self.process(path), "input.unsupported_format", ".xls")

    def test_corrupt_xlsx(self):
        path = self.write("broken.xlsx", b"this is not a zip file")
        self.assert_failed(self.process(path), "input.corrupt", "not a valid XLSX")

    def test_zip_without_workbook(self):
        path = self.path("empty.xlsx")
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("hello.txt", "hi")
        self.assert_failed(self.process(path), "input.corrupt", "xl/workbook.xml")

    def test_malformed_sheet_xml(self):
        path = self.path("bad-sheet.xlsx")
        ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
        rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("xl/workbook.xml", f'<workbook xmlns="{ns}" xmlns:r="{rel}"><sheets>'
                                                f'<sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>')
            archive.writestr("xl/_rels/workbook.xml.rels",
                             '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                             f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
                             "</Relationships>")
            archive.writestr("xl/worksheets/sheet1.xml", "<worksheet><sheetData><row>")
        self.assert_failed(self.process(path), "input.corrupt", "cannot read sheet 'S'")

    def test_empty_file(self):
        path = self.write("empty.csv", "")
        self.assert_failed(self.process(path), "input.no_header", "no header row")

    def test_no_matching_header(self):
        path = self.write("other.csv", "Product,Price\nTea,3\n")
        summary = self.assert_failed(self.process(path), "input.no_header", "no header row")
        # What was read is still reported.
        self.assertEqual(summary["counts"]["tables"], 1)
        self.assertEqual(summary["counts"]["columns"]["unmapped"], 2)

    def test_missing_config_package(self):
        path = self.write("ok.csv", "ID,Forename,Surname\n1,A,B\n")
        result = self.process(path, config=self.path("no-such-config"))
        self.assert_failed(result, "config.not_found", "not found")

    def test_invalid_config_package(self):
        path = self.write("ok.csv", "ID,Forename,Surname\n1,A,B\n")
        config = self.config(fields=[{"name": "a", "type": "uuid"}, {"name": "a"}])
        summary = self.assert_failed(self.process(path, config=config), "config.invalid", "invalid")
        codes = [f["code"] for f in summary["evaluation"]["findings"]]
        self.assertIn("config.unknown_type", codes)
        self.assertIn("config.duplicate_field", codes)
        self.assertEqual(summary["fields"], [])

    def test_unwritable_output(self):
        path = self.write("ok.csv", "ID,Forename,Surname\n1,A,B\n")
        blocker = self.write("file-not-folder", "x")
        argv = ["process", "file", "--input", path, "--output-dir", blocker, "--config-package", self.config(),
                "--log-format", "ndjson", "--log-level", "INFO"]
        from tests.support import run_in_process

        result = run_in_process(argv)
        self.assertEqual(result.code, 1)
        self.assertEqual(self.completed(result.events)["execution"]["status"], "failed")


class ProcessExitTests(EngineTestCase):
    """Exit codes and output of the real ``python -m ade_engine`` process."""

    def test_success_and_failure_exit_codes(self):
        good = self.write("ok.csv", "ID,Forename,Surname\n1,A,B\n")
        config = self.config()
        common = ["--output-dir", self.out, "--config-package", config, "--log-format", "ndjson",
                  "--log-level", "INFO"]
        ok = run_subprocess(["process", "file", "--input", good, *common])
        self.assertEqual(ok.code, 0, ok.stderr)
        self.assertEqual(ok.stderr, "")
        for line in ok.stdout.splitlines():
            self.assertIsInstance(json.loads(line), dict)
        failed = run_subprocess(["process", "file", "--input", self.path("missing.csv"), *common])
        self.assertEqual(failed.code, 1)
        self.assertEqual(failed.events[-1]["event"], "engine.run.completed")
        self.assertEqual(failed.events[-1]["data"]["execution"]["status"], "failed")

    def test_unknown_argument_exits_2(self):
        good = self.write("ok.csv", "ID,Forename,Surname\n1,A,B\n")
        result = run_subprocess(["process", "file", "--input", good, "--output-dir", self.out,
                                 "--config-package", self.config(), "--no-such-flag"])
        self.assertEqual(result.code, 2)
        self.assertIn("unrecognized arguments", result.stderr)

    def test_missing_command_exits_2(self):
        self.assertEqual(run_subprocess([]).code, 2)
        self.assertEqual(run_subprocess(["process"]).code, 2)

    def test_version(self):
        from ade_engine import __version__

        result = run_subprocess(["--version"])
        self.assertEqual(result.code, 0)
        self.assertEqual(result.stdout.strip(), f"ade-engine {__version__}")
