"""Helpers shared by the tests: temporary folders, configurations, running the engine."""

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from tests import SRC

ENGINE_DIR = os.path.dirname(SRC)
REPO_ROOT = os.path.dirname(os.path.dirname(ENGINE_DIR))
EXAMPLES = os.path.join(REPO_ROOT, "examples")

MEMBER_FIELDS = [
    {"name": "member_id", "label": "Member ID", "type": "integer", "required": True,
     "synonyms": ["member #", "member no", "id"]},
    {"name": "first_name", "label": "First name", "required": True, "synonyms": ["given name", "forename"]},
    {"name": "last_name", "label": "Last name", "required": True, "synonyms": ["surname", "family name"]},
    {"name": "email", "type": "email", "synonyms": ["e-mail address", "e-mail"]},
    {"name": "joined_on", "label": "Joined on", "type": "date", "synonyms": ["date joined", "member since"]},
]


class EngineTestCase(unittest.TestCase):
    """Gives each test a temporary folder and ways to run the engine in it."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ade-engine-test-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.out = os.path.join(self.tmp, "out")

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def write(self, name, content, encoding="utf-8"):
        path = self.path(name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        mode = "wb" if isinstance(content, bytes) else "w"
        with open(path, mode, **({} if mode == "wb" else {"encoding": encoding, "newline": ""})) as handle:
            handle.write(content)
        return path

    def config(self, fields=None, **extra):
        """A configuration package laid out like a real project: src/<pkg>/ade_config.json."""
        doc = {"name": "test-config", "version": "0.0.1", "fields": MEMBER_FIELDS if fields is None else fields}
        doc.update(extra)
        folder = self.path("config")
        self.write("config/pyproject.toml", '[project]\nname = "test-config"\nversion = "0.0.1"\n')
        self.write("config/src/test_config/__init__.py", "")
        self.write("config/src/test_config/ade_config.json", json.dumps(doc, indent=2))
        return folder

    def process(self, input_path, *args, config=None, level="INFO", fmt="ndjson"):
        argv = ["process", "file", "--input", input_path, "--output-dir", self.out,
                "--config-package", config or self.config(), "--log-format", fmt, "--log-level", level, *args]
        return run_in_process(argv)

    def completed(self, events):
        done = [e for e in events if e["event"] == "engine.run.completed"]
        self.assertEqual(len(done), 1, "exactly one engine.run.completed event")
        self.assertIs(events[-1], done[0], "engine.run.completed is the last event")
        return done[0]["data"]

    def read_output(self):
        import csv

        with open(os.path.join(self.out, "normalized.csv"), encoding="utf-8", newline="") as handle:
            return list(csv.reader(handle))


class Result:
    def __init__(self, code, stdout, stderr):
        self.code = code
        self.stdout = stdout
        self.stderr = stderr

    @property
    def events(self):
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]


def run_in_process(argv):
    """Run the CLI in this process, capturing stdout and stderr."""
    from ade_engine.cli import main

    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code
    return Result(code, stdout.getvalue(), stderr.getvalue())


def run_subprocess(argv, cwd=None):
    """Run ``python -m ade_engine`` as a real process with src on PYTHONPATH."""
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    proc = subprocess.run([sys.executable, "-m", "ade_engine", *argv], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=120)
    return Result(proc.returncode, proc.stdout, proc.stderr)
