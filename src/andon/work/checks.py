"""QA gates: record a stage's checklist; a failed one sends the item to rework."""

from __future__ import annotations

from datetime import datetime

from andon.core.clock import utcnow
from andon.core.errors import Conflict, FieldError, InvalidInput
from andon.core.permissions import Action, authorize
from andon.core.uow import Context
from andon.work.events import append_event
from andon.work.items import perform_move
from andon.work.line_stops import check_failed_check_rules
from andon.work.loading import load
from andon.work.models import CheckRun
from andon.work.schemas import ChecklistRecord


def record_checklist(
    ctx: Context, item_id: int, data: ChecklistRecord, *, at: datetime | None = None
) -> CheckRun:
    """Record every line of the current stage's checklist.

    A measured line passes only if it was ticked and its value lies within the limits. If
    any line fails, the failures are the recorded defects, the item moves to the stage's
    rework stage at once, and the line's failed-check stop rules are evaluated.
    """
    now = at or utcnow()
    with ctx.write() as tx:
        loaded = load(tx.session, item_id, lock=True)
        item, spec = loaded.item, loaded.spec
        authorize(ctx.actor, Action.WORK_RECORD, loaded.scope)
        stage = spec.stage(item.stage)
        if not stage.checklist:
            raise Conflict(f"the {stage.name} stage has no checklist")
        if item.status != "open":
            raise Conflict(f"work item {item.id} is {item.status}; checks need an open item")
        given = {r.key: r for r in data.results}
        errors = [
            FieldError(("results", i, "key"), f"not a line of the {stage.name} checklist")
            for i, r in enumerate(data.results)
            if r.key not in {c.key for c in stage.checklist}
        ]
        results = []
        for check in stage.checklist:
            result = given.get(check.key)
            if result is None:
                errors.append(FieldError(("results",), f"{check.key!r} is not recorded"))
                continue
            passed = result.passed
            limits = check.measured
            if limits is not None:
                if result.value is None:
                    errors.append(FieldError(("results", check.key), "needs a measured value"))
                    continue
                if (limits.min is not None and result.value < limits.min) or (
                    limits.max is not None and result.value > limits.max
                ):
                    passed = False
            results.append(
                {
                    "key": check.key,
                    "text": check.text,
                    "passed": passed,
                    "value": result.value,
                    "unit": limits.unit if limits else None,
                    "note": result.note,
                }
            )
        if errors:
            raise InvalidInput(f"checklist: {errors[0].msg}", errors)
        passed_all = all(r["passed"] for r in results)
        run = CheckRun(
            item_id=item.id,
            line_id=item.line_id,
            stage=item.stage,
            passed=passed_all,
            results=results,
            recorded_at=now,
            recorded_by=ctx.actor.username,
        )
        tx.session.add(run)
        tx.session.flush()
        defects = [str(r["key"]) for r in results if not r["passed"]]
        append_event(
            tx.session,
            item,
            kind="checked",
            activity=stage.name,
            at=now,
            resource=ctx.actor.username,
            process_key=spec.key,
            lifecycle="check",
            passed=passed_all,
            defects=defects or None,
            check_run_id=run.id,
        )
        tx.audit(
            "work_item",
            item.id,
            "checklist",
            after={"check_run_id": run.id, "passed": passed_all, "defects": defects},
        )
        if not passed_all:
            if stage.on_fail is not None:
                perform_move(
                    tx,
                    loaded,
                    stage.on_fail,
                    now=now,
                    reason=f"failed checks: {', '.join(defects)}",
                    gate_checked=False,
                    # The failed checklist must send the item to rework whoever recorded
                    # it: refusing would hide the defect. The event still marks the mover.
                    training_checked=False,
                )
            check_failed_check_rules(tx, item.line_id, now)
        return run
