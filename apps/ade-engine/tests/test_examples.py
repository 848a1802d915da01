"""The shipped examples process as their README describes."""

import hashlib
import os
import subprocess
import sys
import tempfile

from tests.support import EXAMPLES, EngineTestCase

CONFIG = os.path.join(EXAMPLES, "config-package")
INPUTS = os.path.join(EXAMPLES, "inputs")


class ExampleTests(EngineTestCase):
    def setUp(self):
        super().setUp()
        if not os.path.isdir(CONFIG) or not os.path.isdir(INPUTS):
            self.skipTest("examples not present")

    def test_members_csv(self):
        result = self.process(os.path.join(INPUTS, "members.csv"), config=CONFIG)
        self.assertEqual(result.code, 0, result.stdout)
        summary = self.completed(result.events)
        self.assertEqual(summary["evaluation"]["outcome"], "warn")
        self.assertEqual(sorted(f["code"] for f in summary["evaluation"]["findings"]),
                         ["value.invalid_date", "value.invalid_email"])
        self.assertEqual(summary["counts"]["fields"], {"expected": 6, "detected": 6, "not_detected": 0})
        self.assertEqual(len(self.read_output()), 21)

    def test_members_xlsx(self):
        result = self.process(os.path.join(INPUTS, "members.xlsx"), config=CONFIG)
        self.assertEqual(result.code, 0, result.stdout)
        summary = self.completed(result.events)
        sheets = summary["workbooks"][0]["sheets"]
        self.assertEqual([s["locator"]["sheet"]["name"] for s in sheets], ["Members", "Notes"])
        self.assertEqual(sheets[0]["tables"][0]["header_row"], 4)
        self.assertEqual(sorted(f["code"] for f in summary["evaluation"]["findings"]),
                         ["sheet.no_matching_header", "value.invalid_email", "value.missing"])
        output = self.read_output()
        self.assertEqual(len(output), 11)
        self.assertEqual(output[1], ["2001", "Abebe", "Tadesse", "abebe.tadesse@example.org", "2018-05-02",
                                     "+44 7700 900201", "Members", "5"])
        active = self.process(os.path.join(INPUTS, "members.xlsx"), "--active-sheet-only", config=CONFIG)
        self.assertEqual(len(self.completed(active.events)["workbooks"][0]["sheets"]), 1)

    def test_xlsx_is_reproducible(self):
        script = os.path.join(INPUTS, "make_xlsx.py")
        with tempfile.TemporaryDirectory() as folder:
            target = os.path.join(folder, "members.xlsx")
            subprocess.run([sys.executable, script, target], check=True, capture_output=True)
            with open(target, "rb") as fresh, open(os.path.join(INPUTS, "members.xlsx"), "rb") as committed:
                self.assertEqual(hashlib.sha256(fresh.read()).hexdigest(),
                                 hashlib.sha256(committed.read()).hexdigest(),
                                 "examples/inputs/members.xlsx is out of date: run make_xlsx.py")
