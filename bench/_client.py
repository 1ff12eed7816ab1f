"""A load-generating client process for bench.work: moves items along a path over HTTP.

Run as ``python -m bench._client``; it imports nothing of Andon, so it starts fast and costs
the machine only what sending requests costs. Protocol on stdin/stdout, one JSON line each:
the job in; ``ready`` out once imported; ``{"start_at", "stop_at"}`` in (``time.monotonic``
instants, which are system-wide on Linux); the records out when the time is up.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from typing import Any

import httpx


async def walk(job: dict[str, Any], start_at: float, stop_at: float) -> dict[str, Any]:
    records: list[tuple[float, float, int]] = []
    errors: list[str] = []
    pending = [tuple(item) for item in reversed(job["items"])]
    used: list[int] = []
    path: list[str] = job["path"]

    async def walker(client: httpx.AsyncClient) -> None:
        # One connection walks one item at a time, so moves of an item never race.
        while pending and time.monotonic() < stop_at:
            item_id, version = pending.pop()
            used.append(item_id)
            for stage in path:
                if time.monotonic() >= stop_at:
                    return
                t0 = time.monotonic()
                response = await client.post(
                    f"/api/v1/work-items/{item_id}/move", json={"to": stage, "version": version}
                )
                t1 = time.monotonic()
                records.append((t0, t1, response.status_code))
                if response.status_code != 200:
                    if len(errors) < 5:
                        errors.append(f"{response.status_code} {response.text[:200]}")
                    break
                version = response.json()["version"]

    limits = httpx.Limits(max_connections=job["concurrency"], max_keepalive_connections=None)
    async with httpx.AsyncClient(
        base_url=job["base"],
        headers={"Authorization": f"Bearer {job['token']}"},
        limits=limits,
        timeout=60,
        trust_env=False,
    ) as client:
        await asyncio.sleep(max(0.0, start_at - time.monotonic()))
        await asyncio.gather(*(walker(client) for _ in range(job["concurrency"])))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "records": records,
        "errors": errors,
        "exhausted": not pending,
        "used": used,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
    }


def main() -> None:
    job = json.loads(sys.stdin.readline())
    print("ready", flush=True)
    times = json.loads(sys.stdin.readline())
    result = asyncio.run(walk(job, times["start_at"], times["stop_at"]))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
