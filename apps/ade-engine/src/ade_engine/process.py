"""``process file``: read a document, map its columns, check values, write normalized.csv."""

import os
import sys

from ade_engine.config import RESERVED_COLUMNS, load_config
from ade_engine.errors import EngineError, InputError
from ade_engine.mapping import Matcher, detect_header, map_columns
from ade_engine.summary import Clock, Findings, engine_info, evaluation_and_validation
from ade_engine.text import plural
from ade_engine.values import check_value
from ade_engine.workbook import open_workbook

OUTPUT_NAME = "normalized.csv"


class ProcessOptions:
    """What ``process file`` was asked to do (see cli.py for the flags)."""

    def __init__(self, input_path, output_dir, config_package, max_findings_per_sheet=None,
                 active_sheet_only=False, input_sheets=(), header_row=None, header_search_rows=None,
                 fuzzy_threshold=None):
        self.input_path = input_path
        self.output_dir = output_dir
        self.config_package = config_package
        self.max_findings_per_sheet = max_findings_per_sheet
        self.active_sheet_only = active_sheet_only
        self.input_sheets = list(input_sheets or ())
        self.header_row = header_row
        self.header_search_rows = header_search_rows
        self.fuzzy_threshold = fuzzy_threshold


def _width(row):
    """Number of cells up to the last non-empty one."""
    for index in range(len(row) - 1, -1, -1):
        if row[index].strip():
            return index + 1
    return 0


def select_sheets(workbook, names, active_only):
    if active_only:
        return [workbook.active_sheet]
    if not names:
        return list(workbook.sheets)
    chosen = set()
    for name in names:
        match = next((s for s in workbook.sheets if s.name == name), None)
        if match is None:
            folded = [s for s in workbook.sheets if s.name.strip().casefold() == name.strip().casefold()]
            match = folded[0] if len(folded) == 1 else None
        if match is None:
            available = ", ".join(repr(s.name) for s in workbook.sheets)
            raise InputError("input.unknown_sheet", f"sheet {name!r} not found in {workbook.name}; "
                                                    f"available sheets: {available}")
        chosen.add(match.index)
    return [s for s in workbook.sheets if s.index in chosen]


class FieldStats:
    __slots__ = ("tables", "columns", "best_score")

    def __init__(self):
        self.tables = 0
        self.columns = 0
        self.best_score = None


class Run:
    """State of one ``process file`` run."""

    def __init__(self, options, log):
        self.options = options
        self.log = log
        self.clock = Clock()
        self.findings = Findings(options.max_findings_per_sheet)
        self.config = None
        self.workbook_entry = None
        self.output_path = None
        self.input_format = None
        self.counts = {
            "workbooks": 0, "sheets": 0, "tables": 0,
            "rows": {"total": 0, "empty": 0},
            "columns": {"total": 0, "empty": 0, "mapped": 0, "unmapped": 0},
            "fields": {"expected": 0, "detected": 0, "not_detected": 0},
            "cells": {"total": 0, "non_empty": 0},
        }
        self.field_stats = {}
        self.records = []
        self.usable_tables = 0

    # -- steps -------------------------------------------------------------------

    def execute(self):
        options, log = self.options, self.log
        log.info("engine.start", f"Processing {os.path.basename(options.input_path)}", {
            "engine": engine_info(), "python": sys.version.split()[0], "command": "process file",
            "input": options.input_path, "output_dir": options.output_dir,
            "config_package": options.config_package,
        }, scope="run")

        config = self.config = load_config(options.config_package)
        if options.header_search_rows is not None:
            config.header_search_rows = options.header_search_rows
        if options.fuzzy_threshold is not None:
            config.fuzzy_threshold = options.fuzzy_threshold
        self.field_stats = {field.name: FieldStats() for field in config.fields}
        self.counts["fields"]["expected"] = len(config.fields)
        log.info("engine.config.loaded", f"Loaded configuration {config.name} ({plural(len(config.fields), 'field')})",
                 {**config.describe(), "field_names": [f.name for f in config.fields]}, scope="run")
        for warning in config.warnings:
            log.warning("engine.config.warning", warning["message"], warning, scope="run")

        with open_workbook(options.input_path) as workbook:
            self.input_format = workbook.format
            self.counts["workbooks"] = 1
            log.info("engine.workbook.opened", f"Opened {workbook.name} ({plural(len(workbook.sheets), 'sheet')})",
                     workbook.describe(), scope="run")
            sheets = select_sheets(workbook, options.input_sheets, options.active_sheet_only)
            workbook_locator = {"index": 0, "name": workbook.name}
            self.workbook_entry = {"locator": {"workbook": workbook_locator}, "sheets": []}
            matcher = Matcher(config.fields, config.fuzzy_threshold)
            for sheet in sheets:
                self.process_sheet(workbook, sheet, workbook_locator, matcher)

        if self.usable_tables == 0:
            names = ", ".join(repr(s.name) for s in sheets)
            raise InputError("input.no_header",
                             f"no header row matching the configured fields was found in sheet(s) {names}")
        self.finish_fields()
        self.write_output()

    def process_sheet(self, workbook, sheet, workbook_locator, matcher):
        log, config = self.log, self.config
        sheet_locator = {"workbook": workbook_locator, "sheet": {"index": sheet.index, "name": sheet.name}}
        sheet_entry = {"locator": sheet_locator, "tables": []}
        self.workbook_entry["sheets"].append(sheet_entry)
        self.counts["sheets"] += 1
        rows = workbook.read_rows(sheet)
        sheet_data = {"sheet": {"index": sheet.index, "name": sheet.name}}
        log.info("engine.sheet.start", f"Reading sheet {sheet.name}", {**sheet_data, "rows": len(rows)},
                 scope="sheet")

        if self.options.header_row is not None:
            header_index = self.options.header_row - 1
            if header_index >= len(rows) or not any(cell.strip() for cell in rows[header_index]):
                header_index = None
        else:
            header_index = detect_header(rows, matcher, config.header_search_rows)
        if header_index is None:
            if self.options.header_row is not None:
                reason = f"row {self.options.header_row} (--header-row) is empty"
            else:
                reason = "it has no non-empty cell"
            self.findings.add("info", "sheet.empty", f"Sheet {sheet.name!r} was skipped: {reason}",
                              sheet=sheet.name)
            log.warning("engine.sheet.skipped", f"Sheet {sheet.name} was skipped: {reason}", sheet_data,
                        scope="sheet")
            return

        last = header_index
        for index in range(len(rows) - 1, header_index, -1):
            if any(cell.strip() for cell in rows[index]):
                last = index
                break
        data_rows = rows[header_index + 1:last + 1]
        width = max([_width(rows[header_index])] + [_width(row) for row in data_rows])
        columns = map_columns(rows[header_index], width, matcher)
        header_row_number = header_index + 1

        table_locator = {**sheet_locator, "table": {"index": 0}}
        table = {"locator": table_locator, "header_row": header_row_number,
                 "structure": {"columns": []}, "rows": {"total": len(data_rows), "empty": 0}}
        sheet_entry["tables"].append(table)
        self.counts["tables"] += 1
        log.info("engine.table.detected",
                 f"Sheet {sheet.name}: header on row {header_row_number}, {plural(len(data_rows), 'data row')}, "
                 f"{plural(width, 'column')}",
                 {**sheet_data, "table": {"index": 0}, "header_row": header_row_number,
                  "first_data_row": header_row_number + 1 if data_rows else None,
                  "last_data_row": last + 1 if data_rows else None, "rows": len(data_rows), "columns": width},
                 scope="sheet")

        mapped = [c for c in columns if c.mapped]
        field_columns = {c.field.name: c.index for c in mapped}
        for column in columns:
            if column.unmapped_reason == "field_already_mapped":
                self.findings.add("info", "column.duplicate_field",
                                  f"Column {column.raw!r} also matches {column.candidate.field.label}, "
                                  f"which is already mapped to another column; it was left unmapped",
                                  sheet=sheet.name, row=header_row_number, field=column.candidate.field.name,
                                  column=column.index)
        log.info("engine.mapping.complete",
                 f"Sheet {sheet.name}: {len(mapped)} of {width} columns mapped",
                 {**sheet_data, "table": {"index": 0}, "mapped": len(mapped), "unmapped": width - len(mapped),
                  "columns": [{"index": c.index, "header": c.raw or None, **c.describe()} for c in columns]},
                 scope="sheet")

        # Structure and counts.
        non_empty = [0] * width
        empty_rows = 0
        for row in data_rows:
            row_has_value = False
            for index, cell in enumerate(row[:width]):
                if cell.strip():
                    non_empty[index] += 1
                    row_has_value = True
            if not row_has_value:
                empty_rows += 1
        table["rows"]["empty"] = empty_rows
        for column in columns:
            table["structure"]["columns"].append({
                "index": column.index,
                "header": {"raw": column.raw or None, "normalized": column.normalized or None},
                "non_empty_cells": non_empty[column.index],
                "mapping": column.describe(),
            })
        counts = self.counts
        counts["rows"]["total"] += len(data_rows)
        counts["rows"]["empty"] += empty_rows
        counts["columns"]["total"] += width
        counts["columns"]["empty"] += sum(1 for n in non_empty if n == 0)
        counts["columns"]["mapped"] += len(mapped)
        counts["columns"]["unmapped"] += width - len(mapped)
        counts["cells"]["total"] += width * len(data_rows)
        counts["cells"]["non_empty"] += sum(non_empty)
        for column in mapped:
            stats = self.field_stats[column.field.name]
            stats.tables += 1
            stats.columns += 1
            if stats.best_score is None or column.score > stats.best_score:
                stats.best_score = column.score

        before = len(self.findings.items)
        records_before = len(self.records)
        if not mapped:
            self.findings.add("info", "sheet.no_matching_header",
                              f"Sheet {sheet.name!r} has no column matching a configured field; "
                              f"its rows were not extracted", sheet=sheet.name, row=header_row_number)
            log.warning("engine.sheet.skipped", f"Sheet {sheet.name} has no column matching a configured field",
                        sheet_data, scope="sheet")
        else:
            self.usable_tables += 1
            self.extract_rows(sheet.name, header_index, data_rows, field_columns)
        sheet_findings = self.findings.items[before:]
        log.info("engine.validation.complete",
                 f"Sheet {sheet.name}: {plural(len(sheet_findings), 'issue')}",
                 {**sheet_data, "rows_extracted": len(self.records) - records_before,
                  "issues_by_severity": self.findings.by_severity(sheet_findings)},
                 scope="sheet")
        if log.enabled("debug"):
            for finding in sheet_findings:
                log.debug("engine.validation.issue", finding["message"], finding, scope="sheet")

    def extract_rows(self, sheet_name, header_index, data_rows, field_columns):
        fields = self.config.fields
        add = self.findings.add
        for field in fields:
            if field.name in field_columns:
                continue
            if field.required:
                add("error", "field.missing_column",
                    f"Required field {field.label} has no column in sheet {sheet_name!r}",
                    sheet=sheet_name, row=header_index + 1, field=field.name)
            else:
                add("info", "field.not_detected", f"Field {field.label} has no column in sheet {sheet_name!r}",
                    sheet=sheet_name, row=header_index + 1, field=field.name)
        plan = [(field, field_columns.get(field.name)) for field in fields]
        for offset, row in enumerate(data_rows):
            if not any(cell.strip() for cell in row):
                continue
            row_number = header_index + 2 + offset
            record = []
            for field, column in plan:
                text = row[column] if column is not None and column < len(row) else ""
                if not text.strip():
                    if field.required and column is not None:
                        add("error", "value.missing", f"{field.label} is required but empty",
                            sheet=sheet_name, row=row_number, field=field.name, column=column)
                    record.append("")
                    continue
                value, problem = check_value(field, text)
                if problem is not None:
                    add("warning", problem[0], problem[1], sheet=sheet_name, row=row_number, field=field.name,
                        column=column)
                record.append(value)
            record.append(sheet_name)
            record.append(row_number)
            self.records.append(record)

    def finish_fields(self):
        detected = sum(1 for stats in self.field_stats.values() if stats.tables)
        self.counts["fields"]["detected"] = detected
        self.counts["fields"]["not_detected"] = len(self.config.fields) - detected

    def write_output(self):
        import csv

        output_dir = os.path.abspath(self.options.output_dir)
        try:
            os.makedirs(output_dir, exist_ok=True)
        except OSError as exc:
            raise EngineError("output.unwritable",
                              f"cannot create output folder {output_dir}: {exc.strerror or exc}") from None
        path = os.path.join(output_dir, OUTPUT_NAME)
        temporary = path + ".partial"
        header = [field.name for field in self.config.fields] + list(RESERVED_COLUMNS)
        try:
            with open(temporary, "w", encoding="utf-8", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(header)
                writer.writerows(self.records)
            os.replace(temporary, path)
        except OSError as exc:
            try:
                os.remove(temporary)
            except OSError:
                pass
            raise EngineError("output.unwritable", f"cannot write {path}: {exc.strerror or exc}") from None
        self.output_path = path
        self.log.info("engine.output.written", f"Wrote {plural(len(self.records), 'row')} to {OUTPUT_NAME}",
                      {"path": path, "format": "csv", "rows": len(self.records), "columns": len(header)},
                      scope="run")

    # -- summary -----------------------------------------------------------------

    def summary(self, error=None):
        evaluation, validation = evaluation_and_validation(self.findings)
        fields = []
        if self.config is not None:
            for field in self.config.fields:
                stats = self.field_stats.get(field.name) or FieldStats()
                fields.append({
                    "field": field.name,
                    "label": field.label,
                    "required": field.required,
                    "type": field.type,
                    "detected": stats.tables > 0,
                    "best_mapping_score": stats.best_score,
                    "occurrences": {"tables": stats.tables, "columns": stats.columns},
                })
        return {
            "engine": engine_info(),
            "config": ({"name": self.config.name, "version": self.config.version}
                       if self.config is not None else None),
            "input": {"path": os.path.abspath(self.options.input_path), "format": self.input_format},
            "execution": self.clock.execution(error),
            "evaluation": evaluation,
            "validation": validation,
            "counts": self.counts,
            "fields": fields,
            "workbooks": [self.workbook_entry] if self.workbook_entry is not None else [],
            "outputs": {"normalized": ({"path": self.output_path, "format": "csv"}
                                       if self.output_path is not None and error is None else None)},
        }


def run_process(options, log):
    """Run ``process file``; always ends with one ``engine.run.completed`` event. Returns the exit code."""
    run = Run(options, log)
    error = None
    try:
        run.execute()
    except EngineError as exc:
        error = exc.message
        for issue in getattr(exc, "issues", ()):
            run.findings.add(issue["severity"], issue["code"], issue["message"], field=issue.get("field"))
        run.findings.add("error", exc.code, exc.message)
        log.error("engine.failed", exc.message, {"code": exc.code}, scope="run")
    except Exception as exc:  # a bug or an unexpected environment problem: still report the run
        import traceback

        error = f"internal error: {type(exc).__name__}: {exc}"
        run.findings.add("error", "engine.internal_error", error)
        log.error("engine.failed", error, {"code": "engine.internal_error", "traceback": traceback.format_exc()},
                  scope="run")
    summary = run.summary(error)
    status = summary["execution"]["status"]
    if error is None:
        message = (f"Run succeeded: {plural(len(run.records), 'row')}, outcome {summary['evaluation']['outcome']}, "
                   f"{plural(summary['validation']['issues_total'], 'issue')}")
    else:
        message = f"Run failed: {error}"
    log.emit("engine.run.completed", message, summary, level="info" if status == "succeeded" else "error",
             scope="run", force=True)
    return 0 if error is None else 1
