"""A PEP 517 / PEP 660 build backend, standard library only.

It builds this project's wheel, editable wheel and source archive from
pyproject.toml's [project] table, so pip installs the project with
``requires = []``: no setuptools, no wheel package, no index. The layout is
fixed: every package and module under ``src/`` goes into the wheel with
all its files (package data included); the editable wheel holds a .pth
file that puts ``src/`` on sys.path instead.

apps/ade-engine/build_backend.py and examples/config-package/build_backend.py
are the same file (each project must build on its own); a test keeps them
identical.
"""

import base64
import csv
import hashlib
import io
import os
import re
import tarfile
import zipfile

# Entries get a fixed time, so building twice gives the same bytes.
_EPOCH = (1980, 1, 1, 0, 0, 0)
_TAG = "py3-none-any"
_SUPPORTED = {"name", "version", "dynamic", "description", "readme", "requires-python",
              "dependencies", "scripts", "gui-scripts", "entry-points"}


# --- PEP 517 / PEP 660 hooks -------------------------------------------------

def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    project = _Project(".")
    for name, data in project.dist_info_files():
        path = os.path.join(metadata_directory, project.dist_info, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(data)
    return project.dist_info


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    project = _Project(".")
    return project.write_wheel(wheel_directory, project.package_files())


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    project = _Project(".")
    src = os.path.abspath("src")
    pth = ("_%s_editable.pth" % project.dist, (src + "\n").encode("utf-8"))
    return project.write_wheel(wheel_directory, [pth])


def build_sdist(sdist_directory, config_settings=None):
    project = _Project(".")
    base = "%s-%s" % (project.dist, project.version)
    name = base + ".tar.gz"
    files = ["pyproject.toml", "build_backend.py"] + [p for p in [project.readme] if p]
    files += [os.path.join("src", rel) for rel, _ in project.package_files()]
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz", format=tarfile.PAX_FORMAT) as tar:
        for path in files:
            tar.add(path, arcname=base + "/" + path.replace(os.sep, "/"), filter=_reset)
        pkg_info = project.metadata()
        info = tarfile.TarInfo(base + "/PKG-INFO")
        info.size, info.mode = len(pkg_info), 0o644
        tar.addfile(info, io.BytesIO(pkg_info))
    return name


def _reset(info):
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = 315532800  # 1980-01-01, as in the wheels
    return info


# --- the project ---------------------------------------------------------------

class _Project:
    """pyproject.toml's [project] table and the files under src/."""

    def __init__(self, root):
        self.root = root
        with open(os.path.join(root, "pyproject.toml"), encoding="utf-8") as handle:
            table = load_toml(handle.read()).get("project")
        if not isinstance(table, dict) or not table.get("name"):
            raise ValueError("pyproject.toml: [project] with a name is required")
        unknown = sorted(set(table) - _SUPPORTED)
        if unknown or set(table.get("dynamic", [])) - {"version"}:
            raise ValueError("pyproject.toml: build_backend.py does not support %s"
                             % ", ".join(unknown or table["dynamic"]))
        self.table = table
        self.name = table["name"]
        self.dist = re.sub(r"[-_.]+", "_", self.name).lower()
        self.version = table.get("version") or self._dynamic_version()
        self.dist_info = "%s-%s.dist-info" % (self.dist, self.version)
        self.readme = table.get("readme")
        if self.readme is not None and not isinstance(self.readme, str):
            raise ValueError("pyproject.toml: readme must be a file name")

    def _dynamic_version(self):
        if "version" not in self.table.get("dynamic", []):
            raise ValueError("pyproject.toml: [project] needs a version, or dynamic = [\"version\"]")
        packages = [p for p in _listdir(os.path.join(self.root, "src"))
                    if os.path.isfile(os.path.join(self.root, "src", p, "__init__.py"))]
        if len(packages) != 1:
            raise ValueError("a dynamic version is read from the one package under src/; found %s" % packages)
        with open(os.path.join(self.root, "src", packages[0], "__init__.py"), encoding="utf-8") as handle:
            found = re.search(r"""^__version__\s*=\s*["']([^"']+)["']""", handle.read(), re.M)
        if not found:
            raise ValueError("src/%s/__init__.py sets no __version__ string" % packages[0])
        return found.group(1)

    def package_files(self):
        """Every file under src/ as (path inside src/, bytes), sorted; caches skipped."""
        src = os.path.join(self.root, "src")
        out = []
        for folder, dirs, files in os.walk(src):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith(".")
                             and not d.endswith(".egg-info"))
            for name in sorted(files):
                if name.endswith((".pyc", ".pyo")) or name.startswith("."):
                    continue
                path = os.path.join(folder, name)
                with open(path, "rb") as handle:
                    out.append((os.path.relpath(path, src).replace(os.sep, "/"), handle.read()))
        if not out:
            raise ValueError("src/ holds no files to package")
        return out

    def metadata(self):
        t = self.table
        lines = ["Metadata-Version: 2.1", "Name: " + self.name, "Version: " + self.version]
        if t.get("description"):
            lines.append("Summary: " + t["description"])
        if t.get("requires-python"):
            lines.append("Requires-Python: " + t["requires-python"])
        lines += ["Requires-Dist: " + dep for dep in t.get("dependencies", [])]
        body = ""
        if self.readme:
            kind = "text/markdown" if self.readme.lower().endswith(".md") else "text/plain"
            lines.append("Description-Content-Type: " + kind)
            with open(os.path.join(self.root, self.readme), encoding="utf-8") as handle:
                body = "\n" + handle.read()
        return ("\n".join(lines) + "\n" + body).encode("utf-8")

    def entry_points(self):
        groups = dict(self.table.get("entry-points", {}))
        for key, group in (("scripts", "console_scripts"), ("gui-scripts", "gui_scripts")):
            if self.table.get(key):
                groups[group] = self.table[key]
        text = ""
        for group in sorted(groups):
            text += "[%s]\n" % group
            text += "".join("%s = %s\n" % (k, v) for k, v in sorted(groups[group].items())) + "\n"
        return text.encode("utf-8")

    def dist_info_files(self):
        wheel = "Wheel-Version: 1.0\nGenerator: build_backend.py\nRoot-Is-Purelib: true\nTag: %s\n" % _TAG
        files = [("METADATA", self.metadata()), ("WHEEL", wheel.encode("ascii"))]
        if self.entry_points():
            files.append(("entry_points.txt", self.entry_points()))
        return files

    def write_wheel(self, directory, files):
        """Writes the wheel of files plus the .dist-info folder; returns its name."""
        name = "%s-%s-%s.whl" % (self.dist, self.version, _TAG)
        files = list(files) + [(self.dist_info + "/" + n, d) for n, d in self.dist_info_files()]
        record = io.StringIO()
        writer = csv.writer(record, lineterminator="\n")
        with zipfile.ZipFile(os.path.join(directory, name), "w", zipfile.ZIP_DEFLATED) as whl:
            for path, data in files:
                _write_entry(whl, path, data)
                digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")
                writer.writerow([path, "sha256=" + digest, len(data)])
            writer.writerow([self.dist_info + "/RECORD", "", ""])
            _write_entry(whl, self.dist_info + "/RECORD", record.getvalue().encode("utf-8"))
        return name


def _write_entry(whl, path, data):
    info = zipfile.ZipInfo(path, date_time=_EPOCH)
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    whl.writestr(info, data)


def _listdir(path):
    return sorted(os.listdir(path)) if os.path.isdir(path) else []


# --- TOML ----------------------------------------------------------------------

def load_toml(text):
    """tomllib's reading of text; on Python 3.10, which lacks tomllib, the
    subset of TOML that pyproject files use (see _parse_toml_subset)."""
    try:
        import tomllib
    except ImportError:
        return _parse_toml_subset(text)
    return tomllib.loads(text)


_TOKEN = re.compile(r'''\s*(?:("""|\'\'\')|("(?:[^"\\\n]|\\.)*")|('[^'\n]*')|(\#[^\n]*)|([\[\]{}=,])|([A-Za-z0-9_.+-]+))''')


def _parse_toml_subset(text):
    """Tables, dotted keys, basic and literal strings, arrays, inline tables,
    booleans and integers; anything else is refused rather than misread."""
    tokens, pos, end = [], 0, len(text.rstrip())
    while pos < end:
        m = _TOKEN.match(text, pos)
        if not m or m.group(1):
            raise ValueError("pyproject.toml: unsupported TOML at offset %d" % pos)
        pos = m.end()
        if not m.group(4):
            tokens.append(m.group(m.lastindex))
    root, i = {}, 0
    table = root
    try:
        while i < len(tokens):
            if tokens[i] != "[":
                i = _parse_pair(tokens, i, table)
            elif tokens[i + 2] == "]":
                table = _descend(root, _key(tokens[i + 1]))
                i += 3
            else:
                raise ValueError("pyproject.toml: unsupported table header near %r" % tokens[i + 1])
    except IndexError:
        raise ValueError("pyproject.toml: unexpected end of file") from None
    return root


def _parse_pair(tokens, i, table):
    if tokens[i + 1] != "=":
        raise ValueError("pyproject.toml: expected '=' after %r" % tokens[i])
    path = _key(tokens[i])
    value, i = _parse_value(tokens, i + 2)
    _descend(table, path[:-1])[path[-1]] = value
    return i


def _parse_value(tokens, i):
    tok = tokens[i]
    if tok in ("[", "{"):
        close, items, out = ("]", [], None) if tok == "[" else ("}", None, {})
        i += 1
        while True:
            while tokens[i] == ",":
                i += 1
            if tokens[i] == close:
                return (items if out is None else out), i + 1
            if out is None:
                value, i = _parse_value(tokens, i)
                items.append(value)
            else:
                i = _parse_pair(tokens, i, out)
    if tok[0] == '"':
        return _basic_string(tok), i + 1
    if tok[0] == "'":
        return tok[1:-1], i + 1
    if tok in ("true", "false"):
        return tok == "true", i + 1
    if re.fullmatch(r"[+-]?[0-9]+", tok):
        return int(tok), i + 1
    raise ValueError("pyproject.toml: unsupported value %r" % tok)


def _basic_string(tok):
    return re.sub(r'\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)', _unescape, tok[1:-1])


def _unescape(m):
    esc = m.group(1)
    if esc[0] in "uU":
        return chr(int(esc[1:], 16))
    simple = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}
    if esc not in simple:
        raise ValueError("pyproject.toml: unsupported escape \\%s" % esc)
    return simple[esc]


def _key(tok):
    if tok[0] in "\"'":
        return [_basic_string(tok) if tok[0] == '"' else tok[1:-1]]
    return tok.split(".")


def _descend(table, path):
    for part in path:
        table = table.setdefault(part, {})
    return table
