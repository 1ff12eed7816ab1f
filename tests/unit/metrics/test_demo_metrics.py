from pathlib import Path

import pytest

from andon.metrics.definition_yaml import dump_definition_yaml, load_definition_yaml

DEMO = Path(__file__).parents[3] / "src" / "andon" / "demo" / "metrics"
FILES = sorted(DEMO.glob("*.yaml"))


def test_the_demo_defines_about_a_dozen_metrics_over_every_sqdc_letter():
    defns = [load_definition_yaml(f.read_text()) for f in FILES]
    assert len(defns) >= 10
    assert {d.sqdc for d in defns} == {"safety", "quality", "delivery", "cost"}
    assert {f.stem for f in FILES} == {d.key for d in defns}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_each_demo_metric_reads_and_writes_back_the_same(path):
    defn = load_definition_yaml(path.read_text())
    assert load_definition_yaml(dump_definition_yaml(defn)) == defn
