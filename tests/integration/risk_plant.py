"""A risk register entry for tests that import the demo's safety change (it links RSK-1)."""

from __future__ import annotations

from andon.core.uow import Context
from andon.improvement import risks
from andon.improvement.risk_schemas import RiskCreate, RiskDetailOut


def make_risk(ctx: Context, owner: str, title: str = "Cover press ram falls") -> RiskDetailOut:
    """A scored, open risk owned by ``owner`` (in a fresh database the first is RSK-1)."""
    return risks.add_risk(
        ctx,
        RiskCreate(
            title=title, area="ASM", inherent_likelihood=3, inherent_severity=5, owner=owner
        ),
    )
