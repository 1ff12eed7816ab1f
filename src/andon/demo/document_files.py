"""The demo plant's controlled documents and three next revisions, as Markdown texts.

The files live in ``andon/demo/documents`` (the next revisions in its ``changes`` folder),
one per document, named ``<number>.md``; docs/documents.md describes their format. They are
read through importlib.resources so that an installed wheel serves them as a checkout does.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable

DOCUMENTS = files("andon.demo").joinpath("documents")
CHANGES = DOCUMENTS.joinpath("changes")
CAPA = DOCUMENTS.joinpath("capa")


def demo_document_texts() -> list[tuple[str, str]]:
    """Each demo document as (number, Markdown text), in number order."""
    return _texts(DOCUMENTS)


def demo_change_texts() -> list[tuple[str, str]]:
    """The next revision of three demo documents as (number, Markdown text), in number order:
    a safety change to the lockout/tagout SOP, a quality change to the assembly SOP and an
    editorial fix. Each number is also among :func:`demo_document_texts`."""
    return _texts(CHANGES)


def demo_capa_texts() -> list[tuple[str, str]]:
    """The revisions the demo's CAPA made (the torque verification added to SOP-ASM-001),
    as (number, Markdown text); each follows that document's change in ``changes``."""
    return _texts(CAPA)


def _texts(folder: Traversable) -> list[tuple[str, str]]:
    paths = sorted(
        (p for p in folder.iterdir() if p.is_file() and p.name.endswith(".md")),
        key=lambda p: p.name,
    )
    return [(p.name.removesuffix(".md"), p.read_text(encoding="utf-8")) for p in paths]
