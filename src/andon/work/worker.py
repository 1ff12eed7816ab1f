"""The background worker: sweep SLAs, documents and actions, compute metrics, deliver due
notifications, cycle after cycle.

Each cycle runs ``sweep_slas`` (breaches, due escalation tiers, their notifications queued in
the outbox), then ``sweep_documents`` (revisions taking effect, tasks for newcomers, review and
training reminders and escalations), then ``sweep_actions`` (overdue actions escalated once),
then, every ``ANDON_METRICS_INTERVAL_SECONDS``, ``compute_all`` (every metric recomputed for
the periods with new events and judged against its thresholds: one action per standing
crossing, the owner told once when a series has no data) and ``recheck_open_capas`` (the
effectiveness check of every open CAPA whose metric got new values), then ``deliver_due``
until nothing more is due. All are
safe to repeat: a tier or a reminder fires once, a notification has a de-duplication key and
is claimed before it is sent, so a worker that is restarted, or runs beside another, never
notifies twice.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from andon.actions.sweeps import ActionSweepReport, sweep_actions
from andon.core.clock import utcnow
from andon.core.config import Settings
from andon.core.database import Database
from andon.core.errors import ConfigurationError
from andon.core.permissions import system_actor
from andon.core.uow import Context
from andon.documents.rules import document_rules
from andon.documents.sweeps import DocumentSweepReport, sweep_documents
from andon.improvement.capa import recheck_open_capas
from andon.metrics.service import Computed, compute_all
from andon.metrics.sources import PlantSource
from andon.notifications.service import deliver_due
from andon.notifications.transport import Transport
from andon.work.sweep import sweep_slas

log = logging.getLogger("andon.worker")

WORKER_ACTOR = "andon:worker"
DELIVERY_BATCH = 100
# A cycle delivers batches back to back while they come back full, but not forever: a flood
# must not starve the next sweep.
MAX_BATCHES_PER_CYCLE = 50


@dataclass
class WorkerStats:
    """What the worker did over its whole run, summed across cycles."""

    cycles: int = 0
    failed_cycles: int = 0
    stage_breaches: int = 0
    process_breaches: int = 0
    fired: int = 0
    queued: int = 0
    took_effect: int = 0
    reminders: int = 0
    escalations: int = 0
    newcomer_tasks: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    metric_runs: int = 0
    metrics_computed: int = 0
    metric_crossings: int = 0
    metric_actions: int = 0
    metric_errors: int = 0
    capas_rechecked: int = 0


@dataclass
class _Schedule:
    """When the metrics job last ran (the worker's clock), so it runs once per interval."""

    interval_seconds: float
    last_at: datetime | None = None

    def due(self, now: datetime) -> bool:
        return self.last_at is None or (now - self.last_at).total_seconds() >= (
            self.interval_seconds
        )


def run_worker(
    db: Database,
    settings: Settings,
    *,
    interval_seconds: float,
    once: bool = False,
    stop: threading.Event | None = None,
    now_fn: Callable[[], datetime] = utcnow,
    actor_name: str = WORKER_ACTOR,
    transport: Transport | None = None,
) -> WorkerStats:
    """Run cycles every ``interval_seconds`` until ``stop`` is set (or once, with ``once``).

    A cycle under way when ``stop`` is set finishes its sweep and the delivery batch it is
    sending; any further backlog waits for the next start. A cycle that fails is logged
    and counted, and the next one runs as usual: the database may be back by then.
    A ``ConfigurationError`` is not retried; it propagates, since no later cycle can succeed.
    Every cycle has its own request id, so its audit entries can be found together.
    """
    stop = stop or threading.Event()
    actor = system_actor(actor_name)
    stats = WorkerStats()
    schedule = _Schedule(settings.metrics_interval_seconds)
    while True:
        started = time.monotonic()
        stats.cycles += 1
        try:
            context = Context(db, actor, f"worker-{uuid.uuid4().hex}")
            _cycle(context, settings, stats, stop, now_fn, transport, schedule)
        except ConfigurationError:
            raise
        except Exception:
            stats.failed_cycles += 1
            log.exception("cycle %d failed; the next cycle runs as usual", stats.cycles)
        if once or stop.is_set():
            break
        # wait() returns early when stop is set, so a stop request never waits out the interval.
        if stop.wait(max(0.0, interval_seconds - (time.monotonic() - started))):
            break
    return stats


def _cycle(
    ctx: Context,
    settings: Settings,
    stats: WorkerStats,
    stop: threading.Event,
    now_fn: Callable[[], datetime],
    transport: Transport | None,
    schedule: _Schedule,
) -> None:
    rules = document_rules(settings)  # bad document settings stop the worker: no retry helps
    swept = sweep_slas(ctx, now=now_fn())
    failure: Exception | None = None
    try:
        documents = sweep_documents(ctx, rules=rules, now=now_fn())
    except Exception as exc:
        # Notifications already queued (SLA tiers among them) still go out this cycle; the
        # cycle is then counted as failed.
        failure, documents = exc, DocumentSweepReport()
    try:
        actions = sweep_actions(ctx, zone=settings.zone, now=now_fn())
    except Exception as exc:
        failure, actions = failure or exc, ActionSweepReport()
    computed: list[Computed] = []
    if schedule.due(now_fn()):
        schedule.last_at = now_fn()
        try:
            # One reader of the plant's events for all metrics; each metric commits on its
            # own, and one that fails leaves the others done (its error is counted).
            computed = compute_all(ctx, zone=settings.zone, source=PlantSource(), at=now_fn())
            stats.metric_runs += 1
        except Exception as exc:
            failure = failure or exc
        try:
            # After the values: a CAPA's verdict follows the data it rests on.
            rechecked = recheck_open_capas(ctx, zone=settings.zone, now=now_fn())
            stats.capas_rechecked += len(rechecked.checked)
        except Exception as exc:
            failure = failure or exc
    sent = retried = dead = 0
    for _ in range(MAX_BATCHES_PER_CYCLE):
        report = deliver_due(
            ctx.db, settings, now=now_fn(), limit=DELIVERY_BATCH, transport=transport
        )
        sent, retried, dead = sent + report.sent, retried + report.retried, dead + report.dead
        # A stop request waits for the batch under way, not for the whole backlog.
        if report.sent + report.retried + report.dead < DELIVERY_BATCH or stop.is_set():
            break
    stats.stage_breaches += swept.stage_breaches
    stats.process_breaches += swept.process_breaches
    stats.fired += swept.fired
    stats.queued += swept.notifications + documents.notifications + actions.notifications
    stats.took_effect += documents.took_effect
    stats.reminders += documents.review_reminders + documents.training_reminders
    stats.escalations += (
        documents.review_escalations + documents.training_escalations + actions.escalations
    )
    stats.newcomer_tasks += documents.newcomer_tasks
    stats.sent += sent
    stats.retried += retried
    stats.dead += dead
    stats.metrics_computed += sum(1 for c in computed if c.error is None)
    stats.metric_crossings += sum(c.new_crossings for c in computed)
    stats.metric_actions += sum(len(c.actions_opened) for c in computed)
    stats.metric_errors += sum(1 for c in computed if c.error is not None)
    for held in documents.held:
        log.info("document waits: %s", held)
    for c in computed:
        if c.error is not None:
            log.warning("metric %s was not computed: %s", c.key, c.error)
    log.info(
        "cycle %d: %d stage breaches, %d process breaches, %d tiers fired; documents: "
        "%d took effect, %d newcomer tasks, %d reminders, %d escalations; "
        "actions: %d overdue escalated; metrics: %d computed, %d crossings, %d actions opened; "
        "%d notifications queued; %d sent, %d to retry, %d dead",
        stats.cycles,
        swept.stage_breaches,
        swept.process_breaches,
        swept.fired,
        documents.took_effect,
        documents.newcomer_tasks,
        documents.review_reminders + documents.training_reminders,
        documents.review_escalations + documents.training_escalations,
        actions.escalations,
        sum(1 for c in computed if c.error is None),
        sum(c.new_crossings for c in computed),
        sum(len(c.actions_opened) for c in computed),
        swept.notifications + documents.notifications + actions.notifications,
        sent,
        retried,
        dead,
    )
    if failure is not None:
        raise failure
