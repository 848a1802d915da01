"""``config validate``: check a configuration package without processing a document."""

import sys

from ade_engine.config import check_manifest, find_manifest, read_manifest
from ade_engine.errors import ConfigError
from ade_engine.summary import Clock, Findings, engine_info, evaluation_and_validation
from ade_engine.text import plural


def run_validate(location, log):
    """Check the package at ``location``; exit code 0 when it is usable, else 1.

    Ends with ``engine.config.validated`` and then the one
    ``engine.run.completed`` event, whose findings are the problems found.
    """
    clock = Clock()
    findings = Findings()
    log.info("engine.start", "Validating configuration package", {
        "engine": engine_info(), "python": sys.version.split()[0], "command": "config validate",
        "config_package": location,
    }, scope="run")

    manifest_path = None
    doc = {}
    try:
        manifest_path = find_manifest(location)
        doc = read_manifest(manifest_path)
        for issue in check_manifest(doc):
            findings.add(issue["severity"], issue["code"], issue["message"], field=issue["field"])
    except ConfigError as exc:
        findings.add("error", exc.code, exc.message)

    errors = [f for f in findings.items if f["severity"] == "error"]
    valid = not errors
    fields = doc.get("fields") if isinstance(doc.get("fields"), list) else []
    field_names = [f.get("name") for f in fields if isinstance(f, dict)]
    if valid:
        message = f"Configuration package is valid ({plural(len(field_names), 'field')})"
    else:
        message = f"Configuration package is invalid: {errors[0]['message']}"
        if len(errors) > 1:
            message += f" (and {len(errors) - 1} more)"
    name = doc.get("name") if isinstance(doc.get("name"), str) else None
    version = doc.get("version") if isinstance(doc.get("version"), str) else None
    log.emit("engine.config.validated", message, {
        "valid": valid, "manifest": manifest_path, "name": name, "version": version,
        "fields": field_names, "issues": findings.items,
    }, level="info" if valid else "error", scope="run", force=True)

    evaluation, validation = evaluation_and_validation(findings)
    error = None if valid else message
    summary = {
        "engine": engine_info(),
        "config": {"name": name, "version": version, "manifest": manifest_path, "valid": valid},
        "execution": clock.execution(error),
        "evaluation": evaluation,
        "validation": validation,
    }
    log.emit("engine.run.completed", message, summary, level="info" if valid else "error", scope="run",
             force=True)
    return 0 if valid else 1
