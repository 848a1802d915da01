import json
import os

from tests.support import EXAMPLES, EngineTestCase, run_in_process


class ConfigPackageTests(EngineTestCase):
    def validate(self, folder, level="INFO"):
        return run_in_process(["config", "validate", "--config-package", folder, "--log-format", "ndjson",
                               "--log-level", level])

    def test_manifest_locations(self):
        from ade_engine.config import find_manifest

        src_layout = self.config()
        self.assertEqual(find_manifest(src_layout), os.path.join(src_layout, "src", "test_config", "ade_config.json"))
        flat = self.write("flat/pkg/ade_config.json", "{}")
        self.assertEqual(find_manifest(self.path("flat")), flat)
        root = self.write("root/ade_config.json", "{}")
        self.write("root/pkg/ade_config.json", "{}")
        self.assertEqual(find_manifest(self.path("root")), root)
        self.assertEqual(find_manifest(root), root)
        self.write("two/a/ade_config.json", "{}")
        self.write("two/b/ade_config.json", "{}")
        from ade_engine.errors import ConfigError

        with self.assertRaises(ConfigError) as caught:
            find_manifest(self.path("two"))
        self.assertEqual(caught.exception.code, "config.ambiguous")
        self.write("egg/src/pkg.egg-info/ade_config.json", "{}")
        with self.assertRaises(ConfigError):
            find_manifest(self.path("egg"))

    def test_validate_valid_package(self):
        result = self.validate(self.config())
        self.assertEqual(result.code, 0, result.stdout)
        names = [e["event"] for e in result.events]
        self.assertEqual(names, ["engine.start", "engine.config.validated", "engine.run.completed"])
        validated = result.events[1]["data"]
        self.assertTrue(validated["valid"])
        self.assertEqual(validated["fields"], ["member_id", "first_name", "last_name", "email", "joined_on"])
        summary = result.events[-1]["data"]
        self.assertEqual(summary["execution"]["status"], "succeeded")
        self.assertEqual(summary["evaluation"]["outcome"], "pass")

    def test_validate_reports_every_problem(self):
        fields = [
            {"name": "id", "type": "uuid"},
            {"name": "ID"},
            {"name": "1bad"},
            {"name": "when", "type": "date", "formats": []},
            {"name": "code", "pattern": "(["},
            {"name": "source_row"},
            {"name": "note", "synonyms": "comment", "required": "yes", "colour": "red"},
            {"name": "email", "synonyms": ["id"]},
        ]
        result = self.validate(self.config(fields=fields))
        self.assertEqual(result.code, 1)
        summary = result.events[-1]["data"]
        self.assertEqual(summary["execution"]["status"], "failed")
        codes = sorted({f["code"] for f in summary["evaluation"]["findings"]})
        self.assertEqual(codes, ["config.ambiguous_synonym", "config.duplicate_field", "config.invalid_field_name",
                                 "config.invalid_pattern", "config.invalid_value", "config.reserved_field",
                                 "config.unknown_key", "config.unknown_type"])
        self.assertFalse(result.events[1]["data"]["valid"])
        self.assertEqual(result.events[1]["level"], "error")

    def test_validate_warnings_only_is_valid(self):
        result = self.validate(self.config(fields=[{"name": "a", "extra": 1}], colour="blue"))
        self.assertEqual(result.code, 0)
        self.assertEqual(result.events[-1]["data"]["evaluation"]["outcome"], "warn")

    def test_validate_missing_and_broken(self):
        missing = self.validate(self.path("nowhere"))
        self.assertEqual(missing.code, 1)
        self.assertEqual(missing.events[-1]["data"]["evaluation"]["findings"][0]["code"], "config.not_found")
        self.write("broken/ade_config.json", "{not json")
        broken = self.validate(self.path("broken"))
        self.assertEqual(broken.code, 1)
        self.assertEqual(broken.events[-1]["data"]["evaluation"]["findings"][0]["code"], "config.invalid_json")
        self.write("nofields/ade_config.json", json.dumps({"name": "x", "fields": []}))
        self.assertEqual(self.validate(self.path("nofields")).code, 1)

    def test_validate_events_survive_error_level(self):
        result = self.validate(self.config(), level="ERROR")
        self.assertEqual([e["event"] for e in result.events], ["engine.config.validated", "engine.run.completed"])

    def test_defaults(self):
        from ade_engine.config import load_config

        config = load_config(self.config(fields=[{"name": "joined_on", "type": "date"}, {"name": "x"}]))
        joined, x = config.fields
        self.assertEqual(joined.label, "Joined On")
        self.assertFalse(joined.required)
        self.assertIn("%Y-%m-%d", joined.formats)
        self.assertEqual((x.type, x.synonyms), ("string", ()))
        self.assertEqual(config.header_search_rows, 20)
        self.assertEqual(config.fuzzy_threshold, 0.8)

    def test_example_package_is_valid(self):
        folder = os.path.join(EXAMPLES, "config-package")
        if not os.path.isdir(folder):
            self.skipTest("examples/config-package not present")
        result = self.validate(folder)
        self.assertEqual(result.code, 0, result.stdout)
        self.assertEqual(result.events[-1]["data"]["validation"]["issues_total"], 0)
