"""The report lane: long requests queue among themselves and never hold up the floor's."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI

from andon.api.lanes import (
    FloorRoute,
    ReportRoute,
    on_report_threads,
    open_lanes,
    report_limiter,
)


def _run(test: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run an async test on a loop of its own thread: the browser tests keep Playwright's
    loop running in the main thread of the same worker process."""
    failures: list[BaseException] = []

    def main() -> None:
        try:
            asyncio.run(test())
        except BaseException as exc:
            failures.append(exc)

    thread = threading.Thread(target=main)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "the test did not finish within 60 s"
    if failures:
        raise failures[0]


def _app(gate: threading.Event, running: list[str]) -> FastAPI:
    app = FastAPI()
    reports = APIRouter(route_class=ReportRoute)

    @reports.get("/report")
    def report(size: int) -> dict[str, int]:
        running.append("report")
        gate.wait(10)
        return {"size": size}

    @app.get("/move")
    def move() -> dict[str, bool]:
        return {"moved": True}

    @app.post("/import")
    @on_report_threads
    def bulk_import(rows: int) -> dict[str, int]:
        running.append("import")
        gate.wait(10)
        return {"rows": rows}

    app.include_router(reports)
    return app


async def _until(condition: object, timeout: float = 5) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


def test_floor_requests_pass_reports_that_wait_for_each_other() -> None:
    _run(_floor_requests_pass_reports_that_wait_for_each_other)


async def _floor_requests_pass_reports_that_wait_for_each_other() -> None:
    gate = threading.Event()
    running: list[str] = []
    app = _app(gate, running)
    open_lanes(request_threads=2, report_threads=1)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://andon") as client:
        first = asyncio.create_task(client.get("/report", params={"size": 1}))
        second = asyncio.create_task(client.post("/import", params={"rows": 2}))
        limiter = report_limiter()
        await _until(lambda: limiter.borrowed_tokens == 1 and limiter.statistics().tasks_waiting)
        try:
            # The one report thread is taken and a second report waits for it; moves still go
            # through.
            moves = await asyncio.wait_for(
                asyncio.gather(*(client.get("/move") for _ in range(6))), timeout=5
            )
            assert [m.status_code for m in moves] == [200] * 6
            assert len(running) == 1
            assert not first.done()
            assert not second.done()
        finally:
            gate.set()
        assert (await first).json() == {"size": 1}
        assert (await second).json() == {"rows": 2}
        assert sorted(running) == ["import", "report"]


def test_report_endpoints_keep_their_parameters() -> None:
    _run(_report_endpoints_keep_their_parameters)


async def _report_endpoints_keep_their_parameters() -> None:
    app = _app(threading.Event(), [])
    open_lanes(request_threads=2, report_threads=1)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://andon") as client:
        refused = await client.get("/report", params={"size": "many"})
        assert refused.status_code == 422
        assert refused.json()["detail"][0]["loc"] == ["query", "size"]
    parameters = app.openapi()["paths"]["/report"]["get"]["parameters"]
    assert [p["name"] for p in parameters] == ["size"]


def test_floor_routes_run_on_the_floor_threads_and_answer_with_their_model() -> None:
    _run(_floor_routes_run_on_the_floor_threads_and_answer_with_their_model)


async def _floor_routes_run_on_the_floor_threads_and_answer_with_their_model() -> None:
    gate = threading.Event()
    threads: list[str] = []
    app = FastAPI()
    floor = APIRouter(route_class=FloorRoute)

    @floor.get("/items/{id}", response_model=dict[str, int])
    def read_item(id: int, slow: bool = False) -> object:
        threads.append(threading.current_thread().name)
        if slow:
            gate.wait(10)
        return {"id": id}

    app.include_router(floor)
    open_lanes(request_threads=1, report_threads=1)
    loop_thread = threading.current_thread().name
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://andon") as client:
        slow = asyncio.create_task(client.get("/items/1", params={"slow": True}))
        await _until(lambda: len(threads) == 1)
        fast = asyncio.create_task(client.get("/items/2"))
        await asyncio.sleep(0.2)
        assert not fast.done()  # the one floor thread is taken: it waits its turn
        gate.set()
        assert (await slow).json() == {"id": 1}
        assert (await fast).json() == {"id": 2}
        refused = await client.get("/items/x")
    assert refused.status_code == 422
    assert loop_thread not in threads
