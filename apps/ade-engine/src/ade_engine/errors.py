"""Errors that end a command with a failed run summary."""


class EngineError(Exception):
    """A failure the engine reports to its caller (exit code 1).

    ``code`` is a short, stable identifier such as ``input.not_found``; it is
    also used as the finding code in the run summary.
    """

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


class InputError(EngineError):
    """The input document cannot be read or does not contain a usable table."""


class ConfigError(EngineError):
    """The configuration package cannot be found, read or is invalid.

    ``issues`` holds the individual problems (dicts with ``severity``,
    ``code``, ``message`` and ``field``) when the package was readable.
    """

    def __init__(self, code, message, issues=None):
        super().__init__(code, message)
        self.issues = list(issues or [])
