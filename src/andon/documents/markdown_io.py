"""SOPs as Markdown with YAML front matter: parse, render back in canonical form, render safe HTML.

The canonical form (what :func:`render_markdown` writes, and what round-trips byte for byte):

- ``---``, the front matter one field a line in the order of :data:`FRONT_MATTER_FIELDS`
  (fields with no value left out, values as PyYAML's ``safe_dump`` writes them), ``---``;
- then one blank line and the sections in the order of :data:`SECTIONS`, each ``## Name``,
  a blank line and its body, separated by one blank line; empty sections left out;
- prose (purpose, scope) as written, without trailing spaces on any line, without runs of
  blank lines and without blank lines at its start or end;
- lists with ``-`` bullets, tight (no blank lines between items), one line per item;
- steps numbered ``1.``, ``2.``, … with their details as ``-`` bullets indented under the
  step's text, in the order key point, critical, accept lines, images;
- in the Hazards section, the hazards' list, then ``Required PPE:`` and the PPE's list;
- LF line ends and a final newline.

Parsing accepts more than that and normalises it: CRLF line ends, any bullet marker, any
numbering, loose lists, an item's text wrapped over several lines (joined with one space),
sections and step details in any order, field names and section names in any case.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, NoReturn, cast

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

from andon.core.errors import FieldError, InvalidInput
from andon.documents.content import (
    CRITICAL_KINDS,
    DOCUMENT_TYPES,
    Change,
    Content,
    CriticalKind,
    DocumentFile,
    Header,
    Image,
    Role,
    Step,
)

FRONT_MATTER_FIELDS: tuple[str, ...] = (
    "number",
    "type",
    "title",
    "owner",
    "site",
    "area",
    "line",
    "review_interval_months",
    "reason",
    "safety_impact",
    "training",
    "risk",
)
REQUIRED_FIELDS: tuple[str, ...] = ("type", "title", "owner")
SECTIONS: dict[str, str] = {
    "purpose": "Purpose",
    "scope": "Scope",
    "roles": "Roles and responsibilities",
    "hazards": "Hazards",
    "steps": "Steps",
    "references": "References",
}
PPE_LABEL = "Required PPE:"
SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
MAX_REVIEW_INTERVAL_MONTHS = 120

_SECTION_KEYS = {title.lower(): key for key, title in SECTIONS.items()}
_SINGLE_LINE_FIELDS = ("number", "title", "owner", "site", "area", "line")
_CODE_FIELDS = ("site", "area", "line")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,19}$")
_DOCUMENT_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
_IMAGE = re.compile(r"^!\[([^\[\]\n]*)\]\(([^\s()<>]+)\)$")
_DETAIL = re.compile(r"^(key point|critical|accept)\s*:\s*(.*)$", re.IGNORECASE)
_ROLE = re.compile(r"^([^:]+):\s*(.+)$")
_PARSER = MarkdownIt("commonmark")


class _Errors:
    """Collects every fault in a file, so an author fixes them in one pass."""

    def __init__(self) -> None:
        self.items: list[tuple[FieldError, int]] = []

    def add(self, loc: tuple[str | int, ...], line: int, msg: str) -> None:
        self.items.append((FieldError(loc, f"line {line}: {msg}"), line))

    def refuse(self, loc: tuple[str | int, ...], line: int, msg: str) -> NoReturn:
        """Add this fault and raise with everything found so far (nothing more can be read)."""
        self.add(loc, line, msg)
        self.raise_if_any()
        raise AssertionError("raise_if_any raises once a fault is added")

    def raise_if_any(self) -> None:
        if not self.items:
            return
        faults = sorted(self.items, key=lambda item: item[1])
        detail = "; ".join(
            f"{_where(e.loc)} (line {line}): {e.msg.split(': ', 1)[1]}" for e, line in faults
        )
        raise InvalidInput(f"The document has errors: {detail}", [e for e, _ in faults])


def _where(loc: tuple[str | int, ...]) -> str:
    if loc and loc[0] == "steps" and len(loc) > 1:
        return f"step {loc[1]}"
    return ".".join(str(part) for part in loc)


def parse_markdown(text: str, *, types: Collection[str] = DOCUMENT_TYPES) -> DocumentFile:
    """The document in ``text``, or :class:`InvalidInput` listing every fault found.

    Each :class:`FieldError` names where in the document the fault lies, e.g.
    ``("front_matter", "type")``, ``("sections", "Tools")`` or ``("steps", 3)`` (steps
    counted from 1, as printed), and its message starts with the file's line number.
    ``types`` are the document types the plant uses (``DocumentRules.types``).
    """
    errors = _Errors()
    lines = text.replace("\r\n", "\n").split("\n")
    if lines[0].lstrip("\ufeff") != "---":
        errors.refuse(
            ("front_matter",),
            1,
            "the file must start with a line '---' that opens the YAML front matter",
        )
    close = next((i for i in range(1, len(lines)) if lines[i] == "---"), None)
    if close is None:
        errors.refuse(("front_matter",), 1, "the front matter has no closing line '---'")
    header, change = _parse_front_matter(lines[1:close], errors, types)
    content = _parse_body(lines[close + 1 :], close + 1, errors)
    errors.raise_if_any()
    assert header is not None
    assert content is not None
    return DocumentFile(header=header, content=content, change=change)


def _parse_front_matter(
    lines: list[str], errors: _Errors, types: Collection[str]
) -> tuple[Header | None, Change]:
    source = "\n".join(lines)
    try:
        root = yaml.compose(source, Loader=yaml.SafeLoader)
        data: Any = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        errors.add(("front_matter",), line, f"not valid YAML: {problem}")
        return None, Change()
    if data is None:
        data, root = {}, None
    if not isinstance(data, dict) or (root is not None and not isinstance(root, yaml.MappingNode)):
        errors.add(("front_matter",), 2, "the front matter must be 'field: value' lines")
        return None, Change()

    key_lines: dict[str, int] = {}
    if root is not None:
        for key_node, _ in root.value:
            # Names are read in any case, so 'Title' after 'title' is the same field twice.
            key, line = str(key_node.value), key_node.start_mark.line + 2
            if key.lower() in key_lines:
                errors.add(
                    ("front_matter", key),
                    line,
                    f"'{key}' is given twice (first on line {key_lines[key.lower()]})",
                )
            key_lines.setdefault(key.lower(), line)

    values: dict[str, Any] = {}
    for raw_key, value in data.items():
        key = str(raw_key)
        name = key.lower()
        line = key_lines.get(name, 1)
        if name not in FRONT_MATTER_FIELDS:
            errors.add(
                ("front_matter", key),
                line,
                f"unknown field '{key}'; the fields are {', '.join(FRONT_MATTER_FIELDS)}",
            )
            continue
        checked, problem = _check_field(name, value, types)
        if problem is not None:
            errors.add(("front_matter", key), line, problem)
        else:
            values[name] = checked
    for name in REQUIRED_FIELDS:
        if name not in key_lines:
            errors.add(("front_matter", name), 1, f"'{name}' is missing from the front matter")
    if values.get("safety_impact") is True and not values.get("risk"):
        errors.add(
            ("front_matter", "risk"),
            key_lines["safety_impact"],
            "a change with safety impact must name a risk ('risk: ...')",
        )
    change = Change(
        reason=values.get("reason"),
        safety_impact=values.get("safety_impact"),
        training=values.get("training"),
        risk=values.get("risk"),
    )
    if any(name not in values for name in REQUIRED_FIELDS):
        return None, change
    header = Header(
        type=values["type"],
        title=values["title"],
        owner=values["owner"],
        number=values.get("number"),
        area=values.get("area"),
        review_interval_months=values.get("review_interval_months"),
        site=values.get("site"),
        line=values.get("line"),
    )
    return header, change


def _check_field(name: str, value: Any, types: Collection[str]) -> tuple[Any, str | None]:
    """``value`` as the field holds it, or ``None`` and the reason it is refused."""
    if name in ("safety_impact", "training"):
        if not isinstance(value, bool):
            return None, f"'{name}' must be true or false, not {value!r}"
        return value, None
    if name == "review_interval_months":
        if isinstance(value, bool) or not isinstance(value, int):
            return None, f"'{name}' must be a whole number of months, not {value!r}"
        if not 1 <= value <= MAX_REVIEW_INTERVAL_MONTHS:
            return None, f"'{name}' must be between 1 and {MAX_REVIEW_INTERVAL_MONTHS}, not {value}"
        return value, None
    if not isinstance(value, str):
        return None, f"'{name}' must be text, not {value!r} (quote it)"
    value = value.strip()
    if not value:
        return None, f"'{name}' is empty"
    if name in _SINGLE_LINE_FIELDS and "\n" in value:
        return None, f"'{name}' must be one line"
    if name == "type" and value not in types:
        return None, f"'type' must be one of {', '.join(types)}, not {value!r}"
    if name in _CODE_FIELDS and not _CODE.match(value):
        return None, f"'{name}' must be a {name} code (letters, digits, '-', '_'), not {value!r}"
    if name == "number" and not _DOCUMENT_NUMBER.match(value):
        return None, f"'number' must be letters, digits and '-', '.', '_' or '/', not {value!r}"
    return value, None


@dataclass
class _Section:
    key: str
    line: int
    tokens: list[Token] = field(default_factory=list)
    first: int = 0  # body line index just after the heading
    end: int = 0  # body line index of the next heading (or the end)


def _parse_body(lines: list[str], offset: int, errors: _Errors) -> Content | None:
    """``offset``: index in the file of the body's first line (file line = index + 1)."""
    tokens = _PARSER.parse("\n".join(lines))

    def line_of(token: Token) -> int:
        return (token.map[0] if token.map else 0) + offset + 1

    sections: dict[str, _Section] = {}
    current: _Section | None = None
    stray_reported = refused_heading = False
    for block in _blocks(tokens):
        opening = block[0]
        if opening.type == "heading_open" and opening.tag in ("h1", "h2"):
            name = block[1].content.strip()
            if current is not None:
                current.end = opening.map[0] if opening.map else len(lines)
            if opening.tag == "h1":
                errors.add(
                    ("sections", name),
                    line_of(opening),
                    "no '#' headings: the title is 'title' in the front matter",
                )
                current, refused_heading = None, True
                continue
            key = _SECTION_KEYS.get(name.lower())
            if key is None:
                errors.add(
                    ("sections", name),
                    line_of(opening),
                    f"unknown section '{name}'; the sections are {', '.join(SECTIONS.values())}",
                )
                current, refused_heading = None, True
                continue
            if key in sections:
                errors.add(
                    ("sections", name),
                    line_of(opening),
                    f"section '{name}' appears twice (first on line {sections[key].line})",
                )
                current, refused_heading = None, True
                continue
            current = sections[key] = _Section(
                key, line_of(opening), first=opening.map[1] if opening.map else 0
            )
            current.end = len(lines)
            continue
        if current is None:
            # Blocks under a refused heading were reported with it; report stray text once.
            if not sections and not stray_reported and not refused_heading:
                stray_reported = True
                errors.add(
                    ("body",),
                    line_of(opening),
                    "text before the first section ('## Purpose', '## Steps', ...)",
                )
            continue
        current.tokens.extend(block)

    if "steps" not in sections:
        errors.add(("steps",), offset + 1, "the document has no '## Steps' section")
    values: dict[str, Any] = {}
    for key, section in sections.items():
        if key in ("purpose", "scope"):
            values[key] = _prose(lines[section.first : section.end])
            if not _closed(values[key]):
                errors.add(
                    (key,),
                    section.line,
                    "a code block or HTML block is left open at the end of the section; "
                    "close it, or a section after it would be read as part of it",
                )
        elif key == "roles":
            values[key] = _roles(section, line_of, errors)
        elif key == "hazards":
            values["hazards"], values["ppe"] = _hazards(section, line_of, errors)
        elif key == "references":
            values[key] = _references(section, line_of, errors)
        else:
            values[key] = _steps(section, line_of, errors)
    if "steps" not in values:
        return None
    return Content(**values)


def _blocks(tokens: list[Token]) -> list[list[Token]]:
    """``tokens`` split into top-level blocks (each an opening token to its closing one)."""
    blocks: list[list[Token]] = []
    current: list[Token] = []
    depth = 0
    for token in tokens:
        current.append(token)
        depth += token.nesting
        if depth == 0:
            blocks.append(current)
            current = []
    return blocks


def _prose(lines: list[str]) -> str:
    kept: list[str] = []
    for line in (line.rstrip() for line in lines):
        if line or (kept and kept[-1]):
            kept.append(line)
    return "\n".join(kept).strip("\n")


def _closed(prose: str) -> bool:
    """Whether a heading after ``prose`` is still read as a heading: an unclosed fence or an
    HTML block running on would swallow the sections after it once the file is rewritten
    with the sections in their usual order."""
    probe = _PARSER.parse(prose + "\n\n## Probe\n")
    return any(
        t.type == "inline"
        and t.content == "Probe"
        and i > 0
        and probe[i - 1].type == "heading_open"
        for i, t in enumerate(probe)
    )


def _inline(block: list[Token]) -> str | None:
    """The one-line text of a block that is a single paragraph, else ``None``."""
    if len(block) != 3 or block[0].type != "paragraph_open":
        return None
    return " ".join(part.strip() for part in block[1].content.split("\n")).strip()


def _bullets(
    block: list[Token], loc: tuple[str | int, ...], line_of: Callable[[Token], int], errors: _Errors
) -> list[tuple[str, int]]:
    """The items of a bullet list, each one line of text with its file line."""
    items: list[tuple[str, int]] = []
    for item in _blocks(block[1:-1]):
        parts = _blocks(item[1:-1])
        text = _inline(parts[0]) if len(parts) == 1 else None
        if not text:
            errors.add(
                loc, line_of(item[0]), "each bullet holds one line of text and nothing below it"
            )
            continue
        items.append((text, line_of(item[0])))
    return items


def _only_bullet_lists(
    section: _Section, loc: tuple[str | int, ...], line_of: Callable[[Token], int], errors: _Errors
) -> list[list[Token]]:
    blocks = _blocks(section.tokens)
    for block in blocks:
        if block[0].type != "bullet_list_open":
            errors.add(
                loc,
                line_of(block[0]),
                "this section holds a bulleted list ('- ...') and nothing else",
            )
            return []
    return blocks


def _roles(section: _Section, line_of: Callable[[Token], int], errors: _Errors) -> tuple[Role, ...]:
    roles: list[Role] = []
    for block in _only_bullet_lists(section, ("roles",), line_of, errors):
        for text, line in _bullets(block, ("roles",), line_of, errors):
            match = _ROLE.match(text)
            if match is None or not match.group(1).strip():
                errors.add(
                    ("roles", len(roles) + 1),
                    line,
                    "write each role as '- Role: what it is responsible for'",
                )
                continue
            roles.append(Role(match.group(1).strip(), match.group(2).strip()))
    return tuple(roles)


def _hazards(
    section: _Section, line_of: Callable[[Token], int], errors: _Errors
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    hazards: list[str] = []
    ppe: list[str] = []
    target = hazards
    for block in _blocks(section.tokens):
        if block[0].type == "bullet_list_open":
            target.extend(text for text, _ in _bullets(block, ("hazards",), line_of, errors))
        elif (_inline(block) or "").lower() in (PPE_LABEL.lower(), "ppe:") and target is hazards:
            target = ppe
        else:
            errors.add(
                ("hazards",),
                line_of(block[0]),
                f"this section holds a list of hazards, then '{PPE_LABEL}' and a list of PPE",
            )
    return tuple(hazards), tuple(ppe)


def _references(
    section: _Section, line_of: Callable[[Token], int], errors: _Errors
) -> tuple[str, ...]:
    numbers: list[str] = []
    for block in _only_bullet_lists(section, ("references",), line_of, errors):
        for text, line in _bullets(block, ("references",), line_of, errors):
            if not _DOCUMENT_NUMBER.match(text):
                errors.add(
                    ("references", len(numbers) + 1),
                    line,
                    f"a reference is a document number, not {text!r}",
                )
                continue
            numbers.append(text)
    return tuple(numbers)


def _steps(section: _Section, line_of: Callable[[Token], int], errors: _Errors) -> tuple[Step, ...]:
    blocks = _blocks(section.tokens)
    if not blocks:
        errors.add(("steps",), section.line, "the document has no steps; list them as '1. ...'")
        return ()
    if len(blocks) > 1 or blocks[0][0].type != "ordered_list_open":
        errors.add(
            ("steps",),
            line_of(blocks[0][0]),
            "this section holds one numbered list ('1. ...') and nothing else",
        )
        return ()
    steps: list[Step] = []
    for number, item in enumerate(_blocks(blocks[0][1:-1]), start=1):
        step = _step(number, item, line_of, errors)
        if step is not None:
            steps.append(step)
    return tuple(steps)


def _step(
    number: int, item: list[Token], line_of: Callable[[Token], int], errors: _Errors
) -> Step | None:
    line = line_of(item[0])
    parts = _blocks(item[1:-1])
    text = _inline(parts[0]) if parts else None
    details = parts[1:]
    if not text:
        errors.add(("steps", number), line, "a step starts with one line of text")
        return None
    if len(details) > 1 or (details and details[0][0].type != "bullet_list_open"):
        errors.add(
            ("steps", number), line, "below a step's text comes only a bulleted list of its details"
        )
        return None
    key_point: str | None = None
    critical: CriticalKind | None = None
    accept: list[str] = []
    images: list[Image] = []
    for detail, detail_line in (
        _bullets(details[0], ("steps", number), line_of, errors) if details else []
    ):
        image = _IMAGE.match(detail)
        match = _DETAIL.match(detail)
        if image is not None:
            images.append(Image(alt=image.group(1).strip(), src=image.group(2)))
        elif match is None or not match.group(2).strip():
            errors.add(
                ("steps", number),
                detail_line,
                "a step's bullets are 'Key point: ...', 'Critical: quality' or 'Critical: safety', "
                "'Accept: ...' or an image '![what it shows](path)'",
            )
        else:
            kind, value = match.group(1).lower(), match.group(2).strip()
            if kind == "accept":
                accept.append(value)
            elif kind == "key point":
                if key_point is not None:
                    errors.add(("steps", number), detail_line, "a step has one key point")
                key_point = value
            elif value.lower() not in CRITICAL_KINDS:
                errors.add(
                    ("steps", number),
                    detail_line,
                    f"'Critical:' is quality or safety, not {value!r}",
                )
            elif critical is not None:
                errors.add(("steps", number), detail_line, "a step is marked critical once")
            else:
                critical = cast(CriticalKind, value.lower())
    return Step(
        text=text,
        key_point=key_point,
        critical=critical,
        accept=tuple(accept),
        images=tuple(images),
    )


def render_markdown(document: DocumentFile) -> str:
    """``document`` in the canonical form (see the module's docstring).

    ``parse_markdown(render_markdown(d)) == d`` for every document whose texts are already
    canonical: one line each, no surrounding spaces, prose free of headings and of trailing
    spaces (which is what :func:`parse_markdown` returns).
    """
    header, change = document.header, document.change
    values: dict[str, Any] = {
        "number": header.number,
        "type": header.type,
        "title": header.title,
        "owner": header.owner,
        "site": header.site,
        "area": header.area,
        "line": header.line,
        "review_interval_months": header.review_interval_months,
        "reason": change.reason,
        "safety_impact": change.safety_impact,
        "training": change.training,
        "risk": change.risk,
    }
    front = [
        _yaml_field(name, values[name]) for name in FRONT_MATTER_FIELDS if values[name] is not None
    ]
    content = document.content
    sections: list[str] = []
    if content.purpose:
        sections.append(f"## {SECTIONS['purpose']}\n\n{content.purpose}")
    if content.scope:
        sections.append(f"## {SECTIONS['scope']}\n\n{content.scope}")
    if content.roles:
        sections.append(
            f"## {SECTIONS['roles']}\n\n"
            + _list(f"{r.role}: {r.responsibility}" for r in content.roles)
        )
    if content.hazards or content.ppe:
        parts = [f"## {SECTIONS['hazards']}"]
        if content.hazards:
            parts.append(_list(content.hazards))
        if content.ppe:
            parts.extend([PPE_LABEL, _list(content.ppe)])
        sections.append("\n\n".join(parts))
    sections.append(
        f"## {SECTIONS['steps']}\n\n"
        + "\n".join(_render_step(n, s) for n, s in enumerate(content.steps, 1))
    )
    if content.references:
        sections.append(f"## {SECTIONS['references']}\n\n" + _list(content.references))
    return "---\n" + "".join(front) + "---\n\n" + "\n\n".join(sections) + "\n"


def check_exportable(document: DocumentFile) -> None:
    """Refuse, with :class:`InvalidInput`, a document whose Markdown would read back as
    something else: text with a line break where one line is expected, prose holding a
    ``##`` heading, surrounding spaces, empty items. Documents read by
    :func:`parse_markdown` always pass; this is for content written some other way (a
    page's form) before it is stored, so that its export round-trips too."""
    text = render_markdown(document)
    try:
        # Whether the type is one the plant uses is the service's check, not the format's.
        parsed = parse_markdown(text, types=(*DOCUMENT_TYPES, document.header.type))
    except InvalidInput as exc:
        raise InvalidInput(
            "The document cannot be written as Markdown: " + exc.detail, exc.errors
        ) from exc
    faults = [FieldError(loc, msg) for loc, msg in _differences(document, parsed)]
    if faults:
        where = "; ".join(f"{_where(f.loc)}: {f.msg}" for f in faults)
        raise InvalidInput(f"The document cannot be written as Markdown: {where}", faults)


def _differences(
    wanted: DocumentFile, got: DocumentFile
) -> list[tuple[tuple[str | int, ...], str]]:
    msg = "would read back differently from Markdown (a line break, a '##' heading or spaces?)"
    found: list[tuple[tuple[str | int, ...], str]] = []
    for part in ("header", "change"):
        for name in FRONT_MATTER_FIELDS:
            before = getattr(getattr(wanted, part), name, None)
            if before != getattr(getattr(got, part), name, None):
                found.append((("front_matter", name), msg))
    for name in ("purpose", "scope", "roles", "hazards", "ppe", "steps", "references"):
        before, after = getattr(wanted.content, name), getattr(got.content, name)
        if before == after:
            continue
        if isinstance(before, tuple):
            index = next(
                (i for i, (b, a) in enumerate(zip(before, after, strict=False)) if b != a),
                min(len(before), len(after)),
            )
            found.append(((name, index + 1), msg))
        else:
            found.append(((name,), msg))
    return found


def _yaml_field(name: str, value: object) -> str:
    return yaml.safe_dump({name: value}, allow_unicode=True, width=1_000_000, sort_keys=False)


def _list(items: Any) -> str:
    return "\n".join(f"- {item}" for item in items)


def _render_step(number: int, step: Step) -> str:
    marker = f"{number}. "
    indent = " " * len(marker)
    details = []
    if step.key_point is not None:
        details.append(f"Key point: {step.key_point}")
    if step.critical is not None:
        details.append(f"Critical: {step.critical}")
    details.extend(f"Accept: {line}" for line in step.accept)
    details.extend(f"![{image.alt}]({image.src})" for image in step.images)
    return "\n".join([marker + step.text, *(f"{indent}- {detail}" for detail in details)])


def is_safe_url(url: str) -> bool:
    """True for a relative address or one whose scheme is http, https or mailto.

    Browsers skip control characters and spaces inside a scheme (``java\\tscript:``), so
    they are dropped before the scheme is read; anything with a colon before the first
    ``/``, ``?`` or ``#`` counts as a scheme.
    """
    cleaned = re.sub(r"[\x00-\x20\x7f]", "", url)
    match = re.match(r"^([^/?#]*?):", cleaned)
    return match is None or match.group(1).lower() in SAFE_SCHEMES


class _SafeMarkdown(MarkdownIt):
    """CommonMark with raw HTML shown as text and links limited to :func:`is_safe_url`."""

    def __init__(self) -> None:
        super().__init__("commonmark", {"html": False})

    def validateLink(self, url: str) -> bool:  # noqa: N802 (markdown-it's name)
        return is_safe_url(url)


_HTML = _SafeMarkdown()


def render_html(content: Content) -> str:
    """``content`` as an HTML fragment for pages and print. Raw HTML in the text comes out
    escaped, and links or images to any scheme but http(s)/mailto lose their address."""
    out: list[str] = []
    if content.purpose:
        out.append(_html_section("purpose", _HTML.render(content.purpose)))
    if content.scope:
        out.append(_html_section("scope", _HTML.render(content.scope)))
    if content.roles:
        items = "".join(
            f"<li><strong>{_inline_html(r.role)}</strong>: {_inline_html(r.responsibility)}</li>"
            for r in content.roles
        )
        out.append(_html_section("roles", f"<ul>{items}</ul>\n"))
    if content.hazards or content.ppe:
        body = ""
        if content.hazards:
            body += _html_list(content.hazards, "doc-hazards")
        if content.ppe:
            body += "<h3>Required PPE</h3>\n" + _html_list(content.ppe, "doc-ppe")
        out.append(_html_section("hazards", body))
    steps = "".join(_html_step(step) for step in content.steps)
    out.append(_html_section("steps", f'<ol class="doc-steps">\n{steps}</ol>\n'))
    if content.references:
        items = "".join(f"<li>{html.escape(number)}</li>" for number in content.references)
        out.append(_html_section("references", f'<ul class="doc-references">{items}</ul>\n'))
    return "".join(out)


def _html_section(key: str, body: str) -> str:
    return f'<section class="doc-{key}">\n<h2>{html.escape(SECTIONS[key])}</h2>\n{body}</section>\n'


def _inline_html(text: str) -> str:
    return str(_HTML.renderInline(text))


def _html_list(items: tuple[str, ...], css_class: str) -> str:
    return (
        f'<ul class="{css_class}">'
        + "".join(f"<li>{_inline_html(item)}</li>" for item in items)
        + "</ul>\n"
    )


def _html_step(step: Step) -> str:
    css = f' class="doc-step-critical-{step.critical}"' if step.critical else ""
    parts = [f"<li{css}><p>{_inline_html(step.text)}</p>"]
    if step.critical is not None:
        parts.append(f'<p class="doc-critical">Critical to {step.critical}</p>')
    if step.key_point is not None:
        key_point = _inline_html(step.key_point)
        parts.append(f'<p class="doc-key-point"><strong>Key point:</strong> {key_point}</p>')
    if step.accept:
        parts.append(
            '<p class="doc-accept-label">Accept when:</p>' + _html_list(step.accept, "doc-accept")
        )
    for image in step.images:
        alt = html.escape(image.alt)
        if is_safe_url(image.src):
            parts.append(f'<figure><img src="{html.escape(image.src)}" alt="{alt}"></figure>')
        else:
            parts.append(f"<figure>{alt}</figure>")
    parts.append("</li>\n")
    return "".join(parts)
