"""Input documents as workbooks of sheets of text cells.

Every reader presents its document the same way: a workbook with an ordered
list of sheets, the index of the active sheet, and for each sheet a list of
rows, each a list of cell texts ("" for an empty cell). A CSV file is one
workbook with one sheet named after the file.
"""

import os

from ade_engine.errors import InputError

DELIMITED_EXTENSIONS = (".csv", ".tsv", ".txt")
XLSX_EXTENSIONS = (".xlsx", ".xlsm")


class SheetInfo:
    __slots__ = ("index", "name", "state", "kind", "part")

    def __init__(self, index, name, state="visible", kind="worksheet", part=None):
        self.index = index
        self.name = name
        self.state = state
        self.kind = kind
        self.part = part

    def describe(self):
        return {"index": self.index, "name": self.name, "state": self.state}


class Workbook:
    """Base for readers; subclasses fill ``sheets`` and implement ``read_rows``."""

    format = None

    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(path)
        self.sheets = []
        self.active_index = 0

    @property
    def active_sheet(self):
        return self.sheets[self.active_index] if self.sheets else None

    def read_rows(self, sheet):
        raise NotImplementedError

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def describe(self):
        active = self.active_sheet
        return {
            "workbook": self.name,
            "format": self.format,
            "sheets": [s.describe() for s in self.sheets],
            "active_sheet": active.describe() if active else None,
        }


def open_workbook(path):
    """Open ``path`` with the reader its extension calls for."""
    if not os.path.exists(path):
        raise InputError("input.not_found", f"input file not found: {path}")
    if not os.path.isfile(path):
        raise InputError("input.not_a_file", f"input is not a file: {path}")
    extension = os.path.splitext(path)[1].lower()
    if extension in DELIMITED_EXTENSIONS:
        from ade_engine.csv_reader import CsvWorkbook
        return CsvWorkbook(path)
    if extension in XLSX_EXTENSIONS:
        from ade_engine.xlsx_reader import XlsxWorkbook
        return XlsxWorkbook(path)
    supported = ", ".join(DELIMITED_EXTENSIONS + XLSX_EXTENSIONS)
    shown = extension or "(none)"
    raise InputError("input.unsupported_format",
                     f"unsupported input file extension {shown}; supported: {supported}")
