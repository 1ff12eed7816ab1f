"""The shared file store: types told by content, names cleaned, uploads checked, blobs kept once."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from andon.core import blobs
from andon.core.errors import InvalidInput, NotFound

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(64)
JPEG = b"\xff\xd8\xff\xe0" + bytes(8)
PDF = b"%PDF-1.7\n"
CSV = b"a,b\n1,2\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(64)
# What documents accept: pictures and PDFs, no text.
IMAGES_AND_PDF = ("image/png", "image/jpeg", "application/pdf")


@pytest.mark.parametrize(
    ("data", "name", "expected"),
    [
        (PNG, "x.bin", "image/png"),
        (JPEG, "x", "image/jpeg"),
        (b"%PDF-1.4\n", "x", "application/pdf"),
        ("Grüße\n".encode(), "x.txt", "text/plain"),
        (b"a,b\n1,2\n", "x.CSV", "text/csv"),
        (EXE, "x.png", None),
        (b"PK\x03\x04" + bytes(20), "x.docx", None),
        (b"plain\x1b[31mred", "x.txt", None),
        (b"\xc3\x28", "x.txt", None),
    ],
    ids=["png", "jpeg", "pdf", "utf8", "csv", "exe", "zip", "escape-codes", "not-utf8"],
)
def test_types_are_told_by_content(data: bytes, name: str, expected: str | None) -> None:
    assert blobs.detect_type(data, name) == expected


@pytest.mark.parametrize(
    ("raw", "media_type", "expected"),
    [
        ("..\\..\\windows\\evil.png", "image/png", "evil.png"),
        (".hidden.txt", "text/plain", "hidden.txt"),
        ("-rf.txt", "text/plain", "rf.txt"),
        ("a\u202egnp.txt", "text/plain", "a_gnp.txt"),
        ("", "application/pdf", "attachment.pdf"),
        ("photo.jpeg", "image/jpeg", "photo.jpeg"),
        ("photo.png", "image/jpeg", "photo.png.jpg"),
        ("x" * 300 + ".pdf", "application/pdf", "x" * 116 + ".pdf"),
    ],
)
def test_names_are_cleaned(raw: str, media_type: str, expected: str) -> None:
    assert blobs.safe_filename(raw, media_type) == expected


def _refusal(exc: pytest.ExceptionInfo[InvalidInput]) -> str:
    (error,) = exc.value.errors
    assert error.loc == ("file",)
    return error.msg


def test_an_upload_carries_its_cleaned_name_real_type_size_and_digest() -> None:
    upload = blobs.checked_upload(
        PNG, "../../etc/Prüf bericht.PNG", "", max_bytes=1000, allowed=IMAGES_AND_PDF
    )

    assert upload.filename == "Prüf bericht.png"
    assert upload.media_type == "image/png"
    assert upload.size_bytes == len(PNG)
    assert upload.sha256 == hashlib.sha256(PNG).hexdigest()
    assert upload.data == PNG


def test_an_upload_name_is_normalised_to_composed_unicode() -> None:
    decomposed = "Pru\u0308fbericht.pdf"

    upload = blobs.checked_upload(PDF, decomposed, "", max_bytes=100, allowed=IMAGES_AND_PDF)

    assert upload.filename == "Pr\u00fcfbericht.pdf"


def test_a_type_outside_the_allowed_subset_is_refused_and_the_message_lists_the_subset() -> None:
    with pytest.raises(InvalidInput) as exc:
        blobs.checked_upload(CSV, "t.csv", "text/csv", max_bytes=100, allowed=IMAGES_AND_PDF)

    assert _refusal(exc) == (
        "the content is not an allowed type (sent as text/csv); allowed: PNG, JPEG or PDF"
    )


def test_the_full_set_lists_every_type_as_work_items_always_said() -> None:
    with pytest.raises(InvalidInput) as exc:
        blobs.checked_upload(EXE, "a.png", "", max_bytes=1000, allowed=tuple(blobs.EXTENSIONS))

    assert _refusal(exc) == (
        "the content is not an allowed type; allowed: PNG, JPEG, PDF, UTF-8 text or CSV"
    )


def test_a_single_allowed_type_is_named_alone() -> None:
    with pytest.raises(InvalidInput) as exc:
        blobs.checked_upload(PNG, "a.pdf", "", max_bytes=1000, allowed=("application/pdf",))

    assert _refusal(exc).endswith("; allowed: PDF")


@pytest.mark.parametrize(
    ("data", "name", "claimed"),
    [
        (EXE, "photo.png", "image/png"),
        (b"<html><script>alert(1)</script></html>\n", "manual.pdf", "application/pdf"),
        (b"PK\x03\x04" + bytes(20), "scan.jpg", "image/jpeg"),
    ],
    ids=["exe-as-png", "html-as-pdf", "zip-as-jpeg"],
)
def test_a_disguised_file_is_refused_whatever_its_name_and_claimed_type(
    data: bytes, name: str, claimed: str
) -> None:
    with pytest.raises(InvalidInput) as exc:
        blobs.checked_upload(data, name, claimed, max_bytes=1000, allowed=IMAGES_AND_PDF)

    assert _refusal(exc).startswith(f"the content is not an allowed type (sent as {claimed})")


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(InvalidInput) as exc:
        blobs.checked_upload(b"", "a.png", "image/png", max_bytes=1000, allowed=IMAGES_AND_PDF)

    assert _refusal(exc) == "the file is empty"


def test_a_file_over_the_limit_is_refused_and_one_at_the_limit_accepted() -> None:
    exact = PNG + bytes(100 - len(PNG))

    with pytest.raises(InvalidInput) as exc:
        blobs.checked_upload(exact + b"\0", "a.png", "", max_bytes=100, allowed=IMAGES_AND_PDF)
    accepted = blobs.checked_upload(exact, "a.png", "", max_bytes=100, allowed=IMAGES_AND_PDF)

    assert _refusal(exc) == "the file is 101 bytes; the limit is 100 bytes"
    assert accepted.size_bytes == 100


def test_an_unknown_allowed_type_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="image/gif"):
        blobs.checked_upload(PNG, "a.png", "", max_bytes=1000, allowed=("image/gif",))


def test_accept_lists_the_extensions_of_the_allowed_types() -> None:
    assert blobs.accept(IMAGES_AND_PDF) == ".jpeg,.jpg,.pdf,.png"


def test_a_blob_is_kept_once_under_its_hash_prefix(tmp_path: Path) -> None:
    digest = hashlib.sha256(PNG).hexdigest()

    blobs.store_blob(tmp_path, digest, PNG)
    blobs.store_blob(tmp_path, digest, PNG)

    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files == [tmp_path / "attachments" / digest[:2] / digest]
    assert blobs.read_blob(tmp_path, digest) == PNG


def test_reading_a_missing_blob_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="missing from storage"):
        blobs.read_blob(tmp_path, "ab" * 32)
