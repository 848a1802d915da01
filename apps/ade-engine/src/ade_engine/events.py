"""Event output.

With ``--log-format ndjson`` every line written to stdout is one JSON object::

    {"timestamp": "2024-05-01T12:00:00.123456Z", "level": "info",
     "event": "engine.sheet.start", "message": "...", "scope": "sheet",
     "data": {...}}

``scope`` is present on events that belong to the run as a whole (``run``)
or to one sheet (``sheet``). Events below the configured level are dropped,
except ``engine.run.completed``, which is always written (``force=True``).
With ``--log-format text`` the same events are written as readable lines.
"""

import json
import sys
from datetime import datetime, timezone

LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}
LOG_FORMATS = ("ndjson", "text")


def utc_now():
    return datetime.now(timezone.utc)


def iso_utc(moment):
    """ISO-8601 text for an aware UTC datetime, with a ``Z`` suffix."""
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


class EventLog:
    """Writes events to a text stream, one line each, flushed at once."""

    def __init__(self, stream=None, log_format="ndjson", level="INFO"):
        if log_format not in LOG_FORMATS:
            raise ValueError(f"unknown log format: {log_format}")
        self.stream = stream if stream is not None else sys.stdout
        self.log_format = log_format
        self.threshold = LEVELS[level.lower()]

    def enabled(self, level):
        return LEVELS[level] >= self.threshold

    def emit(self, event, message, data=None, level="info", scope=None, force=False):
        if not force and not self.enabled(level):
            return
        record = {
            "timestamp": iso_utc(utc_now()),
            "level": level,
            "event": event,
            "message": message,
        }
        if scope:
            record["scope"] = scope
        record["data"] = data if data is not None else {}
        if self.log_format == "ndjson":
            line = json.dumps(record, separators=(",", ":"), default=str)
        else:
            line = self._text_line(record)
        try:
            self.stream.write(line + "\n")
            self.stream.flush()
        except BrokenPipeError:  # the reader went away; nothing left to tell
            pass

    def _text_line(self, record):
        line = f"{record['timestamp']} {record['level'].upper():<7} {record['event']}: {record['message']}"
        data = record["data"]
        if data and (record["event"] == "engine.run.completed" or self.threshold <= LEVELS["debug"]):
            line += " " + json.dumps(data, separators=(",", ":"), default=str, ensure_ascii=False)
        return line

    # Shorthands keep call sites short.
    def debug(self, event, message, data=None, scope=None):
        self.emit(event, message, data, "debug", scope)

    def info(self, event, message, data=None, scope=None):
        self.emit(event, message, data, "info", scope)

    def warning(self, event, message, data=None, scope=None):
        self.emit(event, message, data, "warning", scope)

    def error(self, event, message, data=None, scope=None):
        self.emit(event, message, data, "error", scope)
