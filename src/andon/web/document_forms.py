"""The authoring form of a document: its fields ↔ a DocumentFile and the revision's plan.

The form is plain HTML (no script): steps are numbered blocks ``step-N-*``, lists are
textareas with one item per line, and "add a step" re-renders the form with one more block.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData, UploadFile

from andon.core.errors import FieldError, InvalidInput
from andon.core.uow import Context
from andon.documents.content import (
    CRITICAL_KINDS,
    DOCUMENT_TYPES,
    Change,
    Content,
    DocumentFile,
    Header,
    Image,
    Role,
    Step,
    parse_risk_reference,
    risk_reference,
)
from andon.documents.markdown_io import check_exportable, parse_markdown
from andon.improvement.risks import risk_choices
from andon.web.forms import text

MIN_STEP_BLOCKS = 3
MAX_STEP_BLOCKS = 200
YES_NO = (("", "not stated"), ("yes", "yes"), ("no", "no"))


@dataclass
class StepValues:
    text: str = ""
    key_point: str = ""
    critical: str = ""
    accept: str = ""
    images: str = ""

    @property
    def blank(self) -> bool:
        return not any((self.text, self.key_point, self.critical, self.accept, self.images))


@dataclass
class AuthoringValues:
    """What the form shows: the strings a person typed (or the stored revision's text)."""

    type: str = "SOP"
    title: str = ""
    owner: str = ""
    area: str = ""
    review_interval_months: str = ""
    purpose: str = ""
    scope: str = ""
    roles: str = ""
    hazards: str = ""
    ppe: str = ""
    references: str = ""
    steps: list[StepValues] = field(default_factory=list)
    reason: str = ""
    safety_impact: str = ""
    training: str = ""
    risk: str = ""
    quality_impact: bool = False
    lines: list[int] = field(default_factory=list)
    markdown: str = ""
    version: str = ""

    def padded(self, extra: int = 0) -> AuthoringValues:
        """The same values with empty step blocks up to the minimum, plus ``extra`` more."""
        wanted = min(MAX_STEP_BLOCKS, max(MIN_STEP_BLOCKS, len(self.steps)) + extra)
        self.steps = self.steps + [StepValues() for _ in range(wanted - len(self.steps))]
        return self


def _lines_of(value: str) -> list[str]:
    return [line.strip() for line in value.replace("\r\n", "\n").split("\n") if line.strip()]


def _prose(value: str) -> str:
    return value.replace("\r\n", "\n").strip()


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


def values_from_form(form: FormData) -> AuthoringValues:
    """The submitted strings, kept as typed so an error re-renders exactly what was sent."""
    count = _step_count(form)
    steps = [
        StepValues(
            text=text(form, f"step-{i}-text"),
            key_point=text(form, f"step-{i}-key_point"),
            critical=text(form, f"step-{i}-critical"),
            accept=_raw(form, f"step-{i}-accept"),
            images=_raw(form, f"step-{i}-images"),
        )
        for i in range(1, count + 1)
    ]
    lines: list[int] = []
    for raw in form.getlist("lines"):
        if isinstance(raw, str) and raw.isdigit():
            lines.append(int(raw))
    return AuthoringValues(
        type=text(form, "type"),
        title=text(form, "title"),
        owner=text(form, "owner"),
        area=text(form, "area"),
        review_interval_months=text(form, "review_interval_months"),
        purpose=_raw(form, "purpose"),
        scope=_raw(form, "scope"),
        roles=_raw(form, "roles"),
        hazards=_raw(form, "hazards"),
        ppe=_raw(form, "ppe"),
        references=_raw(form, "references"),
        steps=steps,
        reason=text(form, "reason"),
        safety_impact=text(form, "safety_impact"),
        training=text(form, "training"),
        risk=text(form, "risk_id"),
        quality_impact=text(form, "quality_impact") == "yes",
        lines=lines,
        markdown=_raw(form, "markdown"),
        version=text(form, "version"),
    )


def _raw(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.replace("\r\n", "\n") if isinstance(value, str) else ""


def _step_count(form: FormData) -> int:
    raw = text(form, "step_count")
    count = int(raw) if raw.isdigit() else MIN_STEP_BLOCKS
    return max(0, min(count, MAX_STEP_BLOCKS))


def values_from_file(file: DocumentFile, plan: dict[str, Any], version: int) -> AuthoringValues:
    """The form filled with a stored revision, to edit it."""
    header, content, change = file.header, file.content, file.change
    return AuthoringValues(
        type=header.type,
        title=header.title,
        owner=header.owner,
        area=header.area or "",
        review_interval_months=str(header.review_interval_months or ""),
        purpose=content.purpose,
        scope=content.scope,
        roles="\n".join(f"{r.role}: {r.responsibility}" for r in content.roles),
        hazards="\n".join(content.hazards),
        ppe="\n".join(content.ppe),
        references="\n".join(content.references),
        steps=[
            StepValues(
                text=s.text,
                key_point=s.key_point or "",
                critical=s.critical or "",
                accept="\n".join(s.accept),
                images="\n".join(f"{i.alt} | {i.src}" for i in s.images),
            )
            for s in content.steps
        ],
        reason=change.reason or "",
        safety_impact=_yes_no(change.safety_impact),
        training=_yes_no(change.training),
        risk=_risk_choice(change.risk),
        quality_impact=bool(plan.get("quality_impact")),
        lines=[int(i) for i in plan.get("lines", [])],
        version=str(version),
    )


def _risk_choice(risk: str | None) -> str:
    """The select's value for a stored risk: the register id of a reference, or the free
    text of a draft from before the register (kept while it is not changed)."""
    if not risk:
        return ""
    found = parse_risk_reference(risk)
    return str(found) if found is not None else risk


def risk_options(ctx: Context, current: str = "") -> list[tuple[str, str]]:
    """The risks a change may link (every risk not closed), for a select; the current value
    is kept as an option when it is not among them."""
    options = [("", "No risk")] + [(str(i), label) for i, label in risk_choices(ctx)]
    if current and current not in {value for value, _ in options}:
        label = current if not current.isdigit() else risk_reference(int(current))
        options.append((current, f"{label} (as written)"))
    return options


def uploaded_markdown(form: FormData) -> str | None:
    """The Markdown of the chosen file, else of the paste box; None when both are empty."""
    upload = form.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        raw = upload.file.read()
        try:
            return raw.decode("utf-8-sig").replace("\r\n", "\n")
        except UnicodeDecodeError:
            raise InvalidInput.for_field("file", "the file is not UTF-8 text") from None
    pasted = _raw(form, "markdown")
    return pasted if pasted.strip() else None


def file_from_values(
    values: AuthoringValues, *, number: str | None = None, types: Collection[str] = DOCUMENT_TYPES
) -> DocumentFile:
    """The DocumentFile the structured fields describe; InvalidInput names each field at fault
    (``step-N-text``, ``roles``...). Checked to write out as Markdown and read back the same."""
    errors: list[FieldError] = []

    def fault(name: str, msg: str) -> None:
        errors.append(FieldError((name,), msg))

    if values.type not in types:
        fault("type", f"one of {', '.join(types)}")
    if not values.title:
        fault("title", "give the document a title")
    if not values.owner:
        fault("owner", "name the owner (a username)")
    interval: int | None = None
    if values.review_interval_months:
        if values.review_interval_months.isdigit() and int(values.review_interval_months) > 0:
            interval = int(values.review_interval_months)
        else:
            fault("review_interval_months", "a whole number of months, or leave it empty")
    roles: list[Role] = []
    for line in _lines_of(values.roles):
        role, sep, duty = line.partition(":")
        if not sep or not role.strip() or not duty.strip():
            fault("roles", f"write each role as “role: responsibility” (not “{line}”)")
            break
        roles.append(Role(role.strip(), duty.strip()))
    steps: list[Step] = []
    blocks: list[int] = []  # form block of each step kept, to place export errors
    for index, block in enumerate(values.steps, start=1):
        if block.blank:
            continue
        if not block.text:
            fault(f"step-{index}-text", "a step says what to do")
            continue
        if block.critical and block.critical not in CRITICAL_KINDS:
            fault(f"step-{index}-critical", f"none, or one of {', '.join(CRITICAL_KINDS)}")
            continue
        images: list[Image] = []
        for line in _lines_of(block.images):
            alt, sep, src = line.rpartition("|")
            if not sep or not src.strip():
                fault(f"step-{index}-images", "write each image as “description | address”")
                break
            images.append(Image(alt.strip(), src.strip()))
        blocks.append(index)
        steps.append(
            Step(
                text=block.text,
                key_point=block.key_point or None,
                critical=block.critical or None,  # type: ignore[arg-type]  # checked above
                accept=tuple(_lines_of(block.accept)),
                images=tuple(images),
            )
        )
    if not steps and not errors:
        fault("step-1-text", "a document has at least one step")
    if errors:
        raise InvalidInput("The document has mistakes; see the marked fields.", errors)
    file = DocumentFile(
        header=Header(
            type=values.type,
            title=values.title,
            owner=values.owner,
            number=number,
            area=values.area or None,
            review_interval_months=interval,
        ),
        content=Content(
            steps=tuple(steps),
            purpose=_prose(values.purpose),
            scope=_prose(values.scope),
            roles=tuple(roles),
            hazards=tuple(_lines_of(values.hazards)),
            ppe=tuple(_lines_of(values.ppe)),
            references=tuple(_lines_of(values.references)),
        ),
        change=Change(
            reason=values.reason or None,
            safety_impact=_flag(values.safety_impact),
            training=_flag(values.training),
            risk=risk_reference(int(values.risk)) if values.risk.isdigit() else values.risk or None,
        ),
    )
    try:
        check_exportable(file)
    except InvalidInput as exc:
        raise InvalidInput(exc.detail, [_at_block(e, blocks) for e in exc.errors]) from exc
    return file


def _at_block(error: FieldError, blocks: list[int]) -> FieldError:
    loc = error.loc
    if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int) and loc[1] <= len(blocks):
        return FieldError(("steps", blocks[loc[1] - 1], *loc[2:]), error.msg)
    return error


def _flag(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


def plan_from_values(values: AuthoringValues) -> dict[str, Any]:
    """The unsigned part of the change: affected lines and whether quality is affected."""
    return {"lines": sorted(set(values.lines)), "quality_impact": values.quality_impact}


def file_from_markdown(markdown: str, types: Collection[str] = DOCUMENT_TYPES) -> DocumentFile:
    """The pasted or uploaded file, parsed (InvalidInput names field and line)."""
    return parse_markdown(markdown, types=types)


def field_errors(error: InvalidInput) -> dict[str, str]:
    """The refusal as messages per form field: ``("steps", 2, ...)`` → ``step-2-text``."""
    found: dict[str, str] = {}
    for item in error.errors:
        found.setdefault(_field_name(item.loc), item.msg.removeprefix("Value error, "))
    if not found:
        found[""] = error.detail
    return found


def _field_name(loc: tuple[str | int, ...]) -> str:
    if not loc:
        return ""
    head = str(loc[0])
    if head == "front_matter" and len(loc) > 1:
        return str(loc[1])
    if head == "steps" and len(loc) > 1:
        return f"step-{loc[1]}-{loc[2] if len(loc) > 2 else 'text'}"
    if head in ("header", "change") and len(loc) > 1:
        return str(loc[1])
    return head
