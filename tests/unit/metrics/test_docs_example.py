"""The definition file shown in docs/metrics.md is one Andon reads."""

from __future__ import annotations

import re
from pathlib import Path

from andon.metrics.definition_yaml import dump_definition_yaml, load_definition_yaml

DOCS = Path(__file__).resolve().parents[3] / "docs" / "metrics.md"


def test_the_documented_definition_loads_and_round_trips() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.DOTALL)
    assert blocks, "docs/metrics.md shows no YAML definition"
    definition = load_definition_yaml(blocks[0])
    assert definition.key == "rework_inspect"
    assert load_definition_yaml(dump_definition_yaml(definition)) == definition
