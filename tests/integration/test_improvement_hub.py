"""The improvement hub on both databases: the month's repeat offenders, the open RCAs and
CAPAs (an overdue one flagged), and the nav link that leads there."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi.testclient import TestClient

from andon.core.clock import utcnow
from andon.core.permissions import Role
from andon.core.uow import Context
from andon.improvement import capa, rca, risks
from andon.improvement.capa_schemas import CapaCreate
from andon.improvement.rca_schemas import RcaCreate
from andon.improvement.risk_schemas import RiskCreate
from andon.work import exceptions
from andon.work.schemas import ExceptionRaise
from tests.factories import make_floor, make_user, new_item
from tests.integration.test_web_pages import sign_in


def test_hub_shows_offenders_open_rcas_and_overdue_capas(
    client: TestClient, system: Context
) -> None:
    floor = make_floor(system)
    item = new_item(system, floor)
    for _ in range(3):
        exceptions.raise_exception(
            system, ExceptionRaise(category="quality", description="leak", item_id=item.id)
        )
    make_user(system, "quinn", Role.QUALITY)
    opened = rca.open_rca(
        system,
        RcaCreate(
            title="Leaks <on> L1",
            what="Housings leak",
            started_at=utcnow() - timedelta(days=3),
            owner_user="quinn",
            line_id=floor.line.id,
        ),
    )
    late = capa.open_capa(
        system,
        CapaCreate(
            title="Change the seal",
            owner_user="quinn",
            due_on=date.today() - timedelta(days=2),
            rca_id=opened.id,
        ),
    )
    risk = risks.add_risk(
        system,
        RiskCreate(
            title="Seal <press> pinch point",
            owner="quinn",
            inherent_likelihood=4,
            inherent_severity=5,
            residual_likelihood=2,
            residual_severity=5,
        ),
    )
    make_user(system, "vic", Role.VIEWER)
    sign_in(client, "vic")

    home = client.get("/").text
    assert '<a href="/improvement"' in home
    page = client.get("/improvement")
    assert page.status_code == 200
    text = page.text
    assert "3 exceptions, 1 item affected" in text
    assert f'href="/rca/{opened.id}"' in text
    assert "Leaks &lt;on&gt; L1" in text
    assert f'href="/capa/{late.id}"' in text
    assert "1 overdue" in text
    assert "not checked yet" in text
    assert f'href="/risks/{risk.id}"' in text
    assert "Seal &lt;press&gt; pinch point" in text
    assert "residual 10 (high)" in text
