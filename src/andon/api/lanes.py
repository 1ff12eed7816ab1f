"""Two lanes of worker threads per server process: the floor's short requests, and reports.

A move, a check or a page of the queue takes milliseconds; a KPI report over an uploaded
log, a chain verification or a bulk import can take seconds. On one shared pool of threads a
few reports would hold up every operator on that process, and a large pool costs the short
requests dearly: threads fight over the interpreter lock, and on two cores 16 threads
per process serve fewer moves a second, with a longer tail, than 4 (docs/benchmarks.md).
So ordinary endpoints run on anyio's default limiter, sized by ``ANDON_REQUEST_THREADS``,
and long-running ones on their own limiter, sized by ``ANDON_REPORT_THREADS``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from anyio import CapacityLimiter, to_thread
from anyio.lowlevel import RunVar
from fastapi.routing import APIRoute

P = ParamSpec("P")
R = TypeVar("R")

DEFAULT_REPORT_THREADS = 2

# One limiter per event loop: a limiter is bound to the loop it first waits in, and tests
# run several apps, each on its own loop.
_report_limiter: RunVar[CapacityLimiter] = RunVar("andon_report_limiter")


def open_lanes(request_threads: int, report_threads: int) -> None:
    """Size both lanes for the running event loop (the app's lifespan calls this)."""
    to_thread.current_default_thread_limiter().total_tokens = request_threads
    _report_limiter.set(CapacityLimiter(report_threads))


def report_limiter() -> CapacityLimiter:
    """The running loop's report lane; the default size if the lifespan did not open one."""
    try:
        return _report_limiter.get()
    except LookupError:
        limiter = CapacityLimiter(DEFAULT_REPORT_THREADS)
        _report_limiter.set(limiter)
        return limiter


def on_report_threads(endpoint: Callable[P, R]) -> Callable[P, Any]:
    """Run a plain-function endpoint on the report lane instead of the floor's threads."""
    return _on_threads(endpoint, report=True)


def _on_threads(endpoint: Callable[P, R], *, report: bool) -> Callable[P, Any]:
    """The endpoint as a coroutine that runs it on a thread of its lane.

    FastAPI reads the wrapped function's signature (``functools.wraps`` leaves it reachable),
    so parameters, dependencies and the OpenAPI description are unchanged. Because the route
    now holds a coroutine, FastAPI checks the response model on the event loop instead of
    handing it to a second thread: one thread hand-off per request instead of two.
    """

    @functools.wraps(endpoint)
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        call = functools.partial(endpoint, *args, **kwargs)
        return await to_thread.run_sync(call, limiter=report_limiter() if report else None)

    return run


class FloorRoute(APIRoute):
    """A route whose plain-function endpoint runs on the floor's threads (``route_class=``).

    Where FastAPI would run it there anyway; what changes is that the response is checked
    and serialised without a second thread hand-off.
    """

    lane_is_report = False

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = _on_threads(endpoint, report=self.lane_is_report)
        super().__init__(path, endpoint, **kwargs)


class ReportRoute(FloorRoute):
    """A route whose plain-function endpoint runs on the report lane (``route_class=``)."""

    lane_is_report = True
