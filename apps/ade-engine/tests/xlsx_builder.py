"""Builds small XLSX files for tests, with exactly the features a test needs."""

import zipfile
from datetime import date, datetime
from xml.sax.saxutils import escape, quoteattr

TRANSITIONAL = {
    "main": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "rel": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
}
STRICT = {
    "main": "http://purl.oclc.org/ooxml/spreadsheetml/main",
    "rel": "http://purl.oclc.org/ooxml/officeDocument/relationships",
}
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
DATE_STYLE = 1       # cellXfs index with built-in date format 14
DATETIME_STYLE = 2   # cellXfs index with a custom "yyyy-mm-dd hh:mm" format
PERCENT_STYLE = 3    # cellXfs index with built-in format 10 (0.00%), not a date


class Raw:
    """A cell written exactly as given: ``Raw('<c r="A1" t="e"><v>#N/A</v></c>')``."""

    def __init__(self, xml):
        self.xml = xml


class Inline(str):
    """A string written as an inline string instead of a shared one."""


class Rich:
    """A shared string made of rich-text runs, plus an optional phonetic run."""

    def __init__(self, *runs, phonetic=None):
        self.runs = runs
        self.phonetic = phonetic


def column_letters(index):
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _serial(value, date1904):
    epoch = datetime(1904, 1, 1) if date1904 else datetime(1899, 12, 30)
    if isinstance(value, datetime):
        delta = value - epoch
    else:
        delta = datetime(value.year, value.month, value.day) - epoch
    return delta.days + delta.seconds / 86400


class _Strings:
    def __init__(self):
        self.items = []

    def add(self, item):
        self.items.append(item)
        return len(self.items) - 1

    def xml(self, ns):
        parts = []
        for item in self.items:
            if isinstance(item, Rich):
                runs = "".join(f"<r><rPr><b/></rPr><t>{escape(text)}</t></r>" for text in item.runs)
                phonetic = (f'<rPh sb="0" eb="1"><t>{escape(item.phonetic)}</t></rPh>' if item.phonetic else "")
                parts.append(f"<si>{runs}{phonetic}</si>")
            else:
                parts.append(f'<si><t xml:space="preserve">{escape(item)}</t></si>')
        return f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{ns["main"]}">{"".join(parts)}</sst>'


def _cell(ref, value, strings, date1904, with_ref=True):
    r = f' r="{ref}"' if with_ref else ""
    if isinstance(value, Raw):
        return value.xml
    if value is None:
        return ""
    if isinstance(value, bool):
        return f'<c{r} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, datetime):
        return f'<c{r} s="{DATETIME_STYLE}"><v>{_serial(value, date1904)}</v></c>'
    if isinstance(value, date):
        return f'<c{r} s="{DATE_STYLE}"><v>{_serial(value, date1904)}</v></c>'
    if isinstance(value, (int, float)):
        return f"<c{r}><v>{value!r}</v></c>"
    if isinstance(value, Inline):
        return f'<c{r} t="inlineStr"><is><t>{escape(str(value))}</t></is></c>'
    return f'<c{r} t="s"><v>{strings.add(value)}</v></c>'


def _sheet_xml(rows, strings, ns, date1904, with_refs):
    """rows: a list (row n is rows[n-1]) or a dict {row number: row}; a row is a
    list of values or a dict {0-based column: value}."""
    items = rows.items() if isinstance(rows, dict) else enumerate(rows, start=1)
    body = []
    for number, row in items:
        cells = row.items() if isinstance(row, dict) else enumerate(row)
        xml = "".join(_cell(f"{column_letters(c)}{number}", v, strings, date1904, with_refs) for c, v in cells)
        row_ref = f' r="{number}"' if with_refs else ""
        body.append(f"<row{row_ref}>{xml}</row>")
    return (f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{ns["main"]}" xmlns:r="{ns["rel"]}">'
            f"<sheetData>{''.join(body)}</sheetData></worksheet>")


def build_xlsx(path, sheets, active=None, date1904=False, strict=False, with_refs=True, hidden=()):
    """Write an XLSX file. ``sheets`` is a list of (name, rows)."""
    ns = STRICT if strict else TRANSITIONAL
    strings = _Strings()
    sheet_parts = [_sheet_xml(rows, strings, ns, date1904, with_refs) for _, rows in sheets]
    book_views = f'<bookViews><workbookView activeTab="{active}"/></bookViews>' if active is not None else ""
    workbook_pr = '<workbookPr date1904="1"/>' if date1904 else ""
    sheet_entries = "".join(
        f'<sheet name={quoteattr(name)} sheetId="{i + 1}" r:id="rId{i + 1}"'
        + (' state="hidden"' if name in hidden else "") + "/>"
        for i, (name, _) in enumerate(sheets)
    )
    workbook = (f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{ns["main"]}" xmlns:r="{ns["rel"]}">'
                f"{workbook_pr}{book_views}<sheets>{sheet_entries}</sheets></workbook>")
    rels = "".join(
        f'<Relationship Id="rId{i + 1}" Type="{ns["rel"]}/worksheet" Target="worksheets/sheet{i + 1}.xml"/>'
        for i in range(len(sheets))
    )
    n = len(sheets)
    rels += (f'<Relationship Id="rId{n + 1}" Type="{ns["rel"]}/sharedStrings" Target="sharedStrings.xml"/>'
             f'<Relationship Id="rId{n + 2}" Type="{ns["rel"]}/styles" Target="/xl/styles.xml"/>')
    styles = (
        f'<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="{ns["main"]}">'
        '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd hh:mm"/></numFmts>'
        '<cellXfs count="4"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/>'
        '<xf numFmtId="164" applyNumberFormat="1"/><xf numFmtId="10" applyNumberFormat="1"/></cellXfs>'
        "</styleSheet>"
    )
    parts = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types '
                               'xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>',
        "_rels/.rels": (f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_REL}">'
                        f'<Relationship Id="rId1" Type="{ns["rel"]}/officeDocument" Target="xl/workbook.xml"/>'
                        "</Relationships>"),
        "xl/workbook.xml": workbook,
        "xl/_rels/workbook.xml.rels": f'<?xml version="1.0" encoding="UTF-8"?><Relationships '
                                      f'xmlns="{PKG_REL}">{rels}</Relationships>',
        "xl/styles.xml": styles,
    }
    for i, xml in enumerate(sheet_parts):
        parts[f"xl/worksheets/sheet{i + 1}.xml"] = xml
    parts["xl/sharedStrings.xml"] = strings.xml(ns)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return path
