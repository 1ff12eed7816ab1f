"""Metric definitions as YAML text: reading with line numbers in every error, and writing.

The reader is ``andon.core.yaml_text``, as for process definitions (size, alias and nesting
limits, no duplicate keys, YAML 1.2 booleans, dates kept as text), so both files behave alike.
"""

from __future__ import annotations

from andon.core.errors import InvalidInput
from andon.core.yaml_text import dump_yaml, read_yaml, with_lines
from andon.metrics.definition import MetricDefinition, definition_document, parse_definition


def load_definition_yaml(text: str) -> MetricDefinition:
    """Parse and validate a metric definition written in YAML.

    Raises InvalidInput. YAML problems (syntax, duplicate keys, limits) are errors at
    ``("yaml",)``; definition problems keep their field path, e.g. ``("thresholds", 1,
    "below")``. Every message starts with the line it points at ("line 12: ..."); for a
    missing field, the line of the nearest enclosing item. Errors come in the order of lines.
    """
    root, data = read_yaml(text)
    try:
        return parse_definition(data)
    except InvalidInput as exc:
        errors = with_lines(root, exc.errors)
        where = ".".join(str(p) for p in errors[0].loc) or "definition"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise InvalidInput(
            f"invalid metric definition: {where}: {errors[0].msg}{more}", errors
        ) from None


def dump_definition_yaml(defn: MetricDefinition) -> str:
    """The definition as YAML in the documented shape; ``load_definition_yaml`` reads it
    back to an equal definition, and equal definitions give the same text."""
    return dump_yaml(definition_document(defn))
