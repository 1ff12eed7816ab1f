"""YAML documents for definitions (processes, metrics): hardened reading, lines, writing.

Reading is PyYAML's safe loader with limits: at most 1 MB of text, 100 aliases, 64 levels of
nesting and 100,000 values once aliases are expanded (so a "billion laughs" document is
refused before anything walks it), and no duplicate keys. Only ``true``/``false`` are
booleans (as in YAML 1.2) and dates stay text, so ``choices: [yes, no]`` means two words.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from andon.core.errors import FieldError, InvalidInput

MAX_DOCUMENT_BYTES = 1_000_000
MAX_ALIASES = 100
MAX_DEPTH = 64
MAX_VALUES = 100_000

_BOOL = "tag:yaml.org,2002:bool"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"
_LOC = ("yaml",)


class _Refused(Exception):
    """A limit of the reader was hit at ``line`` (1-based)."""

    def __init__(self, line: int, message: str, kind: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message
        self.kind = kind


class _Loader(yaml.SafeLoader):
    """The safe loader, counting aliases and nesting while it composes the node tree."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.aliases = 0
        self.depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]  # untyped in types-PyYAML
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise _Refused(
                    event.start_mark.line + 1,
                    f"more than {MAX_ALIASES} aliases",
                    "yaml_too_many_aliases",
                )
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise _Refused(
                    event.start_mark.line + 1,
                    f"nested deeper than {MAX_DEPTH} levels",
                    "yaml_too_deep",
                )
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except ValueError as exc:  # e.g. "!!int abc": give it the node's line
            raise ConstructorError(
                None, None, f"cannot read {node.value!r}: {exc}", node.start_mark
            ) from None


# YAML 1.1 reads yes/no/on/off as booleans and 2024-05-01 as a date; keep true/false and text.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in {_BOOL, _TIMESTAMP}]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def read_yaml(text: str) -> tuple[Node | None, Any]:
    """The node tree of ``text`` (for ``line_of``) and its plain data; ``(None, None)`` for a
    document with nothing in it. Syntax, duplicate keys and the limits are InvalidInput at
    ``("yaml",)``, the message starting with the line ("line 3 column 7: ...")."""
    if len(text) > MAX_DOCUMENT_BYTES or len(text.encode("utf-8", "replace")) > MAX_DOCUMENT_BYTES:
        raise _invalid("yaml_too_large", f"the document is larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise _invalid(
            "yaml_syntax", f"line {line}: character #x{exc.character:04x} is not allowed"
        ) from None
    try:
        root = loader.get_single_node()
        if root is None:  # empty or only comments: parse_spec says a mapping is expected
            return None, None
        duplicates = list(_duplicate_keys(root))
        if duplicates:
            more = f" (and {len(duplicates) - 1} more)" if len(duplicates) > 1 else ""
            raise InvalidInput(f"invalid YAML: {duplicates[0].msg}{more}", duplicates)
        _count_values(root, 0, {}, set())
        return root, loader.construct_document(root)
    except _Refused as exc:
        raise _invalid(exc.kind, f"line {exc.line}: {exc.message}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1} column {mark.column + 1}: " if mark else ""
        problem = ", ".join(p for p in (exc.context, exc.problem) if p) or "not valid YAML"
        raise _invalid("yaml_syntax", where + problem) from None
    except yaml.YAMLError as exc:  # e.g. a character YAML does not allow, with no line
        raise _invalid("yaml_syntax", str(exc)) from None
    finally:
        loader.dispose()


def _invalid(kind: str, msg: str) -> InvalidInput:
    return InvalidInput(f"invalid YAML: {msg}", [FieldError(_LOC, msg, kind)])


def _count_values(node: Node, depth: int, counted: dict[int, int], open_: set[int]) -> int:
    """Values in the tree once aliases are expanded; refuses cycles and oversized trees."""
    if id(node) in counted:
        return counted[id(node)]
    line = node.start_mark.line + 1
    if id(node) in open_:
        raise _Refused(line, "an alias refers to a collection that contains it", "yaml_alias")
    if depth > MAX_DEPTH * 2:  # aliases can stack nesting beyond what the composer saw
        raise _Refused(line, f"nested deeper than {MAX_DEPTH} levels", "yaml_too_deep")
    open_.add(id(node))
    total = 1
    for child in _children(node):
        total += _count_values(child, depth + 1, counted, open_)
        if total > MAX_VALUES:
            raise _Refused(
                line, f"more than {MAX_VALUES} values once aliases are expanded", "yaml_too_large"
            )
    open_.discard(id(node))
    counted[id(node)] = total
    return total


def _children(node: Node) -> Iterator[Node]:
    if isinstance(node, SequenceNode):
        yield from node.value
    elif isinstance(node, MappingNode):
        for key, value in node.value:
            yield key
            yield value


def _duplicate_keys(root: Node) -> Iterator[FieldError]:
    seen: set[int] = set()
    pending = [root]
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, MappingNode):
            first: dict[tuple[str, str], int] = {}
            for key, _ in node.value:
                if not isinstance(key, ScalarNode) or key.tag == _MERGE:
                    continue
                line = key.start_mark.line + 1
                if (key.tag, key.value) in first:
                    msg = (
                        f"line {line}: duplicate key {key.value!r} "
                        f"(first on line {first[(key.tag, key.value)]})"
                    )
                    yield FieldError(_LOC, msg, "yaml_duplicate_key")
                else:
                    first[(key.tag, key.value)] = line
        pending.extend(reversed(list(_children(node))))


def line_of(root: Node | None, loc: tuple[str | int, ...]) -> int:
    """1-based line of the value at ``loc``, or of its deepest ancestor present in the text.

    A mapping member's line is its key's line, where the reader sees the field name.
    """
    if root is None:
        return 1
    node = root
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, MappingNode) and isinstance(part, str):
            member = _member(node, part)
            if member is None:
                break
            key, node = member
            line = key.start_mark.line + 1
        elif (
            isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value)
        ):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _member(mapping: MappingNode, name: str) -> tuple[Node, Node] | None:
    """The key and value nodes of ``name``, looking into ``<<`` merges after own keys."""
    merged: list[MappingNode] = []
    for key, value in mapping.value:
        if isinstance(key, ScalarNode) and key.tag == _MERGE:
            sources = value.value if isinstance(value, SequenceNode) else [value]
            merged += [m for m in sources if isinstance(m, MappingNode)]
        elif isinstance(key, ScalarNode) and key.value == name:
            return key, value
    for source in merged:
        found = _member(source, name)
        if found is not None:
            return found
    return None


class YamlDumper(yaml.SafeDumper):
    """Block style, but a short mapping or list of plain values stays on one line."""


def _plain(value: Any) -> bool:
    return not isinstance(value, dict | list)


def _one_line(data: dict[str, Any] | list[Any]) -> bool:
    """Short, and holding only plain values or lists and mappings of plain values."""
    values = list(data.values()) if isinstance(data, dict) else data
    simple = all(
        _plain(v) or all(map(_plain, v.values() if isinstance(v, dict) else v)) for v in values
    )
    return simple and _width(data) <= 88


def _width(value: Any) -> int:
    """Roughly the characters ``value`` takes in flow style; a line break never fits."""
    if isinstance(value, dict):
        return 2 + sum(len(str(k)) + 2 + _width(v) + 2 for k, v in value.items())
    if isinstance(value, list):
        return 2 + sum(_width(v) + 2 for v in value)
    text = str(value)
    return 10_000 if "\n" in text else len(text)


def _represent_dict(dumper: yaml.SafeDumper, data: dict[str, Any]) -> Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=_one_line(data))


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> Node:
    flow = all(map(_plain, data)) and _one_line(data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


def _represent_str(dumper: yaml.SafeDumper, data: str) -> Node:
    # With allow_unicode PyYAML writes NEL and the Unicode line and paragraph separators raw
    # inside single quotes, where a reader folds them to spaces; double quotes escape them.
    style = '"' if any(c in data for c in "\x85\u2028\u2029") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


YamlDumper.add_representer(str, _represent_str)
YamlDumper.add_representer(dict, _represent_dict)
YamlDumper.add_representer(list, _represent_list)


def with_lines(root: Node | None, errors: list[FieldError]) -> list[FieldError]:
    """``errors`` with "line N: " before each message, in the order of their lines.

    In the order of the text, so the list reads top to bottom alongside the file.
    """
    lines = [line_of(root, e.loc) for e in errors]
    return [
        FieldError(e.loc, f"line {line}: {e.msg}", e.type)
        for line, e in sorted(zip(lines, errors, strict=True), key=lambda pair: pair[0])
    ]


def dump_yaml(data: Any) -> str:
    """Block style, with short flat mappings and lists on one line, keys in their order."""
    return yaml.dump(
        data,
        Dumper=YamlDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )
