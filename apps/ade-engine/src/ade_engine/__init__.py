"""ADE reference engine.

Reads a CSV or XLSX document, finds the header row of each selected sheet,
maps its columns to the fields declared by a configuration package, checks the
values and writes one normalized CSV. Progress and the run summary are printed
as events (see ``ade_engine.events``).

Only the standard library is used, and heavy modules are imported where they
are needed so that ``python -m ade_engine`` starts quickly.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
