"""One mining run: order the log once, filter it, and derive the DFG, variants and KPIs from it.

``andon mine report`` and the single ``mine``/``kpi`` commands all go through
:func:`prepare`, which sorts the log within cases a single time and stores the result on
the backend; everything after that reads the stored table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from andon.analytics.discovery import Dfg, Variant, discover_dfg, discover_variants
from andon.analytics.filters import CaseFilters, apply_filters
from andon.analytics.kpis import KpiExtension, Kpis, compute_kpis
from andon.analytics.log import EventLog
from andon.analytics.ordering import CaseOrderedLog, order_and_store


def prepare(
    log: EventLog,
    *,
    filters: CaseFilters | None = None,
    attributes: Sequence[str] = (),
) -> CaseOrderedLog:
    """The log ordered within cases, stored on its backend, restricted by ``filters``.

    ``attributes`` are extra source columns to carry (the filters' own are added).
    """
    filters = filters or CaseFilters()
    carried = tuple(dict.fromkeys([*filters.attribute_columns(), *attributes]))
    ordered = order_and_store(log, attributes=carried)
    if filters.is_empty():
        return ordered
    return apply_filters(ordered, filters)


@dataclass(frozen=True)
class MiningReport:
    """What ``andon mine report`` prints: the same objects as ``mine dfg --performance``,
    ``mine variants`` and ``kpi``."""

    dfg: Dfg
    variants: list[Variant]
    kpis: Kpis

    def as_json(self) -> dict[str, Any]:
        return {
            "dfg": self.dfg.as_json(),
            "variants": variants_json(self.variants),
            "kpi": self.kpis.as_json(),
        }


def mine_report(
    ordered: CaseOrderedLog,
    *,
    exception_attribute: str | None = None,
    extensions: Sequence[KpiExtension] = (),
    variant_limit: int | None = None,
) -> MiningReport:
    """The performance DFG, the variants and the KPIs of a prepared log.

    The DFG is computed once and reused for the KPIs' bottleneck ranking, the variants for
    their rework figures.
    """
    dfg = discover_dfg(ordered, performance=True)
    variants = discover_variants(ordered, limit=variant_limit)
    kpis = compute_kpis(
        ordered,
        dfg=dfg,
        # Every variant is at hand unless the caller keeps only the first few.
        variants=variants if variant_limit is None else None,
        exception_attribute=exception_attribute,
        extensions=extensions,
    )
    return MiningReport(dfg, variants, kpis)


def variants_json(variants: list[Variant]) -> dict[str, Any]:
    """The ``mine variants --json`` document."""
    return {"variants": [variant.as_json() for variant in variants]}
