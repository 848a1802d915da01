"""Header detection and column-to-field mapping.

A header cell matches a field in one of three ways, tried in order:

* ``exact``: its normalized text equals the field's normalized name or label
  (score 1.0);
* ``synonym``: it equals one of the field's normalized synonyms (score 0.95);
* ``fuzzy``: its similarity ratio (``difflib``) to the name, label or a
  synonym reaches the configured threshold; the score is the ratio times 0.9,
  so a fuzzy match always ranks below exact and synonym matches.

Columns are then assigned greedily, best score first: each field takes at
most one column per table and each column at most one field.
"""

import re

from ade_engine.text import normalize_header

EXACT_SCORE = 1.0
SYNONYM_SCORE = 0.95
FUZZY_WEIGHT = 0.9
MIN_FUZZY_LENGTH = 3
_METHOD_RANK = {"exact": 0, "synonym": 1, "fuzzy": 2}
# Cells that look like numbers or dates are never header text.
_VALUE_LIKE = re.compile(r"[-+]?[\d.,/:\s%$€£-]+\Z|\d{4}-\d{2}-\d{2}(T[\d:.]+)?\Z")


class Candidate:
    __slots__ = ("field", "score", "method")

    def __init__(self, field, score, method):
        self.field = field
        self.score = score
        self.method = method


class Matcher:
    """Finds the fields a header text may stand for."""

    def __init__(self, fields, fuzzy_threshold):
        self.fields = list(fields)
        self.fuzzy_threshold = fuzzy_threshold
        self._exact = {}
        self._synonym = {}
        self._fuzzy_keys = []
        for field in self.fields:
            for text in (field.name, field.label):
                key = normalize_header(text)
                if key:
                    self._exact.setdefault(key, field)
                    self._fuzzy_keys.append((key, field))
            for text in field.synonyms:
                key = normalize_header(text)
                if key:
                    self._synonym.setdefault(key, field)
                    self._fuzzy_keys.append((key, field))
        self._cache = {}

    def direct(self, key):
        """The exact or synonym candidate for a normalized header, or None.

        A text that is one field's name or label and another field's synonym
        goes to the name.
        """
        field = self._exact.get(key)
        if field is not None:
            return Candidate(field, EXACT_SCORE, "exact")
        field = self._synonym.get(key)
        if field is not None:
            return Candidate(field, SYNONYM_SCORE, "synonym")
        return None

    def candidates(self, key):
        """Every field the normalized header may stand for, best first."""
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        result = []
        direct = self.direct(key)
        if direct is not None:
            result.append(direct)
        if len(key) >= MIN_FUZZY_LENGTH:
            best = {}
            from difflib import SequenceMatcher
            matcher = SequenceMatcher(None, autojunk=False)
            matcher.set_seq2(key)
            for other, field in self._fuzzy_keys:
                if direct is not None and field is direct.field:
                    continue
                if len(other) < MIN_FUZZY_LENGTH:
                    continue
                # Upper bound of the ratio from the lengths alone.
                if 2.0 * min(len(key), len(other)) / (len(key) + len(other)) < self.fuzzy_threshold:
                    continue
                matcher.set_seq1(other)
                if matcher.real_quick_ratio() < self.fuzzy_threshold or matcher.quick_ratio() < self.fuzzy_threshold:
                    continue
                ratio = matcher.ratio()
                if ratio >= self.fuzzy_threshold and ratio > best.get(field.name, (0.0, None))[0]:
                    best[field.name] = (ratio, field)
            for ratio, field in best.values():
                result.append(Candidate(field, round(ratio * FUZZY_WEIGHT, 4), "fuzzy"))
        result.sort(key=lambda c: (-c.score, _METHOD_RANK[c.method]))
        self._cache[key] = result
        return result


class ColumnMapping:
    __slots__ = ("index", "raw", "normalized", "field", "score", "method", "unmapped_reason", "candidate")

    def __init__(self, index, raw):
        self.index = index
        self.raw = raw
        self.normalized = normalize_header(raw)
        self.field = None
        self.score = None
        self.method = None
        self.unmapped_reason = None
        self.candidate = None  # the best field a column lost to another column

    @property
    def mapped(self):
        return self.field is not None

    def describe(self):
        return {
            "status": "mapped" if self.field is not None else "unmapped",
            "field": self.field.name if self.field is not None else None,
            "score": self.score,
            "method": self.method,
            "unmapped_reason": self.unmapped_reason,
        }


def map_columns(header_cells, width, matcher):
    """A ColumnMapping for each of ``width`` columns of a header row."""
    columns = []
    options = []
    for index in range(width):
        raw = header_cells[index].strip() if index < len(header_cells) else ""
        column = ColumnMapping(index, raw)
        columns.append(column)
        if not column.normalized:
            column.unmapped_reason = "empty_header"
            continue
        found = matcher.candidates(column.normalized)
        if not found:
            column.unmapped_reason = "no_match"
            continue
        column.candidate = found[0]
        for candidate in found:
            options.append((-candidate.score, _METHOD_RANK[candidate.method], index, candidate))
    options.sort(key=lambda item: item[:3])
    taken = set()
    for _, _, index, candidate in options:
        column = columns[index]
        if column.field is not None or candidate.field.name in taken:
            continue
        column.field = candidate.field
        column.score = candidate.score
        column.method = candidate.method
        taken.add(candidate.field.name)
    for column in columns:
        if column.field is None and column.unmapped_reason is None:
            column.unmapped_reason = "field_already_mapped"
    return columns


def _header_texts(row):
    for index, cell in enumerate(row):
        text = cell.strip()
        if text and len(text) <= 120 and not _VALUE_LIKE.match(text):
            yield index, normalize_header(text)


def detect_header(rows, matcher, search_rows):
    """0-based index of the header row, or None when the sheet is empty.

    Among the first ``search_rows`` non-empty rows, the row whose cells match
    the most distinct fields wins (then the higher total score, then the
    earlier row). Exact and synonym matches are tried first; fuzzy matching
    is used only when no row has one. Without any match the first non-empty
    row is the header.
    """
    candidates = []
    for index, row in enumerate(rows):
        if any(cell.strip() for cell in row):
            candidates.append(index)
            if len(candidates) >= search_rows:
                break
    if not candidates:
        return None

    def score_direct(row):
        fields = {}
        for _, key in _header_texts(row):
            hit = matcher.direct(key)
            if hit is not None:
                fields[hit.field.name] = max(fields.get(hit.field.name, 0.0), hit.score)
        return len(fields), sum(fields.values())

    def score_fuzzy(row):
        fields = {}
        for _, key in _header_texts(row):
            for hit in matcher.candidates(key):
                fields[hit.field.name] = max(fields.get(hit.field.name, 0.0), hit.score)
        return len(fields), sum(fields.values())

    for scorer in (score_direct, score_fuzzy):
        best_index, best_score = None, (0, 0.0)
        for index in candidates:
            score = scorer(rows[index])
            if score > best_score:
                best_index, best_score = index, score
        if best_index is not None:
            return best_index
    return candidates[0]
