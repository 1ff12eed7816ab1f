"""Metric definitions as YAML text: reading with line numbers in every error, and writing.

The reader is the process definitions' hardened one (size, alias and nesting limits, no
duplicate keys, YAML 1.2 booleans, dates kept as text), so both files behave alike.
"""

from __future__ import annotations

import yaml

from andon.core.errors import FieldError, InvalidInput
from andon.metrics.definition import MetricDefinition, definition_document, parse_definition
from andon.processes.spec_yaml import _Dumper, _line_of, _read


def load_definition_yaml(text: str) -> MetricDefinition:
    """Parse and validate a metric definition written in YAML.

    Raises InvalidInput. YAML problems (syntax, duplicate keys, limits) are errors at
    ``("yaml",)``; definition problems keep their field path, e.g. ``("thresholds", 1,
    "below")``. Every message starts with the line it points at ("line 12: ..."); for a
    missing field, the line of the nearest enclosing item. Errors come in the order of lines.
    """
    root, data = _read(text)
    try:
        return parse_definition(data)
    except InvalidInput as exc:
        lines = [_line_of(root, e.loc) for e in exc.errors]
        errors = [
            FieldError(e.loc, f"line {line}: {e.msg}", e.type)
            for line, e in sorted(zip(lines, exc.errors, strict=True), key=lambda pair: pair[0])
        ]
        where = ".".join(str(p) for p in errors[0].loc) or "definition"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise InvalidInput(
            f"invalid metric definition: {where}: {errors[0].msg}{more}", errors
        ) from None


def dump_definition_yaml(defn: MetricDefinition) -> str:
    """The definition as YAML in the documented shape; ``load_definition_yaml`` reads it
    back to an equal definition, and equal definitions give the same text."""
    return yaml.dump(
        definition_document(defn),
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )
