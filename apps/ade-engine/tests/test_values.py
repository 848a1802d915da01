import unittest

import tests  # noqa: F401  (puts src on sys.path)
from ade_engine.config import Field
from ade_engine.text import normalize_header
from ade_engine.values import check_value


class ValueTests(unittest.TestCase):
    def check(self, kind, text, **options):
        return check_value(Field("f", type=kind, **options), text)

    def test_integer(self):
        self.assertEqual(self.check("integer", " 1,234 "), ("1234", None))
        self.assertEqual(self.check("integer", "12.0"), ("12", None))
        self.assertEqual(self.check("integer", "-7"), ("-7", None))
        for bad in ("12.5", "1,23", "abc", "1e3"):
            value, problem = self.check("integer", bad)
            self.assertEqual((value, problem[0]), (bad, "value.invalid_integer"))

    def test_number(self):
        self.assertEqual(self.check("number", "1,234.50"), ("1234.5", None))
        self.assertEqual(self.check("number", "-.5"), ("-0.5", None))
        self.assertEqual(self.check("number", "2E3"), ("2000", None))
        for bad in ("1.2.3", "nan", "inf", "-", ".", "12a"):
            self.assertEqual(self.check("number", bad)[1][0], "value.invalid_number", bad)

    def test_date(self):
        self.assertEqual(self.check("date", "2024-02-29"), ("2024-02-29", None))
        self.assertEqual(self.check("date", "2024-01-15T09:30:00"), ("2024-01-15", None))
        self.assertEqual(self.check("date", "03/14/2021"), ("2021-03-14", None))
        self.assertEqual(self.check("date", "14.03.2021"), ("2021-03-14", None))
        self.assertEqual(self.check("date", "5 Jan 2022"), ("2022-01-05", None))
        self.assertEqual(self.check("date", "2023-02-29")[1][0], "value.invalid_date")
        self.assertEqual(self.check("date", "14/03/2021", formats=["%d/%m/%Y"]), ("2021-03-14", None))
        self.assertEqual(self.check("date", "2021-03-14", formats=["%d/%m/%Y"])[1][0], "value.invalid_date")

    def test_email(self):
        self.assertEqual(self.check("email", "Ada.Okafor@Example.ORG"), ("Ada.Okafor@example.org", None))
        for bad in ("ada", "ada@", "@example.org", "ada@example", "a b@example.org", "ada..o@example.org"):
            self.assertEqual(self.check("email", bad)[1][0], "value.invalid_email", bad)

    def test_string_and_pattern(self):
        self.assertEqual(self.check("string", "  x  "), ("x", None))
        self.assertEqual(self.check("string", "AB-12", pattern=r"[A-Z]{2}-\d+"), ("AB-12", None))
        self.assertEqual(self.check("string", "ab-12", pattern=r"[A-Z]{2}-\d+")[1][0], "value.pattern_mismatch")

    def test_normalize_header(self):
        self.assertEqual(normalize_header("  E-mail Address "), "e_mail_address")
        self.assertEqual(normalize_header("Member #"), "member")
        self.assertEqual(normalize_header("Prénom"), "prenom")
        self.assertEqual(normalize_header("STRASSE"), normalize_header("straße"))
        self.assertEqual(normalize_header(None), "")
