"""Delimited text files (CSV, TSV)."""

import codecs
import csv
import io
import itertools
import os

from ade_engine.errors import InputError
from ade_engine.workbook import SheetInfo, Workbook

CANDIDATE_DELIMITERS = (",", ";", "\t", "|")
SNIFF_LINES = 50

# Notes cells can be long: allow fields up to 16 MiB instead of the default 128 KiB.
csv.field_size_limit(16 * 1024 * 1024)


def decode(raw):
    """Text of a file: UTF-8 (BOM tolerated), UTF-16 with a BOM, else Windows-1252."""
    if raw.startswith(codecs.BOM_UTF16_LE) or raw.startswith(codecs.BOM_UTF16_BE):
        return raw.decode("utf-16"), "utf-16"
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "latin-1"


def sniff_delimiter(text, preferred=","):
    """The candidate delimiter that splits the first lines most consistently.

    Each candidate parses a sample; the score is how many sample rows share
    the most common field count (greater than one), then that count. A file
    with a single column falls back to ``preferred``.
    """
    lines = itertools.islice(io.StringIO(text, newline=""), SNIFF_LINES)
    sample = [line for line in lines if line.strip()]
    best, best_score = preferred, (0, 0, 0)
    for position, delimiter in enumerate(CANDIDATE_DELIMITERS):
        try:
            widths = [len(row) for row in csv.reader(sample, delimiter=delimiter) if row]
        except csv.Error:
            continue
        counts = {}
        for width in widths:
            if width > 1:
                counts[width] = counts.get(width, 0) + 1
        if not counts:
            continue
        width, agreeing = max(counts.items(), key=lambda item: (item[1], item[0]))
        score = (agreeing, width, -position if delimiter != preferred else 1)
        if score > best_score:
            best, best_score = delimiter, score
    return best


class CsvWorkbook(Workbook):
    format = "csv"

    def __init__(self, path):
        super().__init__(path)
        try:
            with open(path, "rb") as handle:
                raw = handle.read()
        except OSError as exc:
            raise InputError("input.unreadable", f"cannot read input file: {exc.strerror or exc}") from None
        text, self.encoding = decode(raw)
        preferred = "\t" if path.lower().endswith(".tsv") else ","
        self.delimiter = sniff_delimiter(text, preferred)
        try:
            self._rows = [list(row) for row in csv.reader(io.StringIO(text, newline=""), delimiter=self.delimiter)]
        except csv.Error as exc:
            raise InputError("input.corrupt", f"cannot parse delimited file: {exc}") from None
        stem = os.path.splitext(self.name)[0] or self.name
        self.sheets = [SheetInfo(0, stem)]

    def read_rows(self, sheet):
        return self._rows

    def describe(self):
        info = super().describe()
        info["encoding"] = self.encoding
        info["delimiter"] = self.delimiter
        return info
