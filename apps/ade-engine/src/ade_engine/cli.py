"""Command line of the engine.

    python -m ade_engine process file --input FILE --output-dir DIR --config-package DIR
        [--log-format ndjson|text] [--log-level DEBUG|INFO|WARNING|ERROR]
        [--max-findings-per-sheet N] [--active-sheet-only | --input-sheet NAME ...]
        [--header-row N] [--header-search-rows N] [--fuzzy-threshold X]
    python -m ade_engine config validate --config-package DIR [--log-format ...] [--log-level ...]
    python -m ade_engine --version

Exit codes: 0 success, 1 failed run or invalid configuration, 2 bad arguments.
"""

import argparse
import sys

from ade_engine import __version__

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _log_level(text):
    level = text.strip().upper()
    if level == "WARN":
        level = "WARNING"
    if level not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(f"invalid level {text!r} (choose from {', '.join(LOG_LEVELS)})")
    return level


def _non_negative_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must not be negative")
    return value


def _positive_int(text):
    value = _non_negative_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _ratio(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be in (0, 1]")
    return value


def _add_logging(parser):
    parser.add_argument("--log-format", choices=("ndjson", "text"), default="ndjson",
                        help="ndjson: one JSON event per line (default); text: readable lines")
    parser.add_argument("--log-level", type=_log_level, default="INFO", metavar="LEVEL",
                        help="DEBUG, INFO (default), WARNING or ERROR; engine.run.completed is always written")


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m ade_engine",
                                     description="ADE reference engine: extract configured fields from CSV/XLSX.")
    parser.add_argument("--version", action="version", version=f"ade-engine {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    process = commands.add_parser("process", help="process an input document")
    process.set_defaults(command_parser=process)
    process_commands = process.add_subparsers(dest="subcommand", metavar="SUBCOMMAND")
    file_parser = process_commands.add_parser("file", help="process one CSV or XLSX file")
    file_parser.add_argument("--input", required=True, help="CSV, TSV or XLSX file to read")
    file_parser.add_argument("--output-dir", required=True, help="folder that receives normalized.csv")
    file_parser.add_argument("--config-package", required=True,
                             help="configuration package folder (or its ade_config.json)")
    _add_logging(file_parser)
    file_parser.add_argument("--max-findings-per-sheet", type=_non_negative_int, metavar="N",
                             help="list at most N findings per sheet in the run summary (all are counted)")
    sheets = file_parser.add_mutually_exclusive_group()
    sheets.add_argument("--active-sheet-only", action="store_true", help="process only the active sheet")
    sheets.add_argument("--input-sheet", action="append", default=[], metavar="NAME",
                        help="process this sheet (repeatable); an unknown name fails the run")
    file_parser.add_argument("--header-row", type=_positive_int, metavar="N",
                             help="use row N (1-based) as the header row of every sheet instead of detecting it")
    file_parser.add_argument("--header-search-rows", type=_positive_int, metavar="N",
                             help="look for the header among the first N non-empty rows "
                                  "(default: the configuration's, else 20)")
    file_parser.add_argument("--fuzzy-threshold", type=_ratio, metavar="X",
                             help="minimum similarity ratio for fuzzy header matches "
                                  "(default: the configuration's, else 0.8)")

    config = commands.add_parser("config", help="configuration package commands")
    config.set_defaults(command_parser=config)
    config_commands = config.add_subparsers(dest="subcommand", metavar="SUBCOMMAND")
    validate = config_commands.add_parser("validate", help="check a configuration package")
    validate.add_argument("--config-package", required=True, help="configuration package folder")
    _add_logging(validate)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None or getattr(args, "subcommand", None) is None:
        target = getattr(args, "command_parser", parser)
        target.print_usage(sys.stderr)
        sys.stderr.write(f"{target.prog}: error: a command is required\n")
        return 2

    from ade_engine.events import EventLog

    if args.log_format == "text":
        try:
            sys.stdout.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError):
            pass
    log = EventLog(sys.stdout, args.log_format, args.log_level)
    if args.command == "process":
        from ade_engine.process import ProcessOptions, run_process

        options = ProcessOptions(
            input_path=args.input,
            output_dir=args.output_dir,
            config_package=args.config_package,
            max_findings_per_sheet=args.max_findings_per_sheet,
            active_sheet_only=args.active_sheet_only,
            input_sheets=args.input_sheet,
            header_row=args.header_row,
            header_search_rows=args.header_search_rows,
            fuzzy_threshold=args.fuzzy_threshold,
        )
        return run_process(options, log)
    from ade_engine.validate import run_validate

    return run_validate(args.config_package, log)


if __name__ == "__main__":
    sys.exit(main())
