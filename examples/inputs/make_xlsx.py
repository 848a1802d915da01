"""Write members.xlsx, the sample workbook, with the standard library only.

    python3 examples/inputs/make_xlsx.py [OUTPUT]

The workbook has two sheets:

* "Members": a title and an export note above the header row (row 4), then
  one row per member. Member numbers are numbers, dates are date-formatted
  serial numbers, "Active" is a boolean, most text is in the shared string
  table and emails are inline strings. Blank cells are left out, so cell
  references are sparse. One email is malformed and one last name is missing.
* "Notes": free text, no table.

"Members" is the active tab. The output is byte-for-byte reproducible:
entries are stored uncompressed, in a fixed order, with a fixed timestamp.
"""

import os
import sys
import zipfile
from datetime import date
from xml.sax.saxutils import escape, quoteattr

FIXED_TIME = (2024, 1, 15, 9, 0, 0)

MEMBERS_HEADER = ["Member No.", "First", "Family name", "Email", "Member since", "Mobile", "Active"]
MEMBERS = [
    (2001, "Abebe", "Tadesse", "abebe.tadesse@example.org", date(2018, 5, 2), "+44 7700 900201", True),
    (2002, "Beatriz", "Costa", "beatriz.costa@example.org", date(2018, 9, 14), None, True),
    (2003, "Cormac", "Byrne", "cormac.byrne@example.org", date(2019, 1, 30), "+44 7700 900203", False),
    (2004, "Daniela", "Ortiz", "daniela.ortiz(at)example.org", date(2019, 6, 11), None, True),
    (2005, "Emeka", "Eze", "emeka.eze@example.org", date(2020, 2, 29), "+44 7700 900205", True),
    (2006, "Fatima", None, "fatima@example.org", date(2020, 10, 5), None, True),
    (2007, "Goran", "Petrovic", "goran.petrovic@example.org", date(2021, 3, 22), "+44 7700 900207", True),
    (2008, "Hiroshi", "Tanaka", "hiroshi.tanaka@example.org", date(2021, 12, 1), None, False),
    (2009, "Ingrid", "Berg", "ingrid.berg@example.org", date(2022, 7, 19), "+44 7700 900209", True),
    (2010, "Jamal", "Baker", "jamal.baker@example.org", date(2023, 4, 8), None, True),
]
NOTES = [
    "Notes",
    "This export lists paid-up members only.",
    "Member numbers from 2001 were issued by the new membership system.",
    "Contact the secretary to correct a record.",
]

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

STYLE_DATE = 1  # index in cellXfs of the date style (built-in format 14)


def column_letters(index):
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def excel_serial(day):
    return (day - date(1899, 12, 30)).days


class SharedStrings:
    def __init__(self):
        self.items = []
        self.index = {}

    def add(self, text):
        if text not in self.index:
            self.index[text] = len(self.items)
            self.items.append(text)
        return self.index[text]

    def xml(self):
        body = "".join(f"<si><t xml:space=\"preserve\">{escape(t)}</t></si>" for t in self.items)
        return (f'{XML_DECL}<sst xmlns="{MAIN_NS}" count="{len(self.items)}" uniqueCount="{len(self.items)}">'
                f"{body}</sst>")


def cell_xml(ref, value, strings, inline=False):
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, date):
        return f'<c r="{ref}" s="{STYLE_DATE}"><v>{excel_serial(value)}</v></c>'
    if isinstance(value, (int, float)):
        return f'<c r="{ref}"><v>{value}</v></c>'
    if inline:
        return f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>'
    return f'<c r="{ref}" t="s"><v>{strings.add(value)}</v></c>'


def sheet_xml(rows, strings, inline_columns=()):
    """rows: list of (row number, [values]); blank cells and rows are left out."""
    body = []
    for number, values in rows:
        cells = "".join(
            cell_xml(f"{column_letters(i)}{number}", v, strings, inline=i in inline_columns)
            for i, v in enumerate(values)
        )
        if cells:
            body.append(f'<row r="{number}">{cells}</row>')
    return (f'{XML_DECL}<worksheet xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">'
            f'<sheetData>{"".join(body)}</sheetData></worksheet>')


def build_parts():
    strings = SharedStrings()
    member_rows = [
        (1, ["Member roster"]),
        (2, ["Exported from the membership system on 15 January 2024"]),
        (4, MEMBERS_HEADER),
    ]
    for offset, member in enumerate(MEMBERS):
        member_rows.append((5 + offset, list(member)))
    members = sheet_xml(member_rows, strings, inline_columns=(3,))
    notes = sheet_xml([(i + 1, [text]) for i, text in enumerate(NOTES)], strings)

    sheets = [("Members", members), ("Notes", notes)]
    workbook = (
        f'{XML_DECL}<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">'
        '<bookViews><workbookView activeTab="0"/></bookViews><sheets>'
        + "".join(f'<sheet name={quoteattr(name)} sheetId="{i + 1}" r:id="rId{i + 1}"/>'
                  for i, (name, _) in enumerate(sheets))
        + "</sheets></workbook>"
    )
    workbook_rels = (
        f'{XML_DECL}<Relationships xmlns="{PKG_REL_NS}">'
        + "".join(f'<Relationship Id="rId{i + 1}" Type="{REL_NS}/worksheet" Target="worksheets/sheet{i + 1}.xml"/>'
                  for i in range(len(sheets)))
        + f'<Relationship Id="rId{len(sheets) + 1}" Type="{REL_NS}/styles" Target="styles.xml"/>'
        + f'<Relationship Id="rId{len(sheets) + 2}" Type="{REL_NS}/sharedStrings" Target="sharedStrings.xml"/>'
        + "</Relationships>"
    )
    styles = (
        f'{XML_DECL}<styleSheet xmlns="{MAIN_NS}">'
        '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    )
    content_types = (
        f'{XML_DECL}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        + "".join(f'<Override PartName="/xl/worksheets/sheet{i + 1}.xml" '
                  'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                  for i in range(len(sheets)))
        + '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        "</Types>"
    )
    root_rels = (
        f'{XML_DECL}<Relationships xmlns="{PKG_REL_NS}">'
        f'<Relationship Id="rId1" Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>"
    )
    parts = [
        ("[Content_Types].xml", content_types),
        ("_rels/.rels", root_rels),
        ("xl/workbook.xml", workbook),
        ("xl/_rels/workbook.xml.rels", workbook_rels),
    ]
    parts += [(f"xl/worksheets/sheet{i + 1}.xml", xml) for i, (_, xml) in enumerate(sheets)]
    parts += [("xl/styles.xml", styles), ("xl/sharedStrings.xml", strings.xml())]
    return parts


def write_workbook(path):
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in build_parts():
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, text.encode("utf-8"))


def main(argv):
    default = os.path.join(os.path.dirname(os.path.abspath(__file__)), "members.xlsx")
    path = argv[1] if len(argv) > 1 else default
    write_workbook(path)
    print(path)


if __name__ == "__main__":
    main(sys.argv)
