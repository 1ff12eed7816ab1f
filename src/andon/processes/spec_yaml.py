"""Process definitions as YAML text: reading with line numbers in every error, and writing.

The reader's limits (size, aliases, nesting, duplicate keys, YAML 1.2 booleans, dates kept
as text) are those of ``andon.core.yaml_text``.
"""

from __future__ import annotations

from pathlib import Path

from andon.core.errors import FieldError, InvalidInput
from andon.core.yaml_text import (
    MAX_ALIASES,
    MAX_DEPTH,
    MAX_DOCUMENT_BYTES,
    MAX_VALUES,
    dump_yaml,
    read_yaml,
    with_lines,
)
from andon.processes.spec import ProcessSpec, parse_spec, spec_document

__all__ = [
    "MAX_ALIASES",
    "MAX_DEPTH",
    "MAX_DOCUMENT_BYTES",
    "MAX_VALUES",
    "dump_spec_yaml",
    "load_spec_yaml",
    "read_spec_file",
]


def load_spec_yaml(text: str) -> ProcessSpec:
    """Parse and validate a definition written in YAML.

    Raises InvalidInput. YAML problems (syntax, duplicate keys, limits) are errors at
    ``("yaml",)`` whose message starts with the line, e.g. "line 3 column 7: ...". Schema
    and graph problems keep the path ``parse_spec`` gives them, e.g. ``("transitions", 0,
    "to")``, and their message starts with the line it points at ("line 28: unknown stage
    'plam'"); for a missing field, the line of the nearest enclosing item. Every problem
    found is listed, in the order of their lines.
    """
    root, data = read_yaml(text)
    try:
        return parse_spec(data)
    except InvalidInput as exc:
        errors = with_lines(root, exc.errors)
        raise InvalidInput(_summary(errors), errors) from None


def read_spec_file(path: Path, *, field: str = "process") -> ProcessSpec:
    """The process definition in the YAML file at ``path``; a file that is missing or
    unreadable is an InvalidInput on ``field`` (the option that named it)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput.for_field(field, f"no process definition file {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput.for_field(field, f"cannot read {path}: {exc}") from None
    return load_spec_yaml(text)


def dump_spec_yaml(spec: ProcessSpec) -> str:
    """The definition as YAML in the documented shape, fields in the model's order.

    Block style, with short flat mappings and lists on one line as in the demo file.
    ``load_spec_yaml`` reads it back to an equal spec, with one exception inherited from
    ``spec_document``: a share trigger keeps 6 significant digits ("33.3333%").
    """
    return dump_yaml(spec_document(spec))


def _summary(errors: list[FieldError]) -> str:
    first = errors[0]
    where = ".".join(str(p) for p in first.loc) or "definition"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"invalid process definition: {where}: {first.msg}{more}"
