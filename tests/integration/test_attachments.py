"""Attachments: type by content, size limits, clean names, nothing written on refusal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from andon.api.app import create_app
from andon.core.audit import AuditEntry
from andon.core.config import Settings
from andon.core.database import Database
from andon.core.permissions import Role
from andon.core.uow import Context
from andon.work.models import Attachment, WorkEvent
from tests.factories import Floor, bearer, make_floor, new_item

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(64)
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(64)


@pytest.fixture
def floor(system: Context) -> Floor:
    return make_floor(system, shifts=False)


@pytest.fixture
def auth(system: Context) -> dict[str, str]:
    return bearer(system, "otto", Role.OPERATOR)


def counts(db: Database) -> tuple[int, int]:
    with db.read_session() as session:
        rows = session.scalar(select(func.count()).select_from(Attachment)) or 0
        audit = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
    return rows, audit


def stored_files(settings: Settings) -> list[Path]:
    return [p for p in (settings.data_dir / "attachments").rglob("*") if p.is_file()]


def upload(
    client: TestClient, auth: dict[str, str], item_id: int, name: str, data: bytes, kind: str
) -> httpx.Response:
    return client.post(
        f"/api/v1/work-items/{item_id}/attachments",
        files={"file": (name, data, kind)},
        headers=auth,
    )


def test_a_photo_is_stored_by_hash_and_downloads_as_an_attachment(
    client: TestClient, system: Context, floor: Floor, auth: dict[str, str], settings: Settings
) -> None:
    item = new_item(system, floor)

    response = client.post(
        f"/api/v1/work-items/{item.id}/attachments",
        files={"file": ("../../scratch on cover.PNG", PNG, "application/octet-stream")},
        headers=auth,
    )

    assert response.status_code == 201
    meta = response.json()
    assert (meta["filename"], meta["content_type"]) == ("scratch on cover.png", "image/png")
    assert stored_files(settings) == [
        settings.data_dir / "attachments" / meta["sha256"][:2] / meta["sha256"]
    ]
    download = client.get(f"/api/v1/attachments/{meta['id']}/content", headers=auth)
    assert download.content == PNG
    assert download.headers["content-type"] == "image/png"
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["x-content-type-options"] == "nosniff"
    listed = client.get(f"/api/v1/work-items/{item.id}/attachments", headers=auth).json()
    assert [a["id"] for a in listed] == [meta["id"]]
    with system.read() as session:
        kinds = session.scalars(select(WorkEvent.kind).where(WorkEvent.case_id == item.id)).all()
    assert "attached" in kinds


def test_an_exe_renamed_png_is_refused_and_nothing_is_written(
    client: TestClient,
    system: Context,
    floor: Floor,
    auth: dict[str, str],
    db: Database,
    settings: Settings,
) -> None:
    item = new_item(system, floor)
    before = counts(db)

    response = upload(client, auth, item.id, "photo.png", EXE, "image/png")

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "file"]
    assert counts(db) == before
    assert not (settings.data_dir / "attachments").exists()


def test_text_is_kept_as_text_with_an_extension_that_says_so(
    client: TestClient, system: Context, floor: Floor, auth: dict[str, str]
) -> None:
    item = new_item(system, floor)

    page = upload(client, auth, item.id, "notes.html", b"<b>not html to us</b>\n", "text/html")
    table = upload(client, auth, item.id, "torque.csv", b"\xef\xbb\xbfbolt,nm\n1,11.2\n", "x/y")

    assert page.json()["filename"] == "notes.html.txt"
    assert page.json()["content_type"] == "text/plain"
    assert table.json()["content_type"] == "text/csv"


def test_a_viewer_may_not_attach(client: TestClient, system: Context, floor: Floor) -> None:
    item = new_item(system, floor)
    viewer = bearer(system, "vic", Role.VIEWER)

    response = upload(client, viewer, item.id, "a.png", PNG, "image/png")

    assert response.status_code == 403


def test_a_file_larger_than_the_body_limit_but_within_the_attachment_limit_is_accepted(
    client: TestClient, system: Context, floor: Floor, auth: dict[str, str], settings: Settings
) -> None:
    item = new_item(system, floor)
    big = PNG + bytes(2 * settings.max_body_bytes)

    response = upload(client, auth, item.id, "big.png", big, "image/png")

    assert response.status_code == 201
    assert response.json()["size_bytes"] == len(big)


@pytest.fixture
def small_client(settings: Settings, db: Database) -> Iterator[TestClient]:
    app: FastAPI = create_app(settings.model_copy(update={"max_attachment_bytes": 4096}), db)
    with TestClient(app) as test_client:
        yield test_client


def test_a_file_over_the_attachment_limit_is_refused(
    small_client: TestClient,
    system: Context,
    floor: Floor,
    auth: dict[str, str],
    db: Database,
    settings: Settings,
) -> None:
    item = new_item(system, floor)
    before = counts(db)

    slightly = upload(small_client, auth, item.id, "a.png", PNG + bytes(5000), "image/png")
    far = upload(small_client, auth, item.id, "b.png", PNG + bytes(200_000), "image/png")

    assert slightly.status_code == 422
    assert "4096" in slightly.json()["errors"][0]["msg"]
    assert far.status_code == 413
    assert "ANDON_MAX_ATTACHMENT_BYTES" in far.json()["detail"]
    assert counts(db) == before
    assert not (settings.data_dir / "attachments").exists()


def test_the_same_bytes_twice_share_one_stored_file(
    client: TestClient, system: Context, floor: Floor, auth: dict[str, str], settings: Settings
) -> None:
    item = new_item(system, floor)

    upload(client, auth, item.id, "a.png", PNG, "image/png")
    upload(client, auth, item.id, "b.png", PNG, "image/png")

    assert len(stored_files(settings)) == 1


def test_a_download_names_the_file_safely(
    client: TestClient, system: Context, floor: Floor, auth: dict[str, str]
) -> None:
    item = new_item(system, floor)
    sent = upload(client, auth, item.id, "Prüfbericht: final?.pdf", b"%PDF-1.7\n", "x")
    meta = sent.json()

    response = client.get(f"/api/v1/attachments/{meta['id']}/content", headers=auth)

    assert meta["filename"] == "Prüfbericht_ final_.pdf"
    disposition = response.headers["content-disposition"]
    assert 'filename="Pr_fbericht_ final_.pdf"' in disposition
    assert "filename*=UTF-8''Pr%C3%BCfbericht_%20final_.pdf" in disposition
