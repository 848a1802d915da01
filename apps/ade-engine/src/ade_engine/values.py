"""Value checks and normalization by field type.

``check_value(field, text)`` returns ``(value, problem)``: the normalized
value to write and ``None``, or the trimmed original text and a
``(code, message)`` problem. Empty text is never checked here.
"""

import re
from datetime import datetime

_INTEGER = re.compile(r"[+-]?(\d{1,3}(,\d{3})+|\d+)(\.0*)?\Z")
_NUMBER = re.compile(r"[+-]?(\d{1,3}(,\d{3})+|\d+)?(\.\d*)?([eE][+-]?\d+)?\Z")
_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+\Z"
)
_ISO_DATETIME = re.compile(r"(\d{4}-\d{2}-\d{2})[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?\Z")
_PATTERNS = {}


def _shown(text, limit=60):
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check_integer(text):
    compact = text.replace(" ", "")
    if not _INTEGER.match(compact):
        return None
    return str(int(compact.replace(",", "").split(".")[0]))


def check_number(text):
    compact = text.replace(" ", "")
    if not compact or not _NUMBER.match(compact) or not any(ch.isdigit() for ch in compact.split("e")[0].split("E")[0]):
        return None
    value = float(compact.replace(",", ""))
    if value != value or value in (float("inf"), float("-inf")):
        return None
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def check_date(text, formats):
    iso = _ISO_DATETIME.match(text)
    if iso:
        text = iso.group(1)
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt).strftime("%Y-%m-%d")
        except ValueError:
            continue
    return None


def check_email(text):
    if not _EMAIL.match(text):
        return None
    local, domain = text.rsplit("@", 1)
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return None
    return f"{local}@{domain.lower()}"


def check_value(field, text):
    value = text.strip()
    kind = field.type
    if kind == "integer":
        result = check_integer(value)
        problem = ("value.invalid_integer", f"{field.label}: {_shown(value)!r} is not a whole number")
    elif kind == "number":
        result = check_number(value)
        problem = ("value.invalid_number", f"{field.label}: {_shown(value)!r} is not a number")
    elif kind == "date":
        result = check_date(value, field.formats)
        problem = ("value.invalid_date", f"{field.label}: {_shown(value)!r} is not a valid date")
    elif kind == "email":
        result = check_email(value)
        problem = ("value.invalid_email", f"{field.label}: {_shown(value)!r} is not a valid email address")
    else:
        result, problem = value, None
    if result is None:
        return value, problem
    if field.pattern:
        compiled = _PATTERNS.get(field.pattern)
        if compiled is None:
            compiled = _PATTERNS[field.pattern] = re.compile(field.pattern)
        if not compiled.fullmatch(result):
            return value, ("value.pattern_mismatch",
                           f"{field.label}: {_shown(value)!r} does not match the expected pattern")
    return result, None
