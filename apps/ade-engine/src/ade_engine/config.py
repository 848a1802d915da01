"""Configuration packages.

A configuration package is a pip-installable Python project. The engine reads
its fields from one declarative file, ``ade_config.json``, found in the folder
passed as ``--config-package``:

1. ``<folder>/ade_config.json``, else
2. exactly one ``<folder>/src/<package>/ade_config.json`` or
   ``<folder>/<package>/ade_config.json``.

``--config-package`` may also name the JSON file itself. The format is
documented in the engine's README.md.
"""

import json
import os
import re

from ade_engine.errors import ConfigError
from ade_engine.text import normalize_header

MANIFEST_NAME = "ade_config.json"
FIELD_TYPES = ("string", "integer", "number", "date", "email")
RESERVED_COLUMNS = ("source_sheet", "source_row")
DEFAULT_HEADER_SEARCH_ROWS = 20
DEFAULT_FUZZY_THRESHOLD = 0.8
DEFAULT_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y", "%d.%m.%Y", "%d %b %Y", "%b %d, %Y")

_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_TOP_KEYS = {"name", "version", "description", "header", "mapping", "fields"}
_FIELD_KEYS = {"name", "label", "synonyms", "required", "type", "pattern", "formats", "description"}
_SKIP_DIRS = {"build", "dist", "tests", "node_modules"}


class Field:
    __slots__ = ("name", "label", "synonyms", "required", "type", "pattern", "formats", "description")

    def __init__(self, name, label=None, synonyms=(), required=False, type="string",
                 pattern=None, formats=None, description=None):
        self.name = name
        self.label = label or name.replace("_", " ").strip().title()
        self.synonyms = tuple(synonyms)
        self.required = bool(required)
        self.type = type
        self.pattern = pattern
        self.formats = tuple(formats) if formats else DEFAULT_DATE_FORMATS
        self.description = description

    def __repr__(self):
        return f"Field({self.name!r}, type={self.type!r}, required={self.required})"


class Config:
    __slots__ = ("name", "version", "manifest_path", "fields", "header_search_rows",
                 "fuzzy_threshold", "warnings")

    def __init__(self, name, version, manifest_path, fields, header_search_rows=DEFAULT_HEADER_SEARCH_ROWS,
                 fuzzy_threshold=DEFAULT_FUZZY_THRESHOLD, warnings=()):
        self.name = name
        self.version = version
        self.manifest_path = manifest_path
        self.fields = list(fields)
        self.header_search_rows = header_search_rows
        self.fuzzy_threshold = fuzzy_threshold
        self.warnings = list(warnings)

    def describe(self):
        return {"name": self.name, "version": self.version, "manifest": self.manifest_path,
                "fields": len(self.fields)}


def find_manifest(location):
    """Path of the ``ade_config.json`` that ``location`` designates."""
    if not location:
        raise ConfigError("config.not_found", "no configuration package given")
    path = os.path.abspath(location)
    if os.path.isfile(path):
        if path.endswith(".json"):
            return path
        raise ConfigError("config.not_found", f"configuration package is not a folder: {location}")
    if not os.path.isdir(path):
        raise ConfigError("config.not_found", f"configuration package not found: {location}")
    direct = os.path.join(path, MANIFEST_NAME)
    if os.path.isfile(direct):
        return direct
    found = []
    for base in (os.path.join(path, "src"), path):
        if not os.path.isdir(base):
            continue
        for entry in sorted(os.listdir(base)):
            if entry.startswith((".", "_")) or entry in _SKIP_DIRS or entry.endswith(".egg-info"):
                continue
            candidate = os.path.join(base, entry, MANIFEST_NAME)
            if os.path.isfile(candidate):
                found.append(candidate)
    if not found:
        raise ConfigError("config.not_found",
                          f"no {MANIFEST_NAME} in configuration package {location} "
                          f"(looked in the folder, src/<package>/ and <package>/)")
    if len(found) > 1:
        names = ", ".join(os.path.relpath(p, path) for p in found)
        raise ConfigError("config.ambiguous", f"more than one {MANIFEST_NAME} in {location}: {names}")
    return found[0]


def read_manifest(manifest_path):
    try:
        with open(manifest_path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise ConfigError("config.unreadable", f"cannot read {manifest_path}: {exc.strerror or exc}") from None
    try:
        doc = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ConfigError("config.invalid_json", f"{manifest_path} is not UTF-8 text") from None
    except ValueError as exc:
        raise ConfigError("config.invalid_json", f"{manifest_path} is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ConfigError("config.invalid_json", f"{manifest_path} must hold a JSON object")
    return doc


def _issue(severity, code, message, field=None):
    return {"severity": severity, "code": code, "message": message, "field": field}


def check_manifest(doc):
    """All problems with a manifest document, as a list of issue dicts.

    Errors make the package unusable; warnings do not.
    """
    issues = []
    for key in sorted(set(doc) - _TOP_KEYS):
        issues.append(_issue("warning", "config.unknown_key", f"unknown key {key!r} is ignored"))
    for key in ("name", "version", "description"):
        if key in doc and not isinstance(doc[key], str):
            issues.append(_issue("error", "config.invalid_value", f"{key!r} must be a string"))

    header = doc.get("header", {})
    if not isinstance(header, dict):
        issues.append(_issue("error", "config.invalid_value", "'header' must be an object"))
    else:
        rows = header.get("search_rows", DEFAULT_HEADER_SEARCH_ROWS)
        if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
            issues.append(_issue("error", "config.invalid_value", "'header.search_rows' must be a positive integer"))
    mapping = doc.get("mapping", {})
    if not isinstance(mapping, dict):
        issues.append(_issue("error", "config.invalid_value", "'mapping' must be an object"))
    else:
        threshold = mapping.get("fuzzy_threshold", DEFAULT_FUZZY_THRESHOLD)
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold <= 1:
            issues.append(_issue("error", "config.invalid_value",
                                 "'mapping.fuzzy_threshold' must be a number in (0, 1]"))

    fields = doc.get("fields")
    if not isinstance(fields, list) or not fields:
        issues.append(_issue("error", "config.no_fields", "'fields' must be a non-empty list"))
        return issues

    seen_names = {}
    seen_keys = {}
    for position, item in enumerate(fields, start=1):
        if not isinstance(item, dict):
            issues.append(_issue("error", "config.invalid_field", f"field #{position} must be an object"))
            continue
        name = item.get("name")
        if not isinstance(name, str) or not _FIELD_NAME.match(name):
            issues.append(_issue("error", "config.invalid_field_name",
                                 f"field #{position}: 'name' must be an identifier (letters, digits, underscore)",
                                 name if isinstance(name, str) else None))
            continue
        folded = name.casefold()
        if folded in seen_names:
            issues.append(_issue("error", "config.duplicate_field",
                                 f"field {name!r} is declared more than once", name))
            continue
        seen_names[folded] = name
        if folded in RESERVED_COLUMNS:
            issues.append(_issue("error", "config.reserved_field",
                                 f"field name {name!r} is reserved for an output column", name))
        for key in sorted(set(item) - _FIELD_KEYS):
            issues.append(_issue("warning", "config.unknown_key", f"field {name!r}: unknown key {key!r} is ignored",
                                 name))
        for key in ("label", "description"):
            if key in item and item[key] is not None and not isinstance(item[key], str):
                issues.append(_issue("error", "config.invalid_value", f"field {name!r}: {key!r} must be a string",
                                     name))
        synonyms = item.get("synonyms", [])
        if not isinstance(synonyms, list) or not all(isinstance(s, str) for s in synonyms):
            issues.append(_issue("error", "config.invalid_value",
                                 f"field {name!r}: 'synonyms' must be a list of strings", name))
            synonyms = []
        if "required" in item and not isinstance(item["required"], bool):
            issues.append(_issue("error", "config.invalid_value", f"field {name!r}: 'required' must be true or false",
                                 name))
        ftype = item.get("type", "string")
        if ftype not in FIELD_TYPES:
            issues.append(_issue("error", "config.unknown_type",
                                 f"field {name!r}: unknown type {ftype!r} (known: {', '.join(FIELD_TYPES)})", name))
        pattern = item.get("pattern")
        if pattern is not None:
            if not isinstance(pattern, str):
                issues.append(_issue("error", "config.invalid_value", f"field {name!r}: 'pattern' must be a string",
                                     name))
            else:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    issues.append(_issue("error", "config.invalid_pattern",
                                         f"field {name!r}: 'pattern' is not a valid regular expression: {exc}",
                                         name))
        formats = item.get("formats")
        if formats is not None:
            if (not isinstance(formats, list) or not formats
                    or not all(isinstance(f, str) and f for f in formats)):
                issues.append(_issue("error", "config.invalid_value",
                                     f"field {name!r}: 'formats' must be a non-empty list of strftime patterns",
                                     name))
            elif ftype != "date":
                issues.append(_issue("warning", "config.unused_key",
                                     f"field {name!r}: 'formats' only applies to date fields", name))

        label = item.get("label") if isinstance(item.get("label"), str) else None
        for text in [name, label] + list(synonyms):
            key = normalize_header(text)
            if not key:
                continue
            owner = seen_keys.setdefault(key, name)
            if owner != name:
                issues.append(_issue("warning", "config.ambiguous_synonym",
                                     f"header {text!r} matches both {owner!r} and {name!r}; "
                                     f"the first declared field wins", name))
    return issues


def build_config(doc, manifest_path, issues=()):
    header = doc.get("header") or {}
    mapping = doc.get("mapping") or {}
    fields = [
        Field(
            name=item["name"],
            label=item.get("label"),
            synonyms=item.get("synonyms") or (),
            required=item.get("required", False),
            type=item.get("type", "string"),
            pattern=item.get("pattern"),
            formats=item.get("formats") if item.get("type") == "date" else None,
            description=item.get("description"),
        )
        for item in doc["fields"]
    ]
    return Config(
        name=doc.get("name") or os.path.basename(os.path.dirname(manifest_path)),
        version=doc.get("version"),
        manifest_path=manifest_path,
        fields=fields,
        header_search_rows=header.get("search_rows", DEFAULT_HEADER_SEARCH_ROWS),
        fuzzy_threshold=float(mapping.get("fuzzy_threshold", DEFAULT_FUZZY_THRESHOLD)),
        warnings=[i for i in issues if i["severity"] != "error"],
    )


def load_config(location):
    """Find, read and check a configuration package; raise ConfigError if unusable."""
    manifest_path = find_manifest(location)
    doc = read_manifest(manifest_path)
    issues = check_manifest(doc)
    errors = [i for i in issues if i["severity"] == "error"]
    if errors:
        detail = "; ".join(i["message"] for i in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise ConfigError("config.invalid", f"configuration package is invalid: {detail}{more}", issues)
    return build_config(doc, manifest_path, issues)
