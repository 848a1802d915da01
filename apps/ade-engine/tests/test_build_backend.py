"""The in-package build backend (build_backend.py) of the engine and of the
example configuration package: its wheels are valid, and pip installs both
projects with no index, no local wheels and nothing but the standard library.
"""

import base64
import csv
import hashlib
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import unittest
import zipfile

from tests.support import ENGINE_DIR, EXAMPLES

CONFIG_DIR = os.path.join(EXAMPLES, "config-package")
BACKEND = os.path.join(ENGINE_DIR, "build_backend.py")


def load_backend():
    spec = importlib.util.spec_from_file_location("ade_test_build_backend", BACKEND)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def call_hook(project, hook, *args):
    """Calls a hook the way pip does: in a fresh interpreter whose working
    directory is the project, with the backend imported from there."""
    code = ("import json, sys, build_backend; "
            "print(json.dumps(getattr(build_backend, sys.argv[1])(*sys.argv[2:])))")
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run([sys.executable, "-c", code, hook, *args], cwd=project, env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError("%s in %s failed:\n%s" % (hook, project, proc.stderr))
    return json.loads(proc.stdout)


def record_problems(path):
    """What is wrong with a wheel's RECORD: every other entry must be listed
    with its urlsafe, unpadded sha256 and its size, RECORD itself without."""
    problems = []
    with zipfile.ZipFile(path) as whl:
        names = whl.namelist()
        records = [n for n in names if n.endswith(".dist-info/RECORD")]
        if len(records) != 1:
            return ["want one .dist-info/RECORD, found %s" % records]
        rows = list(csv.reader(io.StringIO(whl.read(records[0]).decode("utf-8"))))
        listed = {}
        for row in rows:
            if len(row) != 3:
                problems.append("malformed row %r" % row)
                continue
            listed[row[0]] = row
        if listed.get(records[0]) != [records[0], "", ""]:
            problems.append("RECORD's own row is %r" % listed.get(records[0]))
        for name in names:
            if name == records[0]:
                continue
            data = whl.read(name)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            if listed.get(name) != [name, "sha256=" + digest, str(len(data))]:
                problems.append("%s: RECORD says %r; the file is sha256=%s, %d bytes"
                                % (name, listed.get(name), digest, len(data)))
        for name in set(listed) - set(names):
            problems.append("RECORD lists %s, which the wheel lacks" % name)
    return problems


def read_metadata(text):
    headers, _, body = text.partition("\n\n")
    fields = {}
    for line in headers.splitlines():
        key, _, value = line.partition(": ")
        fields.setdefault(key, []).append(value)
    return fields, body


class BackendTests(unittest.TestCase):
    def setUp(self):
        if not os.path.isdir(CONFIG_DIR):
            self.skipTest("examples not present")
        self.tmp = tempfile.mkdtemp(prefix="ade-build-test-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def folder(self, name):
        path = os.path.join(self.tmp, name)
        os.makedirs(path)
        return path

    def test_both_projects_carry_the_same_backend(self):
        with open(BACKEND, "rb") as a, open(os.path.join(CONFIG_DIR, "build_backend.py"), "rb") as b:
            self.assertEqual(a.read(), b.read(),
                             "apps/ade-engine/build_backend.py and examples/config-package/build_backend.py differ: "
                             "copy one over the other")

    def test_engine_wheel(self):
        name = call_hook(ENGINE_DIR, "build_wheel", self.folder("w1"))
        import ade_engine
        version = ade_engine.__version__
        self.assertEqual(name, "ade_engine-%s-py3-none-any.whl" % version)
        path = os.path.join(self.tmp, "w1", name)
        self.assertEqual(record_problems(path), [])
        info = "ade_engine-%s.dist-info/" % version
        with zipfile.ZipFile(path) as whl:
            names = set(whl.namelist())
            meta, body = read_metadata(whl.read(info + "METADATA").decode())
            self.assertEqual(whl.read(info + "entry_points.txt").decode(),
                             "[console_scripts]\nade-engine = ade_engine.cli:main\n\n")
            wheel = whl.read(info + "WHEEL").decode()
        sources = {"ade_engine/" + f for f in os.listdir(os.path.join(ENGINE_DIR, "src", "ade_engine")) if f.endswith(".py")}
        self.assertTrue(sources and sources <= names, sorted(sources - names))
        self.assertFalse([n for n in names if "__pycache__" in n or n.endswith(".pyc")])
        self.assertEqual((meta["Name"], meta["Version"], meta["Requires-Python"]), (["ade-engine"], [version], [">=3.10"]))
        self.assertEqual(meta["Description-Content-Type"], ["text/markdown"])
        self.assertTrue(body.startswith("# ade-engine"), body[:40])
        self.assertIn("Root-Is-Purelib: true\n", wheel)
        self.assertIn("Tag: py3-none-any\n", wheel)

        # The same sources build the same bytes, and the metadata prepared
        # ahead of the build is the wheel's.
        again = call_hook(ENGINE_DIR, "build_wheel", self.folder("w2"))
        with open(path, "rb") as a, open(os.path.join(self.tmp, "w2", again), "rb") as b:
            self.assertEqual(a.read(), b.read(), "two builds of the same sources differ")
        meta_dir = self.folder("meta")
        self.assertEqual(call_hook(ENGINE_DIR, "prepare_metadata_for_build_wheel", meta_dir), info.rstrip("/"))
        with open(os.path.join(meta_dir, info, "METADATA"), encoding="utf-8") as prepared, zipfile.ZipFile(path) as whl:
            self.assertEqual(prepared.read(), whl.read(info + "METADATA").decode())

    def test_config_wheel_keeps_package_data(self):
        name = call_hook(CONFIG_DIR, "build_wheel", self.folder("w"))
        self.assertEqual(name, "ade_config_members-1.0.0-py3-none-any.whl")
        path = os.path.join(self.tmp, "w", name)
        self.assertEqual(record_problems(path), [])
        with zipfile.ZipFile(path) as whl, \
                open(os.path.join(CONFIG_DIR, "src", "ade_config_members", "ade_config.json"), "rb") as source:
            self.assertEqual(whl.read("ade_config_members/ade_config.json"), source.read())
            self.assertNotIn("ade_config_members-1.0.0.dist-info/entry_points.txt", whl.namelist())

    def test_editable_wheel_points_at_src(self):
        for project, dist in ((ENGINE_DIR, "ade_engine"), (CONFIG_DIR, "ade_config_members")):
            out = self.folder("e-" + dist)
            name = call_hook(project, "build_editable", out)
            path = os.path.join(out, name)
            self.assertEqual(record_problems(path), [])
            with zipfile.ZipFile(path) as whl:
                pth = [n for n in whl.namelist() if n.endswith(".pth")]
                self.assertEqual(len(pth), 1, whl.namelist())
                self.assertEqual(whl.read(pth[0]).decode(), os.path.join(os.path.abspath(project), "src") + "\n")
                self.assertFalse([n for n in whl.namelist() if n.endswith(".py")], "an editable wheel holds no sources")

    def test_sdist(self):
        name = call_hook(CONFIG_DIR, "build_sdist", self.folder("s"))
        self.assertEqual(name, "ade_config_members-1.0.0.tar.gz")
        with tarfile.open(os.path.join(self.tmp, "s", name)) as tar:
            names = set(tar.getnames())
        base = "ade_config_members-1.0.0/"
        for want in ("PKG-INFO", "pyproject.toml", "build_backend.py", "src/ade_config_members/ade_config.json"):
            self.assertIn(base + want, names)

    def test_build_requires_nothing(self):
        for hook in ("get_requires_for_build_wheel", "get_requires_for_build_editable", "get_requires_for_build_sdist"):
            self.assertEqual(call_hook(CONFIG_DIR, hook), [])


class TomlTests(unittest.TestCase):
    """Python 3.10 has no tomllib: the backend then reads a subset of TOML,
    which must read the projects' files exactly as tomllib does."""

    SAMPLE = r'''
# comment
[build-system]
requires = []   # trailing comment
backend-path = ["."]

[project]
name = "x-y"
description = "quote \" backslash \\ tab \t \u00e9 # not a comment"
literal = 'C:\path'
dependencies = [
    "a>=1",  # why
    'b; python_version < "3.11"',
]
dotted.key = 1
scripts = { x = "x.cli:main", "y" = "y:main" }
flag = true

[tool.x-y]
list = [[1, 2], [3]]
'''

    def setUp(self):
        self.backend = load_backend()

    def test_subset_reads_as_tomllib(self):
        try:
            import tomllib
        except ImportError:
            self.skipTest("no tomllib on this Python to compare with")
        texts = [self.SAMPLE]
        for project in (ENGINE_DIR, CONFIG_DIR):
            with open(os.path.join(project, "pyproject.toml"), encoding="utf-8") as handle:
                texts.append(handle.read())
        for text in texts:
            self.assertEqual(self.backend._parse_toml_subset(text), tomllib.loads(text))

    def test_subset_refuses_what_it_cannot_read(self):
        for text in ('a = """x"""', "[[t]]\na = 1", "a = 1.5", 'a = "\\q"', "a = ", "a 1", "[t", '[tool."q"]'):
            with self.assertRaises(ValueError, msg=text):
                self.backend._parse_toml_subset(text)


class PipInstallTests(unittest.TestCase):
    """pip installs both projects offline with nothing to find: no index, no
    find-links, no configuration file. Build isolation would fail at once if
    it had anything to install."""

    def test_install_offline(self):
        if not os.path.isdir(CONFIG_DIR):
            self.skipTest("examples not present")
        tmp = tempfile.mkdtemp(prefix="ade-pip-test-")
        self.addCleanup(shutil.rmtree, tmp, True)
        venv = os.path.join(tmp, "venv")
        made = subprocess.run([sys.executable, "-m", "venv", venv], capture_output=True, text=True)
        if made.returncode != 0:
            self.skipTest("this Python cannot create a virtual environment with pip: " + made.stderr.strip()[-200:])
        python = os.path.join(venv, "Scripts" if os.name == "nt" else "bin", "python")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
        env.update(PIP_NO_INDEX="1", PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1",
                   PIP_CACHE_DIR=os.path.join(tmp, "cache"), PYTHONDONTWRITEBYTECODE="1")

        def pip(*args):
            proc = subprocess.run([python, "-m", "pip", "install", *args], env=env, capture_output=True, text=True)
            self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
            self.assertNotIn("Installing build dependencies", proc.stdout)
            return proc

        pip("-e", ENGINE_DIR)
        pip(CONFIG_DIR)
        code = ("import ade_engine, ade_config_members, os; "
                "print(ade_engine.__file__); print(os.path.isfile(ade_config_members.MANIFEST))")
        out = subprocess.run([python, "-c", code], env=env, capture_output=True, text=True, cwd=tmp)
        self.assertEqual(out.returncode, 0, out.stderr)
        engine_file, has_manifest = out.stdout.split()
        self.assertEqual(engine_file, os.path.join(ENGINE_DIR, "src", "ade_engine", "__init__.py"),
                         "the editable engine does not import from src/")
        self.assertEqual(has_manifest, "True", "the installed configuration package lacks ade_config.json")
        script = os.path.join(venv, "Scripts" if os.name == "nt" else "bin", "ade-engine")
        self.assertTrue(os.path.exists(script) or os.path.exists(script + ".exe"), "no ade-engine script")


if __name__ == "__main__":
    unittest.main()
