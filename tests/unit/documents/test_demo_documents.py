"""The demo plant's documents and their next revisions import, and export byte for byte."""

from __future__ import annotations

from importlib.resources import files

import pytest
import yaml

from andon.demo.document_files import demo_change_texts, demo_document_texts
from andon.demo.plant import SITES, USERS
from andon.documents.content import DOCUMENT_TYPES, content_sha256
from andon.documents.markdown_io import check_exportable, parse_markdown, render_markdown

DOCUMENTS = demo_document_texts()
CHANGES = demo_change_texts()
ALL_FILES = [pytest.param("", name, text, id=name) for name, text in DOCUMENTS] + [
    pytest.param("changes/", name, text, id=f"changes/{name}") for name, text in CHANGES
]
PARSED = {name: parse_markdown(text) for name, text in DOCUMENTS}
PARSED_CHANGES = {name: parse_markdown(text) for name, text in CHANGES}
# A number starts with its type's code: SOP-ASM-001, CHK-ASM-002, FRM-QA-001, ...
NUMBER_PREFIX = {"SOP": "SOP", "WI": "WI", "checklist": "CHK", "form": "FRM", "policy": "POL"}
AREA_CODES = {area.code for site in SITES for area in site.areas}
USERNAMES = {user.username for user in USERS}


def _process_sop_slots() -> dict[str, str]:
    """Stage key to SOP number, for the stages of the demo process that name one."""
    spec = yaml.safe_load(files("andon.demo").joinpath("assembly.yaml").read_text("utf-8"))
    return {stage["key"]: stage["sop"] for stage in spec["stages"] if stage.get("sop")}


@pytest.mark.parametrize(("folder", "name", "text"), ALL_FILES)
def test_demo_file_exports_byte_identical_to_its_file(folder: str, name: str, text: str) -> None:
    document = parse_markdown(text)

    check_exportable(document)
    assert render_markdown(document) == text, f"{folder}{name}.md is not in canonical form"


def test_the_demo_plant_has_documents_of_every_type() -> None:
    types = sorted({doc.header.type for doc in PARSED.values()})

    assert len(PARSED) >= 15
    assert types == sorted(DOCUMENT_TYPES)


def test_demo_documents_are_listed_in_number_order() -> None:
    names = [name for name, _ in DOCUMENTS]

    assert names == sorted(names)
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("name", sorted(PARSED))
def test_demo_document_number_matches_its_file_name_and_type(name: str) -> None:
    header = PARSED[name].header

    assert header.number == name
    assert name.split("-")[0] == NUMBER_PREFIX[header.type]


@pytest.mark.parametrize("name", sorted(PARSED))
def test_demo_document_belongs_to_a_demo_user_and_area(name: str) -> None:
    header = PARSED[name].header

    assert header.owner in USERNAMES
    assert header.area is None or header.area in AREA_CODES


def test_every_sop_slot_of_the_demo_process_names_a_demo_document() -> None:
    slots = _process_sop_slots()

    assert slots == {"kit": "SOP-KIT-001", "assemble": "SOP-ASM-001", "inspect": "WI-INS-004"}
    assert {slots[s]: PARSED[slots[s]].header.area for s in slots} == {
        "SOP-KIT-001": "WH",
        "SOP-ASM-001": "ASM",
        "WI-INS-004": "QLAB",
    }


@pytest.mark.parametrize(("folder", "name", "text"), ALL_FILES)
def test_demo_references_name_other_demo_documents(folder: str, name: str, text: str) -> None:
    references = parse_markdown(text).content.references

    assert references, f"{folder}{name}.md refers to no other document"
    assert [r for r in references if r not in PARSED or r == name] == []


@pytest.mark.parametrize("name", sorted(PARSED))
def test_demo_document_has_four_to_ten_steps(name: str) -> None:
    assert 4 <= len(PARSED[name].content.steps) <= 10


@pytest.mark.parametrize(
    "name", sorted(n for n, doc in PARSED.items() if doc.header.type in ("SOP", "WI"))
)
def test_demo_procedure_has_a_critical_step_with_acceptance_criteria(name: str) -> None:
    steps = PARSED[name].content.steps

    assert any(step.critical is not None and step.accept for step in steps)


@pytest.mark.parametrize("name", sorted(n for n, doc in PARSED.items() if doc.content.hazards))
def test_demo_document_with_hazards_names_the_ppe(name: str) -> None:
    assert PARSED[name].content.ppe


@pytest.mark.parametrize("name", sorted(PARSED_CHANGES))
def test_demo_change_revises_a_demo_document_and_states_why(name: str) -> None:
    change, base = PARSED_CHANGES[name], PARSED[name]

    assert change.header == base.header
    assert change.change.reason
    assert change.change.reason != base.change.reason
    assert change.change.safety_impact is not None
    assert change.change.training is not None
    assert content_sha256(change) != content_sha256(base)


def test_the_lockout_change_has_safety_impact_and_names_its_risk() -> None:
    change = PARSED_CHANGES["SOP-SAF-001"].change

    assert (change.safety_impact, change.training) == (True, True)
    assert change.risk


def test_the_assembly_change_is_a_quality_change_that_needs_training() -> None:
    change = PARSED_CHANGES["SOP-ASM-001"]

    assert (change.change.safety_impact, change.change.training) == (False, True)
    added = set(change.content.steps) - set(PARSED["SOP-ASM-001"].content.steps)
    assert {step.critical for step in added} >= {"quality"}


def test_one_demo_change_needs_no_training() -> None:
    untrained = [n for n, doc in PARSED_CHANGES.items() if doc.change.training is False]

    assert untrained == ["CHK-ASM-002"]
    assert PARSED_CHANGES["CHK-ASM-002"].change.safety_impact is False
