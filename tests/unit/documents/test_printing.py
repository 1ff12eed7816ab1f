"""The printed sheet of a revision and its PDF, built from values (no database)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from andon.accounts.models import User
from andon.demo.document_files import demo_document_texts
from andon.documents.content import content_dict, content_sha256
from andon.documents.markdown_io import parse_markdown
from andon.documents.models import Document, DocumentRevision, DocumentSignature
from andon.documents.printing import UNCONTROLLED, pdf_bytes, print_html, static_file
from andon.documents.queries import RevisionView

LOTO = dict(demo_document_texts())["SOP-SAF-001"]
SIGNED_AT = datetime(2026, 3, 2, 14, 5, tzinfo=UTC)


def _signature(sig_id: int, username: str, name: str, meaning: str, role: str | None, sha: str):
    return DocumentSignature(
        id=sig_id,
        revision_id=1,
        user_id=sig_id,
        username=username,
        name=name,
        meaning=meaning,
        role=role,
        signed_at=SIGNED_AT,
        content_sha256=sha,
        review_round=0,
        comment="",
    )


def loto_view(*, void_second: bool = False) -> RevisionView:
    file = parse_markdown(LOTO)
    sha = content_sha256(file)
    owner = User(id=1, username="safety", display_name="Sam Safety")
    document = Document(
        id=1,
        number="SOP-SAF-001",
        type="SOP",
        title=file.header.title,
        owner_id=1,
        area_code="ASM",
        review_interval_months=12,
        status="effective",
        effective_revision=3,
    )
    revision = DocumentRevision(
        id=1,
        document_id=1,
        number=3,
        status="effective",
        author_id=1,
        title=file.header.title,
        content=content_dict(file.content),
        content_sha256=sha,
        change={"reason": "Ram block added"},
        plan={},
        effective_on=date(2026, 3, 2),
    )
    signatures = [
        _signature(1, "sam", "Sam Safety", "authored", None, sha),
        _signature(2, "quinn", "Quinn Quality-Lead", "approved", "quality", sha),
    ]
    current = frozenset({1} if void_second else {1, 2})
    return RevisionView(document, revision, [revision], signatures, owner, owner, file, current, {})


def test_print_html_has_number_revision_effective_date_and_signatures() -> None:
    html = print_html(loto_view(), ZoneInfo("America/Chicago"))
    assert "SOP-SAF-001" in html
    assert "revision 3" in html
    assert "2026-03-02" in html
    assert "Quinn Quality-Lead (quinn)" in html
    assert "2026-03-02 08:05 CST" in html  # 14:05 UTC in the plant's zone
    assert html.count(UNCONTROLLED) >= 2  # running head and foot
    assert "Crushing by the 2 t pneumatic cover press ram" in html


def test_a_void_signature_is_marked_void() -> None:
    html = print_html(loto_view(void_second=True), ZoneInfo("UTC"))
    assert "approved — void" in html
    assert "authored — void" not in html


def test_pdf_text_has_printed_names_meanings_and_the_mark_on_every_page() -> None:
    pdf = pdf_bytes(print_html(loto_view(), ZoneInfo("UTC")))
    reader = PdfReader(io.BytesIO(pdf))
    pages = [page.extract_text() for page in reader.pages]
    text = "\n".join(pages)
    assert "Sam Safety" in text
    assert "Quinn Quality-Lead" in text
    assert "authored" in text
    assert "approved" in text
    assert len(pages) >= 2  # the LOTO procedure runs over more than one page
    assert all("UNCONTROLLED" in page for page in pages)


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/evil.css",
        "http://169.254.169.254/latest/meta-data",
        "file:///etc/passwd",
        "/static/../../../../etc/passwd",
        "ftp://example.com/x.png",
    ],
)
def test_the_pdf_fetches_nothing_but_our_static_files(url: str) -> None:
    with pytest.raises(ValueError, match="refused"):
        static_file(url)


def test_the_print_stylesheet_is_fetched_from_the_static_folder() -> None:
    assert static_file("/static/print.css").name == "print.css"


def test_names_are_escaped_on_the_sheet() -> None:
    view = loto_view()
    view.signatures[1].name = "<b>Quinn</b>"
    html = print_html(view, ZoneInfo("UTC"))
    assert "&lt;b&gt;Quinn&lt;/b&gt;" in html
    assert "<b>Quinn" not in html
