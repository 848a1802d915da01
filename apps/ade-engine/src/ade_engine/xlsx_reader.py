"""XLSX workbooks, read with ``zipfile`` and ``xml.etree``.

Only what extraction needs is read: sheet names and order
(``xl/workbook.xml`` and its relationships), the active tab
(``workbookView/@activeTab``), shared strings, inline strings, numbers,
booleans, error values and formula results, and the number formats of
``xl/styles.xml`` so that date-formatted numbers become ISO dates. Cells may
be sparse: ``r="C7"`` references place them, and cells or rows without a
reference follow the previous one.

Element names are matched by local name, so both transitional and strict
OOXML namespaces are understood.
"""

import posixpath
import re
import zipfile
from datetime import datetime, timedelta
from xml.etree import ElementTree

from ade_engine.errors import InputError
from ade_engine.workbook import SheetInfo, Workbook

_REL_NS_SUFFIX = "/relationships"
_CELL_REF = re.compile(r"([A-Za-z]{1,3})(\d+)\Z")
# Built-in number formats that show dates or times (ECMA-376 18.8.30).
_BUILTIN_DATE_FORMATS = {14: "date", 15: "date", 16: "date", 17: "date", 18: "time", 19: "time", 20: "time",
                         21: "time", 22: "date", 45: "time", 46: "time", 47: "time"}
_QUOTED_OR_BRACKETED = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.')
_EPOCH_1900 = datetime(1899, 12, 30)
_EPOCH_1904 = datetime(1904, 1, 1)
MAX_COLUMNS = 16384


def _local(tag):
    return tag.rsplit("}", 1)[-1]


def _children(element, name):
    return [child for child in element if _local(child.tag) == name]


def _child(element, name):
    for child in element:
        if _local(child.tag) == name:
            return child
    return None


def _relationship_id(element):
    for key, value in element.attrib.items():
        if key.startswith("{") and key.endswith("}id") and key[1:].split("}")[0].endswith(_REL_NS_SUFFIX):
            return value
    return None


def column_index(letters):
    """0-based index of a column reference such as ``A`` or ``AB``."""
    index = 0
    for char in letters.upper():
        index = index * 26 + (ord(char) - 64)
    return index - 1


def _date_format_kind(code):
    """``"date"`` or ``"time"`` when a custom number format code shows one, else None."""
    plain = _QUOTED_OR_BRACKETED.sub("", code).lower()
    if plain in ("general", "@"):
        return None
    if "y" in plain or "d" in plain or ("m" in plain and "h" not in plain and "s" not in plain):
        return "date"
    if "h" in plain or "s" in plain:
        return "time"
    return None


def format_number(text):
    """Cell number text as people write it: ``1001`` rather than ``1001.0``."""
    try:
        value = float(text)
    except ValueError:
        return text.strip()
    if value != value or value in (float("inf"), float("-inf")):
        return text.strip()
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def serial_to_iso(serial, date1904=False, time_only=False):
    """ISO text of a spreadsheet date serial: date, date and time, or (time formats) time only."""
    if date1904:
        moment = _EPOCH_1904 + timedelta(days=serial)
    elif serial < 60:
        # Serials before 1900-03-01 predate the phantom 1900-02-29 of the 1900 system.
        moment = _EPOCH_1900 + timedelta(days=serial + 1)
    else:
        moment = _EPOCH_1900 + timedelta(days=serial)
    moment = moment.replace(microsecond=0) + timedelta(seconds=round(moment.microsecond / 1e6))
    if time_only:
        return moment.strftime("%H:%M:%S")
    if moment.hour == moment.minute == moment.second == 0:
        return moment.strftime("%Y-%m-%d")
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


class XlsxWorkbook(Workbook):
    format = "xlsx"

    def __init__(self, path):
        super().__init__(path)
        try:
            self._zip = zipfile.ZipFile(path)
        except zipfile.BadZipFile:
            raise InputError("input.corrupt", f"not a valid XLSX file (not a zip archive): {self.name}") from None
        except OSError as exc:
            raise InputError("input.unreadable", f"cannot read input file: {exc.strerror or exc}") from None
        try:
            self._names = set(self._zip.namelist())
            self._load_workbook()
            self._shared = None
            self._date_styles = None
        except InputError:
            self._zip.close()
            raise
        except (zipfile.BadZipFile, ElementTree.ParseError, KeyError, ValueError, EOFError, OSError) as exc:
            self._zip.close()
            raise InputError("input.corrupt", f"not a valid XLSX file: {exc}") from None

    def close(self):
        self._zip.close()

    # -- parts -----------------------------------------------------------------

    def _xml(self, part):
        with self._zip.open(part) as handle:
            return ElementTree.parse(handle).getroot()

    def _relationships(self, part):
        """{id: (type, target part)} for the relationships of ``part``."""
        folder, base = posixpath.split(part)
        rels_part = posixpath.join(folder, "_rels", base + ".rels")
        if rels_part not in self._names:
            return {}
        result = {}
        for rel in self._xml(rels_part):
            if _local(rel.tag) != "Relationship" or rel.get("TargetMode") == "External":
                continue
            target = rel.get("Target", "")
            if target.startswith("/"):
                resolved = target.lstrip("/")
            else:
                resolved = posixpath.normpath(posixpath.join(folder, target))
            result[rel.get("Id")] = (rel.get("Type", ""), resolved)
        return result

    def _load_workbook(self):
        workbook_part = "xl/workbook.xml"
        for rel_type, target in self._relationships("").values():
            if rel_type.endswith("/officeDocument"):
                workbook_part = target
                break
        if workbook_part not in self._names:
            raise InputError("input.corrupt", f"not a valid XLSX file: {workbook_part} is missing")
        self._workbook_part = workbook_part
        root = self._xml(workbook_part)
        rels = self._relationships(workbook_part)

        properties = _child(root, "workbookPr")
        self.date1904 = properties is not None and properties.get("date1904", "0").lower() in ("1", "true")

        sheets_element = _child(root, "sheets")
        for element in (_children(sheets_element, "sheet") if sheets_element is not None else []):
            rel_type, target = rels.get(_relationship_id(element), ("", None))
            kind = rel_type.rsplit("/", 1)[-1] if rel_type else "worksheet"
            self.sheets.append(SheetInfo(
                index=len(self.sheets),
                name=element.get("name") or f"Sheet{len(self.sheets) + 1}",
                state=element.get("state", "visible"),
                kind=kind,
                part=target,
            ))
        if not self.sheets:
            raise InputError("input.corrupt", "not a valid XLSX file: the workbook lists no sheets")

        views = _child(root, "bookViews")
        view = _child(views, "workbookView") if views is not None else None
        try:
            active = int(view.get("activeTab", "0")) if view is not None else 0
        except ValueError:
            active = 0
        self.active_index = active if 0 <= active < len(self.sheets) else 0

        self._shared_part = self._styles_part = None
        for rel_type, target in rels.values():
            if rel_type.endswith("/sharedStrings"):
                self._shared_part = target
            elif rel_type.endswith("/styles"):
                self._styles_part = target
        if self._shared_part is None and "xl/sharedStrings.xml" in self._names:
            self._shared_part = "xl/sharedStrings.xml"
        if self._styles_part is None and "xl/styles.xml" in self._names:
            self._styles_part = "xl/styles.xml"

    def _shared_strings(self):
        if self._shared is None:
            self._shared = []
            if self._shared_part and self._shared_part in self._names:
                for item in self._xml(self._shared_part):
                    if _local(item.tag) == "si":
                        self._shared.append(_rich_text(item))
        return self._shared

    def _date_style_indexes(self):
        if self._date_styles is None:
            self._date_styles = {}
            if self._styles_part and self._styles_part in self._names:
                root = self._xml(self._styles_part)
                date_formats = dict(_BUILTIN_DATE_FORMATS)
                formats = _child(root, "numFmts")
                for fmt in (_children(formats, "numFmt") if formats is not None else []):
                    try:
                        format_id = int(fmt.get("numFmtId"))
                    except (TypeError, ValueError):
                        continue
                    kind = _date_format_kind(fmt.get("formatCode", ""))
                    if kind:
                        date_formats[format_id] = kind
                    else:
                        date_formats.pop(format_id, None)
                xfs = _child(root, "cellXfs")
                for position, xf in enumerate(_children(xfs, "xf") if xfs is not None else []):
                    try:
                        kind = date_formats.get(int(xf.get("numFmtId", "0")))
                    except ValueError:
                        continue
                    if kind:
                        self._date_styles[position] = kind
        return self._date_styles

    # -- cells -----------------------------------------------------------------

    def read_rows(self, sheet):
        if sheet.kind != "worksheet" or not sheet.part:
            return []
        if sheet.part not in self._names:
            raise InputError("input.corrupt", f"not a valid XLSX file: sheet {sheet.name!r} has no part {sheet.part}")
        try:
            return self._read_sheet(sheet.part)
        except (zipfile.BadZipFile, ElementTree.ParseError, EOFError, OSError, ValueError) as exc:
            raise InputError("input.corrupt", f"cannot read sheet {sheet.name!r}: {exc}") from None

    def _read_sheet(self, part):
        shared = self._shared_strings()
        date_styles = self._date_style_indexes()
        rows = []
        current = None
        row_number = 0
        next_column = 0
        with self._zip.open(part) as handle:
            for event, element in ElementTree.iterparse(handle, events=("start", "end")):
                name = _local(element.tag)
                if event == "start":
                    if name == "row":
                        reference = element.get("r")
                        row_number = int(reference) if reference and reference.isdigit() else len(rows) + 1
                        current = []
                        next_column = 0
                    continue
                if name == "c" and current is not None:
                    column = next_column
                    match = _CELL_REF.match(element.get("r") or "")
                    if match:
                        column = column_index(match.group(1))
                    if 0 <= column < MAX_COLUMNS:
                        value = self._cell_value(element, shared, date_styles)
                        if value != "":
                            while len(current) < column:
                                current.append("")
                            if len(current) == column:
                                current.append(value)
                            else:
                                current[column] = value
                    next_column = column + 1
                elif name == "row" and current is not None:
                    while len(rows) < row_number:
                        rows.append(())  # rows absent from the file are empty
                    if row_number >= 1:
                        rows[row_number - 1] = current
                    current = None
                    element.clear()
                elif name == "sheetData":
                    element.clear()
        return rows

    def _cell_value(self, cell, shared, date_styles):
        kind = cell.get("t", "n")
        if kind == "inlineStr":
            inline = _child(cell, "is")
            return _rich_text(inline) if inline is not None else ""
        value_element = _child(cell, "v")
        text = value_element.text if value_element is not None and value_element.text is not None else ""
        if text == "":
            return ""
        if kind == "s":
            try:
                return shared[int(text)]
            except (ValueError, IndexError):
                raise ValueError(f"cell {cell.get('r', '?')} refers to a missing shared string") from None
        if kind == "b":
            return "TRUE" if text.strip() in ("1", "true") else "FALSE"
        if kind in ("str", "e", "d"):
            return text
        # A number, possibly shown as a date.
        style = cell.get("s")
        shown_as = date_styles.get(int(style)) if style is not None and style.isdigit() else None
        if shown_as is not None:
            try:
                serial = float(text)
                if serial >= 0:
                    return serial_to_iso(serial, self.date1904, time_only=shown_as == "time")
            except (ValueError, OverflowError):
                pass
        return format_number(text)


def _rich_text(element):
    """Text of a string item: plain ``<t>`` or rich runs, phonetic runs left out."""
    parts = []
    for child in element:
        name = _local(child.tag)
        if name == "t":
            parts.append(child.text or "")
        elif name == "r":
            run_text = _child(child, "t")
            if run_text is not None:
                parts.append(run_text.text or "")
    return "".join(parts)
