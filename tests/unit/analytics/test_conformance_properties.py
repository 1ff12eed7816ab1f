"""Properties of conformance: walks the process allows are fit; an illegal move never is."""

from __future__ import annotations

from pathlib import Path

import hypothesis.strategies as st
from hypothesis import HealthCheck, assume, given, settings

from andon.analytics.conformance import case_conformance, process_model
from andon.processes.spec_yaml import load_spec_yaml
from tests.unit.analytics.test_conformance import event_log

DEMO = Path(__file__).resolve().parents[3] / "src" / "andon" / "demo" / "assembly.yaml"
SPEC = load_spec_yaml(DEMO.read_text())
MODEL = process_model(SPEC)
STAGES = [s.key for s in SPEC.stages]
MAX_STEPS = 30


@st.composite
def allowed_walks(draw: st.DrawFn) -> list[str]:
    """A walk along allowed transitions from a way in to an end stage."""
    walk = [draw(st.sampled_from(sorted(MODEL.entries)))]
    while walk[-1] not in MODEL.ends:
        assume(len(walk) < MAX_STEPS)
        walk.append(draw(st.sampled_from(SPEC.targets(walk[-1]))))
    return walk


@st.composite
def walks_with_an_illegal_move(draw: st.DrawFn) -> tuple[list[str], list[str]]:
    """An allowed walk, and the same walk with one stage inserted that its predecessor
    may not move to (nor equal to either neighbour, which would merge visits)."""
    walk = draw(allowed_walks())
    at = draw(st.integers(min_value=1, max_value=len(walk) - 1))
    before, after = walk[at - 1], walk[at]
    choices = [s for s in STAGES if (before, s) not in MODEL.edges and s not in (before, after)]
    stage = draw(st.sampled_from(choices))
    return walk, [*walk[:at], stage, *walk[at:]]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(allowed_walks(), min_size=1, max_size=6))
def test_walks_along_allowed_transitions_are_fully_fit(walks: list[list[str]]) -> None:
    log = event_log({f"c{i}": walk for i, walk in enumerate(walks)})

    frame = case_conformance(log, SPEC).execute()

    assert len(frame) == len(walks)
    assert frame["fitness"].tolist() == [1.0] * len(walks)
    assert frame["conforming"].all()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(walks_with_an_illegal_move())
def test_inserting_an_illegal_move_lowers_fitness(pair: tuple[list[str], list[str]]) -> None:
    allowed, broken = pair
    log = event_log({"allowed": allowed, "broken": broken})

    rows = case_conformance(log, SPEC).execute().set_index("case_id")

    assert rows.loc["allowed", "fitness"] == 1.0
    assert rows.loc["broken", "fitness"] < 1.0
    assert rows.loc["broken", "allowed_moves"] < rows.loc["broken", "moves"]
